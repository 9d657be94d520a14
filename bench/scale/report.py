#!/usr/bin/env python3
"""Turns the RESULT lines of scripts/bench_scale into bench/results/scale.md:
medians with their min-max spread, per client, and every raw line."""

import argparse
import pathlib
import statistics
from collections import defaultdict

CLIENTS = ["ours", "mosquitto", "paho"]
NAMES = {"ours": "mqtt_client async_client", "mosquitto": "libmosquitto", "paho": "Paho C++ async_client"}

NOTES = """\
- One process per run, holding every client; the broker (Mosquitto, loopback, see scripts/bench_scale)
  is another process. ours: `mqtt::async_client`, all clients on one `io_context` run by the main
  thread. libmosquitto: one `struct mosquitto` per client, all driven by one epoll loop on the main
  thread (mosquitto_socket + loop_read/loop_write/loop_misc; `mosquitto_loop` per client refuses
  sockets numbered 1024 and above). Paho C++: `mqtt::async_client` per client; Paho C does all the
  I/O and runs the callbacks on its own two threads (shared by all clients), so its CPU figures
  include them (`threads` column: the process's threads).
- Idle: clean session, MQTT 3.1.1, at most `connect_window` clients awaiting CONNACK at once
  (Mosquitto's listen backlog is 100). Connect all: first connect started until the last CONNACK.
  RSS per client: (VmRSS with every client connected - VmRSS before the first client) / clients;
  socket buffers are kernel memory and not in it. Idle CPU: user+sys of the process over the idle
  period, as % of one core; with keepalive 60 s no PINGREQ falls in a 10 s period, so this is the
  cost of doing nothing: ours sleeps in one `run_for`; the libmosquitto loop wakes once a second
  for `mosquitto_loop_misc` on every client (its keepalive check); Paho's threads wake once a
  second and poll() every socket.
- libmosquitto holds three descriptors per client (its socket and the socket pair `mosquitto_new`
  always opens for waking a threaded loop): under this machine's open-file hard limit it runs
  fewer idle clients, shown in the clients column; per-client figures still compare.
- Active: M publishers and one subscriber (same library, same process), 64-byte payloads, each
  publisher keeping at most `window` publishes unacknowledged (QoS 0: not yet written), timed from
  the first publish to the last arrival, stopped after `budget_ms` if not done; msg/s = messages
  counted by the subscriber per second; CPU µs/msg = the process's user+sys CPU over the run per
  message received (publishers and subscriber together). Paho has no TCP_NODELAY option.
- Paho C queues every request of every client in one global list, and its send thread scans
  that list (with a linear search of the clients skipped so far, per entry) for each request it
  sends (`MQTTAsync_processCommand`, src/MQTTAsyncUtils.c, 1.3.12): with 1 000 clients x a window
  of 10 its rate collapses, and its runs end at the budget.
- The figures move with anything else running on the machine (2 cores: broker + client); see
  the load average above.
"""


def parse(path):
    runs = []
    for line in pathlib.Path(path).read_text().splitlines():
        fields = line.split()
        if not fields or fields[0] not in ("RESULT", "FAILED"):
            continue
        run = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        run["ok"] = fields[0] == "RESULT"
        runs.append(run)
    return runs


def fmt(x, digits):
    return f"{x:,.{digits}f}".replace(",", " ")


def spread(values, digits):
    """median (min-max), or the one value."""
    if not values:
        return "failed"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med, digits)
    return f"{fmt(med, digits)} ({fmt(min(values), digits)}–{fmt(max(values), digits)})"


def values(runs, key):
    return [float(r[key]) for r in runs if r["ok"] and key in r]


def failures(runs):
    n = sum(1 for r in runs if not r["ok"])
    return f" ({n} failed)" if n else ""


def idle_table(runs):
    groups = defaultdict(list)
    for r in runs:
        if r.get("workload") == "idle":
            groups[r["client"]].append(r)
    lines = ["| client | clients | connect all (s) | RSS per client (KiB) | idle CPU (% of a core) | threads | runs |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for c in CLIENTS:
        if c not in groups:
            continue
        g = groups[c]
        clients = sorted({r.get("clients", "?") for r in g})
        lines.append(f"| {NAMES[c]} | {'/'.join(clients)} | {spread(values(g, 'connect_seconds'), 2)} | "
                     f"{spread(values(g, 'rss_per_client_kib'), 2)} | {spread(values(g, 'idle_cpu_percent'), 3)} | "
                     f"{spread(values(g, 'threads'), 0)} | {len(g)}{failures(g)} |")
    return lines


def active_table(runs):
    groups = defaultdict(list)
    for r in runs:
        if r.get("workload") == "active":
            groups[(r["qos"], r["client"])].append(r)
    lines = ["| client | QoS | clients | msg/s | CPU µs/msg | received / published | threads | runs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for qos in sorted({q for q, _ in groups}):
        for c in CLIENTS:
            g = groups.get((qos, c))
            if not g:
                continue
            ok = [r for r in g if r["ok"]]
            clients = sorted({r.get("clients", "?") for r in g})
            counts = f"{fmt(statistics.median(values(g, 'received')), 0)} / {fmt(int(ok[0]['count']), 0)}" if ok else ""
            lines.append(f"| {NAMES[c]} | {qos} | {'/'.join(clients)} | {spread(values(g, 'msgs_per_s'), 0)} | "
                         f"{spread(values(g, 'cpu_us_per_msg'), 2)} | {counts} | {spread(values(g, 'threads'), 0)} | "
                         f"{len(g)}{failures(g)} |")
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--results", required=True)
    p.add_argument("--meta", required=True)
    p.add_argument("--markdown", required=True)
    args = p.parse_args()

    runs = parse(args.results)
    out = ["# Scale benchmark results", "", "Written by `scripts/bench_scale`; do not edit.", ""]
    out += [f"- {line}" for line in pathlib.Path(args.meta).read_text().splitlines() if line]
    out += ["", "Medians of the repetitions, (min–max) when there were several.", "",
            "## Idle clients", ""] + idle_table(runs)
    out += ["", "## Active clients: aggregate throughput to one subscriber", ""] + active_table(runs)
    out += ["", "## Notes", "", NOTES, "## Raw results", "", "```"]
    out += [line for line in pathlib.Path(args.results).read_text().splitlines() if line]
    out += ["```", ""]
    text = "\n".join(out)
    pathlib.Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.markdown).write_text(text)
    print("\n".join(idle_table(runs) + [""] + active_table(runs)))


if __name__ == "__main__":
    main()

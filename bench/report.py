#!/usr/bin/env python3
"""Turns the RESULT lines of scripts/bench into tables of medians (stdout and
markdown) and a bar chart (SVG, drawn by gnuplot with bench/plot.gp)."""

import argparse
import pathlib
import statistics
import subprocess
import sys
from collections import defaultdict

CLIENTS = ["ours", "ours_async", "mosquitto", "paho", "raw"]
NAMES = {"ours": "mqtt_client", "ours_async": "mqtt_client async_client", "mosquitto": "libmosquitto",
         "paho": "Paho C++", "raw": "raw sockets"}
SHORT = {"ours": "ours", "ours_async": "async", "mosquitto": "mosq", "paho": "paho", "raw": "raw"}  # table columns
# Chart colours: each client keeps its own, whichever clients a run has.
COLORS = {"ours": "#1f77b4", "ours_async": "#9ecae1", "mosquitto": "#ff7f0e", "paho": "#2ca02c", "raw": "#7f7f7f"}
BASELINE = "mosquitto"
CEILING = "raw"

NOTES = """\
- Throughput: one publishing and one subscribing connection in one process, timed from the
  first publish until the last message arrived; MB = 10^6 payload bytes. Cost: user+sys CPU
  time of that process (both clients, all their threads) per message; the broker is not counted.
- Latency: ping-pong between two connections, round trip in µs; 4 s budget per run.
- x/mosq = client ÷ libmosquitto: above 1 is better for throughput, below 1 better for CPU and latency.
  "%raw" compares with the raw-socket client (pre-encoded packets, a reader that only splits
  frames): the most this broker carries.
- Every client: clean session, MQTT 3.1.1, in-flight window 100, its library's own I/O thread(s),
  TCP_NODELAY (Paho has no such option and leaves Nagle's algorithm on).
- async (mqtt::async_client): per connection one io_context run by one thread of the bench program,
  as ours and libmosquitto each run one loop thread per connection; the publishing thread calls
  async_publish with a plain callback (one completion per message), messages arrive via on_message.
- Paho QoS 1/2: the publisher waits for the oldest of its last 100 delivery tokens (Paho C drains
  messages queued beyond its in-flight window only every few hundred ms: ~350 msgs/s otherwise).
- QoS 1/2 raw rows are a reference (the same window of 100, acks batched per read), not a ceiling.
- Broker: max_queued_messages 0, max_queued_bytes 0, max_inflight_messages 0, set_tcp_nodelay true,
  persistence false, no per-message logging, glibc heap trimming off (GLIBC_TUNABLES; see scripts/bench).
"""


def parse_results(path):
    """Each line: RESULT|FAILED key=value ... -> dicts with 'ok' set."""
    runs = []
    for line in pathlib.Path(path).read_text().splitlines():
        fields = line.split()
        if not fields or fields[0] not in ("RESULT", "FAILED"):
            continue
        run = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        run["ok"] = fields[0] == "RESULT"
        for key in ("qos", "payload", "count", "received"):
            if key in run:
                run[key] = int(run[key])
        runs.append(run)
    return runs


def group_runs(runs):
    """(workload, qos, payload) -> client -> [runs]"""
    groups = defaultdict(lambda: defaultdict(list))
    for run in runs:
        groups[(run["workload"], run["qos"], run["payload"])][run["client"]].append(run)
    return groups


def median_of(runs, field):
    values = [float(r[field]) for r in runs if r["ok"]]
    return statistics.median(values) if values else None


def payload_label(size):
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


def number(value, digits=3):
    """Three significant digits, thousands grouped: 31 200, 2.41, 0.0312."""
    if value is None:
        return "–"
    if value >= 10 ** digits:
        return f"{round(value, -len(str(int(value))) + digits):,.0f}".replace(",", " ")
    return f"{value:.{digits}g}"


def ratio(value, base):
    return "–" if value is None or not base else f"{value / base:.2f}×"


def percent(value, ceiling):
    return "–" if value is None or not ceiling else f"{100 * value / ceiling:.0f} %"


class Footnotes:
    """Marks cells whose runs lost messages, fell short or failed."""

    def __init__(self):
        self.lines = []

    def mark(self, cell, runs, workload):
        failed = sum(not r["ok"] for r in runs)
        ok = [r for r in runs if r["ok"]]
        short = [r for r in ok if r["received"] < r["count"]]
        if not failed and not short:
            return cell
        run = runs[0]
        what = f"{NAMES.get(run['client'], run['client'])}, {workload} QoS {run['qos']} {payload_label(run['payload'])}"
        notes = []
        if failed:
            notes.append(f"{failed} of {len(runs)} runs failed")
        if short:
            unit = "round trips measured (budget)" if workload == "latency" else "messages arrived"
            fewest = min(r["received"] for r in short)
            notes.append(f"{fewest} of {run['count']} {unit} in {len(short)} of {len(runs)} runs")
        self.lines.append(f"[{len(self.lines) + 1}] {what}: " + "; ".join(notes))
        return f"{cell} [{len(self.lines)}]"


def present_clients(groups):
    seen = {c for per_client in groups.values() for c in per_client}
    return [c for c in CLIENTS if c in seen]


def peers(clients):
    """Clients compared with the baseline, in column order."""
    return [c for c in clients if c not in (BASELINE, CEILING)]


def throughput_table(groups, clients, notes):
    has_base, has_ceiling = BASELINE in clients, CEILING in clients
    header = ["QoS", "payload", "count"] + [SHORT[c] for c in clients]
    if has_base:
        header += [f"{SHORT[c]}/mosq" for c in peers(clients)]
    if has_ceiling:
        header += [f"{SHORT[c]} %raw" for c in clients if c != CEILING]
    rows = []
    for (workload, qos, payload), per_client in sorted(groups.items()):
        if workload != "throughput":
            continue
        rates = {c: median_of(per_client.get(c, []), "msgs_per_s") for c in clients}
        row = [str(qos), payload_label(payload), str(max(r["count"] for rs in per_client.values() for r in rs))]
        for c in clients:
            mb = median_of(per_client.get(c, []), "mb_per_s")
            cell = "–" if rates[c] is None else f"{number(rates[c])} ({number(mb)})"
            row.append(notes.mark(cell, per_client[c], workload) if c in per_client else "–")
        if has_base:
            row += [ratio(rates[c], rates[BASELINE]) for c in peers(clients)]
        if has_ceiling:
            row += [percent(rates[c], rates[CEILING]) if qos == 0 else "" for c in clients if c != CEILING]
        rows.append(row)
    return header, rows


def cost_table(groups, clients):
    header = ["QoS", "payload"] + [SHORT[c] for c in clients]
    if BASELINE in clients:
        header += [f"{SHORT[c]}/mosq" for c in peers(clients)]
    rows = []
    for (workload, qos, payload), per_client in sorted(groups.items()):
        if workload != "throughput":
            continue
        cost = {c: median_of(per_client.get(c, []), "cpu_us_per_msg") for c in clients}
        row = [str(qos), payload_label(payload)] + [number(cost[c]) for c in clients]
        if BASELINE in clients:
            row += [ratio(cost[c], cost[BASELINE]) for c in peers(clients)]
        rows.append(row)
    return header, rows


def latency_table(groups, clients, notes):
    header = ["QoS", "round trip"] + [SHORT[c] for c in clients]
    if BASELINE in clients:
        header += [f"{SHORT[c]}/mosq" for c in peers(clients)]
    rows = []
    for (workload, qos, payload), per_client in sorted(groups.items()):
        if workload != "latency":
            continue
        for field, label in (("p50_us", "p50"), ("p99_us", "p99"), ("max_us", "max")):
            values = {c: median_of(per_client.get(c, []), field) for c in clients}
            row = [str(qos), f"{label} ({payload_label(payload)})"]
            for c in clients:
                cell = number(values[c])
                row.append(notes.mark(cell, per_client[c], workload) if field == "p50_us" and c in per_client else cell)
            if BASELINE in clients:
                row += [ratio(values[c], values[BASELINE]) for c in peers(clients)]
            rows.append(row)
    return header, rows


def render_text(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))
    return "\n".join([line(header), line("-" * w for w in widths)] + [line(r) for r in rows])


def render_markdown(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def write_chart_data(path, groups, clients, workload, fields):
    """One row per (group, field): a label, then median, min and max per
    client (the error bars); '-' where missing (plot.gp: set datafile
    missing). Returns the row count."""
    header = ["workload"]
    for c in clients:
        header += [f'"{NAMES[c]}"', "min", "max"]
    lines = [" ".join(header)]
    for (kind, qos, payload), per_client in sorted(groups.items()):
        if kind != workload:
            continue
        for field, label in fields:
            name = f'"QoS {qos}, {payload_label(payload)}"' if workload == "throughput" else f'"QoS {qos}, {label}"'
            cells = [name]
            for c in clients:
                values = [float(r[field]) for r in per_client.get(c, []) if r["ok"]]
                stats = (statistics.median(values), min(values), max(values)) if values else None
                cells += [f"{v:.4g}" for v in stats] if stats else ["-"] * 3
            lines.append(" ".join(cells))
    pathlib.Path(path).write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def spread_table(groups, clients):
    """(max - min) / median of each client's msgs/s over the runs."""
    header = ["QoS", "payload"] + [SHORT[c] for c in clients]
    rows = []
    if max(len(rs) for per_client in groups.values() for rs in per_client.values()) < 2:
        return header, rows  # one run: no spread to show
    for (workload, qos, payload), per_client in sorted(groups.items()):
        if workload != "throughput":
            continue
        row = [str(qos), payload_label(payload)]
        for c in clients:
            values = [float(r["msgs_per_s"]) for r in per_client.get(c, []) if r["ok"]]
            spread = (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else None
            row.append("–" if spread is None else f"{100 * spread:.0f} %")
        rows.append(row)
    return header, rows


def draw_chart(args, groups, clients, meta):
    work = pathlib.Path(args.work_dir)
    rate_data, cost_data, latency_data = (work / f"chart_{name}.dat" for name in ("throughput", "cpu", "latency"))
    groups_count = write_chart_data(rate_data, groups, clients, "throughput", [("msgs_per_s", "")])
    write_chart_data(cost_data, groups, clients, "throughput", [("cpu_us_per_msg", "")])
    latency_rows = write_chart_data(latency_data, groups, clients, "latency", [("p50_us", "p50"), ("p99_us", "p99")])
    reps = max(len(rs) for per_client in groups.values() for rs in per_client.values())
    broker = meta.get("broker", "Mosquitto").split(",")[0].replace("mosquitto version", "Mosquitto")
    machine = meta.get("machine", "").split(", Linux")[0]
    title = f"MQTT 3.1.1 clients, {broker} on loopback, {machine}; medians of {reps} runs"
    settings = (f'out="{args.chart}"; title="{title}"; rate_data="{rate_data}"; cost_data="{cost_data}"; '
                f'latency_data="{latency_data}"; groups={groups_count}; latency_rows={latency_rows}; '
                f'clients={len(clients)}; colors="{" ".join(COLORS[c] for c in clients)}"')
    try:
        subprocess.run(["gnuplot", "-e", settings, args.gnuplot_script], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"chart not drawn ({e}); the tables above are complete", file=sys.stderr)
        return
    print(f"chart: {args.chart}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", required=True)
    parser.add_argument("--meta", required=True, help="'key: value' lines about the machine and versions")
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--chart", required=True)
    parser.add_argument("--gnuplot-script", required=True)
    parser.add_argument("--work-dir", required=True)
    args = parser.parse_args()

    meta_lines = pathlib.Path(args.meta).read_text().splitlines()
    meta = dict(line.split(": ", 1) for line in meta_lines if ": " in line)
    groups = group_runs(parse_results(args.results))
    if not groups:
        sys.exit("no results to report")
    clients = present_clients(groups)
    notes = Footnotes()
    tables = [
        ("Throughput: msgs/s (MB/s)", throughput_table(groups, clients, notes)),
        ("Cost: client CPU µs per message, throughput runs", cost_table(groups, clients)),
        ("Latency: round trip µs (each run's percentile, median over runs)", latency_table(groups, clients, notes)),
        ("Run-to-run spread of throughput: (max − min) ÷ median; smaller differences are noise",
         spread_table(groups, clients)),
    ]
    tables = [(title, t) for title, t in tables if t[1]]

    reps = max(len(rs) for per_client in groups.values() for rs in per_client.values())
    legend = ", ".join(f"{SHORT[c]} = {NAMES[c]}" for c in clients)
    legend = f"Medians of {reps} runs. {legend}; x/mosq = ratio to libmosquitto; %raw = share of the raw ceiling."
    print(legend)
    for title, (header, rows) in tables:
        print(f"\n{title}\n{render_text(header, rows)}")
    if notes.lines:
        print("\n" + "\n".join(notes.lines))

    md = ["# Benchmark results", "", "Written by `scripts/bench`; do not edit.", ""]
    md += [f"- {line}" for line in meta_lines] + ["", legend, ""]
    for title, (header, rows) in tables:
        md += [f"## {title}", "", render_markdown(header, rows), ""]
    if notes.lines:
        md += [line + "  " for line in notes.lines] + [""]
    md += ["## How to read it", "", NOTES]
    pathlib.Path(args.markdown).write_text("\n".join(md))
    print(f"\nmarkdown: {args.markdown}")
    draw_chart(args, groups, clients, meta)


if __name__ == "__main__":
    main()

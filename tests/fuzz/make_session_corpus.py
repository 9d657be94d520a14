#!/usr/bin/env python3
"""Writes the seed corpus of session_fuzz: tests/fuzz/corpus/session/.

Each seed is a program of session_fuzz steps: an opcode byte (modulo 32)
and its argument bytes, as session_fuzz.cpp reads them. Run it again after
changing the opcodes there:  python3 tests/fuzz/make_session_corpus.py
"""
import pathlib

# Opcodes (session_fuzz.cpp, enum opcode).
BROKER, ANSWER, WRITE, WRITE_DONE, PUBLISH, SUBSCRIBE, UNSUBSCRIBE = 0, 4, 7, 10, 11, 14, 16
TICK, OPEN, CLOSE, DISCONNECT, BEGIN, END, RESUBSCRIBE = 17, 19, 21, 22, 23, 24, 25
SETTINGS, PROGRESS, PUMP, ADVANCE = 26, 27, 28, 30
# Broker packet kinds (after BROKER).
CONNACK, PUB, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP, CLIENT_ONLY = 0, 1, 3, 4, 5, 6, 7, 8, 9, 10
# Settings (after SETTINGS).
INFLIGHT, QUEUED, QUEUED_BYTES, POLICY, RECONNECT, RESUB, INBOUND, TIMEOUT, LOGGING = range(9)


def up(clean=True, keepalive=2, present=False):
    """begin, link_opened, CONNECT written, CONNACK accepted."""
    return [ADVANCE, 0, OPEN, int(clean) | keepalive << 1, PUMP, ANSWER, int(present)]


def publish(qos, topic=0, extra=3, retain=False):
    return [PUBLISH, qos | int(retain) << 2 | topic << 3, extra]


def subscribe(*filters):  # (filter index, qos) pairs
    return [SUBSCRIBE, len(filters) - 1] + [f | q << 3 for f, q in filters]


def inbound(qos, id_small=1, payload=b"hi", dup=False):
    args = [BROKER, PUB, qos | int(dup) << 2]
    if qos:
        args.append(2 | (id_small - 1) << 2)  # a small id, 1..12
    return args + [len(payload)] + list(payload)


SEEDS = {
    "connect": up(),
    "connect_logging": [SETTINGS, LOGGING, 1] + up() + publish(1) + [PUMP, ANSWER, 0],
    "qos0": up() + publish(0) + publish(0, 1) + [PUMP],
    "qos1": up() + publish(1) + [PUMP, ANSWER, 0],
    "qos2": up() + publish(2) + [PUMP, ANSWER, 0, PUMP, ANSWER, 0, PUMP],
    "subscribe_unsubscribe": up() + subscribe((0, 1), (2, 2)) + [PUMP, ANSWER, 0]
    + [UNSUBSCRIBE, 0, 0, PUMP, ANSWER, 0],
    "resend_after_reconnect": up(clean=False) + publish(1) + publish(2) + publish(1) + [PUMP, ANSWER, 1]
    + [CLOSE, 0, OPEN, 0 | 2 << 1, PUMP, ANSWER, 1, PUMP, ANSWER, 0, ANSWER, 1, PUMP, ANSWER, 1],
    "resubscribe": up() + subscribe((0, 0), (1, 1)) + [PUMP, ANSWER, 0, CLOSE, 1]
    + [OPEN, 1 | 2 << 1, PUMP, ANSWER, 0, RESUBSCRIBE, PUMP, ANSWER, 0x80],
    "keepalive": up(keepalive=1) + [TICK, 90, PUMP, BROKER, PINGRESP, TICK, 90, PUMP, TICK, 90, TICK, 90],
    "disconnect_flush": up() + publish(1) + publish(0) + [DISCONNECT, PUMP, ANSWER, 0, PUMP, PUMP],
    "disconnect_timeout": [SETTINGS, TIMEOUT, 10] + up() + publish(2) + [PUMP, DISCONNECT, TICK, 20, PUMP, TICK, 90],
    "disconnect_connecting": [ADVANCE, 0, OPEN, 1, DISCONNECT, PUMP, ANSWER, 0, PUMP],
    "inbound": up(clean=False) + inbound(0) + inbound(1, 1) + inbound(2, 2) + inbound(2, 2, dup=True)
    + [PUMP, BROKER, PUBREL, 1, PUMP],
    "inbound_qos2_bound": [SETTINGS, INBOUND, 0] + up() + inbound(2, 1) + inbound(2, 2) + [PUMP],
    "queue_bounds": [SETTINGS, QUEUED, 2, SETTINGS, POLICY, 1, SETTINGS, QUEUED_BYTES, 4]
    + up() + [WRITE, 3] + publish(0) + publish(1) + publish(2) + publish(1, extra=23) + subscribe((4, 0))
    + [WRITE_DONE, 0, PUMP],
    "inflight_window": [SETTINGS, INFLIGHT, 0] + up() + publish(1) + publish(2) + publish(1)
    + [PUMP, ANSWER, 0, PUMP, ANSWER, 0, PUMP, ANSWER, 0, PUMP, ANSWER, 0, PUMP, ANSWER, 0],
    "stale_write": up(clean=False) + publish(1) + publish(0) + [WRITE, 3, CLOSE, 0, OPEN, 0, WRITE_DONE, 1, 2]
    + [PUMP, ANSWER, 1, PUMP, ANSWER, 0],
    "write_failed": up() + publish(0) + publish(1) + [WRITE, 2, PUMP, ADVANCE, 1, PUMP, ANSWER, 0, PUMP],
    "connack_refused": [ADVANCE, 0, OPEN, 1, PUMP, BROKER, CONNACK, 0, 0x85, ADVANCE, 1, PUMP]
    + [BROKER, CONNACK, 1, 250],
    "violation": up() + [BROKER, CLIENT_ONLY, 1, ADVANCE, 1, PUMP, ANSWER, 0, BROKER, CONNACK, 0, 0],
    "no_reconnect": [SETTINGS, RECONNECT, 0] + up() + publish(1) + publish(0) + [PUMP, CLOSE, 3, END, 0],
}


def main():
    out = pathlib.Path(__file__).resolve().parent / "corpus" / "session"
    out.mkdir(parents=True, exist_ok=True)
    for name, program in SEEDS.items():
        (out / name).write_bytes(bytes(b & 0xFF for b in program))
    print(f"{len(SEEDS)} seeds in {out}")


if __name__ == "__main__":
    main()

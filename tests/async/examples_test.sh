#!/usr/bin/env bash
# The async examples against a real Mosquitto (CTest label "async",
# tests/async/CMakeLists.txt), bounded runs:
#
#   examples_test.sh ASYNC_SENSOR_FLEET [COROUTINE_CLIENT]
#
#   - async_sensor_fleet --sensors 50 --seconds 2: exits 0, every sensor
#     connected, a rate line per second, a summary with nothing missing;
#   - coroutine_client (when built): prints exactly what the notebook's
#     Simple Example prints (examples/bulb.cpp's output).
#
# Starts its own mosquitto on a free 127.0.0.1 port with a generated config in
# a mktemp dir (kept on failure). Each check prints "ok - ..."; the first
# failure prints "not ok - ..." and exits 1. Every run is bounded by timeout(1).
set -euo pipefail

if (($# < 1 || $# > 2)); then
  echo "usage: $0 ASYNC_SENSOR_FLEET [COROUTINE_CLIENT]" >&2
  exit 2
fi
readonly FLEET=$1 CORO=${2:-}

die() {
  echo "error: $*" >&2
  exit 1
}

[[ -x $FLEET ]] || die "$FLEET is not an executable (build the async_sensor_fleet target)"
[[ -z $CORO || -x $CORO ]] || die "$CORO is not an executable (build the coroutine_client target)"
MOSQUITTO=$(command -v mosquitto || true)
for candidate in /usr/sbin/mosquitto /usr/local/sbin/mosquitto; do
  [[ -n $MOSQUITTO ]] && break
  [[ -x $candidate ]] && MOSQUITTO=$candidate
done
[[ -n $MOSQUITTO ]] || die "mosquitto not found (Debian/Ubuntu: apt-get install mosquitto)"

work=$(mktemp -d "${TMPDIR:-/tmp}/mqtt_async_examples.XXXXXX")
readonly work
broker_pid=

cleanup() {
  local rc=$?
  if [[ -n $broker_pid ]]; then
    kill "$broker_pid" 2>/dev/null || true
    timeout 5 bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 0.05; done' _ "$broker_pid" ||
      kill -9 "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  if ((rc == 0)); then
    rm -rf "$work"
  else
    echo "# kept $work" >&2
  fi
}
trap cleanup EXIT

ok() { printf 'ok - %s\n' "$1"; }
fail() {
  printf 'not ok - %s\n' "$1"
  shift
  printf '  %s\n' "$@"
  exit 1
}

# A port nothing listens on right now (127.0.0.1, 20000-60999).
free_port() {
  local port
  while :; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 41000))
    if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

start_broker() {
  for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    {
      [[ $(id -u) != 0 ]] || echo "user root" # mosquitto 2 drops root privileges unless told
      echo "persistence false"
      echo "log_dest file $work/mosquitto.log"
      echo "listener $PORT 127.0.0.1"
      echo "allow_anonymous true"
    } >"$work/mosquitto.conf"
    "$MOSQUITTO" -c "$work/mosquitto.conf" >"$work/mosquitto.out" 2>&1 &
    broker_pid=$!
    if timeout 10 bash -c 'until (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        kill -0 "$2" 2>/dev/null || exit 1; sleep 0.05; done' _ "$PORT" "$broker_pid"; then
      return
    fi
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=
  done
  die "mosquitto did not start: $(cat "$work/mosquitto.out" "$work/mosquitto.log" 2>/dev/null)"
}
start_broker
ok "mosquitto on 127.0.0.1:$PORT"

# --- async_sensor_fleet ---------------------------------------------------------
rc=0
timeout 60 "$FLEET" --sensors 50 --seconds 2 --host 127.0.0.1 --port "$PORT" \
  >"$work/fleet.out" 2>"$work/fleet.err" || rc=$?
fleet_report=("stdout: $(cat "$work/fleet.out")" "stderr: $(cat "$work/fleet.err")")
((rc == 0)) || fail "async_sensor_fleet --sensors 50 --seconds 2 exits 0 (got $rc)" "${fleet_report[@]}"
ok "async_sensor_fleet --sensors 50 --seconds 2 exits 0"
grep -q '^t=1s  sensors connected 50/50  published [0-9]*/s  received [0-9]*/s$' "$work/fleet.out" ||
  fail "async_sensor_fleet prints the rate after the first second" "${fleet_report[@]}"
ok "async_sensor_fleet prints the rate after the first second"
grep -q '^summary: 50/50 sensors connected on one thread, [1-9][0-9]* readings published, [1-9][0-9]* received (QoS 0)' \
  "$work/fleet.out" || fail "async_sensor_fleet prints its summary" "${fleet_report[@]}"
grep -q 'missing\|failures\|errors' "$work/fleet.out" && fail "async_sensor_fleet lost nothing" "${fleet_report[@]}"
ok "async_sensor_fleet summary: every sensor connected, every reading received"

# --- coroutine_client -------------------------------------------------------------
if [[ -n $CORO ]]; then
  rc=0
  timeout 30 "$CORO" 127.0.0.1 "$PORT" >"$work/coro.out" 2>"$work/coro.err" || rc=$?
  ((rc == 0)) || fail "coroutine_client exits 0 (got $rc)" "stdout: $(cat "$work/coro.out")" \
    "stderr: $(cat "$work/coro.err")"
  ok "coroutine_client exits 0"
  cat >"$work/coro.expected" <<'OUT'
creating new instance
connecting to broker
Subscribing to topic: house/bulbs/bulb1
Publishing message 'OFF' to topic: house/bulbs/bulb1
Unsubscribing from topic: house/bulbs/bulb1

message payload: OFF
message topic: house/bulbs/bulb1
message qos: 0
message retain flag: 0

disconnecting from broker
OUT
  diff -u "$work/coro.expected" "$work/coro.out" >"$work/coro.diff" ||
    fail "coroutine_client prints the notebook's output" "$(cat "$work/coro.diff")"
  ok "coroutine_client prints the notebook's output"
else
  echo "# coroutine_client not built (no C++20 coroutines): skipped"
fi

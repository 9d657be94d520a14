#!/usr/bin/env bash
# mqtt_pub / mqtt_sub against a real Mosquitto and against the real
# mosquitto_pub / mosquitto_sub (CTest label "tools", tests/tools/CMakeLists.txt):
#
#   cli_interop_test.sh MQTT_PUB MQTT_SUB
#
# Starts its own mosquitto on free 127.0.0.1 ports (one anonymous listener,
# one with a password file) with a generated config in a mktemp dir, with
# `log_type all`: the broker log shows what each client sent (QoS flows,
# client ids, protocol level, clean DISCONNECT or not). Messages go in every
# direction: ours -> mosquitto_sub, mosquitto_pub -> ours, ours -> ours; where
# the real tools define the expected behaviour, they run side by side with
# ours on the same input. Each check prints "ok - ..."; the first failure
# prints "not ok - ...", expected and actual, and exits 1 (the temp dir is kept
# then). Every wait is bounded with timeout(1).

# shellcheck disable=SC2016 # the 'bash -c' scripts below expand their own "$1"
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 MQTT_PUB MQTT_SUB" >&2
  exit 2
fi
readonly PUB=$1 SUB=$2

# ---------------------------------------------------------------- helpers

die() {
  echo "error: $*" >&2
  exit 1
}

for tool in "$PUB" "$SUB"; do
  [[ -x $tool ]] || die "$tool is not an executable (build the mqtt_pub and mqtt_sub targets)"
done
for tool in mosquitto_pub mosquitto_sub mosquitto_passwd; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian/Ubuntu: apt-get install mosquitto mosquitto-clients)"
done
MOSQUITTO=$(command -v mosquitto || true)
for candidate in /usr/sbin/mosquitto /usr/local/sbin/mosquitto; do
  [[ -n $MOSQUITTO ]] && break
  [[ -x $candidate ]] && MOSQUITTO=$candidate
done
[[ -n $MOSQUITTO ]] || die "mosquitto not found (Debian/Ubuntu: apt-get install mosquitto)"
readonly MOSQUITTO

work=$(mktemp -d "${TMPDIR:-/tmp}/mqtt_cli_test.XXXXXX")
readonly work
readonly LOG=$work/mosquitto.log
broker_pid=
passed=0
declare -A PID=() # background processes of this script, by name

# SIGTERM, up to 5 s for a clean exit (a child that exited stays a zombie
# until waited for: state Z), then SIGKILL, and reap.
stop_broker() {
  kill "$broker_pid" 2>/dev/null || return 0
  local i state
  for ((i = 0; i < 100; i++)); do
    state=$(ps -o stat= -p "$broker_pid" 2>/dev/null || true)
    [[ -z $state || $state == Z* ]] && break
    sleep 0.05
  done
  kill -9 "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  local name
  for name in "${!PID[@]}"; do
    if [[ -s $work/$name.pid ]]; then kill -9 "$(cat "$work/$name.pid")" 2>/dev/null || true; fi
    kill -9 "${PID[$name]}" 2>/dev/null || true
  done
  if [[ -n $broker_pid ]]; then
    if ((rc != 0)) && ! kill -0 "$broker_pid" 2>/dev/null; then
      echo "# the broker (pid $broker_pid) is no longer running: stopped from outside?" >&2
    fi
    stop_broker
  fi
  if ((rc == 0)); then
    rm -rf "$work"
  else
    echo "# kept $work (broker log: $LOG)" >&2
  fi
}
trap cleanup EXIT

ok() {
  passed=$((passed + 1))
  printf 'ok - %s\n' "$1"
}

# fail WHAT LINE...: the failure report, then exit 1.
fail() {
  printf 'not ok - %s\n' "$1"
  shift
  printf '  %s\n' "$@"
  exit 1
}

expect_eq() { # WHAT EXPECTED ACTUAL
  [[ $2 == "$3" ]] || fail "$1" "expected: $(printf '%q' "$2")" "actual:   $(printf '%q' "$3")"
  ok "$1"
}

# show FILE: its bytes on one line: quoted text, or hex for binary or long content.
show() {
  local content
  if [[ ! -s $1 ]]; then
    echo "(empty)"
  elif LC_ALL=C grep -q '[^[:print:][:space:]]' "$1" || (($(wc -c <"$1") > 300)); then
    echo "$(wc -c <"$1") bytes, hex: $(head -c 100 "$1" | od -An -tx1 | tr -s ' \n' ' ')..."
  else
    IFS= read -r -d '' content <"$1" || true
    printf '%q\n' "$content"
  fi
}

# expect_bytes WHAT FILE EXPECTED: FILE holds exactly the bytes of EXPECTED.
expect_bytes() {
  printf '%s' "$3" >"$work/expected"
  cmp -s "$work/expected" "$2" || fail "$1" "expected: $(show "$work/expected")" "actual:   $(show "$2") ($2)"
  ok "$1"
}

# expect_same WHAT EXPECTED_FILE ACTUAL_FILE: byte for byte, both non-empty.
expect_same() {
  [[ -s $2 ]] || fail "$1" "expected file $2 is empty: nothing to compare"
  cmp "$2" "$3" >"$work/cmp.txt" 2>&1 ||
    fail "$1" "$(cat "$work/cmp.txt")" "expected: $(show "$2")" "actual:   $(show "$3")"
  ok "$1"
}

# contains FILE NEEDLE: fixed-string match.
contains() { grep -qF -- "$2" "$1"; }

expect_contains() { # WHAT FILE NEEDLE
  contains "$2" "$3" || fail "$1" "expected to find: $3" "in $2: $(head -c 600 "$2")"
  ok "$1"
}

# wait_log NEEDLE: until the broker log has NEEDLE (at most 10 s).
wait_log() {
  timeout 10 bash -c 'until grep -qF -- "$1" "$2"; do sleep 0.02; done' _ "$1" "$LOG" ||
    fail "broker log shows: $1" "not found within 10 s; last lines:" "$(tail -n 15 "$LOG")"
}

expect_log() { # WHAT NEEDLE
  wait_log "$2"
  ok "$1"
}

# run NAME CMD...: runs CMD (at most 20 s) with stdin from /dev/null; its output
# in $work/NAME.out and NAME.err, its exit code in RC. run_in NAME INPUT CMD...
# reads stdin from the file INPUT.
run() {
  local name=$1
  shift
  run_in "$name" /dev/null "$@"
}
run_in() {
  local name=$1 input=$2
  shift 2
  RC=0
  timeout 20 "$@" <"$input" >"$work/$name.out" 2>"$work/$name.err" || RC=$?
}

# spawn NAME CMD...: CMD in the background (at most 20 s), stdin from
# /dev/null, output in $work/NAME.out/.err; spawn_in NAME INPUT CMD... reads
# stdin from INPUT. reap NAME waits for it and sets RC. pid_of NAME is the
# pid of CMD itself (for signals), not of its timeout wrapper.
spawn() {
  local name=$1
  shift
  spawn_in "$name" /dev/null "$@"
}
spawn_in() {
  local name=$1 input=$2
  shift 2
  rm -f "$work/$name.pid"
  timeout 20 bash -c 'echo $$ >"$0"; exec "$@"' "$work/$name.pid" "$@" <"$input" >"$work/$name.out" 2>"$work/$name.err" &
  PID[$name]=$!
}
pid_of() {
  timeout 5 bash -c 'until [[ -s $0 ]]; do sleep 0.01; done' "$work/$1.pid" || fail "$1 started" "no pid file"
  cat "$work/$1.pid"
}
reap() {
  RC=0
  { wait "${PID[$1]}"; } 2>/dev/null || RC=$? # no "Killed" job notice after a kill -9
  unset "PID[$1]"
}

# expect_rc WHAT EXPECTED NAME: RC of the last run/reap of NAME, with its stderr when it differs.
expect_rc() {
  [[ $RC == "$2" ]] || fail "$1" "expected exit code: $2" "actual exit code:   $RC" \
    "stderr: $(head -c 600 "$work/$3.err")" "stdout: $(head -c 300 "$work/$3.out")"
  ok "$1"
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

listening() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ----------------------------------------------------------------- broker

mosquitto_passwd -c -b "$work/passwd" bob secret >/dev/null 2>&1 || die "mosquitto_passwd failed"
chmod 600 "$work/passwd"

start_broker() {
  for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    AUTH_PORT=$(free_port)
    [[ $PORT != "$AUTH_PORT" ]] || continue
    {
      [[ $(id -u) != 0 ]] || echo "user root" # mosquitto 2 drops root privileges unless told
      echo "per_listener_settings true"
      echo "persistence false"
      echo "log_dest file $LOG"
      echo "log_type all"
      echo "listener $PORT 127.0.0.1"
      echo "allow_anonymous true"
      echo "listener $AUTH_PORT 127.0.0.1"
      echo "allow_anonymous false"
      echo "password_file $work/passwd"
    } >"$work/mosquitto.conf"
    : >"$LOG"
    "$MOSQUITTO" -c "$work/mosquitto.conf" >"$work/mosquitto.out" 2>&1 &
    broker_pid=$!
    if timeout 10 bash -c 'until (: <"/dev/tcp/127.0.0.1/$1" && : <"/dev/tcp/127.0.0.1/$2") 2>/dev/null; do
        kill -0 "$3" 2>/dev/null || exit 1; sleep 0.05; done' _ "$PORT" "$AUTH_PORT" "$broker_pid"; then
      return
    fi
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=
    contains "$work/mosquitto.out" "in use" || contains "$LOG" "in use" ||
      die "mosquitto did not start: $(cat "$work/mosquitto.out" "$LOG")"
  done
  die "mosquitto did not start: no free port pair after 5 attempts"
}
start_broker
readonly PORT AUTH_PORT
ok "mosquitto $("$MOSQUITTO" -h 2>/dev/null | head -n 1 | grep -o '[0-9][0-9.]*' | head -n 1) on 127.0.0.1:$PORT and :$AUTH_PORT (password file)"
readonly H=(-h 127.0.0.1 -p "$PORT")

# ----------------------------------------------------------- usage errors

# usage_case TOOL PATTERN ARGS...: ours exits 1 with "Error: ...PATTERN..." and the
# --help hint on stderr, nothing on stdout; the real tool exits 1 on the same line too.
usage_case() {
  local tool=$1 pattern=$2
  shift 2
  local ours=$PUB real=mosquitto_pub
  [[ $tool == sub ]] && ours=$SUB real=mosquitto_sub
  run real "$real" "$@"
  local real_rc=$RC
  run ours "$ours" "$@"
  local what="usage error: mqtt_$tool $* -> exit 1, '$pattern'"
  [[ $real_rc == 1 ]] || fail "$what" "the real $real exited $real_rc, not 1: the expectation is stale"
  [[ $RC == 1 ]] || fail "$what" "expected exit code: 1 (as $real)" "actual exit code:   $RC" \
    "stderr: $(cat "$work/ours.err")"
  if ! contains "$work/ours.err" "Error: " || ! contains "$work/ours.err" "$pattern" ||
    ! contains "$work/ours.err" "Use 'mqtt_$tool --help' to see usage."; then
    fail "$what" "expected stderr with: Error: ...$pattern... Use 'mqtt_$tool --help' to see usage." \
      "actual stderr: $(cat "$work/ours.err")"
  fi
  [[ ! -s $work/ours.out ]] || fail "$what" "expected empty stdout" "actual stdout: $(cat "$work/ours.out")"
  ok "$what"
}

usage_case pub "Both topic and message must be supplied." "${H[@]}"
usage_case pub "Both topic and message must be supplied." "${H[@]}" -m x
usage_case pub "Unknown option '-z'." "${H[@]}" -t a -m x -z
usage_case pub "Unknown option 'extra'." "${H[@]}" -t a -m x extra
usage_case pub "Unknown option '-v'." "${H[@]}" -t a -m x -v
usage_case pub "-t argument given but no topic specified." "${H[@]}" -m x -t
usage_case pub "-q argument given but no QoS specified." "${H[@]}" -t a -m x -q
usage_case pub "Invalid QoS given: 3" "${H[@]}" -t a -m x -q 3
usage_case pub "Invalid port given: 70000" -p 70000 -t a -m x
usage_case pub "Invalid keepalive given" "${H[@]}" -t a -m x -k 3
usage_case pub "Invalid protocol version" "${H[@]}" -t a -m x -V 6
usage_case pub "Invalid publish topic 'a/#'" "${H[@]}" -t 'a/#' -m x
usage_case pub "Only one type of message can be sent at once." "${H[@]}" -t a -m x -n
usage_case pub "Only one type of message can be sent at once." "${H[@]}" -t a -l -s
usage_case pub "-i and -I argument cannot be used together." "${H[@]}" -t a -m x -i x -I y
usage_case pub "You must provide a client id if you are using the -c option." "${H[@]}" -t a -m x -c
usage_case pub "Will payload given, but no will topic given." "${H[@]}" -t a -m x --will-payload p
usage_case pub "Will retain given, but no will topic given." "${H[@]}" -t a -m x --will-retain
usage_case pub "Invalid will QoS" "${H[@]}" -t a -m x --will-topic w --will-qos 3
usage_case pub "Invalid will topic 'w/+'" "${H[@]}" -t a -m x --will-topic 'w/+'
usage_case sub "You must specify a topic to subscribe to." "${H[@]}"
usage_case sub "You must specify a topic to subscribe to." "${H[@]}" -U a
usage_case sub "Unknown option '-m'." "${H[@]}" -t a -m x
usage_case sub "Unknown option '-vN'." "${H[@]}" -t a -vN
usage_case sub "Invalid subscription topic 'a/#/b'" "${H[@]}" -t 'a/#/b'
usage_case sub "Invalid QoS given: 3" "${H[@]}" -t a -q 3
usage_case sub 'Invalid message count "0".' "${H[@]}" -t a -C 0
usage_case sub 'Invalid timeout "-1".' "${H[@]}" -t a -W -1
usage_case sub "-U argument given but no unsubscribe topic specified." "${H[@]}" -t a -U
usage_case sub "-W argument given but no timeout specified." "${H[@]}" -t a -W

# -V 5: mosquitto speaks MQTT v5, this client does not; it says so.
run ours "$PUB" "${H[@]}" -t a -m x -V 5
expect_rc "mqtt_pub -V 5 -> exit 1 (MQTT v5 not supported)" 1 ours
expect_contains "mqtt_pub -V 5 says it is not supported" "$work/ours.err" "MQTT v5 is not supported"
run ours "$SUB" "${H[@]}" -t a -V mqttv5
expect_rc "mqtt_sub -V mqttv5 -> exit 1" 1 ours

run ours "$PUB" --help
expect_rc "mqtt_pub --help -> exit 0" 0 ours
expect_contains "mqtt_pub --help prints the usage on stdout" "$work/ours.out" "Usage: mqtt_pub"
run ours "$SUB" --version
expect_rc "mqtt_sub --version -> exit 0" 0 ours
expect_contains "mqtt_sub --version prints the version" "$work/ours.out" "mqtt_sub version "

# ------------------------------------------------- connection failures

closed=$(free_port)
for tool in pub sub; do
  ours=$PUB real=mosquitto_pub
  [[ $tool == sub ]] && ours=$SUB real=mosquitto_sub
  args=(-t a)
  [[ $tool == pub ]] && args+=(-m x)
  run real "$real" -h 127.0.0.1 -p "$closed" "${args[@]}"
  real_rc=$RC
  run ours "$ours" -h 127.0.0.1 -p "$closed" "${args[@]}"
  expect_eq "mqtt_$tool to a closed port: exit code as $real's" "$real_rc" "$RC"
  expect_contains "mqtt_$tool to a closed port says: Connection refused" "$work/ours.err" "Error: Connection refused"

  for creds in "-u bob -P wrong" "-u nobody -P secret" ""; do
    # shellcheck disable=SC2086 # creds is a list of words
    run real "$real" -h 127.0.0.1 -p "$AUTH_PORT" $creds "${args[@]}"
    real_rc=$RC
    # shellcheck disable=SC2086
    run ours "$ours" -h 127.0.0.1 -p "$AUTH_PORT" $creds "${args[@]}"
    expect_eq "mqtt_$tool ${creds:-without credentials} on the password listener: exit $real_rc as $real (CONNACK 5)" \
      "$real_rc" "$RC"
    expect_eq "... and exit code 5" 5 "$RC"
    expect_contains "... and says: Connection Refused: not authorised." "$work/ours.err" \
      "Connection error: Connection Refused: not authorised."
  done
done
run ours "$PUB" -h 127.0.0.1 -p "$PORT" -t a -m x --quiet -u bob -P x -p "$AUTH_PORT"
expect_rc "mqtt_pub --quiet refused: exit 5" 5 ours
expect_eq "mqtt_pub --quiet refused: nothing on stderr" "" "$(cat "$work/ours.err")"

# Right credentials, ours -> ours and ours -> mosquitto_sub.
A=(-h 127.0.0.1 -p "$AUTH_PORT" -u bob -P secret)
spawn authsub "$SUB" "${A[@]}" -i authsub -t auth/t -C 1 -v
spawn authreal mosquitto_sub "${A[@]}" -i authreal -t auth/t -C 1 -v
wait_log "Sending SUBACK to authsub"
wait_log "Sending SUBACK to authreal"
run ours "$PUB" "${A[@]}" -t auth/t -m "let in"
expect_rc "mqtt_pub -u bob -P secret: exit 0" 0 ours
reap authsub
expect_rc "mqtt_sub -u bob -P secret: exit 0 after -C 1" 0 authsub
expect_bytes "mqtt_sub -u/-P received it" "$work/authsub.out" $'auth/t let in\n'
reap authreal
expect_bytes "mosquitto_sub -u/-P received it" "$work/authreal.out" $'auth/t let in\n'

# ------------------------------------------------------------- QoS 0/1/2

for q in 0 1 2; do
  # ours -> mosquitto_sub, and ours -> ours, one publish.
  spawn real$q mosquitto_sub "${H[@]}" -i rsub$q -q 2 -t qos/o$q -C 1 -v
  spawn osub$q "$SUB" "${H[@]}" -i osub$q -q 2 -t qos/o$q -C 1 -v
  wait_log "Sending SUBACK to rsub$q"
  wait_log "Sending SUBACK to osub$q"
  run ours "$PUB" "${H[@]}" -i opub$q -q $q -t qos/o$q -m "hello q$q"
  expect_rc "mqtt_pub -q $q: exit 0" 0 ours
  expect_log "mqtt_pub -q $q: the broker got a QoS $q PUBLISH" "Received PUBLISH from opub$q (d0, q$q, r0,"
  reap real$q
  expect_bytes "mqtt_pub -q $q -> mosquitto_sub -v: 'topic payload'" "$work/real$q.out" "qos/o$q hello q$q"$'\n'
  reap osub$q
  expect_rc "mqtt_sub -q 2 -C 1: exit 0" 0 osub$q
  expect_bytes "mqtt_pub -q $q -> mqtt_sub -v: 'topic payload'" "$work/osub$q.out" "qos/o$q hello q$q"$'\n'
  expect_log "mqtt_sub -q 2 got it at QoS $q" "Sending PUBLISH to osub$q (d0, q$q,"

  # mosquitto_pub -> ours.
  spawn isub$q "$SUB" "${H[@]}" -i isub$q -q $q -t qos/i$q -C 1 -v
  wait_log "Sending SUBACK to isub$q"
  run real mosquitto_pub "${H[@]}" -q 2 -t qos/i$q -m "from mosquitto q$q"
  reap isub$q
  expect_rc "mosquitto_pub -> mqtt_sub -q $q: exit 0" 0 isub$q
  expect_bytes "mosquitto_pub -> mqtt_sub -q $q -v" "$work/isub$q.out" "qos/i$q from mosquitto q$q"$'\n'
  expect_log "mqtt_sub -q $q subscribed at QoS $q" $'\t'"qos/i$q (QoS $q)"
done
expect_log "mqtt_pub -q 2 waited for PUBREC and sent PUBREL" "Received PUBREL from opub2"
expect_log "mqtt_pub -q 2 disconnected cleanly" "Received DISCONNECT from opub2"
expect_log "mqtt_sub acknowledged a QoS 1 message" "Received PUBACK from isub1"
expect_log "mqtt_sub completed a QoS 2 message (PUBREC)" "Received PUBREC from isub2"
expect_log "mqtt_sub completed a QoS 2 message (PUBCOMP)" "Received PUBCOMP from isub2"

# ----------------------------------------------------- -l stdin line mode

printf 'one\n\ntwo\r\nthree' >"$work/lines.txt" # an empty line, a CR, no final newline
spawn lreal mosquitto_sub "${H[@]}" -i lreal -t lines/ours -C 4 -v
spawn lref mosquitto_sub "${H[@]}" -i lref -t lines/real -C 4 -v
spawn lours "$SUB" "${H[@]}" -i lours -t lines/ours -C 4 -v
wait_log "Sending SUBACK to lreal"
wait_log "Sending SUBACK to lref"
wait_log "Sending SUBACK to lours"
run_in ours "$work/lines.txt" "$PUB" "${H[@]}" -t lines/ours -l -q 1
expect_rc "mqtt_pub -l: exit 0" 0 ours
run_in real "$work/lines.txt" mosquitto_pub "${H[@]}" -t lines/real -l -q 1
reap lreal
reap lref
reap lours
expect_bytes "mqtt_pub -l -> mosquitto_sub -v: a message per line, empty line as (null), CR kept" \
  "$work/lreal.out" $'lines/ours one\nlines/ours (null)\nlines/ours two\r\nlines/ours three\n'
sed 's#^lines/real#lines/ours#' "$work/lref.out" >"$work/lref.mapped"
expect_same "mqtt_pub -l sends what mosquitto_pub -l sends" "$work/lref.mapped" "$work/lreal.out"
expect_same "mqtt_pub -l -> mqtt_sub -v prints the same" "$work/lreal.out" "$work/lours.out"

# Empty stdin with -l: nothing published, exit 0 (as mosquitto_pub).
run ours "$PUB" "${H[@]}" -t lines/none -l
expect_rc "mqtt_pub -l with empty stdin: exit 0" 0 ours

# ----------------------------------------- binary payloads: -f, -s, -N

format=
for i in {0..255}; do
  printf -v octal '\\%03o' "$i"
  format+=$octal
done
# shellcheck disable=SC2059 # the format's escapes are the point
printf "$format" >"$work/all_bytes.bin"
[[ $(wc -c <"$work/all_bytes.bin") == 256 && $(od -An -tu1 -v "$work/all_bytes.bin" | tr -s ' \n' '\n' |
  sed '/^$/d' | sort -un | wc -l) == 256 ]] || die "could not make the file of all 256 byte values"

binary_case() { # NAME PUBLISHER SUBSCRIBER DESCRIPTION [PUB ARGS...]
  local name=$1 publisher=$2 subscriber=$3 what=$4
  shift 4
  spawn "$name" "$subscriber" "${H[@]}" -i "$name" -t "bin/$name" -C 1 -N
  wait_log "Sending SUBACK to $name"
  run "$name.pub" "$publisher" "${H[@]}" -t "bin/$name" -q 1 "$@"
  [[ $RC == 0 ]] || fail "$what" "publisher exit code $RC: $(cat "$work/$name.pub.err")"
  reap "$name"
  expect_same "$what" "$work/all_bytes.bin" "$work/$name.out"
}
binary_case b1 "$PUB" mosquitto_sub "mqtt_pub -f (all 256 byte values) -> mosquitto_sub -N: byte-exact" -f "$work/all_bytes.bin"
binary_case b2 mosquitto_pub "$SUB" "mosquitto_pub -f (all 256 byte values) -> mqtt_sub -N: byte-exact" -f "$work/all_bytes.bin"
binary_case b3 "$PUB" "$SUB" "mqtt_pub -f -> mqtt_sub -N: byte-exact" -f "$work/all_bytes.bin"
spawn b4 mosquitto_sub "${H[@]}" -i b4 -t bin/b4 -C 1 -N
wait_log "Sending SUBACK to b4"
run_in b4.pub "$work/all_bytes.bin" "$PUB" "${H[@]}" -t bin/b4 -s
reap b4
expect_same "mqtt_pub -s (stdin as one message) -> mosquitto_sub -N: byte-exact" "$work/all_bytes.bin" "$work/b4.out"

head -c 1000000 /dev/urandom >"$work/big.bin"
spawn big "$SUB" "${H[@]}" -i big -t bin/big -q 1 -C 1 -N
wait_log "Sending SUBACK to big"
run ours "$PUB" "${H[@]}" -t bin/big -q 1 -f "$work/big.bin"
reap big
cmp -s "$work/big.bin" "$work/big.out" || fail "1 MB random file, mqtt_pub -f -> mqtt_sub -N" \
  "differs: $(cmp "$work/big.bin" "$work/big.out" 2>&1)"
ok "1 MB random file, mqtt_pub -f -q 1 -> mqtt_sub -N: byte-exact"

run ours "$PUB" "${H[@]}" -t bin/x -f "$work/does-not-exist"
expect_rc "mqtt_pub -f missing file: exit 1 (as mosquitto_pub)" 1 ours
expect_contains "mqtt_pub -f missing file names it" "$work/ours.err" "$work/does-not-exist"
run ours "$PUB" "${H[@]}" -t bin/x -s
expect_rc "mqtt_pub -s with empty stdin: exit 1 (as mosquitto_pub)" 1 ours

# --------------------------------------------------- null messages (-n)

# Both subscribers, with and without -v, see a null message and then "x".
spawn nv_real mosquitto_sub "${H[@]}" -i nv_real -t null/t -C 2 -v
spawn nv_ours "$SUB" "${H[@]}" -i nv_ours -t null/t -C 2 -v
spawn n_real mosquitto_sub "${H[@]}" -i n_real -t null/t -C 2
spawn n_ours "$SUB" "${H[@]}" -i n_ours -t null/t -C 2
for id in nv_real nv_ours n_real n_ours; do wait_log "Sending SUBACK to $id"; done
run ours "$PUB" "${H[@]}" -i npub -t null/t -n
expect_rc "mqtt_pub -n: exit 0" 0 ours
run real mosquitto_pub "${H[@]}" -t null/t -m x
for id in nv_real nv_ours n_real n_ours; do reap $id; done
expect_log "mqtt_pub -n sent a zero-length payload" "Received PUBLISH from npub (d0, q0, r0, m0, 'null/t', ... (0 bytes))"
expect_bytes "mqtt_pub -n -> mosquitto_sub -v prints 'topic (null)'" "$work/nv_real.out" $'null/t (null)\nnull/t x\n'
expect_same "mqtt_sub -v prints a null message as mosquitto_sub -v" "$work/nv_real.out" "$work/nv_ours.out"
expect_bytes "mosquitto_sub without -v prints nothing for a null message" "$work/n_real.out" $'x\n'
expect_same "mqtt_sub without -v: the same (and the null message counts for -C)" "$work/n_real.out" "$work/n_ours.out"

# -f with an empty file sends a null message too (as mosquitto_pub).
: >"$work/empty.bin"
spawn nf "$SUB" "${H[@]}" -i nf -t null/f -C 1 -v
wait_log "Sending SUBACK to nf"
run ours "$PUB" "${H[@]}" -t null/f -f "$work/empty.bin"
reap nf
expect_bytes "mqtt_pub -f empty file -> a null message" "$work/nf.out" $'null/f (null)\n'

# ------------------------------------------- retained, -R, -W, -C, -E, -U

run ours "$PUB" "${H[@]}" -i rpub -t ret/a -m "stale value" -r -q 1
expect_rc "mqtt_pub -r: exit 0" 0 ours
expect_log "mqtt_pub -r -q 1 set the retain flag" "Received PUBLISH from rpub (d0, q1, r1, m1, 'ret/a', ... (11 bytes))"
run ours "$SUB" "${H[@]}" -t 'ret/#' -C 1 -v
expect_bytes "mqtt_sub gets the retained message" "$work/ours.out" $'ret/a stale value\n'

spawn rR_ours "$SUB" "${H[@]}" -i rR_ours -t 'ret/#' -R -C 1 -v
spawn rR_real mosquitto_sub "${H[@]}" -i rR_real -t 'ret/#' -R -C 1 -v
wait_log "Sending SUBACK to rR_ours"
wait_log "Sending SUBACK to rR_real"
wait_log "Sending PUBLISH to rR_ours (d0, q0, r1," # the retained one came (and is skipped)
wait_log "Sending PUBLISH to rR_real (d0, q0, r1,"
run real mosquitto_pub "${H[@]}" -t ret/b -m fresh
reap rR_real
reap rR_ours
expect_bytes "mosquitto_sub -R skips the retained message and counts only the fresh one" "$work/rR_real.out" $'ret/b fresh\n'
expect_same "mqtt_sub -R: the same" "$work/rR_real.out" "$work/rR_ours.out"

# -n -r clears the retained message; then -W 1 has nothing to print: exit 27.
run ours "$PUB" "${H[@]}" -t ret/a -n -r
expect_rc "mqtt_pub -n -r: exit 0" 0 ours
spawn w_real mosquitto_sub "${H[@]}" -t ret/a -W 1
spawn w_ours "$SUB" "${H[@]}" -t ret/a -W 1
reap w_real
real_rc=$RC
reap w_ours
expect_eq "mosquitto_sub -W 1 with nothing to receive exits 27" 27 "$real_rc"
expect_rc "mqtt_sub -W 1 with nothing to receive: exit 27" 27 w_ours
expect_eq "mqtt_sub -W: stderr as mosquitto_sub's" "$(cat "$work/w_real.err")" "$(cat "$work/w_ours.err")"
expect_eq "mqtt_sub -W: no output (the retained message was cleared by -n -r)" "" "$(cat "$work/w_ours.out")"

# -C 3 out of 5.
spawn cnt "$SUB" "${H[@]}" -i cnt -t count/t -C 3
wait_log "Sending SUBACK to cnt"
printf 'm1\nm2\nm3\nm4\nm5\n' >"$work/five.txt"
run_in real "$work/five.txt" mosquitto_pub "${H[@]}" -t count/t -l
reap cnt
expect_rc "mqtt_sub -C 3: exit 0" 0 cnt
expect_bytes "mqtt_sub -C 3 prints exactly 3 of 5 messages" "$work/cnt.out" $'m1\nm2\nm3\n'
expect_log "mqtt_sub -C disconnects cleanly" "Received DISCONNECT from cnt"

# -E: exits once subscribed.
run ours "$SUB" "${H[@]}" -i esub -t e/t -t e/u -E
expect_rc "mqtt_sub -E: exit 0" 0 ours
expect_log "mqtt_sub -E subscribed before leaving" "Sending SUBACK to esub"
expect_log "mqtt_sub -E disconnected cleanly" "Received DISCONNECT from esub"

# -U with a persistent session (-c): the unsubscribed topic's queued message
# never comes; the control session, without -U, does get it.
for id in usub ctrl; do
  run ours "$SUB" "${H[@]}" -c -i $id -q 1 -t u/gone -t u/kept -E
  expect_rc "mqtt_sub -c -i $id -E: persistent subscriptions made" 0 ours
done
expect_log "mqtt_sub -c sent clean session 0" "as usub (p2, c0, k60)"
run ours "$SUB" "${H[@]}" -c -i usub -q 1 -t u/kept -U u/gone -E
expect_rc "mqtt_sub -U u/gone -E: exit 0" 0 ours
expect_log "mqtt_sub -U sent UNSUBSCRIBE" "Received UNSUBSCRIBE from usub"
run real mosquitto_pub "${H[@]}" -q 1 -t u/gone -m gone
run real mosquitto_pub "${H[@]}" -q 1 -t u/kept -m kept
run ours "$SUB" "${H[@]}" -c -i usub -q 1 -t u/kept -C 1 -v
expect_bytes "after -U, the session holds only the kept topic's message" "$work/ours.out" $'u/kept kept\n'
run ours "$SUB" "${H[@]}" -c -i ctrl -q 1 -t u/kept -C 1 -v
expect_bytes "control: without -U the queued u/gone message comes first" "$work/ours.out" $'u/gone gone\n'

# -------------------------------------------------------------------- will

# mqtt_sub with a will, killed with SIGKILL: the broker publishes the will.
spawn will_watch mosquitto_sub "${H[@]}" -i will_watch -t will/sub -q 1 -C 1 -v
wait_log "Sending SUBACK to will_watch"
spawn wsub "$SUB" "${H[@]}" -i wsub -t x --will-topic will/sub --will-payload "sub died" --will-qos 1 --will-retain
wait_log "Sending SUBACK to wsub"
kill -9 "$(pid_of wsub)"
reap wsub
reap will_watch
expect_bytes "mqtt_sub --will-*, kill -9 -> mosquitto_sub gets the will" "$work/will_watch.out" $'will/sub sub died\n'
run real mosquitto_sub "${H[@]}" -t will/sub -q 1 -C 1 -F '%r %q %t %p'
expect_bytes "the will is retained, QoS 1 (--will-retain --will-qos 1)" "$work/real.out" $'1 1 will/sub sub died\n'
run ours "$PUB" "${H[@]}" -t will/sub -r -n # clear it

# mqtt_pub -l with a will, killed while waiting for stdin: mqtt_sub gets the will.
spawn pwill_watch "$SUB" "${H[@]}" -i pwill_watch -t will/pub -C 1 -v
wait_log "Sending SUBACK to pwill_watch"
mkfifo "$work/stdin.fifo"
spawn_in wpub "$work/stdin.fifo" "$PUB" "${H[@]}" -i wpub -t x -l --will-topic will/pub --will-payload "pub died"
exec 3>"$work/stdin.fifo" # the writing end stays open: mqtt_pub -l waits for more lines
echo alive >&3
wait_log "Received PUBLISH from wpub"
kill -9 "$(pid_of wpub)"
reap wpub
exec 3>&-
reap pwill_watch
expect_bytes "mqtt_pub --will-*, kill -9 -> mqtt_sub gets the will" "$work/pwill_watch.out" $'will/pub pub died\n'

# SIGTERM is a clean exit: DISCONNECT, so no will (as mosquitto_sub).
spawn tsub "$SUB" "${H[@]}" -i tsub -t x --will-topic will/term --will-payload "must not appear"
wait_log "Sending SUBACK to tsub"
kill -TERM "$(pid_of tsub)"
reap tsub
expect_rc "mqtt_sub on SIGTERM: exit 0 (as mosquitto_sub)" 0 tsub
expect_log "mqtt_sub on SIGTERM sends DISCONNECT (the will is discarded)" "Received DISCONNECT from tsub"

# ------------------------------------------- client id, -V, -k, -d

spawn pfx "$PUB" "${H[@]}" -I pfx- -t id/t -m x
pfx_pid=$(pid_of pfx)
reap pfx
expect_rc "mqtt_pub -I pfx-: exit 0" 0 pfx
expect_log "mqtt_pub -I prefix: the client id is the prefix and the pid" "as pfx-$pfx_pid (p2, c1, k60)"
run ours "$PUB" "${H[@]}" -i v31pub -V 31 -k 17 -t id/t -m x
expect_rc "mqtt_pub -V 31: exit 0" 0 ours
expect_log "mqtt_pub -V 31 -k 17 connects with MQTT 3.1 (p1), keepalive 17" "as v31pub (p1, c1, k17)"
run ours "$PUB" "${H[@]}" -i v311pub -V mqttv311 -t id/t -m x
expect_log "mqtt_pub -V mqttv311 connects with MQTT 3.1.1 (p2)" "as v311pub (p2, c1, k60)"
run ours "$SUB" "${H[@]}" -V 31 -t id/t -E
expect_rc "mqtt_sub -V 31 without -i (a random client id): exit 0" 0 ours
run ours "$PUB" "${H[@]}" -d -i dpub -t id/t -m x
expect_rc "mqtt_pub -d: exit 0" 0 ours
expect_contains "mqtt_pub -d logs to stderr" "$work/ours.err" "mqtt [debug]"
expect_eq "mqtt_pub -d leaves stdout alone" "" "$(cat "$work/ours.out")"

kill -0 "$broker_pid" 2>/dev/null || fail "the broker ran through the whole test" "it is gone: stopped from outside?"
echo "# $passed checks passed"

# shellcheck shell=bash
# Helpers sourced by scripts/demo and scripts/test (which set -euo pipefail).
#
#   ensure_packages pkg...      install missing Debian packages, or say exactly how
#   configure_build dir args... cmake -G Ninja, quietly, reusing the build dir
#   run_quiet log what cmd...   run cmd with its output in log; print log on failure
#   start_mosquitto             throwaway broker on a free loopback port:
#                               sets MOSQUITTO_HOST, MOSQUITTO_PORT, MOSQUITTO_DIR
#   stop_mosquitto              stops it and removes its temp dir (also run on EXIT)

MQTT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export DEBIAN_FRONTEND=noninteractive

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# One-line step header.
step() {
  printf '\n==> %s\n' "$*"
}

# run_quiet LOG WHAT CMD...: runs CMD with stdout+stderr appended to LOG; on
# failure prints LOG (its first 250 lines when long) and exits 1 naming WHAT.
run_quiet() {
  local log=$1 what=$2
  shift 2
  mkdir -p "$(dirname "$log")"
  if ! "$@" >>"$log" 2>&1; then
    local lines
    lines=$(wc -l <"$log")
    printf -- '--- %s ---\n' "$log" >&2
    if ((lines > 300)); then
      head -n 250 "$log" >&2 # the first errors matter most
      printf -- '--- [%d more lines in %s] ---\n' $((lines - 250)) "$log" >&2
    else
      cat "$log" >&2
    fi
    die "$what failed (command: $*; output above, all of it in $log)"
  fi
}

_MQTT_APT_UPDATED=

# ensure_packages PKG...: installs the Debian packages that are missing, as
# root directly or through passwordless sudo; otherwise says what to install
# and exits 1.
ensure_packages() {
  local pkg status
  local -a missing=()
  if ! command -v dpkg-query >/dev/null 2>&1; then
    die "dpkg-query not found: these scripts install packages on Debian/Ubuntu only; install the equivalents of: $*"
  fi
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0

  local -a as_root=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      as_root=(sudo -n)
    else
      printf 'missing packages: %s — install them with: sudo apt-get install %s\n' \
        "${missing[*]}" "${missing[*]}" >&2
      exit 1
    fi
  fi

  local log
  log=$(mktemp "${TMPDIR:-/tmp}/mqtt-apt.XXXXXX")
  printf 'installing missing packages: %s\n' "${missing[*]}"
  if [[ -z $_MQTT_APT_UPDATED ]]; then
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >>"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      die "apt-get update failed; install manually: sudo apt-get install ${missing[*]}"
    fi
    _MQTT_APT_UPDATED=1
  fi
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "apt-get install ${missing[*]} failed (output above)"
  fi
  rm -f "$log"
}

# configure_build DIR CMAKE_ARGS...: configures the source tree into DIR with
# Ninja (output in DIR/configure.log, shown on failure). Reuses an existing DIR.
configure_build() {
  local dir=$1
  shift
  if [[ -f $dir/CMakeCache.txt ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    die "$dir was configured with another CMake generator; remove it (rm -rf $dir) and rerun"
  fi
  mkdir -p "$dir"
  : >"$dir/configure.log"
  run_quiet "$dir/configure.log" "configuring $dir" cmake -S "$MQTT_ROOT" -B "$dir" -G Ninja "$@"
}

# --- a throwaway Mosquitto ---------------------------------------------------

# shellcheck disable=SC2034 # used by the scripts that source this file
MOSQUITTO_HOST=127.0.0.1
MOSQUITTO_PORT=
MOSQUITTO_DIR=
MOSQUITTO_PID=

find_mosquitto() {
  local candidate
  candidate=$(command -v mosquitto 2>/dev/null || true)
  if [[ -z $candidate ]]; then
    for candidate in /usr/sbin/mosquitto /usr/local/sbin/mosquitto; do
      [[ -x $candidate ]] && break
      candidate=
    done
  fi
  [[ -n $candidate ]] || die "mosquitto not found: install it (Debian/Ubuntu: apt-get install mosquitto)"
  printf '%s\n' "$candidate"
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_accepts() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A random port in 20000..60000.
random_port() {
  printf '%d\n' $(((RANDOM << 15 | RANDOM) % 40001 + 20000))
}

# start_mosquitto: starts a broker on a free loopback port with its own config
# in a temp dir, waits (at most 10 s) until it accepts connections, and
# arranges for stop_mosquitto to run when the script exits.
start_mosquitto() {
  local bin attempt port conf pid i
  bin=$(find_mosquitto)
  MOSQUITTO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mqtt-broker.XXXXXX")
  trap stop_mosquitto EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  conf=$MOSQUITTO_DIR/mosquitto.conf
  # Tie the broker's life to this script where util-linux can (kill -9 of the script).
  local -a launcher=()
  if command -v setpriv >/dev/null 2>&1 && setpriv --pdeathsig KILL true 2>/dev/null; then
    launcher=(setpriv --pdeathsig KILL)
  fi

  for ((attempt = 1; attempt <= 10; attempt++)); do
    port=$(random_port)
    port_accepts "$port" && continue
    {
      # As root, Mosquitto would switch to user "mosquitto", which cannot use our temp dir.
      if ((EUID == 0)); then echo "user root"; fi
      echo "listener $port 127.0.0.1"
      echo "allow_anonymous true"
      echo "persistence false"
      echo "log_dest file $MOSQUITTO_DIR/mosquitto.log"
      echo "log_type all"
    } >"$conf"
    : >"$MOSQUITTO_DIR/mosquitto.log"
    "${launcher[@]}" "$bin" -c "$conf" >>"$MOSQUITTO_DIR/mosquitto.out" 2>&1 &
    pid=$!
    MOSQUITTO_PID=$pid
    for ((i = 0; i < 200; i++)); do # 200 x 50 ms = 10 s
      if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        MOSQUITTO_PID=
        if grep -q 'Address already in use' "$MOSQUITTO_DIR/mosquitto.log" "$MOSQUITTO_DIR/mosquitto.out" 2>/dev/null; then
          continue 2 # the port was taken meanwhile: another one
        fi
        cat "$MOSQUITTO_DIR/mosquitto.out" "$MOSQUITTO_DIR/mosquitto.log" >&2 2>/dev/null || true
        die "mosquitto ($bin -c $conf) exited during start-up (its log is above)"
      fi
      if grep -q ' running$' "$MOSQUITTO_DIR/mosquitto.log" && port_accepts "$port"; then
        # shellcheck disable=SC2034 # used by the scripts that source this file
        MOSQUITTO_PORT=$port
        return 0
      fi
      sleep 0.05
    done
    cat "$MOSQUITTO_DIR/mosquitto.out" "$MOSQUITTO_DIR/mosquitto.log" >&2 2>/dev/null || true
    die "mosquitto did not accept connections on 127.0.0.1:$port within 10 s (its log is above)"
  done
  die "could not find a free port for mosquitto in 10 attempts"
}

# stop_mosquitto: SIGTERM, SIGKILL after 5 s, reap, remove the temp dir. Safe
# to call twice.
stop_mosquitto() {
  local pid=$MOSQUITTO_PID i
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    MOSQUITTO_PID=
  fi
  if [[ -n $MOSQUITTO_DIR ]]; then
    rm -rf "$MOSQUITTO_DIR"
    MOSQUITTO_DIR=
  fi
}

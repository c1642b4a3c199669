#!/usr/bin/env bash
# Zero-downtime restarts, measured: wrk (keep-alive connections) against an example HTTP
# server on loopback while relive restarts it RESTARTS times (a watched file is touched,
# one restart at a time). Each run is SERVER:SETUP; servers are the three examples,
#
#   cpp           build/examples/http_server/http_server
#   python        python3 examples/python_server.py
#   node          node examples/node_server.js
#
# and setups
#
#   plain         relive -- SERVER --port P              (the server binds; refused while down; cpp only)
#   socket        relive --socket P -- SERVER            (relive binds; clients wait in the backlog)
#   graceful      relive --socket P --graceful -- SERVER (new server ready before the old stops)
#
# For each: failed requests (non-2xx and read/write/timeout errors), connection errors
# (wrk's connect errors), requests/s while restarting, and requests/s in steady state
# (same server, same wrk settings, no restarts) measured just before. Run by hand:
#
#   bench/zero_downtime.sh [BUILD_DIR]        # default: build
#   RESTARTS=50 INTERVAL_MS=100 STEADY_S=5 CONNECTIONS=16 bench/zero_downtime.sh
#   RUNS="cpp:graceful python:graceful node:graceful" RESTARTS=10 CONNECTIONS=8 bench/zero_downtime.sh
#
# Loopback only; bounded: each phase stops after its restarts or TIMEOUT_S seconds.
set -euo pipefail

BUILD=${1:-build}
RELIVE=${RELIVE:-$BUILD/relive}
SERVER=${SERVER:-$BUILD/examples/http_server/http_server}
RESTARTS=${RESTARTS:-50}
INTERVAL_MS=${INTERVAL_MS:-100}     # pause between one restart finishing and the next touch
STEADY_S=${STEADY_S:-5}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
TIMEOUT_S=${TIMEOUT_S:-120}
RUNS=${RUNS:-"cpp:plain cpp:socket cpp:graceful python:graceful node:graceful"}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
NODE=$(command -v /usr/bin/node || command -v node || true)

for tool in wrk python3; do
  command -v "$tool" >/dev/null || { echo "zero_downtime.sh: needs $tool" >&2; exit 2; }
done
[[ -x $RELIVE ]] || { echo "zero_downtime.sh: no relive at $RELIVE (build it first)" >&2; exit 2; }
[[ -x $SERVER ]] || { echo "zero_downtime.sh: no example server at $SERVER" >&2; exit 2; }
RELIVE=$(realpath "$RELIVE")
SERVER=$(realpath "$SERVER")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/relive-zd-bench-XXXXXX")
RELIVE_PID=""
WRK_PID=""
cleanup() {
  [[ -n $WRK_PID ]] && kill "$WRK_PID" 2>/dev/null || true
  if [[ -n $RELIVE_PID ]]; then
    kill -TERM "$RELIVE_PID" 2>/dev/null || true
    wait "$RELIVE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Number of "start" events relive has written so far.
# (0 before relive has written the file: grep -c prints nothing for a missing file.)
starts() { local n; n=$(grep -c '"event":"start"' "$WORK/events.jsonl" 2>/dev/null) || true; echo "${n:-0}"; }

wait_for_starts() {  # N: until at least N starts, or the deadline
  local want=$1 deadline=$(( $(date +%s) + 30 ))
  while (( $(starts) < want )); do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.01
  done
}

wait_for_http() {  # PORT: until the server answers
  local deadline=$(( $(date +%s) + 30 ))
  until python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
assert s.recv(100).split(b" ")[1] == b"200"
EOF
  do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.05
  done
}

# wrk's summary → "requests errors_connect errors_other non2xx rps"
parse_wrk() {
  python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def num(pattern, default=0):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else default
requests = num(r"(\d+) requests in")
connect = read = write = timeout = 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m:
    connect, read, write, timeout = map(int, m.groups())
non2xx = int(num(r"Non-2xx or 3xx responses: (\d+)"))
rps = num(r"Requests/sec:\s+([\d.]+)")
print(int(requests), connect, read + write + timeout, non2xx, rps)
EOF
}

declare -A ROW
run_mode() {
  local run=$1 kind=${1%%:*} mode=${1#*:} port; port=$(free_port)
  local -a args=(-w "$WORK/watched" --json-events "$WORK/events.jsonl" -q)
  local -a server
  case $kind in
    cpp) server=("$SERVER") ;;
    python) server=("$PYTHON" "$SRC/examples/python_server.py") ;;
    node) [[ -n $NODE ]] || { echo "zero_downtime.sh: node is not installed" >&2; exit 2; }
          server=("$NODE" "$SRC/examples/node_server.js") ;;
    *) echo "zero_downtime.sh: unknown server $kind" >&2; exit 2 ;;
  esac
  case $mode in
    plain) [[ $kind == cpp ]] || { echo "zero_downtime.sh: plain needs a --port option (cpp only)" >&2; exit 2; }
           server+=(--port "$port") ;;
    socket) args+=(--socket "127.0.0.1:$port") ;;
    graceful) args+=(--socket "127.0.0.1:$port" --graceful) ;;
  esac
  rm -rf "$WORK/watched" "$WORK/events.jsonl"
  mkdir -p "$WORK/watched"
  echo 0 >"$WORK/watched/trigger"
  "$RELIVE" "${args[@]}" -- "${server[@]}" >"$WORK/relive-$kind-$mode.log" 2>&1 &
  RELIVE_PID=$!
  wait_for_starts 1 || { echo "$run: relive did not start the server" >&2; cat "$WORK/relive-$kind-$mode.log" >&2; exit 1; }
  wait_for_http "$port" || { echo "$run: server not answering" >&2; exit 1; }

  # Steady state: same server, no restarts.
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${STEADY_S}s" "http://127.0.0.1:$port/" >"$WORK/steady-$kind-$mode.txt" 2>&1
  read -r _ _ _ _ steady_rps < <(parse_wrk "$WORK/steady-$kind-$mode.txt")

  # Under restarts: wrk runs until we stop it with SIGINT (it then prints its summary).
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${TIMEOUT_S}s" "http://127.0.0.1:$port/" >"$WORK/restarts-$kind-$mode.txt" 2>&1 &
  WRK_PID=$!
  sleep 0.5  # let wrk's connections come up before the first restart
  local done=0 base; base=$(starts) ; local t0; t0=$(date +%s)
  while (( done < RESTARTS )) && (( $(date +%s) - t0 < TIMEOUT_S - 5 )); do
    echo "$done" >"$WORK/watched/trigger"
    wait_for_starts $(( base + done + 1 )) || { echo "$run: restart $((done + 1)) did not happen" >&2; break; }
    done=$(( done + 1 ))
    # With --graceful a start is followed by readiness and the old server's drain; the
    # pause keeps one restart at a time either way.
    sleep "$(awk "BEGIN{print $INTERVAL_MS/1000}")"
  done
  kill -INT "$WRK_PID"
  wait "$WRK_PID" || true
  WRK_PID=""
  kill -TERM "$RELIVE_PID"; wait "$RELIVE_PID" || true
  RELIVE_PID=""
  read -r requests connect_errors other_errors non2xx rps < <(parse_wrk "$WORK/restarts-$kind-$mode.txt")
  local ratio; ratio=$(awk "BEGIN{ if ($steady_rps > 0) printf \"%.2f\", $rps/$steady_rps; else print \"-\" }")
  ROW[$run]=$(printf "| %-7s | %-22s | %8d | %13d | %14d | %7d | %12.0f | %12.0f | %5s |" \
    "$kind" "$(label "$mode")" "$done" "$other_errors" "$connect_errors" "$non2xx" "$rps" "$steady_rps" "$ratio")
  echo "${ROW[$run]}" >&2
}

label() {
  case $1 in
    plain) echo "plain (no --socket)" ;;
    socket) echo "--socket" ;;
    graceful) echo "--socket --graceful" ;;
  esac
}

echo "relive zero-downtime bench: $RESTARTS restarts, wrk -t$THREADS -c$CONNECTIONS (keep-alive), loopback, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for run in $RUNS; do run_mode "$run"; done

echo
echo "| server  | setup                  | restarts | socket errors | connect errors | non-2xx | req/s during | req/s steady | ratio |"
echo "|---------|------------------------|---------:|--------------:|---------------:|--------:|-------------:|-------------:|------:|"
for run in $RUNS; do echo "${ROW[$run]}"; done
echo
echo "socket errors = wrk's read/write/timeout errors (a request lost on an open connection);"
echo "connect errors = refused/failed connects; non-2xx = answers other than 2xx/3xx."

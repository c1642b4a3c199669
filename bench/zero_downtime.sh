#!/usr/bin/env bash
# Zero-downtime restarts, measured: wrk against the example HTTP server on loopback while
# relive restarts it RESTARTS times (a watched file is touched, one restart at a time),
# for three setups:
#
#   plain         relive -- http_server --port P              (the server binds; refused while down)
#   socket        relive --socket P -- http_server            (relive binds; clients wait in the backlog)
#   graceful      relive --socket P --graceful -- http_server (new server ready before the old stops)
#
# For each: failed requests (non-2xx and read/write/timeout errors), connection errors
# (wrk's connect errors), requests/s while restarting, and requests/s in steady state
# (same server, same wrk settings, no restarts) measured just before. Run by hand:
#
#   bench/zero_downtime.sh [BUILD_DIR]        # default: build
#   RESTARTS=50 INTERVAL_MS=100 STEADY_S=5 CONNECTIONS=16 bench/zero_downtime.sh
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
MODES=${MODES:-"plain socket graceful"}

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
starts() { grep -c '"event":"start"' "$WORK/events.jsonl" 2>/dev/null || true; }

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
assert s.recv(100).startswith(b"HTTP/1.1 200")
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
  local mode=$1 port; port=$(free_port)
  local -a args=(-w "$WORK/watched" --json-events "$WORK/events.jsonl" -q)
  local -a server=("$SERVER")
  case $mode in
    plain) server+=(--port "$port") ;;
    socket) args+=(--socket "127.0.0.1:$port") ;;
    graceful) args+=(--socket "127.0.0.1:$port" --graceful) ;;
  esac
  rm -rf "$WORK/watched" "$WORK/events.jsonl"
  mkdir -p "$WORK/watched"
  echo 0 >"$WORK/watched/trigger"
  "$RELIVE" "${args[@]}" -- "${server[@]}" >"$WORK/relive-$mode.log" 2>&1 &
  RELIVE_PID=$!
  wait_for_starts 1 || { echo "$mode: relive did not start the server" >&2; cat "$WORK/relive-$mode.log" >&2; exit 1; }
  wait_for_http "$port" || { echo "$mode: server not answering" >&2; exit 1; }

  # Steady state: same server, no restarts.
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${STEADY_S}s" "http://127.0.0.1:$port/" >"$WORK/steady-$mode.txt" 2>&1
  read -r _ _ _ _ steady_rps < <(parse_wrk "$WORK/steady-$mode.txt")

  # Under restarts: wrk runs until we stop it with SIGINT (it then prints its summary).
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${TIMEOUT_S}s" "http://127.0.0.1:$port/" >"$WORK/restarts-$mode.txt" 2>&1 &
  WRK_PID=$!
  sleep 0.5  # let wrk's connections come up before the first restart
  local done=0 base; base=$(starts) ; local t0; t0=$(date +%s)
  while (( done < RESTARTS )) && (( $(date +%s) - t0 < TIMEOUT_S - 5 )); do
    echo "$done" >"$WORK/watched/trigger"
    wait_for_starts $(( base + done + 1 )) || { echo "$mode: restart $((done + 1)) did not happen" >&2; break; }
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
  read -r requests connect_errors other_errors non2xx rps < <(parse_wrk "$WORK/restarts-$mode.txt")
  local failed=$(( other_errors + non2xx ))
  local ratio; ratio=$(awk "BEGIN{ if ($steady_rps > 0) printf \"%.2f\", $rps/$steady_rps; else print \"-\" }")
  ROW[$mode]=$(printf "| %-30s | %8d | %15d | %17d | %12.0f | %12.0f | %5s |" \
    "$(label "$mode")" "$done" "$failed" "$connect_errors" "$rps" "$steady_rps" "$ratio")
  echo "${ROW[$mode]}" >&2
}

label() {
  case $1 in
    plain) echo "plain restart (no --socket)" ;;
    socket) echo "--socket" ;;
    graceful) echo "--socket --graceful" ;;
  esac
}

echo "relive zero-downtime bench: $RESTARTS restarts, wrk -t$THREADS -c$CONNECTIONS, loopback, $(nproc) cores" >&2
for mode in $MODES; do run_mode "$mode"; done

echo
echo "| setup                          | restarts | failed requests | connection errors | req/s during | req/s steady | ratio |"
echo "|--------------------------------|---------:|----------------:|------------------:|-------------:|-------------:|------:|"
for mode in $MODES; do echo "${ROW[$mode]}"; done
echo
echo "failed = non-2xx answers + read/write/timeout errors (wrk); connection errors = refused/failed connects."

#!/usr/bin/env bash
# Memory of `relive burst --listen` holding 10,000 live buffers: 10,000 UDP senders (each
# its own socket, so its own buffer) send 5 debug lines of ~90 bytes each and never an
# error. Prints relive's resident memory before and after, and its own accounting
# (the last periodic stats line: buffers, bytes held).
#
#   bench/burst_port_memory.sh            # build/relive; SENDERS=10000 LINES=5
set -euo pipefail
cd "$(dirname "$0")/.."
RELIVE=${RELIVE:-build/relive}
SENDERS=${SENDERS:-10000}
LINES=${LINES:-5}
PORT=$((20000 + RANDOM % 20000))
ERR=$(mktemp)
"$RELIVE" burst --listen "udp:127.0.0.1:$PORT" --output /dev/null --stats 200ms --flush-on-exit never 2> "$ERR" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$ERR"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$ERR" && break; sleep 0.05; done
rss() { awk '/VmRSS/ { print $2 }' "/proc/$pid/status"; }
before=$(rss)
/usr/bin/python3 - "$PORT" "$SENDERS" "$LINES" <<'PY'
import socket, sys, time
port, senders, lines = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, senders + 100), hard))
keep = []  # every socket stays open, so every sender has its own source port
for i in range(senders):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    keep.append(s)
    for n in range(lines):
        s.sendto(b"<15>app[%d]: sender %d debug line %d: cache miss for key user:%06d, fetching" % (i, i, n, i), ("127.0.0.1", port))
    if i % 200 == 199:
        time.sleep(0.01)  # let the receiver keep up (UDP: no back-pressure)
PY
sleep 1
after=$(rss)
stats=$(grep "stats:" "$ERR" | tail -1)
kill -TERM $pid
wait $pid || true
buffers=$(sed -E 's/.* in ([0-9]+) buffers \(([0-9]+) bytes\).*/\1/' <<< "$stats")
bytes=$(sed -E 's/.* in ([0-9]+) buffers \(([0-9]+) bytes\).*/\2/' <<< "$stats")
held=$(sed -E 's/.*held ([0-9]+) in.*/\1/' <<< "$stats")
echo "| senders | live buffers | lines held | accounted bytes | RSS before (KiB) | RSS after (KiB) | RSS per buffer (bytes) |"
echo "|---|---|---|---|---|---|---|"
echo "| $SENDERS | $buffers | $held | $bytes | $before | $after | $(( (after - before) * 1024 / (buffers > 0 ? buffers : 1) )) |"

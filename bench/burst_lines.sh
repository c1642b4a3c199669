#!/usr/bin/env bash
# Lines per second through `relive burst` (default presets) on a generated mixed log of
# several million lines, beside `cat` as the floor (the cost of just moving the bytes).
# Median of 5 runs each. The issue's target: >= 1 million lines per second.
#
#   bench/burst_lines.sh                 # uses build/relive, 5M lines
#   RELIVE=build-x/relive LINES=10000000 RUNS=5 bench/burst_lines.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RELIVE=${RELIVE:-build/relive}
LINES=${LINES:-5000000}
RUNS=${RUNS:-5}
LOG=/tmp/relive-burst-mixed-${LINES}.log

[[ -x $RELIVE ]] || { echo "burst_lines.sh: $RELIVE not built (set RELIVE=path/to/relive)" >&2; exit 2; }
if [[ ! -s $LOG ]]; then
  echo "generating $LOG ..." >&2
  python3 bench/gen_mixed_log.py --lines "$LINES" > "$LOG.tmp.$$"
  mv "$LOG.tmp.$$" "$LOG"
fi
lines=$(wc -l < "$LOG")
bytes=$(stat -c %s "$LOG")
out_lines=$("$RELIVE" burst < "$LOG" | wc -l)

# Median wall time (seconds) of RUNS runs of "$@" with stdin from the log, stdout to /dev/null.
median_seconds() {
  local times=()
  for ((i = 0; i < RUNS; i++)); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" < "$LOG" > /dev/null
    t1=$(date +%s%N)
    times+=($(( t1 - t0 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2) { printf "%.4f", $1 / 1e9 }'
}

cat "$LOG" > /dev/null  # warm the page cache
t_cat=$(median_seconds cat)
t_burst=$(median_seconds "$RELIVE" burst)

echo "log: $LOG — $lines lines, $((bytes / 1048576)) MiB; relive burst writes $out_lines of them"
echo "median of $RUNS runs, stdin from the file, stdout to /dev/null"
echo
awk -v lines="$lines" -v bytes="$bytes" -v tc="$t_cat" -v tb="$t_burst" 'BEGIN {
  printf "| %-22s | %9s | %15s | %9s |\n", "command", "seconds", "lines/s", "MiB/s"
  printf "|%s|%s|%s|%s|\n", "------------------------", "-----------", "-----------------", "-----------"
  printf "| %-22s | %9.3f | %15.0f | %9.0f |\n", "cat (floor)", tc, lines / tc, bytes / tc / 1048576
  printf "| %-22s | %9.3f | %15.0f | %9.0f |\n", "relive burst", tb, lines / tb, bytes / tb / 1048576
  printf "\nrelive burst / cat time ratio: %.2f; target >= 1,000,000 lines/s: %s\n", tb / tc, (lines / tb >= 1e6 ? "met" : "NOT met")
}'

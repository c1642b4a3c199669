#!/usr/bin/env bash
# Lines per second through `relive burst` (default presets) on a generated mixed log of
# several million lines, beside `cat` as the floor (the cost of just moving the bytes).
# Median of 5 runs each. The target: >= 1 million lines per second.
#
#   bench/burst_lines.sh                 # uses build/relive, 5M lines
#   RELIVE=build-x/relive LINES=10000000 RUNS=5 bench/burst_lines.sh
BENCH=burst_lines.sh GENERATOR=bench/gen_mixed_log.py LOG_KIND=mixed RUNS=${RUNS:-5}
source "$(dirname "$0")/burst_common.sh"
lines=$(wc -l < "$LOG")
bytes=$(stat -c %s "$LOG")
out_lines=$("$RELIVE" burst < "$LOG" | wc -l)

cat "$LOG" > /dev/null  # warm the page cache
read -r w_cat c_cat <<< "$(measure cat)"
read -r w_burst c_burst <<< "$(measure "$RELIVE" burst)"

echo "log: $LOG — $lines lines, $((bytes / 1048576)) MiB; relive burst writes $out_lines of them"
echo "median of $RUNS runs, stdin from the file, stdout to /dev/null"
echo
awk -v lines="$lines" -v bytes="$bytes" -v wc="$w_cat" -v cc="$c_cat" -v wb="$w_burst" -v cb="$c_burst" 'BEGIN {
  if (cc < 0.001) cc = 0.001
  printf "| %-14s | %8s | %13s | %10s | %8s | %13s |\n", "command", "wall s", "lines/s wall", "MiB/s wall", "CPU s", "lines/s CPU"
  printf "|%s|%s|%s|%s|%s|%s|\n", "----------------", "----------", "---------------", "------------", "----------", "---------------"
  printf "| %-14s | %8.3f | %13.0f | %10.0f | %8.3f | %13.0f |\n", "cat (floor)", wc, lines / wc, bytes / wc / 1048576, cc, lines / cc
  printf "| %-14s | %8.3f | %13.0f | %10.0f | %8.3f | %13.0f |\n", "relive burst", wb, lines / wb, bytes / wb / 1048576, cb, lines / cb
  printf "\nrelive burst / cat wall-time ratio: %.2f; target >= 1,000,000 lines/s (wall): %s\n", wb / wc, (lines / wb >= 1e6 ? "met" : "NOT met")
}'
uptime

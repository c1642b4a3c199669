#!/usr/bin/env bash
# The per-key line filter against today's single-buffer filter on the same log: 5 M
# logfmt lines of 1000 interleaved requests (bench/gen_keyed_log.py). Wall and CPU time,
# median of RUNS runs; lines/s from the CPU time (the steadier figure on a shared machine).
#
#   bench/burst_keys.sh                    # build/relive, 5M lines, 3 runs
#   RELIVE=build-x/relive LINES=1000000 RUNS=5 bench/burst_keys.sh
#   OLD_RELIVE=../main/build/relive bench/burst_keys.sh   # also the filter before this change
BENCH=burst_keys.sh GENERATOR=bench/gen_keyed_log.py LOG_KIND=keyed RUNS=${RUNS:-3}
source "$(dirname "$0")/burst_common.sh"
lines=$(wc -l < "$LOG")
echo "log: $LOG, $lines lines; load $(cut -d' ' -f1 /proc/loadavg); median of $RUNS runs"
echo "| filter | lines written | wall s | CPU s | M lines/s (CPU) |"
echo "|---|---|---|---|---|"
row() {
  local name=$1; shift
  local written; written=$("$@" < "$LOG" | wc -l)
  read -r wall cpu <<< "$(measure "$@")"
  echo "| $name | $written | $wall | $cpu | $(awk -v n="$lines" -v c="$cpu" 'BEGIN { printf "%.2f", n / c / 1e6 }') |"
}
row "cat (floor)" cat
# OLD_RELIVE: a build of main before per-key buffers, for "today's" single-buffer filter.
if [[ -n ${OLD_RELIVE:-} ]]; then row "relive burst before per-key buffers ($OLD_RELIVE)" "$OLD_RELIVE" burst; fi
row "relive burst (one buffer)" "$RELIVE" burst
row "relive burst --key-regex 'request_id=(\\S+)'" "$RELIVE" burst --key-regex 'request_id=(\S+)'
row "relive burst --key request_id" "$RELIVE" burst --key request_id

# Sourced by the `relive burst` benchmarks (burst_keys.sh, burst_lines.sh): the relive to
# measure, a generated log cached in /tmp, and measure(). Set before sourcing:
#   BENCH      the script's name, for its messages
#   GENERATOR  bench/gen_*.py that writes the log (--lines N)
#   LOG_KIND   part of the cached log's name (/tmp/relive-burst-KIND-LINES.log)
#   RUNS       the default number of runs (the environment's RUNS wins)
# Then RELIVE, LINES, RUNS and LOG are set, and the log exists.
set -euo pipefail
cd "$(dirname "$0")/.."
RELIVE=${RELIVE:-build/relive}
LINES=${LINES:-5000000}
LOG=/tmp/relive-burst-${LOG_KIND}-${LINES}.log

[[ -x $RELIVE ]] || { echo "$BENCH: $RELIVE not built (set RELIVE=path/to/relive)" >&2; exit 2; }
if [[ ! -s $LOG ]]; then
  echo "generating $LOG ..." >&2
  /usr/bin/python3 "$GENERATOR" --lines "$LINES" > "$LOG.tmp.$$"
  mv "$LOG.tmp.$$" "$LOG"
fi

# Runs "$@" RUNS times (stdin from the log, stdout to /dev/null); prints the median wall
# time and the median CPU time (user+sys), in seconds. On a loaded machine the CPU time is
# the steadier figure: wall time there mostly measures waiting for a core.
measure() {
  local walls=() cpus=()
  local TIMEFORMAT='%R %U %S'
  for ((i = 0; i < RUNS; i++)); do
    local r
    r=$( { time "$@" < "$LOG" > /dev/null; } 2>&1 )
    read -r real user sys <<< "$r"
    walls+=("$real")
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')")
  done
  local mid=$(( (RUNS + 1) / 2 ))
  echo "$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "${mid}p") $(printf '%s\n' "${cpus[@]}" | sort -g | sed -n "${mid}p")"
}

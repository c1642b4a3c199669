#!/bin/sh
# Runs bench_cell (5 repetitions) and prints the median CPU ns per read, 1 and 2 reader
# threads, with the ratio to the floor (plain atomic pointer load) of the same run.
# Usage: bench/bench_cell.sh [BUILD_DIR]   (default: build)
set -eu
build=${1:-build}
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$build/bench/bench_cell" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_format=json >"$json"
python3 - "$json" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
med = {}
for b in data["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    name, threads = b["run_name"].split("/threads:")
    med[(name.removeprefix("BM_"), int(threads))] = b["cpu_time"]
names = []
for (n, _) in med:
    if n not in names:
        names.append(n)
floor = "PlainAtomicPointer"
print(f"context: {data['context'].get('host_name', '?')}, membarrier={data['context'].get('membarrier', '?')}")
print("| read | 1 thread ns | ratio | 2 threads ns | ratio |")
print("|---|---:|---:|---:|---:|")
for n in names:
    row = [n]
    for t in (1, 2):
        v = med.get((n, t))
        f = med.get((floor, t))
        row += [f"{v:.2f}" if v is not None else "-", f"{v / f:.1f}x" if v and f else "-"]
    print("| " + " | ".join(row) + " |")
EOF

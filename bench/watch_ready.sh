#!/usr/bin/env bash
# relive watch vs inotifywait -r (the floor) on a generated tree: time until ready, peak
# RSS, inotify watches, idle CPU. Run by hand (not by CTest):
#   bench/watch_ready.sh [BUILD_DIR] [--runs N] [--idle SECONDS] [--tree DIR]
# The tree (10,000 dirs x 10 files under src/, a gitignored node_modules/ of 2,000 x 10)
# is generated once and cached under /tmp/relive-bench-tree.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
[[ $# -gt 0 ]] && shift
command -v inotifywait >/dev/null || { echo "watch_ready.sh: inotifywait is missing (apt-get install inotify-tools)" >&2; exit 2; }
[[ -x "$build/relive" ]] || { echo "watch_ready.sh: $build/relive is missing: build it first (scripts/build)" >&2; exit 2; }
exec python3 "$here/watch_bench.py" --relive "$build/relive" "$@"

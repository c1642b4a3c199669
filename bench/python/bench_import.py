#!/usr/bin/env python3
"""Import time of the relive package: wall clock of `python3 -c "import relive"` over a bare
`python3 -c pass`, beside `import json` (a stdlib floor) measured in the same run.

    /usr/bin/python3 bench/python/bench_import.py --tree build/python [--installed PREFIX/lib/python3/dist-packages]
        [--baseline OTHER_BUILD/python] [--remote] [--starts 21] [--runs 3]

Each figure is the median of --starts interpreter starts (one run), for --runs runs, the
candidates interleaved start by start so machine load hits them alike; wall clock per run,
and the medians' difference from bare python in wall clock and in CPU time (user+sys of the
child, which other processes' load disturbs less). "relive+remote" also
imports relive._remote (what an etcd:// or http:// source loads on first use).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

PY = "/usr/bin/python3"


def start_ms(code, path):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if path:
        env["PYTHONPATH"] = path
    t = time.perf_counter()
    child = subprocess.Popen([PY, "-c", code], env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = (time.perf_counter() - t) * 1000.0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{code!r} failed ({child.returncode})")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", default="build/python")
    ap.add_argument("--installed", default=None)
    ap.add_argument("--starts", type=int, default=21)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--remote", action="store_true", help="also time relive._remote")
    ap.add_argument("--baseline", default=None, help="another build's python/ dir (e.g. main's) to time beside")
    a = ap.parse_args()
    cases = [("bare python", "pass", None), ("import json", "import json", None),
             ("relive (build tree)", "import relive", a.tree)]
    if a.remote:
        cases.append(("relive+remote (build tree)", "import relive, relive._remote", a.tree))
    if a.baseline:
        cases.append(("relive (baseline tree)", "import relive", a.baseline))
    if a.installed:
        cases.append(("relive (installed)", "import relive", a.installed))
    for case in cases:  # fail now, not in the middle of a run; warms the page cache
        start_ms(case[1], case[2])
    print(f"load: {os.getloadavg()[0]:.2f}  ({a.starts} starts per figure; ms of wall clock, and of CPU"
          " (user+sys, less sensitive to other load))")
    print(f"{'':28}" + "".join(f"  run{r + 1:>2}" for r in range(a.runs)) + "   wall over bare   CPU over bare")
    wall = {name: [] for name, _, _ in cases}
    cpu = {name: [] for name, _, _ in cases}
    for _ in range(a.runs):
        samples = {name: [] for name, _, _ in cases}
        for _ in range(a.starts):
            for name, code, path in cases:
                samples[name].append(start_ms(code, path))
        for name in samples:
            wall[name].append(statistics.median(w for w, _ in samples[name]))
            cpu[name].append(statistics.median(c for _, c in samples[name]))
    bare_wall = statistics.median(wall["bare python"])
    bare_cpu = statistics.median(cpu["bare python"])
    for name, _, _ in cases:
        over_wall = statistics.median(wall[name]) - bare_wall
        over_cpu = statistics.median(cpu[name]) - bare_cpu
        print(f"{name:28}" + "".join(f" {m:6.1f}" for m in wall[name]) +
              f"   {over_wall:+10.1f}   {over_cpu:+10.1f}")

if __name__ == "__main__":
    main()

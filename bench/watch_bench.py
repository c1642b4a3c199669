#!/usr/bin/env python3
"""Side-by-side measurement of `relive watch` against `inotifywait -r` (the floor).

Run by hand through bench/watch_ready.sh. For each tool, N runs on the same tree:
  ready    seconds from start until a change to a file deep in the tree is reported (the
           file is touched every few ms until the tool prints it)
  rss      peak resident memory (VmHWM) in MiB
  watches  inotify watches held (the `inotify wd:` lines in /proc/PID/fdinfo/*)
  idle     CPU seconds (user+sys) used over IDLE seconds with nothing changing
Prints the medians as a table.
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
DIRS_TOP, DIRS_SUB, FILES = 100, 99, 10     # 100 + 100*99 = 10,000 directories under src/
NODE_DIRS = 2000


def generate(tree):
    done = os.path.join(tree, ".generated")
    if os.path.exists(done):
        return
    print(f"generating {tree} (once) ...", file=sys.stderr)
    os.makedirs(tree, exist_ok=True)
    with open(os.path.join(tree, ".gitignore"), "w") as f:
        f.write("node_modules/\n")

    def fill(d):
        os.makedirs(d, exist_ok=True)
        for k in range(FILES):
            with open(os.path.join(d, f"f{k}.txt"), "w") as f:
                f.write("x\n")

    for i in range(DIRS_TOP):
        top = os.path.join(tree, "src", f"d{i:02d}")
        fill(top)
        for j in range(DIRS_SUB):
            fill(os.path.join(top, f"s{j:02d}"))
    for i in range(NODE_DIRS):
        fill(os.path.join(tree, "node_modules", f"p{i:04d}"))
    open(done, "w").close()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def inotify_watches(pid):
    n = 0
    fd_dir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                n += sum(1 for line in f if line.startswith("inotify wd:"))
        except OSError:
            pass
    return n


def measure(cmd, cwd, deep, needle, idle_seconds):
    seen = threading.Event()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ready_at = [None]

    def reader():
        for line in proc.stdout:
            if needle in line and not seen.is_set():
                ready_at[0] = time.monotonic()
                seen.set()

    threading.Thread(target=reader, daemon=True).start()
    try:
        deadline = t0 + 120
        while not seen.is_set() and time.monotonic() < deadline:
            os.utime(deep)
            seen.wait(0.010)
        if not seen.is_set():
            raise RuntimeError(f"{cmd[0]} never reported {deep}")
        ready = ready_at[0] - t0
        time.sleep(1.0)  # let the last touches drain
        before = cpu_seconds(proc.pid)
        time.sleep(idle_seconds)
        idle = cpu_seconds(proc.pid) - before
        return ready, peak_rss_mib(proc.pid), inotify_watches(proc.pid), idle
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relive", required=True)
    ap.add_argument("--tree", default="/tmp/relive-bench-tree")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--idle", type=float, default=10.0)
    args = ap.parse_args()
    tree = args.tree
    generate(tree)
    deep_rel = f"src/d{DIRS_TOP - 1:02d}/s{DIRS_SUB - 1:02d}/f{FILES - 1}.txt"
    deep = os.path.join(tree, deep_rel)
    dirs_src = DIRS_TOP + DIRS_TOP * DIRS_SUB
    tools = [
        ("inotifywait -r src/ (floor)", ["inotifywait", "-r", "-m", "-e", "attrib", "src/"], b"s98/ ATTRIB f9.txt"),
        ("relive watch -w TREE", [os.path.abspath(args.relive), "watch", "-w", tree], deep_rel.encode()),
    ]
    results = {}
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        for name, cmd, needle in tools:
            r = measure(cmd, tree, deep, needle, args.idle)
            results.setdefault(name, []).append(r)
            print(f"  {name}: ready {r[0]:.3f} s, rss {r[1]:.1f} MiB, watches {r[2]}, idle cpu {r[3]:.2f} s",
                  file=sys.stderr)
    print(f"\ntree: {tree}: src/ {dirs_src} dirs x {FILES} files, node_modules/ (gitignored) "
          f"{NODE_DIRS} x {FILES}; median of {args.runs} runs, idle over {args.idle:g} s\n")
    print(f"| tool | ready (s) | ready / floor | peak RSS (MiB) | inotify watches | idle CPU (s) |")
    print(f"|---|---|---|---|---|---|")
    floor = statistics.median(r[0] for r in results[tools[0][0]])
    for name, _, _ in tools:
        rs = results[name]
        ready = statistics.median(r[0] for r in rs)
        print(f"| {name} | {ready:.3f} | {ready / floor:.2f}x | {statistics.median(r[1] for r in rs):.1f} | "
              f"{int(statistics.median(r[2] for r in rs))} | {statistics.median(r[3] for r in rs):.2f} |")
    print(f"\ntargets: ready <= 1.2x floor, RSS <= 8 MiB, watches = non-ignored dirs "
          f"({dirs_src} + src/ + the root = {dirs_src + 2} for relive), idle CPU 0.00 s")


if __name__ == "__main__":
    main()

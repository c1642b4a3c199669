#!/usr/bin/env python3
"""Where `relive watch`'s memory goes on a 10,000-directory tree, beside `inotifywait -r`.

Run by hand (not by CTest):
  bench/watch_rss.py [--relive build/relive] [--installed PREFIX/bin/relive] [--runs 5]

For each tool, interleaved runs on the tree of bench/watch_bench.py (generated once): start
it, wait until a change deep in the tree is reported (every directory is watched then), and
read /proc/PID/smaps. Reported, medians in KiB:
  peak          VmHWM, what the RSS target is about
  heap+anon     private anonymous memory: the tree's nodes, the ignore matcher's state,
                inotify bookkeeping, thread stacks touched
  binary        pages of the program file itself (text, rodata, relocated data)
  C++ libs      libstdc++, libgcc_s, libm, fmt, spdlog, re2, yaml-cpp, tomlplusplus
  libc+ld       libc and the dynamic loader (the floor has these too)
and the same for a one-directory tree, so the per-directory cost is peak(10k) - peak(1).
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watch_bench  # noqa: E402  (the tree generator and the readiness probe)

CXX_LIBS = ("libstdc++", "libgcc_s", "libm.", "libfmt", "libspdlog", "libre2", "libyaml-cpp", "libtomlplusplus")
SYS_LIBS = ("libc.", "ld-linux")


def breakdown(pid, binary):
    sums = {"heap+anon": 0, "binary": 0, "C++ libs": 0, "libc+ld": 0, "other": 0}
    name = ""
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                name = head[5] if len(head) > 5 else ""
                continue
            if head[0] != "Rss:":
                continue
            kib = int(head[1])
            base = os.path.basename(name)
            if name == "" or name in ("[heap]", "[stack]") or name.startswith("[anon"):
                sums["heap+anon"] += kib
            elif os.path.realpath(name) == binary:
                sums["binary"] += kib
            elif base.startswith(CXX_LIBS):
                sums["C++ libs"] += kib
            elif base.startswith(SYS_LIBS):
                sums["libc+ld"] += kib
            else:
                sums["other"] += kib
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                sums["peak"] = int(line.split()[1])
    return sums


def run_once(cmd, cwd, deep, needle):
    import subprocess
    import threading
    import time
    seen = threading.Event()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def reader():
        for line in proc.stdout:
            if needle in line:
                seen.set()

    threading.Thread(target=reader, daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while not seen.is_set() and time.monotonic() < deadline:
            os.utime(deep)
            seen.wait(0.010)
        if not seen.is_set():
            raise RuntimeError(f"{cmd[0]} never reported {deep}")
        time.sleep(0.5)
        binary = os.path.realpath(os.readlink(f"/proc/{proc.pid}/exe"))
        return breakdown(proc.pid, binary)
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relive", default=os.path.join(os.path.dirname(__file__), "..", "build", "relive"))
    ap.add_argument("--installed", help="an installed (stripped) relive, e.g. PREFIX/bin/relive")
    ap.add_argument("--tree", default="/tmp/relive-bench-tree")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tree = args.tree
    watch_bench.generate(tree)
    small = tempfile.mkdtemp(prefix="relive-rss-small-")
    os.makedirs(os.path.join(small, "src"))
    open(os.path.join(small, "src", "f.txt"), "w").close()
    deep_rel = "src/d99/s98/f9.txt"

    def tools(root, deep_rel_path, needle_tail):
        t = [("inotifywait -r (floor)", ["inotifywait", "-r", "-m", "-e", "attrib", "src/"], needle_tail.encode())]
        t.append(("relive watch (build/, debug info)", [os.path.abspath(args.relive), "watch", "-w", root],
                  deep_rel_path.encode()))
        if args.installed:
            t.append(("relive watch (installed, stripped)", [os.path.abspath(args.installed), "watch", "-w", root],
                      deep_rel_path.encode()))
        return t

    cases = [("10,000 dirs", tree, deep_rel, "s98/ ATTRIB f9.txt"), ("1 dir", small, "src/f.txt", "ATTRIB f.txt")]
    results = {}
    for _ in range(args.runs):
        for case, root, rel, tail in cases:
            for name, cmd, needle in tools(root, rel, tail):
                results.setdefault((case, name), []).append(run_once(cmd, root, os.path.join(root, rel), needle))
    cols = ["peak", "heap+anon", "binary", "C++ libs", "libc+ld", "other"]
    print(f"\nmedian of {args.runs} runs, KiB (load: {os.getloadavg()[0]:.1f})\n")
    print("| tree | tool | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for (case, name), rs in results.items():
        print(f"| {case} | {name} | " + " | ".join(str(int(statistics.median(r[c] for r in rs))) for c in cols) + " |")
    for name in {n for (_, n) in results}:
        big = statistics.median(r["heap+anon"] for r in results[("10,000 dirs", name)])
        one = statistics.median(r["heap+anon"] for r in results[("1 dir", name)])
        print(f"\n{name}: {(big - one) * 1024 / 10000:.0f} bytes of heap per watched directory", end="")
    print()


if __name__ == "__main__":
    main()

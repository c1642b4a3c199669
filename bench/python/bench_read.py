#!/usr/bin/env python3
"""ns per configuration read: snap["db.timeout"] from a pinned relive.Snapshot, a plain dict
lookup of the same key, and the usual recipe (a global dict read under a threading.RLock),
with 1 and 4 threads; also cfg.pin() itself, and a plain dict subclass (whose inherited
generic subscript slot relive.Snapshot replaces with dict's own, see python/src/module.cpp).

    PYTHONPATH=build/python /usr/bin/python3 bench/python/bench_read.py [--runs 5]

With 4 threads the GIL runs one at a time: the figure is wall time per read over all
threads (what a 4-thread server pays), so lock contention shows and parallelism cannot.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

import relive

N = 1_000_000


def timed(fn, threads):
    per_thread = N // threads
    ts = [threading.Thread(target=fn, args=(per_thread,)) for _ in range(threads)]
    start = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return (time.perf_counter() - start) / (per_thread * threads) * 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "app.yaml")
        with open(path, "w") as f:
            f.write("db:\n  host: h\n  timeout: 250ms\n  pool: 4\nlog:\n  level: info\n")
        cfg = relive.Config.open([path])
        snap = cfg.pin()
        plain = dict(snap)
        lock = threading.RLock()
        guarded = {"config": plain}

        def read_snap(n):
            s = snap
            for _ in range(n):
                s["db.timeout"]

        def read_dict(n):
            d = plain
            for _ in range(n):
                d["db.timeout"]

        class PlainSubclass(dict):  # what relive.Snapshot costs without its dict read slots
            __slots__ = ()

        subclassed = PlainSubclass(plain)

        def read_subclass(n):
            d = subclassed
            for _ in range(n):
                d["db.timeout"]

        def read_locked(n):
            for _ in range(n):
                with lock:
                    guarded["config"]["db.timeout"]

        def pin_and_read(n):
            for _ in range(n):
                cfg.pin()["db.timeout"]

        def empty(n):
            for _ in range(n):
                pass

        cases = [("loop overhead (subtracted)", empty), ("dict[k]", read_dict),
                 ('snap["db.timeout"]', read_snap), ("dict subclass[k]", read_subclass),
                 ("RLock + dict[k]", read_locked),
                 ("cfg.pin()[k]", pin_and_read)]
        results = {}
        for threads in (1, 4):
            for name, fn in cases:
                results[(name, threads)] = statistics.median(timed(fn, threads) for _ in range(args.runs))
        print(f"load average: {os.getloadavg()[0]:.1f}  ({args.runs} runs of {N:,} reads, medians)")
        print(f"{'read':28} {'1 thread ns':>12} {'4 threads ns':>13}")
        for name, _ in cases:
            row = []
            for threads in (1, 4):
                v = results[(name, threads)]
                if name != cases[0][0]:
                    v -= results[(cases[0][0], threads)]
                row.append(v)
            print(f"{name:28} {row[0]:12.1f} {row[1]:13.1f}")
        cfg.close()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""us per debug call that is not written: kept by relive.burst.Handler, kept by
logging.handlers.MemoryHandler (the standard library's buffer: one for all threads, flushed
to a NullHandler when full, so its cost includes no formatting), and dropped by the logger's
level (the floor: what a disabled debug call costs).

    PYTHONPATH=build/python /usr/bin/python3 bench/python/bench_burst.py [--runs 5]
"""

import argparse
import logging
import logging.handlers
import os
import statistics
import time

import relive.burst

N = 200_000


def per_call(logger, runs):
    def once():
        start = time.perf_counter()
        for i in range(N):
            logger.debug("request %d took %s ms", i, 12.5)
        return (time.perf_counter() - start) / N * 1e6
    return statistics.median(once() for _ in range(runs))


def make(name, handler, level=logging.DEBUG):
    log = logging.getLogger(name)
    log.propagate = False
    log.setLevel(level)
    if handler:
        log.addHandler(handler)
    return log


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    sink = logging.NullHandler()
    cases = [
        ("dropped by level (floor)", make("b.dropped", sink, logging.INFO)),
        ("record made, NullHandler", make("b.null", logging.NullHandler())),
        ("relive.burst.Handler (kept)", make("b.burst", relive.burst.Handler(sink))),
        ("MemoryHandler(512) (kept)", make("b.memory", logging.handlers.MemoryHandler(512, logging.ERROR, sink))),
    ]
    print(f"load average: {os.getloadavg()[0]:.1f}  ({args.runs} runs of {N:,} calls, medians)")
    floor = None
    for name, log in cases:
        us = per_call(log, args.runs)
        floor = floor or us
        print(f"{name:32} {us:7.3f} us/call   {us / floor:5.1f}x the floor")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a log of interleaved requests for bench/burst_keys.sh: 1000 requests in flight at
a time, each logging debug lines, then "done" at info, one in 500 an error instead, in
logfmt with a request_id field. Deterministic (fixed seed).

    python3 bench/gen_keyed_log.py --lines 5000000 > /tmp/keyed.log
"""
import argparse
import random
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--lines", type=int, default=5_000_000)
args = parser.parse_args()
rng = random.Random(15)
live = list(range(1000))
next_id = 1000
out = sys.stdout
buf = []
for n in range(args.lines):
    slot = rng.randrange(len(live))
    rid = live[slot]
    r = rng.random()
    if r < 0.05:
        level, msg = ("error", "upstream failed") if rng.random() < 0.04 else ("info", "done")
        live[slot] = next_id
        next_id += 1
    else:
        level, msg = "debug", "step %d took %d ms" % (rng.randrange(100), rng.randrange(1, 900))
    buf.append("ts=2026-12-01T18:11:%02d level=%s request_id=r%d msg=\"%s\"\n" % (n % 60, level, rid, msg))
    if len(buf) >= 10000:
        out.write("".join(buf))
        buf.clear()
out.write("".join(buf))

#!/usr/bin/env python3
"""Writes a mixed log for bench/burst_lines.sh: every format the burst line filter's
presets know, interleaved line by line (the worst case for a filter that would guess one
format per stream), mostly debug and info, with occasional warnings, errors followed by
multi-line tracebacks, and plain lines with no level. Deterministic (fixed seed).

    python3 bench/gen_mixed_log.py --lines 5000000 > /tmp/mixed.log
"""
import argparse
import random
import sys

PY_LEVEL = {"debug": "DEBUG", "info": "INFO", "warn": "WARNING", "error": "ERROR"}
SPD_LEVEL = {"debug": "debug", "info": "info", "warn": "warning", "error": "error"}
GLOG_LEVEL = {"debug": "I", "info": "I", "warn": "W", "error": "E"}  # glog has no debug letter of its own
SYSLOG_PRI = {"debug": 7, "info": 6, "warn": 4, "error": 3}

MESSAGES = [
    "request {n} took {ms} ms on worker-{w}",
    "cache miss for key user:{n}, fetching from db",
    "connection {w} returned to pool ({n} idle)",
    "parsed {n} records in {ms} ms",
    "retrying upstream call, attempt {w}",
    "session {n} authenticated",
]


def message(rng):
    return rng.choice(MESSAGES).format(n=rng.randrange(100000), ms=rng.randrange(1, 900), w=rng.randrange(16))


def stamp(i):
    s = i // 1000
    return f"2026-11-21 12:{(s // 60) % 60:02d}:{s % 60:02d}", f"{i % 1000:03d}"


def line(fmt, level, i, rng):
    hms, frac = stamp(i)
    msg = message(rng)
    if fmt == 0:
        return f"{PY_LEVEL[level]}:app.worker:{msg}\n"
    if fmt == 1:
        return f"{hms},{frac} - app.db - {PY_LEVEL[level]} - {msg}\n"
    if fmt == 2:
        return f"[{hms}.{frac}] [service] [{SPD_LEVEL[level]}] {msg}\n"
    if fmt == 3:
        return f"{GLOG_LEVEL[level]}1121 {hms[11:]}.{frac}123  4242 server.cc:{100 + i % 900}] {msg}\n"
    if fmt == 4:
        return f'{{"time":"{hms}.{frac}Z","level":"{level}","caller":"main.go:42","msg":"{msg}"}}\n'
    if fmt == 5:
        return f'time="{hms}.{frac}Z" level={level} component=api msg="{msg}"\n'
    return f"<{SYSLOG_PRI[level]}>{msg}\n"


TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/worker.py", line 88, in handle\n'
    "    result = backend.fetch(key)\n"
    '  File "/srv/app/backend.py", line 41, in fetch\n'
    "    raise TimeoutError(f\"no reply after {timeout} s\")\n"
    "TimeoutError: no reply after 5 s\n"
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out = []
    written = 0
    i = 0
    while written < args.lines:
        r = rng.random()
        fmt = rng.randrange(7)
        if r < 0.70:
            level = "debug"
        elif r < 0.955:
            level = "info"
        elif r < 0.99:
            level = "warn"
        elif r < 0.995:
            out.append(f"plain output line {i} with no level\n")
            written += 1
            i += 1
            continue
        else:
            level = "error"
        out.append(line(fmt, level, i, rng))
        written += 1
        if level == "error" and fmt in (0, 1):
            out.append(TRACEBACK)
            written += TRACEBACK.count("\n")
        i += 1
        if len(out) >= 100_000:
            sys.stdout.write("".join(out))
            out.clear()
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()

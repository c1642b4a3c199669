#!/usr/bin/env python3
"""live_handler_latency.py — save -> first response from the new code, for the one-file
handler of examples/live_handler, two ways, on the same edit, in one run:

  live     the server keeps running; relive::module rebuilds, preflights and swaps
           (live_handler --build ... --watch src)
  restart  the same server restarted on each save by
           relive --socket PORT --graceful -w src --build ... -- live_handler --no-live

The compile alone (build_handler.sh, the same command both ways use) is timed apart, N
times, so that each total can be read as compile + the rest. Loopback only; N edits each.

  python3 bench/live_handler_latency.py [--build-dir build] [-n 7]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "examples", "live_handler")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
            return r.read().decode()
    except Exception:
        return ""


def wait_for(port, needle, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if needle in get(port):
            return time.monotonic()
        time.sleep(0.002)
    raise RuntimeError(f"no answer containing {needle!r} on port {port}")


def prepare(tmp):
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    for f in ("handler.cpp", "handler_api.hpp"):
        shutil.copy(os.path.join(EXAMPLE, f), src)
    handler = os.path.join(src, "handler.cpp")
    lib = os.path.join(tmp, "libhandler.so")
    build = f"{os.path.join(EXAMPLE, 'build_handler.sh')} {handler} {lib}"
    subprocess.run(build, shell=True, check=True)
    return handler, lib, build


def edit(handler, version):
    text = open(handler).read()
    old = f"version {version - 1}"
    assert old in text, old
    with open(handler, "w") as f:
        f.write(text.replace(old, f"version {version}"))


def measure(cmd, handler, port, n, log, compile_alone, compile_ms):
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    try:
        wait_for(port, "version 1", 60)
        times = []
        for v in range(2, n + 2):
            # The compile alone, right before each edit: the machine's load then is the
            # load the edit's own build sees (a shared machine drifts a lot).
            t0 = time.monotonic()
            subprocess.run(compile_alone, shell=True, check=True)
            compile_ms.append((time.monotonic() - t0) * 1000)
            time.sleep(0.3)  # let the previous swap/restart settle
            t0 = time.monotonic()
            edit(handler, v)
            times.append((wait_for(port, f"version {v}") - t0) * 1000)
        return times
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("-n", type=int, default=7)
    args = ap.parse_args()
    server = os.path.join(args.build_dir, "examples", "live_handler", "live_handler")
    relive = os.path.join(args.build_dir, "relive")
    env_note = open("/proc/loadavg").read().split()[:3]
    print(f"live_handler_latency: n={args.n}, load average {' '.join(env_note)}, {os.cpu_count()} cores")

    scratch = tempfile.TemporaryDirectory()
    _, _, compile_alone = prepare(scratch.name)
    results = {}
    compiles = {"live": [], "restart": []}
    with tempfile.TemporaryDirectory() as tmp:
        handler, lib, build = prepare(tmp)
        port = free_port()
        with open(os.path.join(tmp, "log"), "w") as log:
            results["live"] = measure([server, "--port", str(port), "--module", lib, "--build", build,
                                       "--watch", os.path.dirname(handler)], handler, port, args.n, log,
                                      compile_alone, compiles["live"])
    with tempfile.TemporaryDirectory() as tmp:
        handler, lib, build = prepare(tmp)
        port = free_port()
        with open(os.path.join(tmp, "log"), "w") as log:
            results["restart"] = measure([relive, "-q", "--socket", str(port), "--graceful", "-w",
                                          os.path.dirname(handler), "--build", build, "--", server,
                                          "--no-live", "--module", lib], handler, port, args.n, log,
                                         compile_alone, compiles["restart"])

    for name, label in (("live", "live swap: save -> first new answer"),
                        ("restart", "relive --socket --graceful restart: same")):
        m = statistics.median(results[name])
        c = statistics.median(compiles[name])
        print(f"  {label:48s} p50 {m:8.1f} ms   compile alone p50 {c:8.1f} ms   rest {m - c:7.1f} ms")
    scratch.cleanup()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Save -> visible in every Gunicorn worker (4 workers, sync): relive.Config opened in the
master (preload_app) against the usual recipe, run in the same workers on the same saves:
watchdog + a 250 ms debounce timer + yaml.safe_load + a global dict swapped under an RLock.

Each worker reports over UDP (loopback) the moment its value changes: relive from its
subscriber callback (after publish: a request pinning now sees it), the recipe after its swap.
Median over 20 saves of the time from the save (before the write) to the LAST worker seeing
it, and to the first.

    PYTHONPATH=build/python /usr/bin/python3 bench/python/bench_latency.py [--saves 20]
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

APP = r'''
import os, socket, threading, time
import yaml
import relive
from watchdog.observers import Observer
from watchdog.events import FileSystemEventHandler

CONFIG = os.environ["BENCH_CONFIG"]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

def report(tag, value):
    udp.sendto(f"{tag} {os.getpid()} {value} {time.time()}".encode(), ("127.0.0.1", int(os.environ["BENCH_UDP"])))

cfg = relive.Config.open([CONFIG])          # in the master: preload_app

# The recipe relive replaces.
_lock = threading.RLock()
_config = {}
_timer = None

def _load():
    global _config
    try:
        with open(CONFIG) as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return                              # keep the old config, hopefully
    with _lock:
        _config = data
    report("watchdog", data["n"])

class _Debounce(FileSystemEventHandler):
    def on_any_event(self, event):
        global _timer
        if CONFIG not in (event.src_path, getattr(event, "dest_path", None)):
            return
        if _timer:
            _timer.cancel()
        _timer = threading.Timer(0.25, _load)
        _timer.start()

def post_worker_init(worker):
    cfg.subscribe("n", lambda u: report("relive", u.snapshot["n"]))
    observer = Observer()
    observer.schedule(_Debounce(), os.path.dirname(CONFIG))
    observer.start()
    _load()
    report("ready", 0)

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(cfg.pin()["n"]).encode()]
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--saves", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "benchapp.py"), "w") as f:
            f.write(APP)
        with open(os.path.join(d, "conf.py"), "w") as f:
            f.write("preload_app = True\nworkers = 4\nfrom benchapp import post_worker_init\n")
        confdir = os.path.join(d, "config")
        os.mkdir(confdir)
        config = os.path.join(confdir, "app.yaml")
        with open(config, "w") as f:
            f.write("n: 0\n")
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(10)
        env = dict(os.environ, BENCH_CONFIG=config, BENCH_UDP=str(udp.getsockname()[1]),
                   PYTHONPATH=":".join([d] + [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(":") if p]))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "conf.py", "--bind", f"127.0.0.1:{port}",
                                 "benchapp:app"], cwd=d, env=env, stderr=open(os.path.join(d, "gunicorn.log"), "w"))
        try:
            ready = set()
            while len(ready) < 4:
                tag, pid, _, _ = udp.recv(200).decode().split()
                if tag == "ready":
                    ready.add(pid)
            last = {"relive": [], "watchdog": []}
            first = {"relive": [], "watchdog": []}
            for n in range(1, args.saves + 1):
                time.sleep(0.4)  # past the recipe's debounce: each save measured alone
                t0 = time.time()
                tmp = config + ".tmp"
                with open(tmp, "w") as f:
                    f.write(f"n: {n}\n")
                os.rename(tmp, config)
                seen = {"relive": {}, "watchdog": {}}
                while len(seen["relive"]) < 4 or len(seen["watchdog"]) < 4:
                    tag, pid, value, t = udp.recv(200).decode().split()
                    if tag in seen and int(value) == n:
                        seen[tag][pid] = float(t) - t0
                for tag in seen:
                    last[tag].append(max(seen[tag].values()) * 1000)
                    first[tag].append(min(seen[tag].values()) * 1000)
            print(f"load average: {os.getloadavg()[0]:.1f}  ({args.saves} saves, 4 workers, medians)")
            print(f"{'save -> visible':34} {'all 4 workers ms':>17} {'first worker ms':>16}")
            for tag, name in (("relive", "relive.Config (preload_app)"),
                              ("watchdog", "watchdog + 250 ms debounce + RLock")):
                print(f"{name:34} {statistics.median(last[tag]):17.1f} {statistics.median(first[tag]):16.1f}")
        except TimeoutError:
            with open(os.path.join(d, "gunicorn.log")) as f:
                sys.exit("bench_latency: no report from the workers; gunicorn said:\n" + f.read())
        finally:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()

"""Invalid and half-written saves while Python threads read: no reader ever sees a version the
validator would reject, and 100,000 pins and reads leak nothing."""

import gc
import os
import random
import threading
import time
import tracemalloc

import relive
from conftest import wait_until, write


def _consistent(snap):
    if snap.get("a") != snap.get("b") or snap.get("checksum") != snap.get("a", 0) * 7:
        raise ValueError("a, b and checksum disagree")


def test_readers_never_see_an_invalid_version(tmp_path):
    path = tmp_path / "app.yaml"
    write(path, "a: 0\nb: 0\nchecksum: 0\n")
    cfg = relive.Config.open([str(path)], validate=_consistent)
    stop = threading.Event()
    bad = []
    reads = [0] * 4

    def reader(i):
        while not stop.is_set():
            s = cfg.pin()
            if s["a"] != s["b"] or s["checksum"] != s["a"] * 7:
                bad.append(dict(s))
            reads[i] += 1

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    rng = random.Random(16)
    last_good = 0
    deadline = time.monotonic() + 3.0
    n = 0
    while time.monotonic() < deadline:
        n += 1
        kind = rng.randrange(4)
        if kind == 0:  # half-written: the first line only, then the rest
            with open(path, "w") as f:
                f.write(f"a: {n}\n")
                f.flush()
                time.sleep(0.002)
                f.write(f"b: {n}\nchecksum: {n * 7}\n")
            last_good = n
        elif kind == 1:  # garbage
            write(path, "a: [\n\x00\x01 ::: }")
        elif kind == 2:  # valid YAML, rejected by the validator
            write(path, f"a: {n}\nb: {n + 1}\nchecksum: 0\n")
        else:
            tmp = f"{path}.tmp"
            write(tmp, f"a: {n}\nb: {n}\nchecksum: {n * 7}\n")
            os.rename(tmp, path)
            last_good = n
        time.sleep(rng.random() * 0.01)
    write(path, f"a: {n + 1}\nb: {n + 1}\nchecksum: {(n + 1) * 7}\n")
    wait_until(lambda: cfg.get("a") == n + 1, what="the final good save")
    stop.set()
    for t in threads:
        t.join()
    assert not bad, bad[:3]
    assert min(reads) > 0 and last_good > 0
    assert cfg.status().failures > 0
    cfg.close()


def _rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_pins_and_reads_leak_nothing(tmp_path):
    path = tmp_path / "app.yaml"
    write(path, "db:\n  host: h\n  timeout: 5s\n  pool: 4\n")
    cfg = relive.Config.open([str(path)])

    def work(count):
        for _ in range(count):
            s = cfg.pin()
            s["db.host"]
            s.get("db.pool", 1)
            s["db"]["timeout"]
            s.duration("db.timeout")
            s.origin("db.pool")

    work(10_000)  # warm up: caches, first allocations
    # A new version in between too: the old converted snapshot must be freed.
    write(path, "db:\n  host: h2\n  timeout: 5s\n  pool: 4\n")
    wait_until(lambda: cfg.get("db.host") == "h2", what="the edit")
    work(10_000)
    gc.collect()
    rss_before = _rss_kib()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    work(100_000)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(d.size_diff for d in after.compare_to(before, "filename"))
    rss_grown = _rss_kib() - rss_before
    cfg.close()
    assert grown < 64 * 1024, f"Python heap grew {grown} bytes over 100,000 pins"
    assert rss_grown < 4 * 1024, f"RSS grew {rss_grown} KiB over 100,000 pins"


def test_snapshot_outlives_its_config(tmp_path):
    path = tmp_path / "app.yaml"
    write(path, "n: 1\n")
    cfg = relive.Config.open([str(path)])
    snap = cfg.pin()
    cfg.close()
    del cfg
    gc.collect()
    assert snap["n"] == 1 and str(snap.origin("n")).endswith("app.yaml:1:1")

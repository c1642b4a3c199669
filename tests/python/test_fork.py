"""Pre-fork servers: a Config opened before fork() keeps reloading in the child; real Gunicorn,
4 workers, with the Config opened in the master (preload_app) or in each worker (post_fork)."""

import os
import textwrap

import pytest

import relive
from conftest import Gunicorn, http_get, wait_until, write


def test_child_of_os_fork_keeps_reloading(tmp_path):
    path = tmp_path / "app.yaml"
    write(path, "n: 0\n")
    cfg = relive.Config.open([str(path)], validate=lambda s: None)
    seen_in_parent = []
    cfg.subscribe("n", lambda u: seen_in_parent.append(u.version))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            seen = []
            cfg.subscribe("n", lambda u: seen.append(u.snapshot["n"]))
            os.write(w, b"r")
            import time
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not (cfg.get("n") == 1 and seen == [1]):
                time.sleep(0.005)
            code = 0 if cfg.get("n") == 1 and seen == [1] else 2
        finally:
            os._exit(code)
    os.close(w)
    assert os.read(r, 1) == b"r"
    os.close(r)
    write(path, "n: 1\n")
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "the child never saw the edit"
    wait_until(lambda: seen_in_parent == [2], what="the parent's callback")
    cfg.close()


APP = """
import os, relive
CONFIG = os.environ["RELIVE_TEST_CONFIG"]
MARKS = os.environ["RELIVE_TEST_MARKS"]
cfg = None

def mark(update=None):
    # Each worker records the value it serves, by pid, whenever it changes.
    value = cfg.pin()["greeting"]
    tmp = os.path.join(MARKS, f".{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(value)
    os.rename(tmp, os.path.join(MARKS, str(os.getpid())))

def open_config():
    global cfg
    cfg = relive.Config.open([CONFIG], validate=lambda s: None if s["greeting"] else 1/0)

if os.environ["RELIVE_TEST_MODE"] == "preload":
    open_config()

def post_fork(server, worker):
    if cfg is None:
        open_config()

def post_worker_init(worker):
    cfg.subscribe("greeting", mark)
    mark()

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{os.getpid()} {cfg.pin()['greeting']}".encode()]
"""


@pytest.mark.parametrize("mode", ["preload", "post_fork"])
def test_gunicorn_four_workers_see_an_edit(tmp_path, mode):
    (tmp_path / "liveapp.py").write_text(APP)
    (tmp_path / "gunicorn_conf.py").write_text(textwrap.dedent(f"""
        preload_app = {mode == 'preload'}
        from liveapp import post_fork, post_worker_init
    """))
    config = tmp_path / "app.yaml"
    write(config, "greeting: hello\n")
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {"RELIVE_TEST_CONFIG": str(config), "RELIVE_TEST_MARKS": str(marks), "RELIVE_TEST_MODE": mode}
    with Gunicorn("liveapp:app", str(tmp_path), workers=4, extra=["-c", "gunicorn_conf.py"], env=env) as g:
        g.wait_serving()

        def values():
            out = {}
            for name in os.listdir(marks):
                if not name.startswith("."):
                    out[name] = (marks / name).read_text()
            return out

        wait_until(lambda: len(values()) == 4, what=f"4 workers up: {g.output()}")
        assert set(values().values()) == {"hello"}
        write(config, "greeting: bonjour\n")
        wait_until(lambda: set(values().values()) == {"bonjour"}, what="every worker to see the edit")
        status, body = http_get(g.port, "/")
        assert status == 200 and body.endswith("bonjour")
        # A rejected save changes no worker.
        write(config, "greeting: ''\n")
        write(config, "greeting: hola\n")
        wait_until(lambda: set(values().values()) == {"hola"}, what="every worker to see the next edit")
        assert len(values()) == 4, g.output()


FORK_STORM = r"""
import os, sys, threading, time
import relive
path = sys.argv[1]

def slow_validator(snap):
    time.sleep(0.003)  # releases the GIL while the loader thread holds the Config's lock

cfg = relive.Config.open([path], validate=slow_validator)
stop = threading.Event()

def saver():
    n = 0
    while not stop.is_set():
        n += 1
        with open(path + ".tmp", "w") as f:
            f.write(f"n: {n}\n")
        os.rename(path + ".tmp", path)
        time.sleep(0.001)

t = threading.Thread(target=saver)
t.start()
children = []
for i in range(25):
    time.sleep(0.01)
    pid = os.fork()
    if pid == 0:
        # The child: its Config reloads (a validation turned down by the fork is retried).
        code = 1
        try:
            with open(path) as f:
                want = int(f.read().split()[1])
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and (cfg.get("n") or 0) < want:
                time.sleep(0.005)
            code = 0 if (cfg.get("n") or 0) >= want else 1
            if code:
                print("child", os.getpid(), "want", want, "has", cfg.get("n"), cfg.status(), file=sys.stderr, flush=True)
        finally:
            os._exit(code)
    children.append(pid)
stop.set()
t.join()
bad = [pid for pid in children if os.waitpid(pid, 0)[1] != 0]
print("forks", len(children), "bad", len(bad), "status", cfg.status().failures, flush=True)
sys.exit(1 if bad else 0)
"""


def test_fork_while_a_python_validator_runs_never_deadlocks(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "app.yaml"
    write(path, "n: 0\n")
    script = tmp_path / "storm.py"
    script.write_text(FORK_STORM)
    try:
        r = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"fork() during validations hung: {e.stdout} {e.stderr}")
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "forks 25 bad 0" in r.stdout

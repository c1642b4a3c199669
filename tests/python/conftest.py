"""Helpers for the relive Python tests (run by CTest: PYTHONPATH is the built package)."""

import os
import socket
import subprocess
import sys
import time

import pytest

import relive

SOURCE_DIR = os.environ.get("RELIVE_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


def pytest_sessionstart(session):
    # The package under test is the one just built, never an installed copy.
    expected = os.environ.get("RELIVE_PYTHON_PACKAGE")
    if expected and not os.path.samefile(os.path.dirname(relive.__file__), expected):
        raise pytest.UsageError(f"imported {relive.__file__}, expected the build in {expected}")


def wait_until(condition, timeout=15.0, what="condition"):
    """Polls condition() until true; fails the test after timeout seconds (only matters on failure)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.005)


def write(path, text):
    """Writes the file in place (truncate + write), as `echo > file` does."""
    with open(path, "w") as f:
        f.write(text)


def save_atomic(path, text):
    """Writes a temporary file beside it and renames it over (most editors, Kubernetes)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path="/", timeout=5.0):
    """One GET on loopback; (status, body)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


class Gunicorn:
    """A real Gunicorn on a free loopback port; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, app, cwd, workers=4, extra=(), env=None, logdir=None):
        self.port = free_port()
        full_env = dict(os.environ)
        full_env.update(env or {})
        pythonpath = [cwd] + [p for p in full_env.get("PYTHONPATH", "").split(":") if p]
        full_env["PYTHONPATH"] = ":".join(pythonpath)
        self.log_path = os.path.join(logdir or cwd, "gunicorn.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
             f"127.0.0.1:{self.port}", "--graceful-timeout", "5", *extra, app],
            cwd=cwd, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        self.cwd = cwd

    def wait_serving(self, timeout=20.0):
        def up():
            if self.proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.proc.returncode}: {self.output()}")
            try:
                return http_get(self.port, "/health")[0] == 200
            except OSError:
                return False
        wait_until(up, timeout, "gunicorn to serve")

    def output(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

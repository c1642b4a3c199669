"""relive.listen_fds() and relive.notify_ready() with real sockets and a real child process."""

import os
import socket
import subprocess
import sys

import relive

CHILD = r"""
import os, socket, relive
socks = relive.listen_fds_named()
assert [k for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES") if k in os.environ] == []
name, s = socks[0]
assert os.get_inheritable(s.fileno()) is False
print(len(socks), name, s.family == socket.AF_INET, s.type == socket.SOCK_STREAM, flush=True)
conn, _ = s.accept()
conn.sendall(b"served by the child")
conn.close()
print("ready", relive.notify_ready(), flush=True)
"""


def _run_child(listener, listen_pid):
    # fd 3 in the child is the listening socket, as relive --socket (or systemd) hands it over.
    script = ('exec 3<&"$FD"; export LISTEN_FDS=1 LISTEN_FDNAMES=web; '
              f'LISTEN_PID={listen_pid} exec "{sys.executable}" -c "$CHILD"')
    env = dict(os.environ, FD=str(listener.fileno()), CHILD=CHILD)
    return subprocess.Popen(["bash", "-c", script], env=env,
                            pass_fds=[listener.fileno()], stdout=subprocess.PIPE, text=True)


def test_listen_fds_and_notify_ready(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = str(tmp_path / "notify.sock")
    notify.bind(notify_path)
    notify.settimeout(15)
    os.environ["NOTIFY_SOCKET"] = notify_path
    try:
        child = _run_child(listener, "$$")
        first = child.stdout.readline().split()
        assert first == ["1", "web", "True", "True"]
        with socket.create_connection(listener.getsockname(), timeout=15) as c:
            assert c.recv(100) == b"served by the child"
        assert child.stdout.readline().split() == ["ready", "True"]
        assert notify.recv(100) == b"READY=1"
        assert child.wait(15) == 0
    finally:
        del os.environ["NOTIFY_SOCKET"]
        notify.close()
        listener.close()


def test_variables_meant_for_another_process_are_ignored_and_cleared(monkeypatch):
    monkeypatch.setenv("LISTEN_PID", str(os.getppid()))
    monkeypatch.setenv("LISTEN_FDS", "1")
    assert relive.listen_fds() == []
    assert "LISTEN_FDS" not in os.environ and "LISTEN_PID" not in os.environ
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert relive.notify_ready() is False


def test_python_server_example_takes_the_socket_and_says_ready(tmp_path):
    from conftest import SOURCE_DIR
    listener = socket.create_server(("127.0.0.1", 0))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(15)
    server = os.path.join(SOURCE_DIR, "examples", "python_server.py")
    env = dict(os.environ, FD=str(listener.fileno()), NOTIFY_SOCKET=str(tmp_path / "notify.sock"))
    proc = subprocess.Popen(["bash", "-c", f'exec 3<&"$FD"; export LISTEN_FDS=1; LISTEN_PID=$$ exec "{sys.executable}" "{server}"'],
                            env=env, pass_fds=[listener.fileno()], stderr=subprocess.PIPE, text=True)
    try:
        assert notify.recv(100) == b"READY=1"
        import http.client
        conn = http.client.HTTPConnection(*listener.getsockname(), timeout=15)
        conn.request("GET", "/")
        body = conn.getresponse().read().decode()
        assert body == f"hello from pid {proc.pid}\n"
    finally:
        proc.terminate()
        assert proc.wait(15) == 0
        notify.close()
        listener.close()
    # It took the package's path (this test's PYTHONPATH has it), not its fallback; the
    # e2e keep-alive test runs it without the package, through the standard library.
    assert "serving on the socket handed over (through the relive package)" in proc.stderr.read()

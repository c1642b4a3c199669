#!/usr/bin/env python3
"""A Python HTTP server that restarts without dropping a request under relive:

    relive --socket 8080 --graceful -- python3 examples/python_server.py

It takes the listening socket relive hands over (fd 3, systemd's LISTEN_FDS protocol),
says READY=1 on NOTIFY_SOCKET once it serves, and on SIGTERM finishes the request in
flight and exits. Run on its own (no LISTEN_FDS) it binds 127.0.0.1:8080 itself.
Standard library only.
"""
import http.server
import os
import signal
import socket
import socketserver
import sys
import threading

try:  # the relive package (docs/python.md) when installed; the standard library otherwise
    import relive
except ImportError:
    relive = None

SD_LISTEN_FDS_START = 3


def inherited_socket():
    """The socket relive passed at fd 3, or None. Clears the LISTEN_* variables so that
    programs this server starts do not take them."""
    if relive is not None:
        socks = relive.listen_fds()
        return socks[0] if socks else None
    ours = os.environ.get("LISTEN_PID") == str(os.getpid())
    count = int(os.environ.get("LISTEN_FDS", "0") or 0) if ours else 0
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    if count < 1:
        return None
    # socket(fileno=...) adopts fd 3 (no dup) and detects family and type from it.
    sock = socket.socket(fileno=SD_LISTEN_FDS_START)
    sock.set_inheritable(False)  # keep it out of child processes
    return sock


def notify(state):
    """sd_notify: send e.g. b"READY=1" to $NOTIFY_SOCKET ('@' = abstract namespace)."""
    if relive is not None:
        return relive.notify(state.decode())
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(state, address)
    return True


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello from pid {os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False  # server_close() waits for requests in flight


def main():
    sock = inherited_socket()
    if sock is not None:
        server = Server(sock.getsockname(), Handler, bind_and_activate=False)
        server.socket.close()
        server.socket = sock  # already bound and listening (by relive)
    else:
        server = Server(("127.0.0.1", 8080), Handler)

    def stop(signum, frame):
        # shutdown() only ends serve_forever's loop; it never calls shutdown(2) on the
        # shared listening socket (that would stop the next server accepting too).
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    notify(b"READY=1")
    print(f"python_server[{os.getpid()}]: serving", file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()  # closes our fd of the socket, joins request threads


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A Python HTTP server that restarts without dropping a request under relive:

    relive --socket 8080 --graceful -- python3 examples/python_server.py

It takes the listening socket relive hands over (fd 3, systemd's LISTEN_FDS protocol),
says READY=1 on NOTIFY_SOCKET once it serves, and on SIGTERM drains and exits. Run on
its own (no LISTEN_FDS) it binds 127.0.0.1:8080 itself. Standard library only.

It speaks HTTP/1.1 with keep-alive. Draining without a failed request
(docs/zero-downtime.md):
  1. stop accepting: the next server, already listening on the same socket, takes every
     new connection;
  2. answer the next request on each open connection with "Connection: close", so the
     client reconnects -- to the next server;
  3. close a connection only once it has been idle for IDLE_GRACE seconds (closing an idle
     connection at once races with the request its client may be sending right then);
  4. exit once no connection is left.
"""
import http.server
import os
import signal
import socket
import socketserver
import sys
import threading
import time

try:  # the relive package (docs/python.md) when installed; the standard library otherwise
    import relive
except ImportError:
    relive = None

SD_LISTEN_FDS_START = 3
IDLE_GRACE = float(os.environ.get("IDLE_GRACE_MS", "1000")) / 1000


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


class Connections:
    """The open connections: whether a request is in flight on each, and since when it
    idles (for step 3 of the drain)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.open = {}  # handler -> (busy, idle_since)
        self.draining = False

    def set(self, handler, busy):
        with self.lock:
            self.open[handler] = (busy, time.monotonic())

    def remove(self, handler):
        with self.lock:
            self.open.pop(handler, None)

    def drain(self):
        """Closes connections idle past the grace until none is left."""
        started = time.monotonic()
        self.draining = True
        while True:
            with self.lock:
                if not self.open:
                    return
                now = time.monotonic()
                for handler, (busy, idle_since) in self.open.items():
                    if not busy and now - max(idle_since, started) >= IDLE_GRACE:
                        # shutdown(2) on the accepted connection (never on the listening
                        # socket): its thread's read returns end-of-file and it ends.
                        try:
                            handler.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
            time.sleep(0.05)


CONNECTIONS = Connections()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    # Headers and body are written separately: without TCP_NODELAY, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        CONNECTIONS.set(self, busy=False)

    def finish(self):
        CONNECTIONS.remove(self)
        super().finish()

    def parse_request(self):  # a request line was read: the connection is busy
        CONNECTIONS.set(self, busy=True)
        return super().parse_request()

    def do_GET(self):
        body = f"hello from pid {os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if CONNECTIONS.draining:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        CONNECTIONS.set(self, busy=False)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False  # server_close() waits for requests in flight

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)  # a client gone is no error


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
        CONNECTIONS.draining = True
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    notify(b"READY=1")
    how = "the relive package" if relive is not None else "the standard library"
    where = "the socket handed over" if sock is not None else "127.0.0.1:8080"
    print(f"python_server[{os.getpid()}]: serving on {where} (through {how})", file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.1)
    server.socket.close()  # stop accepting: our fd of the shared socket only
    CONNECTIONS.drain()
    server.server_close()  # joins the request threads


if __name__ == "__main__":
    main()

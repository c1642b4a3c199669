"""A Flask app whose greeting, rate limit and log level come from app.yaml, live.

    cd examples/flask_live && gunicorn -c gunicorn.conf.py app:app
    curl http://127.0.0.1:8000/?name=you        # Hello, you!
    sed -i 's/^greeting: .*/greeting: Bonjour/' app.yaml
    curl http://127.0.0.1:8000/?name=you        # Bonjour, you!  (every worker)

Logging goes through relive.burst: debug records are kept per request and written only if
the request logs an error (GET /fail shows it).
"""

import logging
import os
import threading
import time

import flask

import relive
import relive.burst

HERE = os.path.dirname(os.path.abspath(__file__))


def validate(snap):
    if snap.get("rate_limit.per_second", 1) <= 0:
        raise ValueError("rate_limit.per_second: must be > 0")
    if str(snap.get("log.level", "info")).upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("log.level: expected debug, info, warning or error")


# The three lines: open (a bad first load raises ConfigError naming file:line:column),
# pin per request, read.
cfg = relive.Config.open([os.environ.get("FLASK_LIVE_CONFIG", os.path.join(HERE, "app.yaml")),
                          relive.env("FLASK_LIVE")], validate=validate)
burst = relive.burst.install(level=logging.DEBUG)
log = logging.getLogger("flask_live")


def apply_log_level(update=None):
    burst.pass_level = getattr(logging, str(cfg.pin().get("log.level", "info")).upper())


apply_log_level()
cfg.subscribe("log.level", apply_log_level)

app = flask.Flask(__name__)


class RateLimiter:
    """A token bucket per client address, sized by the configuration of each request."""

    def __init__(self):
        self.lock = threading.Lock()
        self.buckets = {}  # address -> (tokens, last time)

    def admit(self, address, per_second, burst_size):
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(address, (burst_size, now))
            tokens = min(burst_size, tokens + (now - last) * per_second)
            admitted = tokens >= 1
            self.buckets[address] = (tokens - 1 if admitted else tokens, now)
            return admitted


limiter = RateLimiter()


@app.before_request
def start_request():
    flask.g.burst_scope = relive.burst.scope()
    flask.g.burst_scope.__enter__()
    flask.g.snap = cfg.pin()  # one version for the whole request


@app.teardown_request
def end_request(exc):
    scope = flask.g.pop("burst_scope", None)
    if scope is not None:
        scope.__exit__(None, None, None)


@app.route("/")
def hello():
    snap = flask.g.snap
    log.debug("request from %s, config version %d", flask.request.remote_addr, snap.version)
    if not limiter.admit(flask.request.remote_addr, snap["rate_limit.per_second"], snap["rate_limit.burst"]):
        log.warning("rate limit: %s", flask.request.remote_addr)
        return "slow down\n", 429
    name = flask.request.args.get("name", "world")
    return f"{snap['greeting']}, {name}!\n"


@app.route("/fail")
def fail():
    log.debug("about to fail (this line is written only because an error follows)")
    log.error("request failed on purpose")
    return "failed (see the log)\n", 500


@app.route("/health")
def health():
    st = cfg.status()
    return flask.jsonify(version=st.version, error=st.error, pid=os.getpid())

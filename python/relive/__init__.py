"""relive for Python: live configuration and burst logging (docs/python.md).

Live configuration::

    import relive
    cfg = relive.Config.open(["config/app.yaml", relive.directory("config/conf.d"), relive.env("APP")])
    snap = cfg.pin()                      # one consistent version, for one request
    timeout = snap.duration("db.timeout") # datetime.timedelta
    pool = snap.get("db.pool", 4)

A save of app.yaml is reloaded within milliseconds; a file that does not parse or a version a
validator rejects is logged with file:line:column and key, and the last good version keeps
serving. Burst logging is in relive.burst; relive.listen_fds() and relive.notify_ready() are
for servers run under ``relive --socket ... --graceful``.

The configuration engine is relive's C++ library (relive._relive, linked in); this package
adds the Python types and the glue to threads, fork() and interpreter exit.
"""

import atexit as _atexit
import os as _os
import weakref as _weakref

from . import _relive as _native

__all__ = [
    "Config", "ConfigError", "Snapshot", "Section", "Change", "Update", "Status", "Origin",
    "Source", "Subscription", "file", "directory", "env", "overrides", "source",
    "parse_duration", "parse_size", "listen_fds", "listen_fds_named", "notify", "notify_ready",
]

ConfigError = _native.ConfigError
Source = _native.Source
Subscription = _native.Subscription
file = _native.file
directory = _native.directory
env = _native.env
overrides = _native.overrides
source = _native.source
parse_duration = _native.parse_duration
parse_size = _native.parse_size
notify = _native.notify

_MISSING = object()


def _read_only(self, *args, **kwargs):
    raise TypeError(f"{type(self).__name__} is read-only (a configuration version never changes)")


class _FrozenDict(dict):
    """A dict that refuses changes (reads are a plain dict's)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only


class Section(_FrozenDict):
    """A configuration section (an object in the files) as a read-only mapping of its members,
    e.g. ``snap["db"]["host"]``; nested sections are Sections, arrays are tuples."""

    __slots__ = ()


class Snapshot(_FrozenDict):
    """One immutable, validated version of the merged configuration.

    A read-only mapping from every dotted key to its value: ``snap["db.timeout"]``,
    ``snap.get("db.pool", 4)``, and sections too: ``snap["db"]`` is a Section. Values are
    None, bool, int, float, str, tuples (arrays) and Sections (objects). A read is a dict
    lookup: the version was converted once, when it was first pinned, and every pin of it
    shares this object. Safe to share between threads.

    version    1 for the first load, +1 per published change.
    loaded_at  when this version was published (datetime, local time).
    """

    # __weakref__: a caller can learn when a version it no longer pins is gone (caches keyed
    # by version, and the memory tests).
    __slots__ = ("version", "loaded_at", "_native", "__weakref__")

    def __setattr__(self, name, value):
        raise AttributeError("a relive.Snapshot is read-only")

    def duration(self, key, default=_MISSING):
        """The value at key as a datetime.timedelta ("250ms", "5s", "1m30s", or a number of
        seconds). Missing: default, or KeyError. Not a duration: ValueError naming
        file:line:column and key."""
        value = self._native.duration(key)
        if value is None:
            if default is _MISSING:
                raise KeyError(key)
            return default
        return value

    def size(self, key, default=_MISSING):
        """The value at key as a number of bytes ("64MiB", "10KB" or a number). Missing:
        default, or KeyError. Not a size: ValueError naming file:line:column and key."""
        value = self._native.size(key)
        if value is None:
            if default is _MISSING:
                raise KeyError(key)
            return default
        return value

    def origin(self, key):
        """Where key (a leaf or a section) was set, as an Origin; None if it is absent."""
        return self._native.origin(key)

    def entries(self):
        """Every leaf as (dotted key, value as text), secrets shown as ***."""
        return self._native.entries()

    def __repr__(self):
        leaves = ", ".join(f"{k}={v}" for k, v in self._native.entries())
        return f"<relive.Snapshot version={self.version} {leaves}>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a relive.Snapshot cannot be pickled; use dict(snap)")


class Origin:
    """Where a value came from: source (a path, "env APP_DB__TIMEOUT", "override ..."), line
    and column (1-based; 0 when the source has none). str() is "config/app.yaml:3:12"."""

    __slots__ = ("source", "line", "column")

    def __init__(self, source, line, column):
        self.source, self.line, self.column = source, line, column

    def __str__(self):
        if not self.source:
            return "<none>"
        return f"{self.source}:{self.line}:{self.column}" if self.line else self.source

    def __repr__(self):
        return f"relive.Origin({self.source!r}, {self.line}, {self.column})"

    def __eq__(self, other):
        return isinstance(other, Origin) and (self.source, self.line, self.column) == (
            other.source, other.line, other.column)

    __hash__ = None


class Change:
    """One changed key: its old and new value (None where it was or is absent). Secret values
    are real here; print them through Config.is_secret() if you log them."""

    __slots__ = ("key", "old", "new")

    def __init__(self, key, old, new):
        self.key, self.old, self.new = key, old, new

    def __iter__(self):
        return iter((self.key, self.old, self.new))

    def __repr__(self):
        return f"relive.Change({self.key!r}, {self.old!r}, {self.new!r})"


class Update:
    """What a subscriber is called with: the version just published, its changed keys under
    the subscribed prefix (never empty) and the Snapshot of that version."""

    __slots__ = ("version", "changes", "snapshot")

    def __init__(self, version, changes, snapshot):
        self.version, self.changes, self.snapshot = version, changes, snapshot

    @property
    def keys(self):
        """The changed keys, sorted."""
        return [c.key for c in self.changes]

    def __repr__(self):
        return f"<relive.Update version={self.version} keys={self.keys}>"


class Status:
    """What the loader knows now: the version serving and when it was loaded, the last load's
    error (with file:line:column and key) until a good load clears it, and counts of the
    reloads after the first and of those that failed."""

    __slots__ = ("version", "loaded_at", "error", "reloads", "failures")

    def __init__(self, version, loaded_at, error, reloads, failures):
        self.version, self.loaded_at, self.error = version, loaded_at, error
        self.reloads, self.failures = reloads, failures

    def __repr__(self):
        return (f"<relive.Status version={self.version} error={self.error!r} "
                f"reloads={self.reloads} failures={self.failures}>")


_native._init_types(Snapshot, Section, Change, Update, Status, Origin)

Config = _native.Config

# --- threads, fork() and exit --------------------------------------------------------------
# Open Configs (for the fork and exit hooks) and the one thread that runs every subscriber
# callback of this process, started on the first subscribe() (and again in a fork() child,
# where the parent's thread does not exist).
_configs = _weakref.WeakSet()
_dispatcher = None
_native_open = Config.open
_native_subscribe = Config.subscribe


def _dispatch_updates():
    import logging
    log = logging.getLogger("relive")
    config_log = logging.getLogger("relive.config")
    while True:
        item = _native._next_update()  # waits without the GIL; None at exit
        if item is None:
            return
        callback, update = item
        if isinstance(callback, int):  # a line the C++ Config logged: (level, text)
            config_log.log(callback, "%s", update)
            continue
        try:
            callback(update)
        except Exception:
            log.exception("relive: a subscriber callback raised on version %d (keys %s)",
                          update.version, ", ".join(update.keys))
        del item, callback, update


def _start_dispatcher():
    global _dispatcher
    if _dispatcher is None or not _dispatcher.is_alive():
        import threading
        _dispatcher = threading.Thread(target=_dispatch_updates, name="relive-subscribers", daemon=True)
        _dispatcher.start()


def _open(sources, *, validate=None, secrets=(), watch=True, quiet=0.005):
    _start_dispatcher()  # also what hands the Config's log lines to logging ("relive.config")
    cfg = _native_open(list(sources), validate=validate, secrets=list(secrets), watch=watch, quiet=quiet)
    _configs.add(cfg)
    return cfg


def _subscribe(self, prefix, callback):
    sub = _native_subscribe(self, prefix, callback)
    _start_dispatcher()
    return sub


_open.__doc__ = _native_open.__doc__
_subscribe.__doc__ = _native_subscribe.__doc__
Config.open = staticmethod(_open)
Config.subscribe = _subscribe


def _after_fork_in_parent():
    _native._after_fork()
    for cfg in list(_configs):
        cfg._reload_after_fork(always=False)


def _after_fork_in_child():
    global _dispatcher
    _native._after_fork()
    had_dispatcher, _dispatcher = _dispatcher is not None, None
    if had_dispatcher:
        _start_dispatcher()
    for cfg in list(_configs):
        cfg._reload_after_fork(always=True)


_os.register_at_fork(before=_native._before_fork, after_in_parent=_after_fork_in_parent,
                     after_in_child=_after_fork_in_child)


@_atexit.register
def _close_at_exit():
    # The Configs' threads must be gone before the interpreter is: a validator would take
    # the GIL of a finalized interpreter.
    _native._stop_updates()
    if _dispatcher is not None:
        # It must take the GIL back while the interpreter still lives (later, CPython would
        # end the thread inside C++ code).
        _dispatcher.join(10)
    for cfg in list(_configs):
        cfg.close()


# --- socket activation -----------------------------------------------------------------------
_LISTEN_VARS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


def listen_fds_named():
    """The listening sockets handed over by ``relive --socket`` (or systemd), as a list of
    (name, socket.socket) in order: fds 3, 4, ... when LISTEN_PID is this process, [] otherwise.
    The LISTEN_* variables are removed from the environment (children do not take them) and
    the sockets are close-on-exec. Call once, at start-up."""
    import socket
    taken = _native._take_listen_fds()
    for name in _LISTEN_VARS:  # the C++ side unset them; keep os.environ in step
        _os.environ.pop(name, None)
    return [(name, socket.socket(fileno=fd)) for fd, name in taken]


def listen_fds():
    """The listening sockets handed over (see listen_fds_named), as socket.socket objects.
    Close them when stopping; never shutdown() them (they are shared with the next server)."""
    return [sock for _, sock in listen_fds_named()]


def notify_ready():
    """Sends READY=1 to $NOTIFY_SOCKET (relive --graceful stops the old server then). False
    when NOTIFY_SOCKET is unset or the send failed; carry on either way."""
    return _native.notify("READY=1")

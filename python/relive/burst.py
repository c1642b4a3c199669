"""Burst logging for the logging module: debug records are kept, unformatted, in a bounded
buffer and written only when an error follows them (docs/python.md, docs/burst.md).

    import logging, relive.burst
    relive.burst.install(level=logging.DEBUG)      # wraps the root logger's handlers
    log = logging.getLogger("api")
    def handle(request):
        with relive.burst.scope():                 # one buffer for this request
            log.debug("cache miss for %s", request.key)   # kept, not formatted
            ...
            log.error("lookup failed")             # writes the debug record, then this one

The rules are relive's burst rules (the same as relive::burst in C++ and `relive burst`):

- records below pass_level are kept in a buffer bounded by count (keep) and by age
  (max_age seconds, checked when the buffer is written: no timer);
- a record at or above trigger_level writes the kept records first, oldest first, then
  itself, through the target handler (its level, filters and formatter apply as usual);
- a record written at once (at or above pass_level) drops the kept records older than it,
  so the output is always in chronological order;
- buffers are per thread (per_thread=True), or one per relive.burst.scope() (a request, an
  asyncio task: scopes follow contextvars); a scope that ends without an error drops what
  it kept;
- a kept record is never formatted: %-arguments are formatted only for records written.
  As with logging.handlers.MemoryHandler, a kept record holds references to its arguments:
  an argument changed after the call prints as it is when the record is written.

The buffer is a collections.deque per thread or scope, not relive's C++ ring: a Python
record is a Python object, and handing it to C++ would cost more than the append (bench:
bench/python/bench_burst.py).
"""

import collections
import contextvars
import logging
import threading

__all__ = ["Handler", "scope", "install"]

_scope = contextvars.ContextVar("relive.burst.scope", default=None)


class scope:
    """A buffer of its own for the records logged inside it (one unit of work: a request).

    Used as ``with relive.burst.scope(): ...``; scopes nest (the innermost one keeps) and
    follow contextvars, so each asyncio task or thread has its own. Leaving the scope drops
    the records it kept and did not write."""

    __slots__ = ("_buffers", "_token")

    def __init__(self):
        self._buffers = {}
        self._token = None

    def __enter__(self):
        self._token = _scope.set(self)
        return self

    def __exit__(self, *exc):
        _scope.reset(self._token)
        self._buffers.clear()
        return False


class Handler(logging.Handler):
    """A logging.Handler with relive's burst semantics (see the module's docstring).

    target         the handler that writes (any logging.Handler; its formatter applies)
    keep           kept records per buffer at most (the oldest are dropped first)
    max_age        seconds a kept record stays writable (0: no age bound)
    pass_level     records at or above it are written at once (default INFO)
    trigger_level  records at or above it write the kept records first (default ERROR)
    per_thread     one buffer per thread (True) or one shared by all threads (False);
                   a relive.burst.scope() always has its own

    The logger must let debug records reach this handler (logger level DEBUG); this
    handler's own level (setLevel) still discards records below it.
    Thread-safety: any thread; keeping a record touches only its thread's buffer."""

    def __init__(self, target, keep=512, max_age=60.0, pass_level=logging.INFO,
                 trigger_level=logging.ERROR, per_thread=True):
        super().__init__()
        if not isinstance(target, logging.Handler):
            raise TypeError("relive.burst.Handler: target must be a logging.Handler")
        if keep < 1:
            raise ValueError("relive.burst.Handler: keep must be at least 1")
        if max_age < 0:
            raise ValueError("relive.burst.Handler: max_age must not be negative")
        self.target = target
        self.keep = int(keep)
        self.max_age = float(max_age)
        self._pass_level = self._trigger_level = logging._checkLevel(pass_level)
        self.pass_level = pass_level
        self.trigger_level = trigger_level
        self.per_thread = per_thread
        self._local = threading.local()
        self._shared = collections.deque(maxlen=self.keep)

    # pass_level/trigger_level may change at any time (e.g. from a configuration callback);
    # the hot path compares against one precomputed bound.
    @property
    def pass_level(self):
        """Records at or above this level are written at once; below it they are kept.
        May be set at any time (a level number or name)."""
        return self._pass_level

    @pass_level.setter
    def pass_level(self, level):
        self._pass_level = logging._checkLevel(level)
        self._keep_below = min(self._pass_level, getattr(self, "_trigger_level", self._pass_level))

    @property
    def trigger_level(self):
        """A record at or above this level writes the kept records first, then itself.
        May be set at any time (a level number or name)."""
        return self._trigger_level

    @trigger_level.setter
    def trigger_level(self, level):
        self._trigger_level = logging._checkLevel(level)
        self._keep_below = min(self._pass_level, self._trigger_level)

    def _buffer(self):
        """The calling thread's (or scope's) buffer; the shared one (caller holds self.lock)."""
        s = _scope.get()
        if s is not None:
            buf = s._buffers.get(self)
            if buf is None:
                buf = s._buffers[self] = collections.deque(maxlen=self.keep)
            return buf
        if not self.per_thread:
            return self._shared
        try:
            return self._local.buffer
        except AttributeError:
            buf = self._local.buffer = collections.deque(maxlen=self.keep)
            return buf

    def handle(self, record):
        """Keeps, writes, or writes the kept records and then this one (see the class)."""
        if self.filters:
            rv = self.filter(record)
            if not rv:
                return rv
            if isinstance(rv, logging.LogRecord):  # Python 3.12 filters may replace it
                record = rv
        if record.levelno < self._keep_below:
            if _scope.get() is None and self.per_thread:
                try:
                    self._local.buffer.append(record)  # deque(maxlen): the oldest drops
                except AttributeError:
                    self._buffer().append(record)
                return record
        elif self.per_thread or _scope.get() is not None:
            self._write(self._buffer(), record)
            return record
        else:
            with self.lock:
                self._write(self._shared, record)
            return record
        # Kept, into a scope's buffer or the shared one.
        if _scope.get() is not None:
            self._buffer().append(record)
        else:
            with self.lock:
                self._shared.append(record)
        return record

    def _write(self, buf, record):
        if buf:
            if record.levelno >= self.trigger_level:
                kept = list(buf)
                buf.clear()
                if self.max_age:
                    oldest = record.created - self.max_age
                    kept = [r for r in kept if r.created >= oldest]
                for r in kept:
                    self._emit(r)
            else:
                buf.clear()  # written later, they would come out of order
        self._emit(record)
        if record.levelno >= self.trigger_level:
            self.target.flush()

    def _emit(self, record):
        # What Logger.callHandlers would check before handing the target a record.
        if record.levelno >= self.target.level:
            self.target.handle(record)

    def emit(self, record):
        """Not used: handle() decides per record (kept, or written through the target)."""
        self.handle(record)

    def buffered(self):
        """How many records the calling thread's (or scope's) buffer keeps now."""
        if self.per_thread or _scope.get() is not None:
            return len(self._buffer())
        with self.lock:
            return len(self._shared)

    def setFormatter(self, fmt):
        """Sets the target's formatter (this handler formats nothing itself)."""
        self.target.setFormatter(fmt)

    def flush(self):
        """Flushes the target (kept records stay kept: only a trigger writes them)."""
        self.target.flush()

    def close(self):
        """Drops the kept records and closes this handler (not the target, which is yours)."""
        self._shared.clear()
        self._local = threading.local()
        super().close()


class _Fanout(logging.Handler):
    """Several handlers as one target (what install() wraps when the root has more than one)."""

    def __init__(self, handlers):
        super().__init__()
        self.handlers = list(handlers)

    def handle(self, record):
        for h in self.handlers:
            if record.levelno >= h.level:
                h.handle(record)
        return record

    def emit(self, record):
        self.handle(record)

    def setFormatter(self, fmt):
        for h in self.handlers:
            h.setFormatter(fmt)

    def flush(self):
        for h in self.handlers:
            h.flush()


def install(level=logging.DEBUG, **options):
    """Puts the root logger's handlers behind one burst Handler and sets the root level to
    `level` (so debug records reach it), in one call. With no handler yet, a StreamHandler
    on stderr (as logging.basicConfig would). `options` are Handler's (keep, max_age,
    pass_level, trigger_level, per_thread). Returns the Handler; calling it again replaces
    the previous one's options (its targets are kept)."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    targets = []
    for h in handlers:
        if isinstance(h, Handler):
            t = h.target
            targets.extend(t.handlers if isinstance(t, _Fanout) else [t])
        else:
            targets.append(h)
        root.removeHandler(h)
    if not targets:
        default = logging.StreamHandler()
        default.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
        targets = [default]
    target = targets[0] if len(targets) == 1 else _Fanout(targets)
    handler = Handler(target, **options)
    root.addHandler(handler)
    root.setLevel(level)
    return handler

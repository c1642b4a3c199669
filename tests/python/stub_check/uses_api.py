# A program written against relive's public API, checked with `mypy --strict` against the
# stubs (tests/python/test_stubs.py): a stub that drifts from what docs/python.md shows
# makes this fail to type-check. Never run; only type-checked.
import datetime
import logging
import socket
from typing import Any, Optional

import relive
import relive.burst


def validate(snap: relive.Snapshot) -> None:
    if snap.get("db.pool", 4) < 1:
        raise ValueError("db.pool must be at least 1")


def on_change(update: relive.Update) -> None:
    for change in update.changes:
        print(change.key, change.old, change.new)
    key, old, new = relive.Change("a", 1, 2)
    print(update.version, update.keys, update.snapshot.version, key, old, new)


def serve() -> int:
    cfg: relive.Config = relive.Config.open(
        ["config/app.yaml", relive.directory("conf.d"), relive.env("APP"), relive.overrides(["a=1"])],
        validate=validate, secrets=["*.dsn"], watch=True, quiet=0.01)
    snap: relive.Snapshot = cfg.pin()
    timeout: datetime.timedelta = snap.duration("db.timeout")
    pool_bytes: int = snap.size("db.buffer", 4096)
    where: Optional[relive.Origin] = snap.origin("db.timeout")
    if where is not None:
        print(where.source, where.line, where.column)
    section: Any = snap["db"]
    print(timeout, pool_bytes, section, snap.version, snap.loaded_at, "db.host" in snap, len(snap))
    for key in snap:
        print(key, snap[key])
    sub: relive.Subscription = cfg.subscribe("db", on_change)
    status: relive.Status = cfg.status()
    error: Optional[str] = status.error
    print(status.version, status.reloads, status.failures, error, sub.prefix, sub.closed, cfg.version)
    changed: bool = cfg.reload()
    maybe: Optional[datetime.timedelta] = relive.parse_duration("250ms")
    print(changed, maybe, relive.parse_size("64MiB"), relive.source("etcd://127.0.0.1:2379/app/").name)
    sub.close()
    cfg.close()

    handler = relive.burst.Handler(logging.StreamHandler(), keep=256, max_age=30.0,
                                   pass_level=logging.INFO, trigger_level=logging.ERROR, per_thread=False)
    logging.getLogger().addHandler(handler)
    with relive.burst.scope():
        logging.getLogger("app").debug("kept: %s", handler.buffered())
    installed: relive.burst.Handler = relive.burst.install(level=logging.DEBUG, keep=128)
    print(installed.keep)

    sockets: list[socket.socket] = relive.listen_fds()
    named: list[tuple[str, socket.socket]] = relive.listen_fds_named()
    ready: bool = relive.notify_ready()
    print(len(sockets), named, ready, relive.notify("STATUS=serving"))
    try:
        relive.Config.open(["missing.yaml"])
    except relive.ConfigError as e:
        print(e)
    return 0

"""relive.Config: layering, typed access, errors with positions, validators, status, secrets,
reloads on every editor save pattern."""

import datetime
import logging
import os
import threading

import pytest

import relive
from conftest import save_atomic, wait_until, write


@pytest.fixture
def app_yaml(tmp_path):
    path = tmp_path / "app.yaml"
    write(path, "db:\n  host: db1\n  port: 5432\n  timeout: 250ms\n  pool: 4\n"
                "cache:\n  max: 64MiB\n  ratio: 0.5\n  on: true\n"
                "servers:\n  - host: a\n  - host: b\n")
    return path


def test_layering_later_sources_override_earlier(tmp_path, app_yaml, monkeypatch):
    confd = tmp_path / "conf.d"
    confd.mkdir()
    write(confd / "10-db.yaml", "db:\n  host: db2\n")
    write(confd / "20-db.json", '{"db": {"port": 6000}}')
    monkeypatch.setenv("APPX_DB__POOL", "16")
    with relive.Config.open([str(app_yaml), relive.directory(str(confd)), relive.env("APPX"),
                             relive.overrides(["cache.ratio=0.75"])]) as cfg:
        snap = cfg.pin()
        assert snap["db.host"] == "db2"
        assert snap["db.port"] == 6000
        assert snap["db.pool"] == 16
        assert snap["cache.ratio"] == 0.75
        assert snap["db.timeout"] == "250ms"  # untouched keys keep the first source's value
        assert str(snap.origin("db.host")) == f"{confd / '10-db.yaml'}:2:3"
        assert str(snap.origin("db.pool")) == "env APPX_DB__POOL"
        assert str(snap.origin("db.timeout")) == f"{app_yaml}:4:3"
        assert snap.origin("nope") is None


def test_duration_out_of_range_is_a_value_error_naming_the_key(tmp_path):
    # Beyond ~292 years a duration does not fit in nanoseconds: the C++ conversion overflowed
    # (a wrapped, negative or garbage timedelta); it is a TypeError, seen here as ValueError.
    path = tmp_path / "app.yaml"
    write(path, "t_int: 10000000000\nt_float: 1e19\nt_ok: 9223372036\n")
    with relive.Config.open([str(path)], watch=False) as cfg:
        snap = cfg.pin()
        with pytest.raises(ValueError, match=r"app.yaml:1:\d+: t_int: expected a duration"):
            snap.duration("t_int")
        with pytest.raises(ValueError, match=r"app.yaml:2:\d+: t_float: expected a duration"):
            snap.duration("t_float")
        assert snap.duration("t_ok") == datetime.timedelta(seconds=9223372036)

def test_pathlike_and_file_url(app_yaml):
    with relive.Config.open([app_yaml]) as cfg:
        assert cfg.pin()["db.host"] == "db1"
    with relive.Config.open([f"file://{app_yaml}"]) as cfg:
        assert cfg.get("db.port") == 5432


def test_typed_access(app_yaml):
    with relive.Config.open([str(app_yaml)]) as cfg:
        snap = cfg.pin()
        assert snap.version == 1 and cfg.version == 1
        assert isinstance(snap.loaded_at, datetime.datetime)
        assert snap["db.port"] == 5432 and type(snap["db.port"]) is int
        assert snap["cache.ratio"] == 0.5 and snap["cache.on"] is True
        assert snap.duration("db.timeout") == datetime.timedelta(milliseconds=250)
        assert snap.size("cache.max") == 64 * 1024 * 1024
        assert snap.duration("db.pool") == datetime.timedelta(seconds=4)  # a number is seconds
        assert snap.get("db.missing", 7) == 7 and snap.get("db.pool", 1) == 4
        assert snap.duration("db.missing", None) is None
        with pytest.raises(KeyError):
            snap["db.missing"]
        with pytest.raises(KeyError):
            snap.duration("db.missing")
        with pytest.raises(ValueError, match=r"app.yaml:2:\d+: db.host: expected a duration"):
            snap.duration("db.host")
        db = snap["db"]
        assert isinstance(db, relive.Section) and db["host"] == "db1" and db["port"] == 5432
        assert dict(db) == {"host": "db1", "port": 5432, "timeout": "250ms", "pool": 4}
        assert snap["servers"][1]["host"] == "b" and snap["servers.0.host"] == "a"
        assert isinstance(snap["servers"], tuple)
        for mutate in (lambda: snap.__setitem__("db.port", 1), lambda: db.update(port=1),
                       lambda: snap.pop("db"), lambda: snap.clear()):
            with pytest.raises(TypeError):
                mutate()
        with pytest.raises(AttributeError):
            snap.version = 9
        assert snap["db.port"] == 5432
        assert cfg.pin() is snap  # an unchanged version is shared by every pin


def test_parse_errors_name_file_line_column(tmp_path):
    bad = tmp_path / "bad.yaml"
    write(bad, "db:\n  host: [unclosed\n")
    with pytest.raises(relive.ConfigError, match=r"bad\.yaml:\d+:\d+"):
        relive.Config.open([str(bad)])
    with pytest.raises(relive.ConfigError, match="not found"):
        relive.Config.open([str(tmp_path / "missing.yaml")])
    bad_json = tmp_path / "bad.json"
    write(bad_json, '{"a": 1,\n "b": }')
    with pytest.raises(relive.ConfigError, match=r"bad\.json:2:\d+"):
        relive.Config.open([str(bad_json)])
    assert issubclass(relive.ConfigError, ValueError)


def test_url_sources_go_through_the_library(tmp_path):
    # etcd:// and http(s):// become the C++ library's remote sources; a dead center fails
    # the first load with one clear error naming it (a free loopback port: nothing listens).
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(relive.ConfigError, match=f"127.0.0.1:{port}"):
        relive.Config.open([f"http://127.0.0.1:{port}/app.json"])
    with pytest.raises(relive.ConfigError, match="ftp sources are not supported"):
        relive.source("ftp://127.0.0.1/app.json")
    with pytest.raises(TypeError, match="configuration source"):
        relive.Config.open([42])
    with pytest.raises(ValueError, match="at least one source"):
        relive.Config.open([])


def test_libcurl_is_loaded_only_for_a_url_source(tmp_path):
    # `import relive` and a file source leave the etcd/HTTP sources (relive._remote, libcurl
    # and its TLS stack) unloaded; the first URL source loads them. A fresh interpreter:
    # this one has long imported everything.
    import subprocess
    import sys
    write(tmp_path / "app.yaml", "a: 1\n")
    code = """
import sys, relive
def loaded():
    maps = open("/proc/self/maps").read()
    return ("relive._remote" in sys.modules, "libcurl" in maps)
print(loaded())
with relive.Config.open(["app.yaml"]) as cfg:
    assert cfg.pin()["a"] == 1
print(loaded())
src = relive.source("http://127.0.0.1:9/app.json")
print(loaded(), type(src).__name__)
"""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(relive.__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["(False, False)", "(False, False)", "(True, True) Source"]


def test_reload_on_save_and_invalid_save_keeps_last_good(app_yaml, caplog):
    caplog.set_level(logging.INFO, logger="relive.config")
    with relive.Config.open([str(app_yaml)]) as cfg:
        write(app_yaml, "db:\n  host: db9\n")
        wait_until(lambda: cfg.pin().get("db.host") == "db9", what="the edit")
        good = cfg.pin()
        write(app_yaml, "db:\n  host: [broken\n")
        wait_until(lambda: cfg.status().error is not None, what="the failure in status()")
        st = cfg.status()
        assert "app.yaml:" in st.error and st.version == good.version and st.failures >= 1
        # The C++ engine's log lines reach logging, on the "relive.config" logger.
        wait_until(lambda: any(r.levelno == logging.ERROR and "app.yaml:" in r.getMessage()
                               and "keeping version" in r.getMessage() for r in caplog.records),
                   what="the error logged through logging")
        assert cfg.pin() is good
        write(app_yaml, "db:\n  host: db10\n")
        wait_until(lambda: cfg.pin().get("db.host") == "db10", what="the recovery")
        # status() changes with the published version: who sees the recovery sees no error.
        assert cfg.status().error is None


def test_validator_rejects_a_whole_version(tmp_path):
    path = tmp_path / "app.yaml"
    write(path, "workers: 0\n")
    seen = []

    def validate(snap):
        seen.append(snap.version)
        if snap["workers"] < 1:
            raise ValueError("workers: must be >= 1")

    with pytest.raises(relive.ConfigError, match="workers: must be >= 1"):
        relive.Config.open([str(path)], validate=validate)
    write(path, "workers: 2\n")
    with relive.Config.open([str(path)], validate=[validate, lambda s: None]) as cfg:
        assert cfg.get("workers") == 2
        write(path, "workers: -1\n")
        wait_until(lambda: cfg.status().error is not None, what="the rejection")
        assert "workers: must be >= 1" in cfg.status().error
        assert cfg.get("workers") == 2
        with pytest.raises(relive.ConfigError, match="must be >= 1"):
            cfg.reload()
        write(path, "workers: 3\n")
        wait_until(lambda: cfg.get("workers") == 3, what="the next good version")
        # Any exception rejects, named by its type.
        def picky(snap):
            if snap["workers"] == 5:
                raise KeyError("five")
        with relive.Config.open([str(path)], validate=picky) as c2:
            write(path, "workers: 5\n")
            wait_until(lambda: c2.status().error is not None, what="the KeyError rejection")
            assert "KeyError" in c2.status().error and c2.get("workers") == 3


def test_reload_returns_whether_something_changed(tmp_path):
    path = tmp_path / "a.toml"
    write(path, "n = 1\n")
    with relive.Config.open([str(path)], watch=False) as cfg:
        assert cfg.reload() is False
        write(path, "n = 2\n")
        assert cfg.reload() is True and cfg.get("n") == 2 and cfg.version == 2
        st = cfg.status()
        assert st.reloads == 2 and st.failures == 0 and st.version == 2
    assert cfg.closed
    with pytest.raises(ValueError, match="closed"):
        cfg.pin()


def test_secrets_are_redacted_in_repr_and_entries(tmp_path):
    path = tmp_path / "app.yaml"
    write(path, "db:\n  password: hunter2\n  dsn: postgres://u:pw@h/db\n  host: h\n")
    with relive.Config.open([str(path)], secrets=["*.dsn"]) as cfg:
        snap = cfg.pin()
        text = repr(snap)
        assert "hunter2" not in text and "pw@h" not in text and "db.host=h" in text
        assert dict(snap.entries())["db.password"] == "***"
        assert cfg.is_secret("db.dsn") and cfg.is_secret("db.password") and not cfg.is_secret("db.host")
        assert snap["db.password"] == "hunter2"  # the program itself reads the real value


SAVES = {
    "in_place": lambda p, t: write(p, t),
    "atomic_rename": save_atomic,
    "vim_backup": None,  # filled below
    "delete_recreate": None,
}


def _vim_save(path, text):
    os.rename(path, f"{path}~")
    write(path, text)
    os.unlink(f"{path}~")


def _delete_recreate(path, text):
    os.unlink(path)
    write(path, text)


SAVES["vim_backup"] = _vim_save
SAVES["delete_recreate"] = _delete_recreate


@pytest.mark.parametrize("pattern", sorted(SAVES))
def test_every_editor_save_pattern_is_seen(tmp_path, pattern):
    path = tmp_path / "app.yaml"
    write(path, "n: 0\n")
    with relive.Config.open([str(path)]) as cfg:
        for n in (1, 2, 3):
            SAVES[pattern](str(path), f"n: {n}\n")
            wait_until(lambda: cfg.get("n") == n, what=f"save {n} ({pattern})")


def test_subscriptions_in_order_with_old_and_new_values(tmp_path, caplog):
    path = tmp_path / "app.yaml"
    write(path, "db:\n  host: a\n  port: 1\nlog:\n  level: info\n")
    calls = []
    with relive.Config.open([str(path)]) as cfg:
        def boom(update):
            raise RuntimeError("subscriber bug")

        cfg.subscribe("db", boom)
        sub = cfg.subscribe("db", lambda u: calls.append(
            ("db", u.version, [tuple(c) for c in u.changes], threading.current_thread().name)))
        cfg.subscribe("", lambda u: calls.append(("all", u.version, u.keys, None)))
        with caplog.at_level(logging.ERROR, logger="relive"):
            for port in (2, 3, 4):
                write(path, f"db:\n  host: a\n  port: {port}\nlog:\n  level: info\n")
                wait_until(lambda: cfg.get("db.port") == port, what=f"port {port}")
            write(path, "db:\n  host: a\n  port: 4\nlog:\n  level: debug\n")
            wait_until(lambda: len([c for c in calls if c[0] == "all"]) == 4, what="4 updates")
            wait_until(lambda: len([r for r in caplog.records if "subscriber callback" in r.getMessage()]) == 3,
                       what="the 3 logged exceptions")
        db_calls = [c for c in calls if c[0] == "db"]
        assert [c[1] for c in db_calls] == [2, 3, 4]
        assert db_calls[0][2] == [("db.port", 1, 2)] and db_calls[2][2] == [("db.port", 3, 4)]
        assert {c[3] for c in db_calls} == {"relive-subscribers"}
        assert [c[1] for c in calls if c[0] == "all"] == [2, 3, 4, 5]
        assert calls[-1] == ("all", 5, ["log.level"], None)
        assert any("subscriber bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)
        sub.close()
        assert sub.closed
        write(path, "db:\n  host: b\n")
        wait_until(lambda: len([c for c in calls if c[0] == "all"]) == 5, what="the 5th update")
        assert len([c for c in calls if c[0] == "db"]) == 3  # closed: not called again


def test_config_in_threads_and_close_with_callbacks_pending(tmp_path):
    path = tmp_path / "app.yaml"
    write(path, "n: 0\n")
    cfg = relive.Config.open([str(path)], validate=lambda s: None)
    cfg.subscribe("n", lambda u: None)
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            assert cfg.pin()["n"] >= 0

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for n in range(1, 20):
        write(path, f"n: {n}\n")
    wait_until(lambda: cfg.get("n") == 19, what="the last edit")
    stop.set()
    for t in threads:
        t.join()
    cfg.close()
    cfg.close()


def test_hostile_files_deep_nesting_and_garbage(tmp_path):
    deep = tmp_path / "deep.json"
    write(deep, '{"a":' * 200 + "1" + "}" * 200)  # within the C++ library's 256 levels
    with relive.Config.open([str(deep)]) as cfg:
        snap = cfg.pin()
        assert snap[".".join(["a"] * 200)] == 1
        section = snap["a"]
        for _ in range(198):
            section = section["a"]
        assert section == {"a": 1}
    deeper = tmp_path / "deeper.json"
    write(deeper, '{"a":' * 1000 + "1" + "}" * 1000)
    with pytest.raises(relive.ConfigError, match=r"deeper\.json:1:\d+: nesting deeper than 256 levels"):
        relive.Config.open([str(deeper)])
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(relive.ConfigError, match=r"garbage\.yaml"):
        relive.Config.open([str(garbage)])

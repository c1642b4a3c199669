"""relive.burst.Handler against the documented rules, with real logging handlers and formatters."""

import io
import logging
import threading
import time

import pytest

import relive.burst


class Counted:
    """An argument that counts how often it is formatted."""

    def __init__(self):
        self.calls = 0

    def __str__(self):
        self.calls += 1
        return "counted"


@pytest.fixture
def setup():
    out = io.StringIO()
    target = logging.StreamHandler(out)
    target.setFormatter(logging.Formatter("%(levelname)s %(threadName)s %(message)s"))
    handler = relive.burst.Handler(target, keep=4, max_age=60.0)
    log = logging.getLogger(f"burst-test-{id(out)}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    yield log, handler, lambda: out.getvalue().splitlines()
    log.removeHandler(handler)


def test_kept_until_an_error_then_oldest_first(setup):
    log, handler, lines = setup
    log.debug("d1")
    log.debug("d2 %d", 2)
    assert lines() == [] and handler.buffered() == 2
    log.error("boom")
    assert lines() == ["DEBUG MainThread d1", "DEBUG MainThread d2 2", "ERROR MainThread boom"]
    assert handler.buffered() == 0
    log.error("again")  # the buffer was written: nothing repeats
    assert lines()[-1] == "ERROR MainThread again" and len(lines()) == 4


def test_written_record_drops_older_kept_ones(setup):
    log, handler, lines = setup
    log.debug("before")
    log.info("info")
    log.debug("after")
    log.error("boom")
    assert lines() == ["INFO MainThread info", "DEBUG MainThread after", "ERROR MainThread boom"]


def test_bounded_by_count_oldest_dropped(setup):
    log, handler, lines = setup
    for i in range(10):
        log.debug("d%d", i)
    assert handler.buffered() == 4
    log.critical("c")
    assert lines() == ["DEBUG MainThread d6", "DEBUG MainThread d7", "DEBUG MainThread d8",
                       "DEBUG MainThread d9", "CRITICAL MainThread c"]


def test_bounded_by_age(setup):
    log, handler, lines = setup
    handler.max_age = 0.2
    log.debug("old")
    time.sleep(0.3)
    log.debug("fresh")
    log.error("boom")
    assert lines() == ["DEBUG MainThread fresh", "ERROR MainThread boom"]


def test_per_thread_buffers(setup):
    log, handler, lines = setup
    log.debug("main context")
    gate = threading.Event()

    def other():
        log.debug("other context")
        log.info("other info")  # drops only this thread's kept records
        gate.set()
        log.error("other failed")

    t = threading.Thread(target=other, name="T2")
    t.start()
    t.join()
    assert lines() == ["INFO T2 other info", "ERROR T2 other failed"]
    log.error("main failed")
    assert lines()[-2:] == ["DEBUG MainThread main context", "ERROR MainThread main failed"]


def test_shared_buffer_when_not_per_thread():
    out = io.StringIO()
    target = logging.StreamHandler(out)
    handler = relive.burst.Handler(target, per_thread=False)
    log = logging.getLogger("burst-shared")
    log.propagate, log.level = False, logging.DEBUG
    log.addHandler(handler)
    t = threading.Thread(target=lambda: log.debug("from T"))
    t.start()
    t.join()
    log.error("main")
    assert out.getvalue().splitlines() == ["from T", "main"]
    log.removeHandler(handler)


def test_scopes_have_their_own_buffers_and_drop_on_exit(setup):
    log, handler, lines = setup
    log.debug("thread context")
    with relive.burst.scope():
        log.debug("request 1")
    assert handler.buffered() == 1  # the scope's record went with it
    with relive.burst.scope():
        log.debug("request 2")
        with relive.burst.scope():
            log.debug("inner")
            log.error("inner failed")
        log.error("request 2 failed")
    assert lines() == ["DEBUG MainThread inner", "ERROR MainThread inner failed",
                       "DEBUG MainThread request 2", "ERROR MainThread request 2 failed"]
    log.error("thread failed")
    assert lines()[-2:] == ["DEBUG MainThread thread context", "ERROR MainThread thread failed"]


def test_lazy_formatting(setup):
    log, handler, lines = setup
    kept_only = Counted()
    for _ in range(100):
        log.debug("value %s", kept_only)
    log.info("written")
    assert kept_only.calls == 0  # kept, then dropped: never formatted
    written = Counted()
    log.debug("value %s", written)
    assert written.calls == 0
    log.error("boom")
    assert written.calls == 1 and lines()[-2] == "DEBUG MainThread value counted"


def test_levels_filters_and_trigger_below_pass(setup):
    log, handler, lines = setup
    handler.setLevel(logging.DEBUG)
    log.log(5, "below the handler's level")
    handler.addFilter(lambda r: "secret" not in r.getMessage())
    log.debug("secret stuff")
    log.debug("kept")
    handler.trigger_level = logging.WARNING
    log.warning("warned")
    assert lines() == ["DEBUG MainThread kept", "WARNING MainThread warned"]
    handler.pass_level, handler.trigger_level = logging.ERROR, logging.WARNING
    log.debug("d")
    log.warning("w")  # below pass but at the trigger level: writes the buffer and itself
    assert lines()[-2:] == ["DEBUG MainThread d", "WARNING MainThread w"]


def test_target_level_and_formatter_apply(setup):
    log, handler, lines = setup
    handler.target.setLevel(logging.INFO)
    log.debug("kept but filtered by the target")
    log.error("boom")
    assert lines() == ["ERROR MainThread boom"]
    handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
    log.error("formatted")
    assert lines()[-1] == f"[{log.name}] formatted"


def test_install_wraps_the_root_handlers():
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    out1, out2 = io.StringIO(), io.StringIO()
    try:
        root.handlers = [logging.StreamHandler(out1), logging.StreamHandler(out2)]
        h = relive.burst.install(level=logging.DEBUG, keep=8)
        assert root.handlers == [h] and root.level == logging.DEBUG and h.keep == 8
        h2 = relive.burst.install(level=logging.DEBUG, keep=16)  # again: same targets
        assert root.handlers == [h2] and h2.keep == 16
        logging.getLogger("x").debug("d")
        assert out1.getvalue() == ""
        logging.getLogger("x").error("e")
        assert out1.getvalue().splitlines() == ["d", "e"] == out2.getvalue().splitlines()
    finally:
        root.handlers, root.level = saved_handlers, saved_level


def test_bad_arguments():
    with pytest.raises(TypeError):
        relive.burst.Handler("not a handler")
    with pytest.raises(ValueError):
        relive.burst.Handler(logging.NullHandler(), keep=0)


def test_scopes_follow_asyncio_tasks(setup):
    import asyncio
    log, handler, lines = setup

    async def request(name, fail, step):
        with relive.burst.scope():
            log.debug("%s: start", name)
            await step.wait()  # the other task runs and logs in between
            log.debug("%s: end", name)
            if fail:
                log.error("%s: failed", name)

    async def main():
        step = asyncio.Event()
        a = asyncio.create_task(request("a", True, step))
        b = asyncio.create_task(request("b", False, step))
        await asyncio.sleep(0)
        step.set()
        await asyncio.gather(a, b)

    asyncio.run(main())
    assert lines() == ["DEBUG MainThread a: start", "DEBUG MainThread a: end", "ERROR MainThread a: failed"]

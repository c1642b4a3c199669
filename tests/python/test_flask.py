"""examples/flask_live served by real Gunicorn (4 workers): requests during edits always get a
complete, valid version; an error request writes its kept debug lines."""

import os
import shutil
import threading

from conftest import SOURCE_DIR, Gunicorn, http_get, wait_until, write

EXAMPLE = os.path.join(SOURCE_DIR, "examples", "flask_live")


def test_flask_requests_during_edits(tmp_path):
    config = tmp_path / "app.yaml"
    shutil.copy(os.path.join(EXAMPLE, "app.yaml"), config)
    text = config.read_text().replace("per_second: 20", "per_second: 100000").replace("burst: 40", "burst: 100000")
    write(config, text)
    env = {"FLASK_LIVE_CONFIG": str(config)}
    with Gunicorn("app:app", EXAMPLE, workers=4, env=env, logdir=str(tmp_path),
                  extra=["-c", os.path.join(EXAMPLE, "gunicorn.conf.py")]) as g:
        g.wait_serving()
        assert http_get(g.port, "/?name=you") == (200, "Hello, you!\n")
        stop = threading.Event()
        seen, bad = set(), []

        def client():
            while not stop.is_set():
                status, body = http_get(g.port, "/?name=t")
                if status == 200:
                    seen.add(body)
                else:
                    bad.append((status, body))

        clients = [threading.Thread(target=client) for _ in range(3)]
        for c in clients:
            c.start()
        greetings = ["Hello"]
        for i in range(15):
            if i % 5 == 0:
                write(config, "greeting: [broken\n")  # rejected: the last good one serves
            greetings.append(f"Greeting{i}")
            write(config, text.replace("greeting: Hello", f"greeting: {greetings[-1]}"))
            wait_until(lambda: f"{greetings[-1]}, t!\n" in seen, what=f"{greetings[-1]} served")
        stop.set()
        for c in clients:
            c.join()
        assert not bad, bad[:3]
        assert seen <= {f"{gr}, t!\n" for gr in greetings}, seen
        # Every worker ends on the last version (a /health per worker is not addressable:
        # ask until 4 distinct pids answered with it).
        pids = {}

        def all_workers_current():
            import json
            status, body = http_get(g.port, "/health")
            h = json.loads(body)
            pids[h["pid"]] = h["error"] is None
            return len(pids) >= 4 and all(pids.values())
        wait_until(all_workers_current, what="4 workers on the last good version")
        # Burst logging: the failing request's debug line is written, before its error.
        status, _ = http_get(g.port, "/fail")
        assert status == 500
        wait_until(lambda: "request failed on purpose" in g.output(), what="the error in the log")
        out = g.output()
        assert out.index("about to fail") < out.index("request failed on purpose")
        assert "request from" not in out  # the other requests' debug lines were never written

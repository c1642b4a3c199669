#!/usr/bin/env python3
"""Save-to-start latency of `relive -- CMD`, beside a minimal floor and peer tools.

Run by hand (never by CTest):  bench/latency/run.py [--saves 20] [--tools relive,floor,...]

The child (stamp.c) appends its start time on CLOCK_MONOTONIC to a file; this script saves a
watched file with each editor's save pattern, takes the time right after the save, and
computes gap = child start - save. For each tool and pattern it reports the median and 90th
percentile gap, missed saves (no restart within 5 s) and extra restarts (a save followed by
more than one start). The floor (floor.c) is one inotify watch that kills and re-forks its
child, with no coalescing. Peers: entr, watchmedo (Debian), nodemon, chokidar-cli (npm;
bench/install-peers installs them). Tools not installed are skipped.

Finally, a `git checkout` that rewrites 1,000 files under relive: how many restarts.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


# ---- save patterns ---------------------------------------------------------------------
def save_plain(path, text):
    with open(path, "w") as f:
        f.write(text)


def save_truncate_then_write(path, text):
    os.truncate(path, 0)
    with open(path, "a") as f:
        f.write(text)


def save_vim(path, text):
    d = os.path.dirname(path)
    open(os.path.join(d, "4913"), "w").close()
    os.unlink(os.path.join(d, "4913"))
    os.rename(path, path + "~")
    with open(path, "w") as f:
        f.write(text)
    os.unlink(path + "~")


def save_jetbrains(path, text):
    tmp, old = path + "___jb_tmp___", path + "___jb_old___"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(path, old)
    os.rename(tmp, path)
    os.unlink(old)


def save_sed(path, text):
    subprocess.run(["sed", "-i", "s/.*/%s/" % text, path], check=True)


PATTERNS = [
    ("plain write", save_plain),
    ("vim", save_vim),
    ("JetBrains", save_jetbrains),
    ("truncate+write", save_truncate_then_write),
    ("sed -i", save_sed),
]


def stamps(path):
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def wait_for(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.0005)
    return cond()


def stop(proc, work=None):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # Children of tools that do not stop their tree (chokidar's commands, strays): every
    # process still in the session we started the tool in.
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            exe = os.readlink("/proc/%s/exe" % entry) if work else ""
            # The tool's session, or one of our own child binaries that a tool moved to a
            # session of its own (they live in this run's temporary directory).
            if int(fields[3]) == proc.pid or (work and exe.startswith(work + "/")):
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, IndexError, ValueError):
            pass


def measure(name, argv, work, saves, settle, stdin_text=None):
    src = os.path.join(work, "src")
    target = os.path.join(src, "app.txt")
    stamp_file = os.path.join(work, "stamps-%s.log" % name)
    env = dict(os.environ, STAMP_FILE=stamp_file)
    if name == "chokidar":
        env["STAMP_EXIT"] = "1"  # chokidar runs a command per change; it restarts nothing
    save_plain(target, "v0")
    proc = subprocess.Popen(argv, env=env, cwd=work, stdin=subprocess.PIPE if stdin_text else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    if stdin_text:
        proc.stdin.write(stdin_text.encode())
        proc.stdin.close()
    results = []
    try:
        if name == "chokidar":
            time.sleep(2.0)  # no initial run: give it time to scan
        elif not wait_for(lambda: len(stamps(stamp_file)) >= 1, 15):
            print("  %s: never started the child; skipped" % name, file=sys.stderr)
            return []
        time.sleep(1.0)  # initial scans (watchdog, chokidar) settle
        counter = 0
        for pattern, save in PATTERNS:
            gaps, missed, extra = [], 0, 0
            for _ in range(saves):
                counter += 1
                before = len(stamps(stamp_file))
                save(target, "v%d" % counter)
                t_save = time.monotonic_ns()
                if not wait_for(lambda: len(stamps(stamp_file)) > before, 5):
                    missed += 1
                    continue
                gaps.append((stamps(stamp_file)[before] - t_save) / 1e6)
                time.sleep(settle)
                if len(stamps(stamp_file)) - before > 1:
                    extra += 1
            results.append((pattern, gaps, missed, extra))
    finally:
        stop(proc, work)
    return results


def git_checkout_restarts(relive, stamp, work):
    repo = os.path.join(work, "repo")
    os.makedirs(os.path.join(repo, "files"))
    git = ["git", "-C", repo, "-c", "user.email=b@example.com", "-c", "user.name=bench"]
    subprocess.run(git + ["init", "-q"], check=True)
    for i in range(1000):
        save_plain(os.path.join(repo, "files", "f%04d.txt" % i), "a%d\n" % i)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "a"], check=True)
    for i in range(1000):
        save_plain(os.path.join(repo, "files", "f%04d.txt" % i), "b%d\n" % i)
    subprocess.run(git + ["commit", "-qam", "b"], check=True)
    stamp_file = os.path.join(work, "stamps-git.log")
    env = dict(os.environ, STAMP_FILE=stamp_file)
    proc = subprocess.Popen([relive, "-q", "-w", repo, "--", stamp], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: len(stamps(stamp_file)) >= 1, 15)
        time.sleep(0.5)
        subprocess.run(git + ["checkout", "-q", "HEAD~1"], check=True)
        wait_for(lambda: len(stamps(stamp_file)) >= 2, 10)
        time.sleep(2.0)
        return len(stamps(stamp_file)) - 1
    finally:
        stop(proc, work)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--saves", type=int, default=20, help="saves per pattern (default 20)")
    ap.add_argument("--settle", type=float, default=0.3, help="seconds to watch for extra restarts after each")
    ap.add_argument("--tools", default="relive,floor,entr,watchmedo,nodemon,chokidar")
    ap.add_argument("--relive", default=os.path.join(ROOT, "build", "relive"))
    args = ap.parse_args()
    args.relive = os.path.abspath(args.relive)

    work = tempfile.mkdtemp(prefix="relive-latency-")
    try:
        os.makedirs(os.path.join(work, "src"))
        stamp = os.path.join(work, "stamp")
        floor = os.path.join(work, "floor")
        subprocess.run(["cc", "-O2", "-o", stamp, os.path.join(HERE, "stamp.c")], check=True)
        subprocess.run(["cc", "-O2", "-o", floor, os.path.join(HERE, "floor.c")], check=True)
        src = os.path.join(work, "src")
        tools = {
            "relive": ([args.relive, "-q", "-w", src, "--", stamp], None),
            "floor": ([floor, src, "app.txt", "--", stamp], None),
            "entr": (["entr", "-n", "-r", stamp], os.path.join(src, "app.txt") + "\n"),
            "watchmedo": (["watchmedo", "auto-restart", "--directory", src, "--patterns", "*.txt", "--", stamp], None),
            "nodemon": (["nodemon", "--watch", src, "-e", "txt", "--exec", stamp], None),
            "chokidar": (["chokidar", os.path.join(src, "**"), "-c", stamp], None),
        }
        rows = []
        for name in args.tools.split(","):
            argv, stdin_text = tools[name]
            if not (os.path.exists(argv[0]) or shutil.which(argv[0])):
                print("%s: not installed; skipped (bench/install-peers)" % name, file=sys.stderr)
                continue
            print("measuring %s ..." % name, file=sys.stderr)
            for pattern, gaps, missed, extra in measure(name, argv, work, args.saves, args.settle, stdin_text):
                med = "%.1f" % statistics.median(gaps) if gaps else "-"
                p90 = "%.1f" % sorted(gaps)[int(0.9 * (len(gaps) - 1))] if gaps else "-"
                rows.append((name, pattern, med, p90, "%d/%d" % (missed, args.saves), str(extra)))
                print("  %-14s median %6s ms  p90 %6s ms  missed %s  extra %s" % (pattern, med, p90, rows[-1][4], extra),
                      file=sys.stderr)
        print("| tool | save pattern | median ms | p90 ms | missed | extra restarts |")
        print("|---|---|---:|---:|---:|---:|")
        for r in rows:
            print("| %s | %s | %s | %s | %s | %s |" % r)
        if "relive" in args.tools.split(","):
            n = git_checkout_restarts(args.relive, stamp, work)
            print("\n`git checkout` rewriting 1,000 files under relive: %d restart(s)" % n)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

# The type stubs (relive/__init__.pyi, relive/burst.pyi) against the API: a typed program
# using the public API must pass `mypy --strict`, wrong uses must be rejected, and
# mypy.stubtest must find the stubs consistent with the built module (the listed exceptions
# in stub_check/stubtest_allowlist.txt aside). mypy comes from Debian's `mypy` package; a
# missing mypy fails here.
import os
import re
import subprocess
import sys

import relive

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "stub_check")
# The directory holding the package just built (its relive/ has the .pyi files beside the
# modules, as installed).
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(relive.__file__)))


def mypy(module, *args, cache, cwd=CHECK):
    # MYPY_CACHE_DIR: no .mypy_cache left in the source or build tree. Never os.devnull:
    # run as root, mypy's atomic cache writes replace /dev/null with a regular file.
    env = dict(os.environ, MYPYPATH=PACKAGE_ROOT, PYTHONPATH=PACKAGE_ROOT, MYPY_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=110)


def test_mypy_strict_accepts_the_documented_uses(tmp_path):
    out = mypy("mypy", "--strict", "--no-incremental", "uses_api.py", cache=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_rejects_each_wrong_use(tmp_path):
    out = mypy("mypy", "--strict", "--no-incremental", "misuses_api.py", cache=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    with open(os.path.join(CHECK, "misuses_api.py")) as f:
        expected = {i for i, line in enumerate(f, 1) if line.rstrip().endswith("# error")}
    reported = {int(m) for m in re.findall(r"^misuses_api\.py:(\d+): error", out.stdout, re.M)}
    assert expected and reported == expected, out.stdout


def test_stubtest_finds_the_stubs_consistent_with_the_module(tmp_path):
    out = mypy("mypy.stubtest", "relive", "--allowlist", os.path.join(CHECK, "stubtest_allowlist.txt"),
               cache=tmp_path / "cache", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr

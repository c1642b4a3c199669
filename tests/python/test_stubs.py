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


def _public_members(cls):
    # What the class itself defines for its users (inherited dict/object members are not ours).
    for name, value in vars(cls).items():
        if name.startswith("_") or not (callable(value) or isinstance(value, (property, staticmethod,
                                                                              classmethod))):
            continue
        yield name, getattr(cls, name)


def _documented(obj):
    doc = getattr(obj, "__doc__", None) or ""
    # pybind11 puts the signature first ("file(path: str) -> ...\n\nA JSON/YAML/TOML file"):
    # a signature alone documents nothing.
    lines = [line for line in doc.strip().splitlines()
             if line.strip() and not re.match(r"^\s*(\d+\.\s*)?\w+\(.*\)( -> .*)?$", line)
             and line.strip() != "Overloaded function."]
    return bool(lines)


def test_every_public_name_has_a_docstring():
    import relive.burst
    missing = []
    for module in (relive, relive.burst):
        for name in module.__all__:
            obj = getattr(module, name)
            qualified = f"{module.__name__}.{name}"
            if isinstance(obj, type):
                # A class's own docstring, not one inherited from dict or object.
                if not _documented(obj) or obj.__doc__ in (dict.__doc__, object.__doc__):
                    missing.append(qualified)
                for member, value in _public_members(obj):
                    if not _documented(value):
                        missing.append(f"{qualified}.{member}")
            elif not _documented(obj):
                missing.append(qualified)
    assert not missing, "no docstring: " + ", ".join(missing)

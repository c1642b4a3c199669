# Wrong uses of relive's API that `mypy --strict` must reject, one error per marked line
# (tests/python/test_stubs.py checks that each "# error" line is reported): proof that the
# check reads relive's stubs and does not treat the package as Any.
import relive
import relive.burst

cfg = relive.Config.open("app.yaml", watch="yes")  # error
n: str = cfg.pin().version  # error
cfg.subscribe("db", 42)  # error
relive.burst.Handler(keep=5)  # error
relive.listen_fds(3)  # error

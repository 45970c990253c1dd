"""TAP helpers for Python test suites (run with Debian's /usr/bin/python3)."""
import sys
import traceback

_n = 0
failed = 0


def ok(name):
    global _n
    _n += 1
    print(f"ok {_n} - {name}", flush=True)


def fail(name, why=""):
    global _n, failed
    _n += 1
    failed += 1
    print(f"not ok {_n} - {name}", flush=True)
    for line in str(why).splitlines():
        print(f"#   {line}", flush=True)


def skip(name, why):
    global _n
    _n += 1
    print(f"ok {_n} - {name} # SKIP {why}", flush=True)


def check(name, cond, why=""):
    (ok if cond else fail)(name, *([why] if not cond else []))
    return cond


def case(fn):
    """Decorator: run fn now as one test named after it; an exception fails it."""
    try:
        fn()
        ok(fn.__name__)
    except Exception:  # noqa: BLE001 - a test failure, reported
        fail(fn.__name__, traceback.format_exc())
    return fn


def done():
    sys.exit(1 if failed else 0)

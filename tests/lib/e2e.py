"""What every end-to-end suite does around its assertions: start tests/fakeaws, run the
real irhost with the fake's environment (nothing reaches the internet), read the run
directory back, and search every output for secrets.

    import e2e
    suite = e2e.Suite("ecs", "ecs.lua", world="data")      # skips the suite if irhost is not built
    try:
        p, report = suite.run(["--cluster", "c"], os.path.join(suite.tmp, "one"))
        tap.check("no secret", e2e.no_secret(p, out))
    finally:
        suite.close()
    tap.done()
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.environ.get("IRHOST_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
for _p in (os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "lib")):
    if _p not in sys.path:
        sys.path.insert(0, _p)
import tap  # noqa: E402
from fakeaws import client  # noqa: E402

SECRET_KEY = client.SECRET_KEY


def binary(*env_names, default="asan"):
    """The irhost to run: the first of env_names set in the environment, else
    build/<default>/irhost (absolute, so runs from another directory find it)."""
    for name in env_names or ("IRHOST",):
        if os.environ.get(name):
            return os.path.abspath(os.environ[name])
    return os.path.abspath(os.path.join(ROOT, "build", default, "irhost"))


class Suite:
    """One suite's fake endpoint, scratch directory and irhost command line."""

    def __init__(self, name, runbook, world="demo", region="us-east-1", irhost=None, extra_args=(), timeout=300):
        self.irhost = irhost or binary()
        if not os.access(self.irhost, os.X_OK):
            tap.skip(f"{name} end to end", f"{self.irhost} is not built")
            tap.done()
        self.runbook = runbook
        self.region = region
        self.extra_args = list(extra_args)
        self.timeout = timeout
        self.tmp = tempfile.mkdtemp(prefix=f"irhost-{name}-e2e-")
        self.fake = client.start(world=world)

    def run(self, args, out, yes=True, extra_env=None, runbook=None):
        """Runs `irhost RUNBOOK ARGS [--out OUT] [--yes]` with only the fake's credentials and
        endpoint in its environment, stdin closed; returns (process, report.json or None)."""
        env = {"PATH": "/usr/bin:/bin", "HOME": self.tmp, "LANG": "C.UTF-8"}
        env.update(self.fake.env(self.region))
        env.update(extra_env or {})
        cmd = [self.irhost, os.path.join(ROOT, "runbooks", runbook or self.runbook), *args, *self.extra_args]
        if out:
            cmd += ["--out", out]
        if yes:
            cmd.append("--yes")
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=self.timeout, cwd=self.tmp,
                           stdin=subprocess.DEVNULL)
        return p, report(out)

    def close(self):
        self.fake.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def report(run_dir):
    """The run's report.json, or None."""
    path = run_dir and os.path.join(run_dir, "report.json")
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def blobs(p, run_dir):
    """stdout, stderr and every file of the run directory (audit.jsonl, evidence, reports)."""
    out = [p.stdout, p.stderr]
    for base, _, files in os.walk(run_dir):
        for f in files:
            with open(os.path.join(base, f), "rb") as fh:
                out.append(fh.read().decode("latin-1"))
    return out


def leaks(p, run_dir, secrets):
    """The secrets found in any output (empty: none)."""
    found = []
    for b in blobs(p, run_dir):
        for s in secrets:
            if s and s in b and s not in found:
                found.append(s)
    return found


def no_secret(p, run_dir, secrets=(SECRET_KEY,)):
    """True when no secret (by default the fake's secret key) is in any output."""
    return not leaks(p, run_dir, secrets)


def evidence_ok(run_dir):
    """Every evidence file listed in SHA256SUMS exists with that hash and the list is not
    empty; returns (ok, {name: hash})."""
    sums = {}
    path = os.path.join(run_dir, "SHA256SUMS")
    if not os.path.exists(path):
        return False, {}
    for line in open(path):
        h, f = line.split(None, 1)
        sums[f.strip().lstrip("*").replace("evidence/", "", 1)] = h
    ok = bool(sums)
    for f, h in sums.items():
        fp = os.path.join(run_dir, "evidence", f)
        ok = ok and os.path.exists(fp) and hashlib.sha256(open(fp, "rb").read()).hexdigest() == h
    return ok, sums


def evidence(run_dir, name, parse=False):
    """The text of evidence/NAME (parsed as JSON with parse=True), or None."""
    path = os.path.join(run_dir, "evidence", name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f) if parse else f.read()


def steps(rep):
    """{step name: its step_end event}."""
    return {e["name"]: e for e in (rep or {}).get("events", []) if e.get("type") == "step_end"}


def status(rep):
    """{step name: status}."""
    return {n: e["status"] for n, e in steps(rep).items()}


def strip(s):
    """State without the fake's bookkeeping keys (leading _)."""
    if isinstance(s, dict):
        return {k: strip(v) for k, v in s.items() if not k.startswith("_")}
    if isinstance(s, list):
        return [strip(v) for v in s]
    return s


def tags(obj):
    """An AWS tag list (Tags, TagSet or TagList) as a dict."""
    return {t["Key"]: t["Value"] for t in obj.get("Tags") or obj.get("TagSet") or obj.get("TagList") or []}

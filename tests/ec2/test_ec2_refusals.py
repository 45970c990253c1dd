"""What stops the EC2 runbook before it changes anything, end to end (the real irhost
binary, tests/fakeaws demo world): bad credentials or an unreachable endpoint on the first
call (exit 4, one line naming what to check), a bad --finding (exit 2 before any AWS call),
GuardDuty's sample placeholder instance, a finding from another region, and a param that
clashes with a host option."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.environ.get("IRHOST_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import tap  # noqa: E402
from fakeaws import client  # noqa: E402

IRHOST = os.environ.get("IRHOST_REL") or os.environ.get("IRHOST") or os.path.join(ROOT, "build", "rel", "irhost")
RUNBOOK = os.path.join(ROOT, "runbooks", "ec2.lua")
SHARED = os.environ.get("IRHOST_SHARED") or os.path.join(ROOT, "..", "shared")
REGION = "us-east-1"
PLAIN, MULTI = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"

if not os.access(IRHOST, os.X_OK):
    tap.skip("ec2 refusals", f"{IRHOST} is not built")
    tap.done()

TMP = tempfile.mkdtemp(prefix="irhost-ec2-refusals-")
fake = client.start(world="demo")


def run(args, name, env_over=None, yes=True):
    env = {"PATH": "/usr/bin:/bin", "HOME": TMP, "LANG": "C.UTF-8"}
    env.update(fake.env(REGION))
    env.update(env_over or {})
    out = os.path.join(TMP, name)
    cmd = [IRHOST, RUNBOOK, *args, "--poll-interval", "1", "--out", out] + (["--yes"] if yes else [])
    fake.clear_calls()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=TMP, stdin=subprocess.DEVNULL)
    report = None
    if os.path.exists(os.path.join(out, "report.json")):
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
    return p, report


def steps_started(report):
    return [e["name"] for e in (report or {}).get("events", []) if e.get("type") == "step_start"]


def irhost_lines(p):
    return [l for l in p.stderr.splitlines() if l.startswith("irhost: ") and "(exit " not in l]


def write(name, obj):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


try:
    # --- credentials and endpoint: stop at the first call, exit 4, before any step
    for name, over, want in [
        ("wrong secret", {"AWS_SECRET_ACCESS_KEY": "x" * 40}, "AWS_SECRET_ACCESS_KEY"),
        ("unknown key", {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNUNKNOWN00"}, "AWS_ACCESS_KEY_ID"),
        ("unreachable endpoint", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "--endpoint-url"),
    ]:
        p, rep = run(["--instance", PLAIN, "--ticket", "IR-C"], name.replace(" ", "-"), over)
        lines = irhost_lines(p)
        tap.check(f"{name}: exit 4", p.returncode == 4, p.stderr[-800:])
        tap.check(f"{name}: no step started", steps_started(rep) == [], steps_started(rep))
        tap.check(f"{name}: one line naming {want}", len(lines) == 1 and want in lines[0], lines)
        tap.check(f"{name}: no mutating call", not [c for c in fake.calls() if c["operation"] != "GetCallerIdentity"
                                                     and not c["operation"].startswith("Describe")])

    # --- a bad --finding: exit 2 before any AWS call, naming the problem
    with open(os.path.join(SHARED, "guardduty-findings", "ec2-c2activity-b.json")) if os.path.isdir(SHARED) else open(os.devnull) as f:
        sample_text = f.read()
    if sample_text:
        sample = json.loads(sample_text)
        s3_text = open(os.path.join(SHARED, "guardduty-findings", "s3-bucket-bpa-disabled.json")).read()
        cases = [
            ("not JSON", write("bad.json", "{not json"), "--finding"),
            ("not a finding", write("other.json", {"hello": "world"}), "--finding"),
            ("wrong kind", write("s3.json", s3_text), "names no EC2 instance"),
            ("sample placeholder", write("sample.json", sample), "placeholder"),
        ]
        for name, path, want in cases:
            p, rep = run(["--finding", path, "--ticket", "IR-F"], name.replace(" ", "-"))
            tap.check(f"finding {name}: exit 2", p.returncode == 2, p.stderr[-600:])
            tap.check(f"finding {name}: says {want!r}", want in p.stderr, p.stderr[-600:])
            tap.check(f"finding {name}: no AWS call", fake.calls() == [], fake.calls()[:3])
        # The same finding naming a real instance, from us-east-2: the run is in us-east-1.
        sample["resource"]["instanceDetails"]["instanceId"] = MULTI
        sample["service"]["additionalInfo"]["sample"] = False
        p, rep = run(["--finding", write("east2.json", sample), "--ticket", "IR-F", "--dry-run"], "east2", yes=False)
        tap.check("finding from us-east-2: the run stops", p.returncode != 0, p.stderr[-600:])
        tap.check("finding from us-east-2: names the region and suggests --region",
                  "us-east-2" in p.stderr and "--region us-east-2" in p.stderr, p.stderr[-600:])
    else:
        tap.skip("findings", f"{SHARED}/guardduty-findings is absent")

    p, rep = run(["--instance", "i-99999999", "--ticket", "IR-F"], "placeholder-id")
    tap.check("--instance i-99999999: exit 2 as a placeholder", p.returncode == 2 and "placeholder" in p.stderr, p.stderr[-400:])
    tap.check("--instance i-99999999: no AWS call", fake.calls() == [])

    # --- params named like host options are declaration errors
    book = write("clash.lua", 'return ir.runbook{ name = "clash", description = "d", permissions = {},\n'
                 '  params = { region = { help = "x" } }, steps = { { name = "s", run = function() end } } }\n')
    env = {"PATH": "/usr/bin:/bin", "HOME": TMP}
    env.update(fake.env(REGION))
    p = subprocess.run([IRHOST, book, "--out", os.path.join(TMP, "clash")], env=env, capture_output=True, text=True,
                       timeout=60, cwd=TMP, stdin=subprocess.DEVNULL)
    tap.check("param named region: a declaration error, exit 2 with file:line",
              p.returncode == 2 and "clash.lua:2: runbook declaration: params.region: --region is a host option" in p.stderr,
              (p.returncode, p.stderr[-400:]))

    # --- a declaration error found at run time: exit 2 with file:line, not exit 1
    book = write("typo.lua", 'return ir.runbook{ name = "typo", description = "d", permissions = {},\n'
                 '  steps = {\n    { name = "s", run = function() end,\n      destrutive = true },\n  } }\n')
    p = subprocess.run([IRHOST, book, "--out", os.path.join(TMP, "typo")], env=env, capture_output=True, text=True,
                       timeout=60, cwd=TMP, stdin=subprocess.DEVNULL)
    tap.check("`destrutive`: exit 2", p.returncode == 2, (p.returncode, p.stderr[-400:]))
    tap.check("`destrutive`: file:line and the field", "typo.lua:3: runbook declaration: steps[1]: unknown field destrutive" in p.stderr,
              p.stderr[-400:])
finally:
    fake.stop()
    shutil.rmtree(TMP, ignore_errors=True)
tap.done()

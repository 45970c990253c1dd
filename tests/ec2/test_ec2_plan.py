"""The EC2 runbook's dry-run plan against a real run, and its failure paths, end to end
(the real irhost binary, tests/fakeaws demo world). For each demo instance the mutating
calls a dry run plans must be exactly those the real run then sends; one ENI that cannot
be isolated must not stop the evidence and containment steps."""
import collections
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

# The release build: these runs check behaviour; test_ec2_e2e.py covers the ASan build.
IRHOST = os.environ.get("IRHOST_REL") or os.environ.get("IRHOST") or os.path.join(ROOT, "build", "rel", "irhost")
RUNBOOK = os.path.join(ROOT, "runbooks", "ec2.lua")
REGION = "us-east-1"
BUCKET = "irhost-evidence-111122223333"
INSTANCES = [f"i-0a1b2c3d4e5f6000{n}" for n in range(1, 8)]
MULTI, SSM = INSTANCES[1], INSTANCES[5]
MUTATING = ("Modify", "Create", "Revoke", "Authorize", "Stop", "Detach", "Suspend", "Resume", "Deregister",
            "Enter", "Send", "Put", "Delete", "Disassociate")

if not os.access(IRHOST, os.X_OK):
    tap.skip("ec2 plan", f"{IRHOST} is not built")
    tap.done()

TMP = tempfile.mkdtemp(prefix="irhost-ec2-plan-")
fake = client.start(world="demo")


def run(args, out, yes=True):
    env = {"PATH": "/usr/bin:/bin", "HOME": TMP, "LANG": "C.UTF-8"}
    env.update(fake.env(REGION))
    cmd = [IRHOST, RUNBOOK, *args, "--poll-interval", "1", "--out", out] + (["--yes"] if yes else [])
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=TMP, stdin=subprocess.DEVNULL)
    report = None
    if os.path.exists(os.path.join(out, "report.json")):
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
    return p, report


def fresh():
    fake.reset("demo")
    fake.clear_faults()
    fake.clear_calls()


def sent():
    return collections.Counter(c["operation"] for c in fake.calls() if c["operation"].startswith(MUTATING))


def planned(report):
    out = collections.Counter()
    for e in (report or {}).get("events", []):
        if e.get("type") == "step_end":
            for c in e.get("planned") or []:
                out[c["operation"]] += 1
    return out


def step_ends(report):
    return {e["name"]: e for e in (report or {}).get("events", []) if e.get("type") == "step_end"}


def diff(a, b):
    return {k: (a.get(k, 0), b.get(k, 0)) for k in set(a) | set(b) if a.get(k, 0) != b.get(k, 0)}


try:
    cases = [(iid, []) for iid in INSTANCES]
    cases.append((SSM, ["--mode", "online", "--memory-bucket", BUCKET]))
    for iid, extra in cases:
        name = iid + (" online" if extra else "")
        fresh()
        p, rep = run(["--instance", iid, "--ticket", "IR-P", "--dry-run", *extra], os.path.join(TMP, "dry-" + name), yes=False)
        plan = planned(rep)
        nothing = sent()
        fresh()
        q, real_rep = run(["--instance", iid, "--ticket", "IR-P", *extra], os.path.join(TMP, "real-" + name))
        real = sent()
        tap.check(f"{name}: dry run and real run exit the same", p.returncode == q.returncode == 0 or
                  (p.returncode == q.returncode), (p.returncode, q.returncode, p.stderr[-600:], q.stderr[-600:]))
        tap.check(f"{name}: the dry run sent nothing", not nothing, nothing)
        tap.check(f"{name}: the plan lists exactly the real run's mutating calls ({sum(real.values())})",
                  plan == real and sum(real.values()) > 0, diff(plan, real))
        notes = " ".join(n for e in step_ends(rep).values() for n in e.get("notes") or [])
        tap.check(f"{name}: dry-run notes speak in the conditional",
                  "would be isolated" in notes and " isolated (" not in notes.replace("would be isolated (", ""), notes[:800])

    # --- one ENI cannot be isolated: evidence and containment go on, the run fails
    fresh()
    # The second move of the first ENI (to the isolation group) is refused for good.
    fake.fault(service="ec2", operation="ModifyNetworkInterfaceAttribute", kind="error", status=400,
               code="InvalidParameterValue", message="injected refusal", after=3, count=1)
    out = os.path.join(TMP, "eni-fails")
    p, rep = run(["--instance", MULTI, "--ticket", "IR-E"], out)
    ends = step_ends(rep)
    st = {k: v["status"] for k, v in ends.items()}
    tap.check("ENI failure: exit 1", p.returncode == 1, p.stderr)
    tap.check("ENI failure: the isolation step failed", st.get("Isolate network interfaces") == "failed", st)
    tap.check("ENI failure: snapshot, tag and stop still ran",
              all(st.get(s) == "done" for s in ("Snapshot EBS volumes", "Tag the instance", "Stop the instance")), st)
    inst = fake.state()["ec2"][REGION]["instances"][MULTI]
    tap.check("ENI failure: the instance is stopped", inst["State"]["Name"] == "stopped", inst["State"])
    enis = (ends.get("Isolate network interfaces") or {}).get("outputs", {}).get("enis", [])
    bad = [e["id"] for e in enis if e.get("state") == "failed"]
    tap.check("ENI failure: the step reports each ENI's state", len(enis) == 3 and len(bad) == 1, enis)
    tap.check("ENI failure: the final message names the ENI not isolated",
              bad and bad[0] in p.stderr.strip().splitlines()[-1] + " ".join(p.stderr.splitlines()[-3:]), p.stderr[-800:])
finally:
    fake.stop()
    shutil.rmtree(TMP, ignore_errors=True)
tap.done()

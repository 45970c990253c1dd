"""End to end: the real irhost binary runs runbooks/ecs.lua against tests/fakeaws (data
world). The scenarios of issue 8 for the ECS runbook; assertions read the fake's state and
calls, not the runbook's output."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import e2e  # noqa: E402
import tap  # noqa: E402
from e2e import ROOT, evidence, status, steps, tags  # noqa: E402

REGION = "us-east-1"
TASK_PREFIX = "arn:aws:ecs:us-east-1:111122223333:task/prod-cluster/"
T1, T2, WORKER = (f"0a1b2c3d4e5f4a0b9c8d7e6f5a4b3c2{n}" for n in (1, 2, 3))
ENI1, ENI2 = "eni-0a1b2c3d4e5f68001", "eni-0a1b2c3d4e5f68002"
HOST, HOST_ENI = "i-0a1b2c3d4e5f60007", "eni-0a1b2c3d4e5f60009"
VPC = "vpc-0a1b2c3d4e5f60001"
SERVICE_ARN = "arn:aws:ecs:us-east-1:111122223333:service/prod-cluster/api"
ORIGINAL_SG = "sg-0a1b2c3d4e5f60104"

suite = e2e.Suite("ecs", "ecs.lua", world="data", irhost=e2e.binary("IRHOST"))
TMP, fake, run = suite.tmp, suite.fake, suite.run


def ec2(state):
    return state["ec2"][REGION]


def ecs(state):
    return state["ecs"][REGION]


def task(state, tid):
    return ecs(state)["tasks"][TASK_PREFIX + tid]


def ecs_tags(obj):
    return {t["key"]: t.get("value") for t in obj.get("tags") or []}


def groups(state, eni):
    return [g if isinstance(g, str) else g["GroupId"] for g in ec2(state)["network_interfaces"][eni]["Groups"]]


def group_named(state, name):
    return [g for g in ec2(state)["security_groups"].values() if g["GroupName"] == name and g["VpcId"] == VPC]


def rules_of(state, gid):
    return [r for r in ec2(state).get("security_group_rules", {}).values() if r["GroupId"] == gid]


MUTATING = ("Modify", "Create", "Revoke", "Authorize", "Stop", "Update", "Tag", "Deregister", "Delete", "Put", "Send")


def mutating_calls():
    return [c for c in fake.calls() if c["operation"].startswith(MUTATING)]


def fresh():
    fake.reset("data")
    return fake.state()


def assert_isolated(name, after, enis):
    iso = group_named(after, "irhost-isolation")
    tap.check(f"{name}: one isolation group in the VPC", len(iso) == 1, iso)
    if not iso:
        return None
    gid = iso[0]["GroupId"]
    tap.check(f"{name}: the isolation group has no rule", rules_of(after, gid) == [], rules_of(after, gid))
    for eni in enis:
        tap.check(f"{name}: {eni} only in the isolation group", groups(after, eni) == [gid], groups(after, eni))
        t = tags(ec2(after)["network_interfaces"][eni])
        tap.check(f"{name}: {eni} original groups kept in a tag", t.get("irhost:original-groups") == ORIGINAL_SG, t)
    return gid


try:
    # --- every task of a service: evidence, protection, per-ENI isolation, evaluation
    before = fresh()
    out = os.path.join(TMP, "service")
    p, rep = run(["--cluster", "prod-cluster", "--service", "api", "--ticket", "IR-E1", "--scan"], out)
    after = fake.state()
    tap.check("service: exit 0", p.returncode == 0, p.stderr[-2000:])
    st = status(rep)
    tap.check("service: steps 1-4 done, stop skipped",
              [st.get(n) for n in ("Identify tasks and save evidence", "Protect tasks from scale-in",
                                   "Isolate task network interfaces", "Evaluate malicious activity", "Stop the tasks")]
              == ["done", "done", "done", "done", "skipped"], st)
    assert_isolated("service", after, [ENI1, ENI2])
    for tid in (T1, T2):
        t = task(after, tid)
        tap.check(f"service: task {tid[-2:]} protected from scale-in", (t.get("_protection") or {}).get("protectionEnabled") is True,
                  t.get("_protection"))
        tap.check(f"service: task {tid[-2:]} still running (never stopped)", t["desiredStatus"] == "RUNNING" and t["lastStatus"] == "RUNNING")
        tg = ecs_tags(t)
        tap.check(f"service: task {tid[-2:]} tagged with the ticket", tg.get("irhost:ticket") == "IR-E1" and tg.get("irhost:status") == "quarantined", tg)
    tap.check("service: the worker task and its host untouched",
              task(after, WORKER) == task(before, WORKER) and groups(after, HOST_ENI) == groups(before, HOST_ENI))
    tap.check("service: the service's network configuration unchanged without --isolate-service",
              ecs(after)["services"][SERVICE_ARN]["networkConfiguration"] == ecs(before)["services"][SERVICE_ARN]["networkConfiguration"])
    images = json.loads(evidence(out, "images.json") or "[]")
    tap.check("service: images saved with their digests",
              len(images) == 2 and all(i["digest"].startswith("sha256:") and i["image"].endswith("/api:latest") for i in images), images)
    for f in ("cluster.json", "tasks.json", "task-definitions.json", "services.json", "network-interfaces.json",
              "security-groups.json", "original-security-groups.json", "guardduty-findings.json"):
        tap.check(f"service: evidence {f} saved", evidence(out, f) is not None)
    tap.check("service: SHA256SUMS matches the evidence", e2e.evidence_ok(out)[0])
    ev = steps(rep).get("Evaluate malicious activity", {})
    per = (ev.get("outputs") or {}).get("findings_per_task") or {}
    tap.check("service: runtime findings matched to their tasks",
              per.get(T2) == ["Execution:Runtime/ReverseShell"] and per.get(T1) == ["Execution:Runtime/NewBinaryExecuted"], per)
    tap.check("service: the verdict says malicious activity", "malicious activity reported: 2" in (ev.get("outputs") or {}).get("verdict", ""))
    md = open(os.path.join(out, "report.md")).read()
    tap.check("service: report lists the Fargate scan limitation", "no EBS volume" in md)
    tap.check("service: no secret in any output", e2e.no_secret(p, out))
    first_change = min(c["seq"] for c in mutating_calls())
    last_read = max(c["seq"] for c in fake.calls(service="ecs", operation="DescribeTaskDefinition"))
    tap.check("service: evidence read before the first change", last_read < first_change)

    # --- rerun on the same state: idempotent (no new group, nothing moved again)
    calls_before = len(fake.calls(service="ec2", operation="ModifyNetworkInterfaceAttribute"))
    p, rep = run(["--cluster", "prod-cluster", "--service", "api", "--ticket", "IR-E1"], os.path.join(TMP, "rerun"))
    again = fake.state()
    tap.check("rerun: exit 0", p.returncode == 0, p.stderr[-2000:])
    tap.check("rerun: no group created twice", len(ec2(again)["security_groups"]) == len(ec2(after)["security_groups"]))
    tap.check("rerun: no ENI moved again",
              len(fake.calls(service="ec2", operation="ModifyNetworkInterfaceAttribute")) == calls_before)

    # --- a bridge-mode task: AWS cannot isolate it per task; the gap is reported, then --isolate-host and --stop
    fresh()
    out = os.path.join(TMP, "bridge")
    p, rep = run(["--cluster", "prod-cluster", "--task", WORKER, "--ticket", "IR-E2"], out)
    after = fake.state()
    tap.check("bridge: exit 0", p.returncode == 0, p.stderr[-2000:])
    iso_out = (steps(rep).get("Isolate task network interfaces") or {}).get("outputs") or {}
    gaps = iso_out.get("isolation_gaps") or []
    tap.check("bridge: the gap is reported (bridge network mode, host named)",
              len(gaps) == 1 and "bridge network mode" in gaps[0]["reason"] and HOST in gaps[0]["reason"], gaps)
    md = open(os.path.join(out, "report.md")).read()
    tap.check("bridge: the report says how to close the gap", "--isolate-host" in md)
    tap.check("bridge: the host is not isolated without --isolate-host", groups(after, HOST_ENI) == [ORIGINAL_SG])

    out = os.path.join(TMP, "bridge-host")
    p, rep = run(["--cluster", "prod-cluster", "--task", WORKER, "--ticket", "IR-E2", "--isolate-host", "--stop", "--scan"], out)
    after = fake.state()
    tap.check("bridge --isolate-host --stop: exit 0", p.returncode == 0, p.stderr[-2000:])
    gid = group_named(after, "irhost-isolation")[0]["GroupId"] if group_named(after, "irhost-isolation") else None
    tap.check("bridge --isolate-host: the container instance ENI isolated", gid and groups(after, HOST_ENI) == [gid], groups(after, HOST_ENI))
    tap.check("bridge --stop: the task stopped", task(after, WORKER)["desiredStatus"] == "STOPPED")
    tap.check("bridge --stop: the Fargate tasks of the service untouched",
              task(after, T1)["desiredStatus"] == "RUNNING" and groups(after, ENI1) == [ORIGINAL_SG])
    stop_seq = [c["seq"] for c in fake.calls(service="ecs", operation="StopTask")]
    ev_seq = [c["seq"] for c in fake.calls(service="ecs", operation="DescribeTasks")]
    tap.check("bridge --stop: stopped only after its evidence was read", stop_seq and min(ev_seq) < stop_seq[0])
    tap.check("bridge --stop: tasks.json saved", WORKER in (evidence(out, "tasks.json") or ""))
    scans = json.loads(evidence(out, "malware-scans.json") or "[]")
    tap.check("bridge --scan: the container instance's Malware Protection state reported",
              len(scans) == 1 and scans[0]["instance"] == HOST and scans[0]["retention"] == "RETENTION_WITH_FINDING", scans)
    tap.check("bridge --scan: how to request a scan is a follow-up", "start-malware-scan --resource-arn arn:aws:ec2:us-east-1:111122223333:instance/" + HOST
              in open(os.path.join(out, "report.md")).read())

    # --- --isolate-service: new tasks of the service start in the isolation group
    fresh()
    out = os.path.join(TMP, "svc-iso")
    p, rep = run(["--cluster", "prod-cluster", "--task", T2, "--ticket", "IR-E3", "--isolate-service"], out)
    after = fake.state()
    tap.check("isolate-service: exit 0", p.returncode == 0, p.stderr[-2000:])
    gid = assert_isolated("isolate-service", after, [ENI2])
    svc = ecs(after)["services"][SERVICE_ARN]
    tap.check("isolate-service: the service launches tasks in the isolation group only",
              svc["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == [gid], svc["networkConfiguration"])
    tap.check("isolate-service: its original groups are kept in a tag", ecs_tags(svc).get("irhost:original-groups") == ORIGINAL_SG, svc.get("tags"))
    tap.check("isolate-service: the other task's ENI untouched", groups(after, ENI1) == [ORIGINAL_SG])

    # --- a service behind an ALB target group (IP targets): the task leaves it, its sibling stays
    with open(os.path.join(ROOT, "tests", "fakeaws", "worlds", "data.json")) as f:
        world = json.load(f)
    tg_arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/api-tg/0a1b2c3d4e5f6009"
    world["elbv2"][REGION]["target_groups"][tg_arn] = {
        "TargetGroupArn": tg_arn, "TargetGroupName": "api-tg", "Protocol": "HTTP", "Port": 8080, "VpcId": VPC,
        "TargetType": "ip", "LoadBalancerArns": [], "Targets": [{"Id": "10.0.1.80", "Port": 8080, "State": "healthy"},
                                                                  {"Id": "10.0.2.80", "Port": 8080, "State": "healthy"}]}
    world["ecs"][REGION]["services"][SERVICE_ARN]["loadBalancers"] = [
        {"targetGroupArn": tg_arn, "containerName": "api", "containerPort": 8080}]
    fake.reset(world)
    p, rep = run(["--cluster", "prod-cluster", "--task", T2, "--ticket", "IR-E8"], os.path.join(TMP, "alb"))
    after = fake.state()
    tap.check("alb: exit 0", p.returncode == 0, p.stderr[-2000:])
    ids = [t["Id"] for t in after["elbv2"][REGION]["target_groups"][tg_arn]["Targets"]]
    tap.check("alb: the task's IP deregistered from the service's target group, the other task's kept", ids == ["10.0.1.80"], ids)

    # --- the task named by a GuardDuty finding (GetFindings output), dry run
    before = fresh()
    fake.clear_calls()
    gd = before["guardduty"][REGION]["detectors"]["0a1b2c3d4e5f60718293a4b5c6d7e8f9"]["findings"]
    path = os.path.join(TMP, "finding.json")
    with open(path, "w") as f:
        json.dump({"Findings": [gd["b7e1c2d3a4f5061728394a5b6c7d8e04"]]}, f)
    out = os.path.join(TMP, "dry")
    p, rep = run(["--finding", path, "--ticket", "IR-E4", "--dry-run"], out, yes=False)
    after = fake.state()
    tap.check("dry run: exit 0 without --yes", p.returncode == 0, p.stderr[-2000:])
    tap.check("dry run: ecs and ec2 state unchanged", ecs(after) == ecs(before) and ec2(after) == ec2(before))
    tap.check("dry run: no mutating call reached AWS", mutating_calls() == [], mutating_calls()[:3])
    planned = {(c["service"], c["operation"]) for e in steps(rep).values() for c in e.get("planned") or []}
    want = {("ecs", "UpdateTaskProtection"), ("ecs", "TagResource"), ("ec2", "CreateSecurityGroup"),
            ("ec2", "ModifyNetworkInterfaceAttribute"), ("ec2", "CreateTags")}
    tap.check("dry run: the plan lists the mutating calls", want <= planned, sorted(want - planned))
    prot = [c for e in steps(rep).values() for c in e.get("planned") or [] if c["operation"] == "UpdateTaskProtection"]
    tap.check("dry run: the finding's task (and only it) is the target",
              prot and prot[0]["params"]["tasks"] == [TASK_PREFIX + T2], prot)
    tap.check("dry run: finding saved as evidence", "ReverseShell" in (evidence(out, "finding.json") or ""))

    # --- failure injected while isolating, then --resume
    fresh()
    out = os.path.join(TMP, "resume")
    fake.fault(service="ec2", operation="ModifyNetworkInterfaceAttribute", kind="error", status=400,
               code="UnauthorizedOperation", count=-1)
    p, rep = run(["--cluster", "prod-cluster", "--service", "api", "--ticket", "IR-E5"], out)
    tap.check("resume: the failing run exits 1", p.returncode == 1, p.stderr[-2000:])
    st = status(rep)
    tap.check("resume: isolation failed, evaluation not run",
              st.get("Isolate task network interfaces") == "failed" and "Evaluate malicious activity" not in st, st)
    md = open(os.path.join(out, "report.md")).read()
    tap.check("resume: the report says the tasks are NOT isolated", "NOT isolated" in md and "UnauthorizedOperation" in md)
    fake.clear_faults()
    groups_before = len(ec2(fake.state())["security_groups"])
    protect_calls = len(fake.calls(service="ecs", operation="UpdateTaskProtection"))
    p, rep = run(["--cluster", "prod-cluster", "--service", "api", "--ticket", "IR-E5", "--resume", out], None)
    after = fake.state()
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    st = status(rep)
    tap.check("resume: the resumed run exits 0", p.returncode == 0, p.stderr[-2000:])
    tap.check("resume: steps 1-2 not repeated",
              st.get("Identify tasks and save evidence") == "done (resumed)" and st.get("Protect tasks from scale-in") == "done (resumed)"
              and len(fake.calls(service="ecs", operation="UpdateTaskProtection")) == protect_calls, st)
    tap.check("resume: no group created twice", len(ec2(after)["security_groups"]) == groups_before)
    assert_isolated("resume", after, [ENI1, ENI2])

    # --- throttling on half the calls: the same final state
    fresh()
    fake.fault(service="*", kind="throttle", count=-1, every=2)
    p, rep = run(["--cluster", "prod-cluster", "--service", "api", "--ticket", "IR-E7"], os.path.join(TMP, "throttled"))
    fake.clear_faults()
    after = fake.state()
    tap.check("throttled: exit 0", p.returncode == 0, p.stderr[-2000:])
    assert_isolated("throttled", after, [ENI1, ENI2])
    tap.check("throttled: both tasks protected",
              all((task(after, t).get("_protection") or {}).get("protectionEnabled") is True for t in (T1, T2)))
    tap.check("throttled: the throttled calls were retried", any(c.get("fault") for c in fake.calls()))

    # --- wrong identifiers: a clear error, nothing changed
    cases = [
        (["--cluster", "no-such-cluster", "--task", T1], 1, "ECS cluster no-such-cluster was not found"),
        (["--cluster", "prod-cluster", "--task", "ffffffffffffffffffffffffffffffff"], 1, "not found in cluster prod-cluster"),
        (["--cluster", "prod-cluster", "--service", "no-such-service"], 1, "ServiceNotFoundException"),
        (["--cluster", "prod-cluster", "--task", "bad id!"], 2, "--task"),
        (["--cluster", "prod-cluster"], 2, "give --task ID or --service NAME"),
    ]
    s3f = os.path.join(TMP, "s3-finding.json")
    with open(s3f, "w") as f:
        json.dump({"Findings": [gd["b7e1c2d3a4f5061728394a5b6c7d8e01"]]}, f)
    cases.append((["--finding", s3f], 1, "names no ECS cluster"))
    for i, (args, code, msg) in enumerate(cases):
        fresh()
        fake.clear_calls()
        p, _ = run(args + ["--ticket", "IR-E6"], os.path.join(TMP, f"wrong{i}"))
        tap.check(f"wrong id {' '.join(args)}: exit {code} with a clear message",
                  p.returncode == code and msg in p.stderr, (p.returncode, p.stderr[-800:]))
        tap.check(f"wrong id {' '.join(args)}: nothing changed", mutating_calls() == [])
finally:
    suite.close()
tap.done()

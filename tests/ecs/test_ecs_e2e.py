"""End to end: the real irhost binary runs runbooks/ecs.lua against tests/fakeaws (data
world). The scenarios of issue 8 for the ECS runbook; assertions read the fake's state and
calls, not the runbook's output.

The data world's two awsvpc tasks (service api) run on Fargate: their ENIs are
requester-managed, AWS (and the fake) refuse to change their groups, so the runbook cuts
them with network ACL deny entries. The world has no awsvpc task whose ENI the account owns
(EC2 launch type with ENI trunking); the "own ENI" scenarios derive one in memory from
the world (task 2's ENI made not requester-managed) to prove the security-group way."""
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
ACL = "acl-0a1b2c3d4e5f60001"               # the ACL of both task subnets
IP1, IP2 = "10.0.1.80", "10.0.2.80"

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


def denies(state, ip):
    """The all-protocol deny entries for ip/32 in the tasks' ACL: [(dir, rule)], in before out."""
    return sorted((("out" if e["Egress"] else "in"), e["RuleNumber"]) for e in ec2(state)["network_acls"][ACL]["Entries"]
                  if e.get("CidrBlock") == ip + "/32" and e["RuleAction"] == "deny" and e["Protocol"] == "-1")


def assert_nacl(name, after, eni, ip):
    d = denies(after, ip)
    tap.check(f"{name}: {ip} denied in and out by the subnet ACL, ahead of its allow rules",
              [x[0] for x in d] == ["in", "out"] and all(r < 100 for _, r in d), d)
    t = tags(ec2(after)["network_interfaces"][eni])
    want = ",".join(f"{ACL}:{r}:{dd}" for dd, r in d)
    tap.check(f"{name}: {eni} records its ACL entries in a tag", t.get("irhost:nacl-entries") == want, (want, t))
    tap.check(f"{name}: {eni} keeps its groups (AWS refuses to change them)", groups(after, eni) == [ORIGINAL_SG],
              groups(after, eni))


def own_eni_world():
    """The data world with task 2 on an ENI of the account's own (EC2 launch type, trunking)."""
    with open(os.path.join(ROOT, "tests", "fakeaws", "worlds", "data.json")) as f:
        world = json.load(f)
    n = world["ec2"][REGION]["network_interfaces"][ENI2]
    n["RequesterManaged"], n["RequesterId"] = False, None
    world["ecs"][REGION]["tasks"][TASK_PREFIX + T2]["launchType"] = "EC2"
    return world


def per_task(rep):
    iso = (steps(rep).get("Isolate task network interfaces") or {}).get("outputs") or {}
    return {x["task"]: x for x in iso.get("isolation") or []}


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
    for eni, ip in ((ENI1, IP1), (ENI2, IP2)):
        assert_nacl("service", after, eni, ip)
    tap.check("service: no ENI move attempted, no group created",
              fake.calls(service="ec2", operation="ModifyNetworkInterfaceAttribute") == []
              and group_named(after, "irhost-isolation") == [])
    how = {t: x.get("how") for t, x in per_task(rep).items()}
    tap.check("service: the report says how each task was isolated", how == {T1: "network ACL", T2: "network ACL"}, how)
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
    nev = json.loads(evidence(out, "nacl-entries.json") or "[]")
    tap.check("service: nacl-entries.json names each task's ACL, address and rules",
              sorted((x["task"], x["network_acl"], tuple(x["addresses"]), len(x["entries"])) for x in nev)
              == [(T1, ACL, (IP1,), 2), (T2, ACL, (IP2,), 2)], nev)
    for f in ("cluster.json", "tasks.json", "task-definitions.json", "services.json", "network-interfaces.json",
              "security-groups.json", "nacl-entries.json", "guardduty-findings.json"):
        tap.check(f"service: evidence {f} saved", evidence(out, f) is not None)
    tap.check("service: SHA256SUMS matches the evidence", e2e.evidence_ok(out)[0])
    ev = steps(rep).get("Evaluate malicious activity", {})
    per = (ev.get("outputs") or {}).get("findings_per_task") or {}
    tap.check("service: runtime findings matched to their tasks",
              per.get(T2) == ["Execution:Runtime/ReverseShell"] and per.get(T1) == ["Execution:Runtime/NewBinaryExecuted"], per)
    tap.check("service: the verdict says malicious activity", "malicious activity reported: 2" in (ev.get("outputs") or {}).get("verdict", ""))
    md = open(os.path.join(out, "report.md")).read()
    tap.check("service: report lists the Fargate scan limitation", "no EBS volume" in md)
    tap.check("service: the report states what the ACL entries leave open",
              "stateless" in md and "other tasks in the same subnet keep their network" in md
              and "can still reach the tasks" in md, md[-3000:])
    rules1 = dict(denies(after, IP1))
    tap.check("service: the report says how to remove the entries",
              f"aws ec2 delete-network-acl-entry --network-acl-id {ACL} --rule-number {rules1['in']} --ingress" in md
              and f"--rule-number {rules1['out']} --egress" in md)
    tap.check("service: no secret in any output", e2e.no_secret(p, out))
    first_change = min(c["seq"] for c in mutating_calls())
    last_read = max(c["seq"] for c in fake.calls(service="ecs", operation="DescribeTaskDefinition"))
    tap.check("service: evidence read before the first change", last_read < first_change)

    # --- rerun on the same state: idempotent (no new group, nothing moved again)
    calls_before = len(fake.calls(service="ec2", operation="CreateNetworkAclEntry"))
    entries_before = len(ec2(after)["network_acls"][ACL]["Entries"])
    p, rep = run(["--cluster", "prod-cluster", "--service", "api", "--ticket", "IR-E1"], os.path.join(TMP, "rerun"))
    again = fake.state()
    tap.check("rerun: exit 0", p.returncode == 0, p.stderr[-2000:])
    tap.check("rerun: no group created twice", len(ec2(again)["security_groups"]) == len(ec2(after)["security_groups"]))
    tap.check("rerun: no ACL entry added again",
              len(fake.calls(service="ec2", operation="CreateNetworkAclEntry")) == calls_before
              and len(ec2(again)["network_acls"][ACL]["Entries"]) == entries_before)

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
              task(after, T1)["desiredStatus"] == "RUNNING" and groups(after, ENI1) == [ORIGINAL_SG] and denies(after, IP1) == [])
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
    assert_nacl("isolate-service", after, ENI2, IP2)
    iso = group_named(after, "irhost-isolation")
    gid = iso[0]["GroupId"] if iso else None
    tap.check("isolate-service: an isolation group without rules made for the service", gid and rules_of(after, gid) == [], iso)
    svc = ecs(after)["services"][SERVICE_ARN]
    tap.check("isolate-service: the service launches tasks in the isolation group only",
              svc["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == [gid], svc["networkConfiguration"])
    tap.check("isolate-service: its original groups are kept in a tag", ecs_tags(svc).get("irhost:original-groups") == ORIGINAL_SG, svc.get("tags"))
    tap.check("isolate-service: the other task untouched", groups(after, ENI1) == [ORIGINAL_SG] and denies(after, IP1) == [])

    # --- a task on an ENI of its own next to a Fargate task: each isolated the way AWS allows
    fake.reset(own_eni_world())
    out = os.path.join(TMP, "own-eni")
    p, rep = run(["--cluster", "prod-cluster", "--service", "api", "--ticket", "IR-E9"], out)
    after = fake.state()
    tap.check("own ENI: exit 0", p.returncode == 0, p.stderr[-2000:])
    assert_isolated("own ENI", after, [ENI2])
    assert_nacl("own ENI", after, ENI1, IP1)
    tap.check("own ENI: no ACL entry for the task isolated by its group", denies(after, IP2) == [])
    how = {t: x.get("how") for t, x in per_task(rep).items()}
    tap.check("own ENI: the report says which way each task was isolated",
              how == {T1: "network ACL", T2: "security group"}, how)
    tap.check("own ENI: original-security-groups.json and nacl-entries.json saved",
              ENI2 in (evidence(out, "original-security-groups.json") or "") and ENI1 in (evidence(out, "nacl-entries.json") or ""))

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
    want = {("ecs", "UpdateTaskProtection"), ("ecs", "TagResource"), ("ec2", "CreateNetworkAclEntry"), ("ec2", "CreateTags")}
    tap.check("dry run: the plan lists the mutating calls", want <= planned, sorted(want - planned))
    tap.check("dry run: no group change planned for a requester-managed ENI",
              not planned & {("ec2", "ModifyNetworkInterfaceAttribute"), ("ec2", "CreateSecurityGroup")}, sorted(planned))
    acl_plan = sorted((c["params"].get("Egress"), c["params"].get("CidrBlock"), c["params"].get("RuleAction"))
                      for e in steps(rep).values() for c in e.get("planned") or [] if c["operation"] == "CreateNetworkAclEntry")
    tap.check("dry run: the planned ACL entries deny the finding's task address both ways",
              acl_plan == [(False, IP2 + "/32", "deny"), (True, IP2 + "/32", "deny")], acl_plan)
    prot = [c for e in steps(rep).values() for c in e.get("planned") or [] if c["operation"] == "UpdateTaskProtection"]
    tap.check("dry run: the finding's task (and only it) is the target",
              prot and prot[0]["params"]["tasks"] == [TASK_PREFIX + T2], prot)
    tap.check("dry run: finding saved as evidence", "ReverseShell" in (evidence(out, "finding.json") or ""))

    # --- failure injected while isolating, then --resume
    fake.reset(own_eni_world())
    out = os.path.join(TMP, "resume")
    for op in ("ModifyNetworkInterfaceAttribute", "CreateNetworkAclEntry"):
        fake.fault(service="ec2", operation=op, kind="error", status=400, code="UnauthorizedOperation", count=-1)
    p, rep = run(["--cluster", "prod-cluster", "--service", "api", "--ticket", "IR-E5"], out)
    tap.check("resume: the failing run exits 1", p.returncode == 1, p.stderr[-2000:])
    st = status(rep)
    tap.check("resume: isolation failed, evaluation not run",
              st.get("Isolate task network interfaces") == "failed" and "Evaluate malicious activity" not in st, st)
    md = open(os.path.join(out, "report.md")).read()
    tap.check("resume: the report says the tasks are NOT isolated", "NOT isolated" in md and "UnauthorizedOperation" in md)
    tap.check("resume: both ways' failures named", T1 in md and T2 in md and "network ACL entries failed" in md
              and "refused to change the security groups" in md)
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
    assert_isolated("resume", after, [ENI2])
    assert_nacl("resume", after, ENI1, IP1)

    # --- throttling on half the calls: the same final state
    fresh()
    fake.fault(service="*", kind="throttle", count=-1, every=2)
    p, rep = run(["--cluster", "prod-cluster", "--service", "api", "--ticket", "IR-E7"], os.path.join(TMP, "throttled"))
    fake.clear_faults()
    after = fake.state()
    tap.check("throttled: exit 0", p.returncode == 0, p.stderr[-2000:])
    for eni, ip in ((ENI1, IP1), (ENI2, IP2)):
        assert_nacl("throttled", after, eni, ip)
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

"""End to end: the real irhost binary runs runbooks/ec2.lua against tests/fakeaws (demo
world). Every scenario of issue 6 "Proof"; assertions read the fake's state, not the
runbook's output."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import e2e  # noqa: E402
import tap  # noqa: E402
from e2e import ROOT, client, strip, tags  # noqa: E402

REGION = "us-east-1"
BUCKET = "irhost-evidence-111122223333"
PLAIN, MULTI, ASG_A, ASG_B, ASG_C, SSM, ECS = (f"i-0a1b2c3d4e5f6000{n}" for n in range(1, 8))

suite = e2e.Suite("ec2", "ec2.lua", world="demo", irhost=e2e.binary("IRHOST"), extra_args=("--poll-interval", "1"),
                  timeout=600)
TMP, fake, run = suite.tmp, suite.fake, suite.run


def ec2(state):
    return state["ec2"][REGION]


def enis_of(state, iid):
    return [e for e in ec2(state)["network_interfaces"].values() if (e.get("Attachment") or {}).get("InstanceId") == iid]


def group_named(state, vpc, name):
    return [g for g in ec2(state)["security_groups"].values() if g["GroupName"] == name and g["VpcId"] == vpc]


def rules_of(state, gid):
    return [r for r in ec2(state).get("security_group_rules", {}).values() if r["GroupId"] == gid]


def mutating_calls(service=None):
    ops = ("Modify", "Create", "Revoke", "Authorize", "Stop", "Detach", "Suspend", "Resume", "Deregister",
           "Enter", "Send", "Put", "Delete", "Disassociate")
    return [c for c in fake.calls(service=service) if c["operation"].startswith(ops)]


def assert_contained(name, before, after, iid, ticket, online=False):
    """The containment every offline (or online) run must leave behind."""
    inst = ec2(after)["instances"][iid]
    attrs = inst.get("Attributes", {})
    tap.check(f"{name}: termination protection on", attrs.get("DisableApiTermination") is True, attrs)
    tap.check(f"{name}: shutdown behaviour stop", attrs.get("InstanceInitiatedShutdownBehavior") == "stop", attrs)
    vols = [v for v in ec2(after)["volumes"].values() for a in v.get("Attachments", []) if a["InstanceId"] == iid]
    tap.check(f"{name}: no volume deleted on termination",
              vols and all(a["DeleteOnTermination"] is False for v in vols for a in v["Attachments"] if a["InstanceId"] == iid), vols)
    enis = enis_of(after, iid)
    vpc = inst["VpcId"]
    iso = group_named(after, vpc, "irhost-isolation")
    tap.check(f"{name}: one isolation group in the VPC", len(iso) == 1, iso)
    if iso:
        gid = iso[0]["GroupId"]
        tap.check(f"{name}: the isolation group has no rule (IPv4 and IPv6 egress revoked)", rules_of(after, gid) == [], rules_of(after, gid))
        tap.check(f"{name}: every ENI only in the isolation group",
                  enis and all([g["GroupId"] for g in e["Groups"]] == [gid] for e in enis), [e["Groups"] for e in enis])
    orig = {e["NetworkInterfaceId"]: [g["GroupId"] for g in e["Groups"]] for e in enis_of(before, iid)}
    tap.check(f"{name}: each ENI's original groups kept in a tag",
              all(tags(e).get("irhost:original-groups") == ",".join(orig[e["NetworkInterfaceId"]]) for e in enis),
              [(tags(e), orig) for e in enis])
    snaps = [s for s in ec2(after)["snapshots"].values() if tags(s).get("irhost:instance") == iid]
    vol_ids = sorted(v["VolumeId"] for v in vols)
    tap.check(f"{name}: exactly one snapshot per volume, tagged", sorted(s["VolumeId"] for s in snaps) == vol_ids
              and all(tags(s).get("irhost:ticket") == ticket and tags(s).get("irhost:device") for s in snaps), snaps)
    t = tags(inst)
    tap.check(f"{name}: instance tagged quarantined with the ticket",
              t.get("irhost:status") == "quarantined" and t.get("irhost:ticket") == ticket and t.get("irhost:run-id"), t)
    want = "running" if online else "stopped"
    tap.check(f"{name}: instance {want}", inst["State"]["Name"] == want, inst["State"])


def fresh():
    fake.reset("demo")
    fake.clear_faults()
    fake.clear_calls()
    return fake.state()


try:
    # --- a plain instance, with evidence uploaded to S3
    before = fresh()
    out = os.path.join(TMP, "plain")
    p, rep = run(["--instance", PLAIN, "--ticket", "IR-A", "--evidence-bucket", BUCKET, "--isolation-nacl"], out)
    after = fake.state()
    tap.check("plain: exit 0", p.returncode == 0, p.stderr)
    assert_contained("plain", before, after, PLAIN, "IR-A")
    tap.check("plain: ModifyInstanceAttribute Groups never used",
              not any("Groups" in (c.get("params") or {}) for c in fake.calls(service="ec2", operation="ModifyInstanceAttribute")))
    ok, sums = e2e.evidence_ok(out)
    tap.check("plain: evidence files match SHA256SUMS", ok, sums)
    tap.check("plain: metadata captured before changes", "instance.json" in sums and "network-interfaces.json" in sums, sums)
    objs = after["s3"]["buckets"][BUCKET]["Objects"]
    tap.check("plain: evidence uploaded under the ticket and run id",
              any(k.startswith("IR-A/") and k.endswith("/evidence/instance.json") for k in objs), list(objs)[:5])
    md = open(os.path.join(out, "report.md")).read() if os.path.exists(os.path.join(out, "report.md")) else ""
    tap.check("plain: report names ticket, caller and evidence hashes",
              "IR-A" in md and "arn:aws:iam::111122223333" in md and all(h in md for h in sums.values()), md[:400])
    tap.check("plain: no secret in any output or file", e2e.no_secret(p, out))
    ips = [a["PrivateIpAddress"] for e in enis_of(after, PLAIN) for a in e["PrivateIpAddresses"]]
    acl = [a for a in ec2(after)["network_acls"].values()
           if any(x["SubnetId"] == ec2(after)["instances"][PLAIN]["SubnetId"] for x in a["Associations"])][0]
    denies = [e for e in acl["Entries"] if e["RuleAction"] == "deny" and e.get("CidrBlock") in [ip + "/32" for ip in ips]]
    lowest_allow = min(e["RuleNumber"] for e in acl["Entries"] if e["RuleAction"] == "allow")
    tap.check("plain: --isolation-nacl denies the instance's addresses both ways, before any allow",
              {e["Egress"] for e in denies} == {False, True} and all(e["RuleNumber"] < lowest_allow for e in denies), denies)

    # --- --release undoes the network isolation
    p, rep = run(["--instance", PLAIN, "--ticket", "IR-A"] + ["--release"], os.path.join(TMP, "release"))
    rel = fake.state()
    tap.check("release: exit 0", p.returncode == 0, p.stderr)
    orig = {e["NetworkInterfaceId"]: [g["GroupId"] for g in e["Groups"]] for e in enis_of(before, PLAIN)}
    tap.check("release: original groups back on every ENI",
              all([g["GroupId"] for g in e["Groups"]] == orig[e["NetworkInterfaceId"]] for e in enis_of(rel, PLAIN)))
    acl = ec2(rel)["network_acls"][acl["NetworkAclId"]]
    tap.check("release: the ACL deny entries removed",
              not [e for e in acl["Entries"] if e.get("CidrBlock") in [ip + "/32" for ip in ips]], acl["Entries"])
    tap.check("release: instance tagged released", tags(ec2(rel)["instances"][PLAIN]).get("irhost:status") == "released")

    # --- an instance with three ENIs (and instance-store volumes)
    before = fresh()
    out = os.path.join(TMP, "multi")
    p, rep = run(["--instance", MULTI, "--ticket", "IR-B"], out)
    after = fake.state()
    tap.check("multi-ENI: exit 0", p.returncode == 0, p.stderr)
    tap.check("multi-ENI: three ENIs", len(enis_of(after, MULTI)) == 3)
    assert_contained("multi-ENI", before, after, MULTI, "IR-B")
    tap.check("multi-ENI: ModifyInstanceAttribute Groups never used",
              not any("Groups" in (c.get("params") or {}) for c in fake.calls(service="ec2", operation="ModifyInstanceAttribute")))
    ev = [e for e in (rep or {}).get("events", []) if e.get("type") == "step_end" and e.get("name") == "Isolate network interfaces"]
    tap.check("multi-ENI: the report lists each ENI's state",
              ev and len(ev[0].get("outputs", {}).get("enis", [])) == 3 and all(s["state"].startswith("isolated") for s in ev[0]["outputs"]["enis"]), ev)
    md = open(os.path.join(out, "report.md")).read()
    tap.check("multi-ENI: instance-store volumes reported", "instance-store" in md, md[-800:])

    # --- in an Auto Scaling group behind a classic ELB and a target group
    before = fresh()
    out = os.path.join(TMP, "asg")
    p, rep = run(["--instance", ASG_A, "--ticket", "IR-C"], out)
    after = fake.state()
    tap.check("asg: exit 0", p.returncode == 0, p.stderr)
    assert_contained("asg", before, after, ASG_A, "IR-C")
    g = after["autoscaling"][REGION]["groups"]["web-asg"]
    members = {i["InstanceId"]: i["LifecycleState"] for i in g["Instances"]}
    tap.check("asg: instance detached", ASG_A not in members, members)
    tap.check("asg: desired capacity kept", g["DesiredCapacity"] == before["autoscaling"][REGION]["groups"]["web-asg"]["DesiredCapacity"], g["DesiredCapacity"])
    tap.check("asg: the other instances untouched", members.get(ASG_B) == "InService" and members.get(ASG_C) == "InService", members)
    tap.check("asg: processes this run suspended are resumed", g.get("SuspendedProcesses") == [], g.get("SuspendedProcesses"))
    sp = fake.calls(service="autoscaling", operation="SuspendProcesses")
    tap.check("asg: suspended HealthCheck, ReplaceUnhealthy, Terminate, AZRebalance first",
              sp and sorted(sp[0]["params"].get("ScalingProcesses", [])) == ["AZRebalance", "HealthCheck", "ReplaceUnhealthy", "Terminate"], sp)
    det = fake.calls(service="autoscaling", operation="DetachInstances")
    tap.check("asg: detached without decrementing", det and det[0]["params"].get("ShouldDecrementDesiredCapacity") is False, det)
    clb = [i["InstanceId"] for i in after["elb"][REGION]["load_balancers"]["web-classic"]["Instances"]]
    tap.check("asg: deregistered from the classic ELB, others stay", ASG_A not in clb and ASG_B in clb and ASG_C in clb, clb)
    tg = list(after["elbv2"][REGION]["target_groups"].values())[0]
    ids = [t["Id"] for t in tg["Targets"]]
    tap.check("asg: deregistered from the target group, others stay", ASG_A not in ids and ASG_B in ids and ASG_C in ids, ids)
    others = all(ec2(after)["instances"][i]["State"]["Name"] == "running" and
                 [x["Groups"] for x in enis_of(after, i)] == [x["Groups"] for x in enis_of(before, i)] for i in (ASG_B, ASG_C))
    tap.check("asg: other instances still running with their groups", others)

    # --- online mode with SSM memory capture
    before = fresh()
    out = os.path.join(TMP, "online")
    p, rep = run(["--instance", SSM, "--ticket", "IR-D", "--mode", "online", "--memory-bucket", BUCKET], out)
    after = fake.state()
    tap.check("online: exit 0", p.returncode == 0, p.stderr)
    assert_contained("online", before, after, SSM, "IR-D", online=True)
    cmds = list(after["ssm"][REGION]["commands"].values())
    tap.check("online: one AWS-RunShellScript command", len(cmds) == 1 and cmds[0].get("DocumentName") == "AWS-RunShellScript", cmds)
    text = json.dumps(cmds)
    tap.check("online: the command writes to the memory bucket", BUCKET in text, text[:300])
    tap.check("online: no credentials in the command", client.ACCESS_KEY not in text and client.SECRET_KEY not in text)
    tap.check("online: capture output recorded as evidence", os.path.exists(os.path.join(out, "evidence", "memory-capture.json")))
    sends = fake.calls(service="ssm", operation="SendCommand")
    mods = [c for c in fake.calls(service="ec2", operation="ModifyNetworkInterfaceAttribute")]
    tap.check("online: the final isolation comes after the capture",
              sends and mods and mods[-1]["time"] >= sends[-1]["time"], (sends, mods[-1:] if mods else None))
    # The demo VPC has interface endpoints (ssm, ssmmessages, ec2messages) and an S3 gateway
    # endpoint: during the capture the instance reaches only those, never the internet.
    vpc = ec2(after)["instances"][SSM]["VpcId"]
    ssm_group = group_named(after, vpc, "irhost-isolation-ssm")
    egress = rules_of(after, ssm_group[0]["GroupId"]) if ssm_group else []
    peers = sorted((r.get("ReferencedGroupInfo") or {}).get("GroupId") or r.get("PrefixListId") or r.get("CidrIpv4")
                   or r.get("CidrIpv6") for r in egress)
    tap.check("online: the SSM group allows HTTPS only to the endpoints' group and the S3 prefix list",
              peers == ["pl-63a5400a", "sg-0a1b2c3d4e5f60106"] and
              all(r["IsEgress"] and r["IpProtocol"] == "tcp" and r["FromPort"] == r["ToPort"] == 443 for r in egress),
              egress)
    tap.check("online: the endpoints were looked up (DescribeVpcEndpoints, DescribePrefixLists)",
              fake.calls(service="ec2", operation="DescribeVpcEndpoints") and
              fake.calls(service="ec2", operation="DescribePrefixLists"))
    tap.check("online: no fallback warning about missing endpoints", "has no endpoint" not in p.stderr, p.stderr)

    # --- online mode in a VPC without endpoints: HTTPS to anywhere until the capture ends
    with open(os.path.join(ROOT, "tests", "fakeaws", "worlds", "demo.json")) as f:
        bare = json.load(f)
    bare["ec2"][REGION].pop("vpc_endpoints", None)
    fake.reset(bare)
    fake.clear_faults()
    fake.clear_calls()
    before = fake.state()
    out = os.path.join(TMP, "online-noendpoints")
    p, rep = run(["--instance", SSM, "--ticket", "IR-D2", "--mode", "online", "--memory-bucket", BUCKET], out)
    after = fake.state()
    tap.check("online without endpoints: exit 0", p.returncode == 0, p.stderr)
    ssm_group = group_named(after, vpc, "irhost-isolation-ssm")
    egress = rules_of(after, ssm_group[0]["GroupId"]) if ssm_group else []
    tap.check("online without endpoints: the SSM group falls back to HTTPS to 0.0.0.0/0 only",
              [(r["IsEgress"], r["IpProtocol"], r["FromPort"], r.get("CidrIpv4")) for r in egress] ==
              [(True, "tcp", 443, "0.0.0.0/0")], egress)
    tap.check("online without endpoints: warns which endpoints are missing",
              "has no endpoint for ssm, ssmmessages, ec2messages, s3" in p.stderr, p.stderr)
    assert_contained("online without endpoints", before, after, SSM, "IR-D2", online=True)

    # --- online mode on an instance SSM does not manage
    fresh()
    out = os.path.join(TMP, "online-nossm")
    p, rep = run(["--instance", PLAIN, "--ticket", "IR-E", "--mode", "online", "--memory-bucket", BUCKET], out)
    after = fake.state()
    tap.check("online without SSM: exit 1", p.returncode == 1, p.stderr)
    tap.check("online without SSM: says it is not SSM-managed", "not SSM-managed" in p.stderr, p.stderr)
    iso = group_named(after, ec2(after)["instances"][PLAIN]["VpcId"], "irhost-isolation")
    tap.check("online without SSM: still fully isolated",
              iso and all([g["GroupId"] for g in e["Groups"]] == [iso[0]["GroupId"]] for e in enis_of(after, PLAIN)))

    # --- dry run: nothing changes, the plan lists every mutating call
    before = fresh()
    out = os.path.join(TMP, "dry")
    p, rep = run(["--instance", ASG_A, "--ticket", "IR-F", "--dry-run"], out, yes=False)
    after = fake.state()
    tap.check("dry run: exit 0 without --yes", p.returncode == 0, p.stderr)
    for svc in ("ec2", "autoscaling", "elb", "elbv2", "ssm", "s3"):
        tap.check(f"dry run: {svc} state unchanged", strip(before[svc]) == strip(after[svc]))
    tap.check("dry run: no mutating call reached AWS", mutating_calls() == [], mutating_calls()[:3])
    planned = {pc["operation"] for e in (rep or {}).get("events", []) if e.get("type") == "step_end" for pc in e.get("planned", [])}
    want = {"ModifyInstanceAttribute", "CreateSecurityGroup", "ModifyNetworkInterfaceAttribute", "CreateTags",
            "SuspendProcesses", "DetachInstances", "ResumeProcesses", "CreateSnapshot", "StopInstances",
            "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupEgress"}
    tap.check("dry run: the plan lists every mutating call", want <= planned, sorted(want - planned))
    # Leaving the Auto Scaling group takes the instance out of the group's ELB and target
    # group, so the real run deregisters nothing more (test_ec2_plan.py compares exactly).
    tap.check("dry run: no deregistration the detach already does",
              not planned & {"DeregisterInstancesFromLoadBalancer", "DeregisterTargets"}, sorted(planned))
    md = open(os.path.join(out, "report.md")).read()
    tap.check("dry run: report says dry run and lists planned calls", "dry run" in md and "StopInstances" in md)

    # --- the instance named by a GuardDuty finding (an EventBridge event), dry run
    sample = os.path.join(os.environ.get("IRHOST_SHARED", os.path.join(ROOT, "..", "shared")),
                          "guardduty-findings", "ec2-c2activity-b.json")
    if os.path.exists(sample):
        fresh()
        with open(sample) as f:
            finding = json.load(f)
        finding["resource"]["instanceDetails"]["instanceId"] = MULTI
        finding["region"] = REGION  # the sample is from us-east-2: test_ec2_refusals.py covers that
        path = os.path.join(TMP, "finding.json")
        with open(path, "w") as f:
            json.dump({"version": "0", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
                       "account": "111122223333", "region": REGION, "detail": finding}, f)
        out = os.path.join(TMP, "finding")
        p, rep = run(["--finding", path, "--ticket", "IR-J", "--dry-run"], out, yes=False)
        tap.check("finding: exit 0", p.returncode == 0, p.stderr)
        ends = [e for e in (rep or {}).get("events", []) if e.get("type") == "step_end"]
        tap.check("finding: the instance comes from the finding", ends and ends[0].get("outputs", {}).get("instance_id") == MULTI, ends[:1])
        tap.check("finding: the finding is kept as evidence", os.path.exists(os.path.join(out, "evidence", "finding.json")))
        tap.check("finding: nothing changed", mutating_calls() == [])
    else:
        tap.skip("finding", f"{sample} is absent")

    # --- a failure injected at step 5, then --resume
    before = fresh()
    out = os.path.join(TMP, "resume")
    # Step 1 reads the classic ELBs too: let that call through, fail step 5's.
    fake.fault(service="elb", operation="DescribeLoadBalancers", kind="error", status=400,
               code="InvalidConfigurationRequest", message="injected", after=1, count=-1)
    p, rep = run(["--instance", ASG_B, "--ticket", "IR-G"], out)
    st = e2e.status(rep or {"events": []})
    tap.check("resume: the failing run exits 1", p.returncode == 1, p.stderr)
    tap.check("resume: step 5 failed, 6 and later not run",
              st.get("Deregister from load balancers") == "failed" and "Snapshot EBS volumes" not in st, st)
    md = open(os.path.join(out, "report.md")).read()
    tap.check("resume: the report says what was not done", "NOT done" in md and "Snapshot EBS volumes" in md)
    fake.clear_faults()
    groups_before = len(ec2(fake.state())["security_groups"])
    p, rep = run(["--instance", ASG_B, "--ticket", "IR-G", "--resume", out], None)
    after = fake.state()
    tap.check("resume: the resumed run exits 0", p.returncode == 0, p.stderr)
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    st = e2e.status(rep)
    tap.check("resume: steps 1-4 not repeated",
              all(st.get(n) == "done (resumed)" for n in ("Capture instance metadata", "Protect evidence from deletion",
                                                         "Isolate network interfaces", "Leave the Auto Scaling group")), st)
    tap.check("resume: no group created twice", len(ec2(after)["security_groups"]) == groups_before)
    assert_contained("resume", before, after, ASG_B, "IR-G")
    clb = [i["InstanceId"] for i in after["elb"][REGION]["load_balancers"]["web-classic"]["Instances"]]
    tap.check("resume: deregistered after the resume", ASG_B not in clb and ASG_A in clb, clb)

    # --- throttling on half the calls: the same final state
    before = fresh()
    out = os.path.join(TMP, "throttle")
    fake.fault(service="*", kind="throttle", count=-1, every=2)
    p, rep = run(["--instance", ECS, "--ticket", "IR-H"], out)
    fake.clear_faults()
    after = fake.state()
    tap.check("throttling: exit 0", p.returncode == 0, p.stderr[-2000:])
    assert_contained("throttling", before, after, ECS, "IR-H")
    tap.check("throttling: retries recorded", (rep or {}).get("calls", {}).get("retries", 0) > 0, (rep or {}).get("calls"))

    # --- no --yes and no terminal: refused before any call
    fresh()
    out = os.path.join(TMP, "refused")
    p, rep = run(["--instance", PLAIN, "--ticket", "IR-K"], out, yes=False)
    tap.check("no --yes without a TTY: exit 5", p.returncode == 5, p.stderr)
    tap.check("no --yes without a TTY: says how to proceed", "--yes" in p.stderr, p.stderr)
    tap.check("no --yes without a TTY: no AWS call at all", fake.calls() == [], fake.calls()[:3])

    # --- a wrong instance id
    fresh()
    out = os.path.join(TMP, "wrong")
    p, rep = run(["--instance", "i-0000000000000dead", "--ticket", "IR-I"], out)
    tap.check("wrong id: exit 1", p.returncode == 1, p.stderr)
    tap.check("wrong id: InvalidInstanceID.NotFound explained",
              "InvalidInstanceID.NotFound" in p.stderr and "was not found in" in p.stderr and "--region" in p.stderr, p.stderr)
    tap.check("wrong id: nothing changed", mutating_calls() == [], mutating_calls()[:3])
finally:
    suite.close()
tap.done()

"""End to end: runbooks/credentials.lua run by the real irhost against tests/fakeaws (the
demo world plus an attacker's traces, see identity_world.py). Assertions read the fake's
state and the run directory, not the runbook's own claims."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# identity_world puts tests/lib (e2e, tap) on sys.path.
import identity_world as W  # noqa: E402
import e2e  # noqa: E402
import tap  # noqa: E402
from fakeaws import client  # noqa: E402

RB = "credentials.lua"

suite = W.suite("credentials", RB)
TMP, fake, run = suite.tmp, suite.fake, suite.run
WORLD = W.world()


def fresh():
    return W.fresh(fake)


def finding_file(name, details):
    f = {"schemaVersion": "2.0", "accountId": W.ACCOUNT, "region": W.REGION, "partition": "aws",
         "id": "cafe0000000000000000000000000001", "type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
         "severity": 5, "title": "API called from a known malicious IP",
         "resource": {"resourceType": "AccessKey"}, "service": {"serviceName": "guardduty", "count": 4}}
    if details is not None:
        f["resource"]["accessKeyDetails"] = details
    path = os.path.join(TMP, name)
    with open(path, "w") as fh:
        json.dump({"version": "0", "source": "aws.guardduty", "detail-type": "GuardDuty Finding",
                   "account": W.ACCOUNT, "region": W.REGION, "detail": f}, fh)
    return path


def user(state, name):
    return state["iam"]["users"][name]


def keys(state, name):
    return {k["AccessKeyId"]: k["Status"] for k in user(state, name).get("AccessKeys", [])}


try:
    # --- from a GuardDuty finding (EventBridge form): rotate, replace, revoke, review
    before = fresh()
    out = os.path.join(TMP, "finding")
    ff = finding_file("finding.json", {"accessKeyId": W.EXPOSED, "principalId": "AIDACIDEPLOYFAKE0001",
                                        "userType": "IAMUser", "userName": "ci-deploy"})
    t0 = time.time()
    p, rep = run(["--finding", ff, "--ticket", "IR-C1", "--create-replacement", "--delete-key",
                                   "--regions", "us-east-1,eu-west-1"], out)
    t1 = time.time()
    after = fake.state()
    tap.check("finding: exit 0", p.returncode == 0, p.stderr[-3000:])
    ops = [(c["operation"], (c.get("params") or {}).get("AccessKeyId")) for c in fake.calls(service="iam")]
    deact = ops.index(("UpdateAccessKey", W.EXPOSED)) if ("UpdateAccessKey", W.EXPOSED) in ops else None
    dele = ops.index(("DeleteAccessKey", W.EXPOSED)) if ("DeleteAccessKey", W.EXPOSED) in ops else None
    tap.check("finding: the exposed key was deactivated first, deleted after", deact is not None and dele is not None
              and deact < dele, ops)
    ks = keys(after, "ci-deploy")
    tap.check("finding: the exposed key is gone (--delete-key)", W.EXPOSED not in ks, ks)
    tap.check("finding: the key the attacker added is inactive", ks.get(W.ATTACKER_KEY) == "Inactive", ks)
    ci = user(after, "ci-deploy")
    tap.check("finding: the SSH key added in the window is inactive",
              [k["Status"] for k in ci["SSHPublicKeys"]] == ["Inactive"], ci["SSHPublicKeys"])
    tap.check("finding: the console password added in the window is deleted", not ci.get("LoginProfile"), ci.get("LoginProfile"))
    tap.check("finding: the MFA device added in the window is deactivated", ci.get("MFADevices") == [], ci.get("MFADevices"))
    pol = ci.get("InlinePolicies", {}).get("AWSRevokeOlderSessions")
    tap.check("finding: deny policy AWSRevokeOlderSessions with TokenIssueTime = run time (UTC, Z)",
              W.deny_policy_ok(pol, t0, t1), pol)
    tap.check("finding: the AWS quarantine policy is left attached",
              [a["PolicyName"] for a in ci["AttachedPolicies"]] == [W.QUARANTINE], ci["AttachedPolicies"])
    md = open(os.path.join(out, "report.md")).read() if os.path.exists(os.path.join(out, "report.md")) else ""
    tap.check("finding: the report says the quarantine policy stays, and what cannot be revoked",
              W.QUARANTINE in md and "left in place" in md and "root user" in md and "few minutes" in md, md[-1500:])
    new = [k for k, s in ks.items() if k not in (W.EXPOSED, W.ATTACKER_KEY)]
    tap.check("finding: one new active key", len(new) == 1 and ks[new[0]] == "Active", ks)
    secrets = after["secretsmanager"][W.REGION]["secrets"]
    mine = [s for n, s in secrets.items() if n.startswith("irhost/IR-C1/ci-deploy")]
    stored = {}
    if mine:
        stored = json.loads(next(iter(mine[0]["_versions"].values()))["SecretString"])
    real = [c["secret_key"] for c in after["credentials"] if new and c["access_key"] == new[0]]
    tap.check("finding: the replacement key and its real secret are stored in Secrets Manager",
              len(mine) == 1 and new and stored.get("AccessKeyId") == new[0] and real and stored.get("SecretAccessKey") == real[0],
              (list(secrets), {k: ("..." if k == "SecretAccessKey" else v) for k, v in stored.items()}))
    tap.check("finding: the report gives the secret's ARN", mine and mine[0]["ARN"] in md)
    tap.check("finding: the new secret and the test credentials appear in no output (stdout, stderr, audit, evidence, report)",
              not e2e.leaks(p, out, real + [client.SECRET_KEY]))
    ev = os.path.join(out, "evidence")
    ok, sums = e2e.evidence_ok(out)
    tap.check("finding: evidence matches SHA256SUMS", ok, sums)
    tap.check("finding: user, finding and GuardDuty evidence saved",
              {"iam-user.json", "finding.json", "guardduty-findings.json"} <= set(sums), sorted(sums))
    ct = json.load(open(os.path.join(ev, "cloudtrail-events.json"))) if os.path.exists(os.path.join(ev, "cloudtrail-events.json")) else {}
    ids = {e.get("id") for e in ct.get("events", [])}
    tap.check("finding: CloudTrail events of the user saved as evidence",
              "0a1b2c3d-0000-4000-8000-000000000003" in ids and "e0000000-0000-4000-8000-00000000a004" in ids, sorted(ids))
    tap.check("finding: the summary names the source IPs and actions", "192.0.2.66" in md and "iam:CreateAccessKey" in md)
    res = json.load(open(os.path.join(ev, "resources.json"))) if os.path.exists(os.path.join(ev, "resources.json")) else []
    keys_found = {r["key"] for r in res}
    tap.check("finding: resources review lists what the user created or changed",
              f"AWS::IAM::AccessKey ci-deploy/{W.ATTACKER_KEY} global" in keys_found
              and "AWS::S3::Bucket acme-public-assets global" in keys_found, sorted(keys_found))
    acct = json.load(open(os.path.join(ev, "account-changes.json"))) if os.path.exists(os.path.join(ev, "account-changes.json")) else {}
    tap.check("finding: the account check reports the alternate contact changed in the window",
              any(c["event"] == "PutAlternateContact" for c in acct.get("changes", [])), acct)
    tap.check("finding: other users untouched", all(e2e.strip(user(after, n)) == e2e.strip(user(before, n)) for n in ("alice", "bob")))
    tap.check("finding: the caller untouched", e2e.strip(user(after, W.CALLER_USER)) == e2e.strip(user(before, W.CALLER_USER)))

    # --- by key, with a per-item failure: the run goes on, the report says what failed
    before = fresh()
    out = os.path.join(TMP, "bykey")
    fake.fault(service="iam", operation="UpdateSSHPublicKey", kind="error", count=-1)
    t0 = time.time()
    p, rep = run(["--access-key-id", W.EXPOSED, "--ticket", "IR-C2", "--regions", "us-east-1"], out)
    t1 = time.time()
    after = fake.state()
    st = W.step_status(rep)
    tap.check("by key: exit 1 (one credential could not be disabled)", p.returncode == 1, p.stderr[-2000:])
    tap.check("by key: the exposed key is inactive, not deleted", keys(after, "ci-deploy").get(W.EXPOSED) == "Inactive",
              keys(after, "ci-deploy"))
    tap.check("by key: the other added credentials were still disabled",
              keys(after, "ci-deploy").get(W.ATTACKER_KEY) == "Inactive" and not user(after, "ci-deploy").get("LoginProfile"))
    tap.check("by key: the failing step is reported and later steps ran",
              st.get("Disable added credentials") == "failed" and st.get("Revoke older sessions") == "done"
              and st.get("Review CloudTrail") == "done", st)
    tap.check("by key: the failure names the SSH key", "APKACIDEPLOYFAKE0001" in (W.step(rep, "Disable added credentials").get("error") or ""),
              W.step(rep, "Disable added credentials"))
    tap.check("by key: deny policy present", W.deny_policy_ok(user(after, "ci-deploy")["InlinePolicies"].get("AWSRevokeOlderSessions"), t0, t1))
    tap.check("by key: no replacement without --create-replacement",
              not any(n.startswith("irhost/") for n in after["secretsmanager"][W.REGION]["secrets"]))

    # --- CloudTrail refused: the review fails (never an empty "nothing happened"), then --resume finishes it
    fresh()
    out = os.path.join(TMP, "resume")
    args = ["--access-key-id", W.EXPOSED, "--ticket", "IR-C6", "--regions", "us-east-1"]
    fake.fault(service="cloudtrail", operation="LookupEvents", kind="error", status=400, code="AccessDeniedException",
               message="injected", count=-1)
    p, rep = run(args, out)
    st = W.step_status(rep)
    tap.check("resume: the run without CloudTrail exits 1", p.returncode == 1, p.stderr[-1500:])
    tap.check("resume: the reviews failed, the containment was done",
              st.get("Review CloudTrail") == "failed" and st.get("Verify account information") == "failed"
              and st.get("Deactivate the exposed key") == "done" and st.get("Revoke older sessions") == "done", st)
    fake.clear_faults()
    done_before = [c["operation"] for c in W.mutating_calls(fake)]
    p, rep = run(args + ["--resume", out], None)
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    st = W.step_status(rep)
    tap.check("resume: the resumed run exits 0", p.returncode == 0, p.stderr[-1500:])
    tap.check("resume: containment steps not repeated",
              all(st.get(n) == "done (resumed)" for n in ("Identify the user and capture evidence", "Deactivate the exposed key",
                                                         "Disable added credentials", "Revoke older sessions")), st)
    tap.check("resume: no change made twice", [c["operation"] for c in W.mutating_calls(fake)] == done_before,
              [c["operation"] for c in W.mutating_calls(fake)])
    tap.check("resume: the CloudTrail review done this time",
              st.get("Review CloudTrail") == "done" and os.path.exists(os.path.join(out, "evidence", "cloudtrail-events.json")), st)

    # --- dry run: nothing changes, the plan lists every mutating call
    before = fresh()
    out = os.path.join(TMP, "dry")
    p, rep = run(["--access-key-id", W.EXPOSED, "--ticket", "IR-C3", "--create-replacement",
                                   "--delete-key", "--regions", "us-east-1", "--dry-run"], out, yes=False)
    after = fake.state()
    tap.check("dry run: exit 0 without --yes", p.returncode == 0, p.stderr[-2000:])
    for svc in ("iam", "secretsmanager"):
        tap.check(f"dry run: {svc} state unchanged", e2e.strip(before[svc]) == e2e.strip(after[svc]))
    tap.check("dry run: no mutating call reached AWS", W.mutating_calls(fake) == [], W.mutating_calls(fake)[:3])
    want = {"UpdateAccessKey", "DeleteLoginProfile", "DeactivateMFADevice", "UpdateSSHPublicKey", "DeleteAccessKey",
            "CreateAccessKey", "CreateSecret", "PutUserPolicy"}
    tap.check("dry run: the plan lists every mutating call", want <= W.planned_ops(rep), sorted(want - W.planned_ops(rep)))

    # --- a malformed finding: exit 2 naming the missing field, nothing called
    fresh()
    for label, details, field in (("no key details", None, "resource.accessKeyDetails"),
                                  ("no user name", {"accessKeyId": W.EXPOSED, "userType": "IAMUser"}, "userName")):
        ff = finding_file("bad.json", details)
        p, rep = run(["--finding", ff, "--ticket", "IR-C4"], os.path.join(TMP, "bad-" + field))
        tap.check(f"malformed finding ({label}): exit 2 naming {field}", p.returncode == 2 and field in p.stderr,
                  (p.returncode, p.stderr[-800:]))
    with open(os.path.join(TMP, "notjson.json"), "w") as fh:
        fh.write("{not json")
    p, rep = run(["--finding", os.path.join(TMP, "notjson.json")], os.path.join(TMP, "bad2"))
    tap.check("finding that is not JSON: exit 2", p.returncode == 2 and "JSON" in p.stderr, p.stderr[-500:])
    tap.check("malformed findings: no AWS call changed anything", W.mutating_calls(fake) == [])

    # --- the caller's own user: refused before anything changes
    before = fresh()
    p, rep = run(["--user", W.CALLER_USER, "--ticket", "IR-C5"], os.path.join(TMP, "self"))
    tap.check("own user: exit 1, refusing to lock itself out", p.returncode == 1 and "lock itself out" in p.stderr,
              p.stderr[-800:])
    tap.check("own user: nothing changed", W.mutating_calls(fake) == [] and
              e2e.strip(fake.state()["iam"]) == e2e.strip(before["iam"]))

    # --- no terminal and no --yes: refused (exit 5) before any change
    fresh()
    p, rep = run(["--access-key-id", W.EXPOSED], os.path.join(TMP, "notty"), yes=False)
    tap.check("no TTY without --yes: exit 5, nothing changed", p.returncode == 5 and W.mutating_calls(fake) == [],
              (p.returncode, p.stderr[-500:]))
finally:
    suite.close()
tap.done()

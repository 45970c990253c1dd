"""End to end: runbooks/iam-role.lua run by the real irhost against tests/fakeaws (the demo
world plus a SAML-federated role whose session created a backdoor, see identity_world.py)."""
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

RB = "iam-role.lua"

suite = W.suite("iam-role", RB)
TMP, fake, run = suite.tmp, suite.fake, suite.run


def fresh():
    return W.fresh(fake)


def role(state, name):
    return state["iam"]["roles"][name]


try:
    # --- the federated role: revoke, restrict trust, review its sessions
    before = fresh()
    out = os.path.join(TMP, "sso")
    marks = os.path.join(TMP, "marks.txt")
    with open(marks, "w") as f:
        f.write("# the key pair the attacker imported\nAWS::EC2::KeyPair ir-demo us-east-1\n")
    t0 = time.time()
    p, rep = run(["--role", W.SSO_ROLE, "--restrict-trust", "--ticket", "IR-R1", "--regions", "us-east-1",
                                   "--delete-unauthorized", marks], out)
    t1 = time.time()
    after = fake.state()
    tap.check("sso: exit 0", p.returncode == 0, p.stderr[-3000:])
    r = role(after, W.SSO_ROLE)
    tap.check("sso: AWSRevokeOlderSessions with TokenIssueTime = run time",
              W.deny_policy_ok(r["InlinePolicies"].get("AWSRevokeOlderSessions"), t0, t1), r["InlinePolicies"])
    trust = r["AssumeRolePolicyDocument"]
    stmts = trust.get("Statement", [])
    deny = [s for s in stmts if s.get("Effect") == "Deny"]
    tap.check("sso: the trust policy now denies SAML federation",
              deny and deny[0]["Principal"] == {"Federated": [W.SAML_ARN]} and "sts:AssumeRoleWithSAML" in deny[0]["Action"], trust)
    allow = [s for s in stmts if s.get("Effect") == "Allow"]
    tap.check("sso: no Allow for the SAML provider remains; the other principals are kept",
              allow and all("Federated" not in s["Principal"] for s in allow)
              and any(s["Principal"].get("AWS") == "arn:aws:iam::444455556666:root" for s in allow), allow)
    ev = os.path.join(out, "evidence")
    orig = json.load(open(os.path.join(ev, "trust-policy-before-restrict.json"))) if os.path.exists(os.path.join(ev, "trust-policy-before-restrict.json")) else None
    tap.check("sso: the original trust policy saved as evidence", orig == role(before, W.SSO_ROLE)["AssumeRolePolicyDocument"], orig)
    md = open(os.path.join(out, "report.md")).read() if os.path.exists(os.path.join(out, "report.md")) else ""
    tap.check("sso: the report says the directory access must be revoked by hand",
              "CorpIdP" in md and "SAML identity provider" in md, md[-2000:])
    tap.check("sso: the report names the other account that may assume it", "444455556666" in md)
    sessions = json.load(open(os.path.join(ev, "role-sessions.json"))) if os.path.exists(os.path.join(ev, "role-sessions.json")) else []
    tap.check("sso: the role's SAML session found in CloudTrail", [s["key"] for s in sessions] == [W.SESSION_KEY], sessions)
    ct = json.load(open(os.path.join(ev, "cloudtrail-events.json"))) if os.path.exists(os.path.join(ev, "cloudtrail-events.json")) else {}
    names = sorted(e["name"] for e in ct.get("events", []))
    tap.check("sso: the session's events saved as evidence", names == ["AssumeRoleWithSAML", "CreateUser", "ImportKeyPair"], names)
    res = {x["key"] for x in json.load(open(os.path.join(ev, "resources.json")))} if os.path.exists(os.path.join(ev, "resources.json")) else set()
    tap.check("sso: resources review lists the backdoor user and key pair",
              {"AWS::IAM::User backdoor global", "AWS::EC2::KeyPair ir-demo us-east-1"} <= res, sorted(res))
    kp = after["ec2"][W.REGION].get("key_pairs", {})
    names_kp = sorted(k.get("KeyName", n) for n, k in kp.items())
    tap.check("sso: only the marked key pair was deleted", "ir-demo" not in names_kp and "ops-admin" in names_kp, names_kp)
    tap.check("sso: the unmarked backdoor user is reported in the report", "AWS::IAM::User backdoor" in md, md[-1500:])
    others = [n for n in before["iam"]["roles"] if n != W.SSO_ROLE]
    tap.check("sso: other roles untouched", all(e2e.strip(role(after, n)) == e2e.strip(role(before, n)) for n in others))
    tap.check("sso: users untouched", e2e.strip(after["iam"]["users"]) == e2e.strip(before["iam"]["users"]))
    ok, sums = e2e.evidence_ok(out)
    tap.check("sso: evidence matches SHA256SUMS", ok, sums)
    tap.check("sso: the test credentials appear in no output", not e2e.leaks(p, out, [client.SECRET_KEY]))

    # --- a role without federation: --restrict-trust changes nothing in its trust
    before = fresh()
    out = os.path.join(TMP, "plain")
    p, rep = run(["--role", "web-server-role", "--restrict-trust", "--regions", "us-east-1"], out)
    after = fake.state()
    tap.check("plain role: exit 0", p.returncode == 0, p.stderr[-2000:])
    tap.check("plain role: trust policy unchanged",
              role(after, "web-server-role")["AssumeRolePolicyDocument"] == role(before, "web-server-role")["AssumeRolePolicyDocument"])
    tap.check("plain role: deny policy present",
              "AWSRevokeOlderSessions" in role(after, "web-server-role")["InlinePolicies"])

    # --- dry run: nothing changes, the plan lists the policy and trust changes
    before = fresh()
    out = os.path.join(TMP, "dry")
    p, rep = run(["--role", W.SSO_ROLE, "--restrict-trust", "--regions", "us-east-1", "--dry-run"], out, yes=False)
    after = fake.state()
    tap.check("dry run: exit 0 without --yes", p.returncode == 0, p.stderr[-2000:])
    tap.check("dry run: iam unchanged", e2e.strip(before["iam"]) == e2e.strip(after["iam"]))
    tap.check("dry run: no mutating call reached AWS", W.mutating_calls(fake) == [], W.mutating_calls(fake)[:3])
    tap.check("dry run: the plan lists PutRolePolicy and UpdateAssumeRolePolicy",
              {"PutRolePolicy", "UpdateAssumeRolePolicy"} <= W.planned_ops(rep), W.planned_ops(rep))

    # --- run as a session of the role itself: refused, nothing changed
    before = fresh()
    import botocore.session  # noqa: E402 - Debian's python3-botocore
    sess = botocore.session.get_session()
    sts = sess.create_client("sts", region_name=W.REGION, endpoint_url=fake.url, aws_access_key_id=client.ACCESS_KEY,
                             aws_secret_access_key=client.SECRET_KEY)
    cred = sts.assume_role(RoleArn=f"arn:aws:iam::{W.ACCOUNT}:role/ir-responder", RoleSessionName="responder")["Credentials"]
    fake.clear_calls()
    p, rep = run(["--role", "ir-responder", "--regions", "us-east-1"], os.path.join(TMP, "self"),
                   extra_env={"AWS_ACCESS_KEY_ID": cred["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": cred["SecretAccessKey"],
                              "AWS_SESSION_TOKEN": cred["SessionToken"]})
    tap.check("own role: exit 1, refused", p.returncode == 1 and "own session" in p.stderr, p.stderr[-800:])
    tap.check("own role: nothing changed", W.mutating_calls(fake) == [] and
              e2e.strip(fake.state()["iam"]["roles"]) == e2e.strip(before["iam"]["roles"]))
    tap.check("own role: the session's secret appears in no output",
              not e2e.leaks(p, os.path.join(TMP, "self"), [cred["SecretAccessKey"], cred["SessionToken"]]))

    # --- a role that does not exist: exit 1 explained
    fresh()
    p, rep = run(["--role", "no-such-role", "--regions", "us-east-1"], os.path.join(TMP, "missing"))
    tap.check("missing role: exit 1 with NoSuchEntity", p.returncode == 1 and "NoSuchEntity" in p.stderr, p.stderr[-800:])
    tap.check("missing role: nothing changed", W.mutating_calls(fake) == [])
finally:
    suite.close()
tap.done()

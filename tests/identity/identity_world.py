"""Shared pieces of the identity runbooks' end-to-end suites: the seeded world (the demo
world plus an attacker's traces) and the state they compare; running irhost and searching
its outputs is tests/lib/e2e.py's."""
import copy
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import e2e  # noqa: E402
from e2e import ROOT, client  # noqa: E402

# The release build: these suites make many runs, and the other e2e suites cover ASan.
IRHOST = e2e.binary("IRHOST_REL", default="rel")
REGION = "us-east-1"
ACCOUNT = "111122223333"
CALLER_USER = "ir-responder"          # the demo credentials' identity
EXPOSED = "AKIACIDEPLOYFAKE0001"      # ci-deploy's long-lived key, leaked
ATTACKER_KEY = "AKIACIDEPLOYFAKE0002"  # the second key the attacker created
SSO_ROLE = "sso-admins"
SAML_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/CorpIdP"
SESSION_KEY = "ASIASSOADMINSFAKE001"
QUARANTINE = "AWSCompromisedKeyQuarantineV2"


def iso(delta_hours):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=delta_hours)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(eid, name, source, when, key=None, user=None, arn=None, resources=(), request=None, response=None,
          read_only=False, region=REGION, ident_type="IAMUser"):
    """A CloudTrail event as the fake stores it (EventTime relative like "-40m")."""
    ident = {"type": ident_type, "arn": arn, "accountId": ACCOUNT, "accessKeyId": key, "userName": user}
    detail = {"eventVersion": "1.09", "userIdentity": ident, "eventTime": when, "eventSource": source,
              "eventName": name, "awsRegion": region, "sourceIPAddress": "203.0.113.77",
              "userAgent": "Boto3/1.34.0 attacker", "requestParameters": request, "responseElements": response,
              "eventID": eid, "readOnly": read_only, "eventType": "AwsApiCall", "recipientAccountId": ACCOUNT}
    return {"EventId": eid, "EventName": name, "ReadOnly": "true" if read_only else "false", "AccessKeyId": key,
            "EventTime": when, "EventSource": source, "Username": user,
            "Resources": [{"ResourceType": t, "ResourceName": n} for t, n in resources],
            "CloudTrailEvent": json.dumps(detail)}


def world():
    """The demo world plus: the caller as an IAM user, bob (console user), ci-deploy's
    persistence (login profile, MFA device added in the window, the quarantine policy), a
    federated role whose SAML session created a backdoor user, and those events."""
    with open(os.path.join(ROOT, "tests", "fakeaws", "worlds", "demo.json")) as f:
        w = json.load(f)
    iam = w["iam"]
    users = iam["users"]
    users[CALLER_USER] = {"UserName": CALLER_USER, "UserId": "AIDAIRRESPONDERFAKE01",
                          "Arn": f"arn:aws:iam::{ACCOUNT}:user/{CALLER_USER}", "CreateDate": "2024-01-01T00:00:00Z",
                          "AccessKeys": [{"AccessKeyId": client.ACCESS_KEY, "Status": "Active",
                                          "CreateDate": "2024-01-01T00:00:00Z"}],
                          "LoginProfile": {"CreateDate": "2024-01-01T00:00:00Z", "PasswordResetRequired": False}}
    users["bob"] = {"UserName": "bob", "CreateDate": "2023-06-01T00:00:00Z",
                    "AccessKeys": [{"AccessKeyId": "AKIABOBFAKE000000001", "Status": "Active",
                                    "CreateDate": "2023-06-01T00:00:00Z"}],
                    "LoginProfile": {"CreateDate": "2023-06-01T00:00:00Z", "PasswordResetRequired": False}}
    ci = users["ci-deploy"]
    ci["LoginProfile"] = {"CreateDate": iso(-20), "PasswordResetRequired": False}
    ci["MFADevices"] = [{"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/attacker-phone", "EnableDate": iso(-19)}]
    ci["AttachedPolicies"] = [{"PolicyName": QUARANTINE, "PolicyArn": f"arn:aws:iam::aws:policy/{QUARANTINE}"}]
    iam["roles"][SSO_ROLE] = {
        "RoleName": SSO_ROLE, "Arn": f"arn:aws:iam::{ACCOUNT}:role/{SSO_ROLE}", "MaxSessionDuration": 3600,
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Federated": SAML_ARN}, "Action": "sts:AssumeRoleWithSAML",
             "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]},
        "InlinePolicies": {}, "AttachedPolicies": [
            {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]}
    iam["saml_providers"] = [{"Arn": SAML_ARN, "ValidUntil": "2030-01-01T00:00:00Z", "CreateDate": "2024-01-01T00:00:00Z"}]
    role_arn = iam["roles"][SSO_ROLE]["Arn"]
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/mallory@example.com"
    events = w["cloudtrail"][REGION]["events"]
    events += [
        event("e0000000-0000-4000-8000-00000000a001", "AssumeRoleWithSAML", "sts.amazonaws.com", "-50m",
              user="mallory@example.com", arn=None, ident_type="SAMLUser", read_only=True,
              resources=[("AWS::IAM::Role", role_arn), ("AWS::IAM::SAMLProvider", SAML_ARN)],
              request={"roleArn": role_arn, "principalArn": SAML_ARN, "roleSessionName": "mallory@example.com"},
              response={"credentials": {"accessKeyId": SESSION_KEY, "expiration": iso(1)},
                        "assumedRoleUser": {"arn": session_arn}}),
        event("e0000000-0000-4000-8000-00000000a002", "CreateUser", "iam.amazonaws.com", "-45m", key=SESSION_KEY,
              user="mallory@example.com", arn=session_arn, ident_type="AssumedRole",
              request={"userName": "backdoor"}, resources=[("AWS::IAM::User", "backdoor")]),
        event("e0000000-0000-4000-8000-00000000a003", "ImportKeyPair", "ec2.amazonaws.com", "-44m", key=SESSION_KEY,
              user="mallory@example.com", arn=session_arn, ident_type="AssumedRole", request={"keyName": "ir-demo"}),
        event("e0000000-0000-4000-8000-00000000a004", "CreateAccessKey", "iam.amazonaws.com", "-40m", key=ATTACKER_KEY,
              user="ci-deploy", arn=f"arn:aws:iam::{ACCOUNT}:user/ci-deploy",
              request={"userName": "ci-deploy"},
              response={"accessKey": {"userName": "ci-deploy", "accessKeyId": ATTACKER_KEY, "status": "Active"}}),
        event("e0000000-0000-4000-8000-00000000a005", "PutAlternateContact", "account.amazonaws.com", "-30m",
              key=ATTACKER_KEY, user="ci-deploy", arn=f"arn:aws:iam::{ACCOUNT}:user/ci-deploy",
              request={"alternateContactType": "SECURITY", "emailAddress": "attacker@example.net"}),
    ]
    return w


MUTATING = ("Update", "Delete", "Create", "Put", "Deactivate", "Attach", "Detach", "Terminate", "Import", "Enable")


def mutating_calls(fake):
    return [c for c in fake.calls() if c["operation"].startswith(MUTATING)]


def step_status(report):
    return {e["name"]: e["status"] for e in (report or {}).get("events", []) if e.get("type") == "step_end"}


def step(report, name):
    for e in (report or {}).get("events", []):
        if e.get("type") == "step_end" and e.get("name") == name:
            return e
    return {}


def planned_ops(report):
    return {pc["operation"] for e in (report or {}).get("events", []) if e.get("type") == "step_end"
            for pc in e.get("planned", [])}


def deny_policy_ok(doc, t0, t1):
    """doc is the AWSRevokeOlderSessions document, its timestamp between t0 and t1 (epoch s)."""
    try:
        st = doc["Statement"][0]
        ts = st["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        when = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    return (st["Effect"] == "Deny" and st["Action"] in ("*", ["*"]) and st["Resource"] in ("*", ["*"])
            and t0 - 1 <= when <= t1 + 1)


def copy_world():
    return copy.deepcopy(world())


def suite(name, runbook):
    """The e2e.Suite of an identity runbook (demo world; skips when irhost is not built)."""
    return e2e.Suite(name, runbook, world="demo", region=REGION, irhost=IRHOST)


def fresh(fake):
    """Resets the fake to the seeded world, without faults or recorded calls; returns its state."""
    fake.reset(copy_world())
    fake.clear_faults()
    fake.clear_calls()
    return fake.state()

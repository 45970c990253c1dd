"""iam: roles, their inline policies, instance profiles (the EC2 runbook's needs).
Policy documents are stored as JSON objects and returned URL-encoded, as IAM does."""
import json
import urllib.parse

from .. import state as st
from ..errors import AwsError

SERVICE = "iam"


def _role(ctx, name):
    r = ctx.state.setdefault("roles", {}).get(name)
    if r is None:
        raise AwsError("NoSuchEntity", f"The role with name {name} cannot be found.", status=404)
    return r


def _doc(value):
    return urllib.parse.quote(value if isinstance(value, str) else json.dumps(value), safe="")


def _role_view(r):
    out = {k: v for k, v in r.items() if k not in ("InlinePolicies", "AttachedPolicies")}
    if "AssumeRolePolicyDocument" in r:
        out["AssumeRolePolicyDocument"] = _doc(r["AssumeRolePolicyDocument"])
    return out


def get_role(ctx, p):
    return {"Role": _role_view(_role(ctx, p["RoleName"]))}


def get_instance_profile(ctx, p):
    ip = ctx.state.setdefault("instance_profiles", {}).get(p["InstanceProfileName"])
    if ip is None:
        raise AwsError("NoSuchEntity", f"Instance Profile {p['InstanceProfileName']} cannot be found.", status=404)
    return {"InstanceProfile": dict(ip, Roles=[_role_view(_role(ctx, n)) for n in ip.get("Roles", [])])}


def put_role_policy(ctx, p):
    r = _role(ctx, p["RoleName"])
    try:
        doc = json.loads(p["PolicyDocument"])
    except ValueError:
        raise AwsError("MalformedPolicyDocument", "Syntax errors in policy.") from None
    r.setdefault("InlinePolicies", {})[p["PolicyName"]] = doc
    return {}


def get_role_policy(ctx, p):
    r = _role(ctx, p["RoleName"])
    doc = r.get("InlinePolicies", {}).get(p["PolicyName"])
    if doc is None:
        raise AwsError("NoSuchEntity", f"The role policy with name {p['PolicyName']} cannot be found.", status=404)
    return {"RoleName": r["RoleName"], "PolicyName": p["PolicyName"], "PolicyDocument": _doc(doc)}


def list_role_policies(ctx, p):
    r = _role(ctx, p["RoleName"])
    names, nxt = st.page(sorted(r.get("InlinePolicies", {})), p, max_key="MaxItems", token_key="Marker")
    return {"PolicyNames": names, "IsTruncated": nxt is not None, "Marker": nxt}


def normalize(world):
    acct = world.account
    iam = world.doc.get("iam", {})
    for name, r in iam.get("roles", {}).items():
        r.setdefault("RoleName", name)
        r.setdefault("Path", "/")
        r.setdefault("Arn", f"arn:aws:iam::{acct}:role/{name}")
        r.setdefault("RoleId", "AROA" + name.upper().replace("-", "")[:12].ljust(12, "X") + "FAKE")
        r.setdefault("CreateDate", "2026-01-01T00:00:00Z")
        r.setdefault("MaxSessionDuration", 3600)
        r.setdefault("InlinePolicies", {})
    for name, ip in iam.get("instance_profiles", {}).items():
        ip.setdefault("InstanceProfileName", name)
        ip.setdefault("Path", "/")
        ip.setdefault("Arn", f"arn:aws:iam::{acct}:instance-profile/{name}")
        ip.setdefault("InstanceProfileId", "AIPA" + name.upper().replace("-", "")[:12].ljust(12, "X") + "FAKE")
        ip.setdefault("CreateDate", "2026-01-01T00:00:00Z")


OPERATIONS = {
    "GetRole": get_role, "GetInstanceProfile": get_instance_profile, "PutRolePolicy": put_role_policy,
    "GetRolePolicy": get_role_policy, "ListRolePolicies": list_role_policies,
}

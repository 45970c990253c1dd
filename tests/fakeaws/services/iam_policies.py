"""iam permissions of users and roles: inline policies (the deny-all with
`aws:TokenIssueTime` the identity runbooks attach), managed policy attachment
(AWS's quarantine policy stays attached), customer managed policies, trust
policies, and deleting roles and policies an attacker created.

Customer managed policies live in `iam.policies` (ARN -> Policy members plus
`Document`); every `arn:aws:iam::aws:policy/...` exists."""
from . import _iam
from .. import state as st
from ..errors import AwsError

SERVICE = "iam"


# ---------------------------------------------------------------- inline policies

def _inline(holder, name, kind):
    doc = holder.get("InlinePolicies", {}).get(name)
    if doc is None:
        raise _iam.no_entity(f"The {kind} policy with name {name} cannot be found.")
    return doc


def list_user_policies(ctx, p):
    names, trunc, marker = _iam.pages(sorted(_iam.user(ctx, p["UserName"]).get("InlinePolicies", {})), p)
    return {"PolicyNames": names, "IsTruncated": trunc, "Marker": marker}


def get_user_policy(ctx, p):
    u = _iam.user(ctx, p["UserName"])
    return {"UserName": u["UserName"], "PolicyName": p["PolicyName"],
            "PolicyDocument": _iam.encode_doc(_inline(u, p["PolicyName"], "user"))}


def put_user_policy(ctx, p):
    _iam.user(ctx, p["UserName"]).setdefault("InlinePolicies", {})[p["PolicyName"]] = \
        _iam.parse_doc(p["PolicyDocument"])
    return {}


def delete_user_policy(ctx, p):
    u = _iam.user(ctx, p["UserName"])
    _inline(u, p["PolicyName"], "user")
    del u["InlinePolicies"][p["PolicyName"]]
    return {}


def delete_role_policy(ctx, p):
    r = _iam.role(ctx, p["RoleName"])
    _inline(r, p["PolicyName"], "role")
    del r["InlinePolicies"][p["PolicyName"]]
    return {}


# ---------------------------------------------------------------- managed policies

def _managed(ctx, arn):
    pol = ctx.state.setdefault("policies", {}).get(arn)
    if pol is not None:
        return pol
    if arn.startswith("arn:aws:iam::aws:policy/"):
        name = arn.rsplit("/", 1)[1]
        return {"PolicyName": name, "Arn": arn, "Path": "/", "DefaultVersionId": "v1", "IsAttachable": True,
                "PolicyId": "ANPA" + name.upper()[:12].ljust(12, "X") + "FAKE",
                "CreateDate": "2015-02-06T18:40:00Z", "UpdateDate": "2015-02-06T18:40:00Z"}
    raise _iam.no_entity(f"Policy {arn} does not exist or is not attachable.")


def _attachments(ctx, arn):
    return sum(1 for coll in ("users", "roles", "groups") for x in ctx.state.get(coll, {}).values()
               if any(a.get("PolicyArn") == arn for a in x.get("AttachedPolicies", [])))


def _policy_view(ctx, pol):
    out = {k: v for k, v in pol.items() if k != "Document"}
    out["AttachmentCount"] = _attachments(ctx, pol["Arn"])
    return out


def _attach(ctx, holder, arn):
    pol = _managed(ctx, arn)
    cur = holder.setdefault("AttachedPolicies", [])
    if not any(a["PolicyArn"] == arn for a in cur):
        cur.append({"PolicyName": pol["PolicyName"], "PolicyArn": arn})
    return {}


def _detach(holder, arn):
    cur = holder.get("AttachedPolicies", [])
    keep = [a for a in cur if a["PolicyArn"] != arn]
    if len(keep) == len(cur):
        raise _iam.no_entity(f"Policy {arn} was not found.")
    holder["AttachedPolicies"] = keep
    return {}


def _list_attached(holder, p):
    pol, trunc, marker = _iam.pages([dict(a) for a in holder.get("AttachedPolicies", [])], p)
    return {"AttachedPolicies": pol, "IsTruncated": trunc, "Marker": marker}


def list_attached_user_policies(ctx, p):
    return _list_attached(_iam.user(ctx, p["UserName"]), p)


def list_attached_role_policies(ctx, p):
    return _list_attached(_iam.role(ctx, p["RoleName"]), p)


def attach_user_policy(ctx, p):
    return _attach(ctx, _iam.user(ctx, p["UserName"]), p["PolicyArn"])


def detach_user_policy(ctx, p):
    return _detach(_iam.user(ctx, p["UserName"]), p["PolicyArn"])


def attach_role_policy(ctx, p):
    return _attach(ctx, _iam.role(ctx, p["RoleName"]), p["PolicyArn"])


def detach_role_policy(ctx, p):
    return _detach(_iam.role(ctx, p["RoleName"]), p["PolicyArn"])


def get_policy(ctx, p):
    return {"Policy": _policy_view(ctx, _managed(ctx, p["PolicyArn"]))}


def get_policy_version(ctx, p):
    pol = _managed(ctx, p["PolicyArn"])
    if p["VersionId"] != pol.get("DefaultVersionId", "v1") or "Document" not in pol:
        raise _iam.no_entity(f"Policy {p['PolicyArn']} version {p['VersionId']} does not exist or is not attachable.")
    return {"PolicyVersion": {"Document": _iam.encode_doc(pol["Document"]), "VersionId": p["VersionId"],
                              "IsDefaultVersion": True, "CreateDate": pol.get("UpdateDate", pol["CreateDate"])}}


def list_policies(ctx, p):
    rows = [] if p.get("Scope", "All") == "AWS" else \
        [_policy_view(ctx, x) for _, x in sorted(ctx.state.get("policies", {}).items())]
    if p.get("OnlyAttached"):
        rows = [r for r in rows if r["AttachmentCount"]]
    rows, trunc, marker = _iam.pages(rows, p)
    return {"Policies": rows, "IsTruncated": trunc, "Marker": marker}


def delete_policy(ctx, p):
    pols = ctx.state.setdefault("policies", {})
    if p["PolicyArn"] not in pols:
        raise _iam.no_entity(f"Policy {p['PolicyArn']} does not exist or is not attachable.")
    if _attachments(ctx, p["PolicyArn"]):
        raise AwsError("DeleteConflict", "Cannot delete a policy attached to entities.", status=409)
    del pols[p["PolicyArn"]]
    return {}


# ---------------------------------------------------------------- roles

def update_assume_role_policy(ctx, p):
    _iam.role(ctx, p["RoleName"])["AssumeRolePolicyDocument"] = _iam.parse_doc(p["PolicyDocument"])
    return {}


def list_roles(ctx, p):
    rows = [_iam.role_view(r) for _, r in sorted(ctx.state.get("roles", {}).items())
            if r.get("Path", "/").startswith(p.get("PathPrefix", "/"))]
    rows, trunc, marker = _iam.pages(rows, p)
    return {"Roles": rows, "IsTruncated": trunc, "Marker": marker}


def delete_role(ctx, p):
    r = _iam.role(ctx, p["RoleName"])
    if r.get("InlinePolicies") or r.get("AttachedPolicies"):
        raise AwsError("DeleteConflict", "Cannot delete entity, must delete policies first.", status=409)
    if any(p["RoleName"] in ip.get("Roles", []) for ip in ctx.state.get("instance_profiles", {}).values()):
        raise AwsError("DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.",
                       status=409)
    del ctx.state["roles"][p["RoleName"]]
    return {}


def list_instance_profiles_for_role(ctx, p):
    _iam.role(ctx, p["RoleName"])
    roles = ctx.state.get("roles", {})
    rows = [dict(ip, Roles=[_iam.role_view(roles[n]) for n in ip.get("Roles", []) if n in roles])
            for _, ip in sorted(ctx.state.get("instance_profiles", {}).items()) if p["RoleName"] in ip.get("Roles", [])]
    rows, trunc, marker = _iam.pages(rows, p)
    return {"InstanceProfiles": rows, "IsTruncated": trunc, "Marker": marker}


def normalize(world):
    for r in world.doc.get("iam", {}).get("roles", {}).values():
        if "CreateDate" in r:
            r["CreateDate"] = st.resolve_time(r["CreateDate"])
        if (r.get("RoleLastUsed") or {}).get("LastUsedDate"):
            r["RoleLastUsed"]["LastUsedDate"] = st.resolve_time(r["RoleLastUsed"]["LastUsedDate"])
    for arn, pol in world.doc.get("iam", {}).get("policies", {}).items():
        pol.setdefault("Arn", arn)
        pol.setdefault("PolicyName", arn.rsplit("/", 1)[-1])
        pol.setdefault("Path", "/")
        pol.setdefault("PolicyId", "ANPA" + pol["PolicyName"].upper().replace("-", "")[:12].ljust(12, "X") + "FAKE")
        pol.setdefault("DefaultVersionId", "v1")
        pol.setdefault("IsAttachable", True)
        pol["CreateDate"] = st.resolve_time(pol.get("CreateDate", "2025-01-01T00:00:00Z"))
        pol.setdefault("UpdateDate", pol["CreateDate"])


OPERATIONS = {
    "ListUserPolicies": list_user_policies, "GetUserPolicy": get_user_policy, "PutUserPolicy": put_user_policy,
    "DeleteUserPolicy": delete_user_policy, "DeleteRolePolicy": delete_role_policy,
    "ListAttachedUserPolicies": list_attached_user_policies, "ListAttachedRolePolicies": list_attached_role_policies,
    "AttachUserPolicy": attach_user_policy, "DetachUserPolicy": detach_user_policy,
    "AttachRolePolicy": attach_role_policy, "DetachRolePolicy": detach_role_policy,
    "GetPolicy": get_policy, "GetPolicyVersion": get_policy_version, "ListPolicies": list_policies,
    "DeletePolicy": delete_policy, "UpdateAssumeRolePolicy": update_assume_role_policy, "ListRoles": list_roles,
    "DeleteRole": delete_role, "ListInstanceProfilesForRole": list_instance_profiles_for_role,
}

"""Helpers shared by the iam handler modules: lookups with IAM's own errors,
Marker/MaxItems paging, policy documents (kept as JSON objects in state, sent
URL-encoded as IAM does)."""
import json
import urllib.parse

from .. import state as st
from ..errors import AwsError


def no_entity(msg):
    return AwsError("NoSuchEntity", msg, status=404)


def user(ctx, name):
    u = ctx.state.setdefault("users", {}).get(name)
    if u is None:
        raise no_entity(f"The user with name {name} cannot be found.")
    return u


def user_or_caller(ctx, p):
    """The user named in p, or (as IAM does without UserName) the caller's own user."""
    if p.get("UserName"):
        return user(ctx, p["UserName"])
    arn = ctx.caller.get("arn", "")
    if ":user/" not in arn:
        raise AwsError("ValidationError", "Must specify userName when calling with non-User credentials")
    return user(ctx, arn.rsplit("/", 1)[-1])


def role(ctx, name):
    r = ctx.state.setdefault("roles", {}).get(name)
    if r is None:
        raise no_entity(f"The role with name {name} cannot be found.")
    return r


def pages(items, p):
    """(page, IsTruncated, Marker) for IAM's MaxItems/Marker paging."""
    items, nxt = st.page(items, p, max_key="MaxItems", token_key="Marker")
    return items, nxt is not None, nxt


def encode_doc(value):
    return urllib.parse.quote(value if isinstance(value, str) else json.dumps(value), safe="")


def parse_doc(text):
    try:
        doc = json.loads(text)
    except ValueError:
        raise AwsError("MalformedPolicyDocument", "Syntax errors in policy.") from None
    if not isinstance(doc, dict):
        raise AwsError("MalformedPolicyDocument", "Syntax errors in policy.")
    return doc


def role_view(r):
    out = {k: v for k, v in r.items() if k not in ("InlinePolicies", "AttachedPolicies") and not k.startswith("_")}
    if "AssumeRolePolicyDocument" in r:
        out["AssumeRolePolicyDocument"] = encode_doc(r["AssumeRolePolicyDocument"])
    return out


def user_view(u):
    keep = ("Path", "UserName", "UserId", "Arn", "CreateDate", "PasswordLastUsed", "PermissionsBoundary", "Tags")
    return {k: u[k] for k in keep if k in u}

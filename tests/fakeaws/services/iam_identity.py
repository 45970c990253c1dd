"""iam users and what hangs off them: access keys (a deactivated or deleted key
stops signing, as on AWS), login profiles, MFA devices (virtual ones too), SSH
public keys, signing certificates, group membership. What the identity runbooks
inventory, rotate and remove. Passwords are never kept: only that one was set
(`_password_changed`)."""
import secrets

from . import _iam
from .. import state as st
from ..errors import AwsError

SERVICE = "iam"


def _users(ctx):
    return ctx.state.setdefault("users", {})


def list_users(ctx, p):
    users = [_iam.user_view(u) for _, u in sorted(_users(ctx).items())
             if u.get("Path", "/").startswith(p.get("PathPrefix", "/"))]
    users, trunc, marker = _iam.pages(users, p)
    return {"Users": users, "IsTruncated": trunc, "Marker": marker}


def get_user(ctx, p):
    return {"User": _iam.user_view(_iam.user_or_caller(ctx, p))}


def delete_user(ctx, p):
    u = _iam.user(ctx, p["UserName"])
    # IAM refuses while anything still hangs off the user.
    for what in ("AccessKeys", "LoginProfile", "MFADevices", "SSHPublicKeys", "SigningCertificates", "Groups",
                 "AttachedPolicies", "InlinePolicies"):
        if u.get(what):
            raise AwsError("DeleteConflict", f"Cannot delete entity, must delete {what} first.", status=409)
    del _users(ctx)[p["UserName"]]
    return {}


# ---------------------------------------------------------------- access keys

def _key(u, key_id):
    for k in u.get("AccessKeys", []):
        if k["AccessKeyId"] == key_id:
            return k
    raise _iam.no_entity(f"The Access Key with id {key_id} cannot be found.")


def _set_signing(ctx, key_id, active):
    """Keep the fake's accepted credentials in step with the key's status."""
    doc = ctx.world.doc
    live, parked = doc.setdefault("credentials", []), doc.setdefault("credentials_inactive", [])
    src, dst = (parked, live) if active else (live, parked)
    for rec in [c for c in src if c["access_key"] == key_id]:
        src.remove(rec)
        dst.append(rec)


def list_access_keys(ctx, p):
    u = _iam.user_or_caller(ctx, p)
    keys = [{"UserName": u["UserName"], "AccessKeyId": k["AccessKeyId"], "Status": k["Status"],
             "CreateDate": k["CreateDate"]} for k in u.get("AccessKeys", [])]
    keys, trunc, marker = _iam.pages(keys, p)
    return {"AccessKeyMetadata": keys, "IsTruncated": trunc, "Marker": marker}


def get_access_key_last_used(ctx, p):
    for u in _users(ctx).values():
        for k in u.get("AccessKeys", []):
            if k["AccessKeyId"] == p["AccessKeyId"]:
                used = k.get("LastUsed") or {"ServiceName": "N/A", "Region": "N/A"}
                return {"UserName": u["UserName"], "AccessKeyLastUsed": used}
    raise AwsError("AccessDenied", f"User: {ctx.caller.get('arn')} is not authorized to perform: "
                   f"iam:GetAccessKeyLastUsed on resource: access key {p['AccessKeyId']}", status=403)


def update_access_key(ctx, p):
    if p["Status"] not in ("Active", "Inactive"):
        raise AwsError("ValidationError", f"1 validation error detected: Value '{p['Status']}' at 'status' failed "
                       "to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]")
    k = _key(_iam.user_or_caller(ctx, p), p["AccessKeyId"])
    k["Status"] = p["Status"]
    _set_signing(ctx, k["AccessKeyId"], p["Status"] == "Active")
    return {}


def delete_access_key(ctx, p):
    u = _iam.user_or_caller(ctx, p)
    u["AccessKeys"].remove(_key(u, p["AccessKeyId"]))
    doc = ctx.world.doc
    for coll in ("credentials", "credentials_inactive"):
        doc[coll] = [c for c in doc.get(coll, []) if c["access_key"] != p["AccessKeyId"]]
    return {}


def create_access_key(ctx, p):
    u = _iam.user_or_caller(ctx, p)
    if len(u.get("AccessKeys", [])) >= 2:
        raise AwsError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", status=409)
    kid = "AKIA" + secrets.token_hex(8).upper()
    secret = secrets.token_urlsafe(30)
    rec = {"AccessKeyId": kid, "Status": "Active", "CreateDate": ctx.now()[:19] + "Z"}
    u.setdefault("AccessKeys", []).append(rec)
    # The new key signs against the fake, as a real one would; its secret sits in
    # `credentials`, where a test reads it to prove no output ever shows it.
    ctx.world.doc.setdefault("credentials", []).append(
        {"access_key": kid, "secret_key": secret, "arn": u["Arn"], "user_id": u.get("UserId", ""),
         "account": ctx.account})
    return {"AccessKey": dict(rec, UserName=u["UserName"], SecretAccessKey=secret)}


# ---------------------------------------------------------------- login profiles

def _profile(u):
    lp = u.get("LoginProfile")
    if not lp:
        raise _iam.no_entity(f"Login Profile for User {u['UserName']} cannot be found.")
    return lp


def _profile_view(u, lp):
    return {"UserName": u["UserName"], "CreateDate": lp["CreateDate"],
            "PasswordResetRequired": bool(lp.get("PasswordResetRequired"))}


def get_login_profile(ctx, p):
    u = _iam.user(ctx, p["UserName"])
    return {"LoginProfile": _profile_view(u, _profile(u))}


def create_login_profile(ctx, p):
    u = _iam.user(ctx, p["UserName"])
    if u.get("LoginProfile"):
        raise AwsError("EntityAlreadyExists", f"Login Profile for user {p['UserName']} already exists.", status=409)
    u["LoginProfile"] = {"CreateDate": ctx.now(), "PasswordResetRequired": bool(p.get("PasswordResetRequired")),
                         "_password_changed": ctx.now()}
    return {"LoginProfile": _profile_view(u, u["LoginProfile"])}


def update_login_profile(ctx, p):
    lp = _profile(_iam.user(ctx, p["UserName"]))
    if "PasswordResetRequired" in p:
        lp["PasswordResetRequired"] = p["PasswordResetRequired"]
    if p.get("Password"):
        lp["_password_changed"] = ctx.now()
    return {}


def delete_login_profile(ctx, p):
    u = _iam.user(ctx, p["UserName"])
    _profile(u)
    del u["LoginProfile"]
    return {}


# ---------------------------------------------------------------- MFA devices

def list_mfa_devices(ctx, p):
    u = _iam.user_or_caller(ctx, p)
    devs = [dict(d, UserName=u["UserName"]) for d in u.get("MFADevices", [])]
    devs, trunc, marker = _iam.pages(devs, p)
    return {"MFADevices": devs, "IsTruncated": trunc, "Marker": marker}


def deactivate_mfa_device(ctx, p):
    u = _iam.user(ctx, p["UserName"])
    dev = next((d for d in u.get("MFADevices", []) if d["SerialNumber"] == p["SerialNumber"]), None)
    if dev is None:
        raise _iam.no_entity(f"MFA Device with serial number {p['SerialNumber']} does not exist.")
    u["MFADevices"].remove(dev)
    if ":mfa/" in dev["SerialNumber"]:      # a virtual device stays, unassigned, until deleted
        ctx.state.setdefault("virtual_mfa_devices", []).append({"SerialNumber": dev["SerialNumber"]})
    return {}


def list_virtual_mfa_devices(ctx, p):
    status = p.get("AssignmentStatus", "Any")
    devs = []
    if status in ("Assigned", "Any"):
        for _, u in sorted(_users(ctx).items()):
            devs += [{"SerialNumber": d["SerialNumber"], "User": _iam.user_view(u), "EnableDate": d.get("EnableDate")}
                     for d in u.get("MFADevices", []) if ":mfa/" in d["SerialNumber"]]
    if status in ("Unassigned", "Any"):
        devs += [{"SerialNumber": d["SerialNumber"]} for d in ctx.state.get("virtual_mfa_devices", [])]
    devs, trunc, marker = _iam.pages(devs, p)
    return {"VirtualMFADevices": devs, "IsTruncated": trunc, "Marker": marker}


def delete_virtual_mfa_device(ctx, p):
    serial = p["SerialNumber"]
    if any(d["SerialNumber"] == serial for u in _users(ctx).values() for d in u.get("MFADevices", [])):
        raise AwsError("DeleteConflict", "MFA device is still in use.", status=409)
    free = ctx.state.setdefault("virtual_mfa_devices", [])
    keep = [d for d in free if d["SerialNumber"] != serial]
    if len(keep) == len(free):
        raise _iam.no_entity(f"VirtualMFADevice with serial number {serial} doesn't exist.")
    ctx.state["virtual_mfa_devices"] = keep
    return {}


# ---------------------------------------------------------------- SSH keys, signing certificates

def _ssh_key(u, kid):
    for k in u.get("SSHPublicKeys", []):
        if k["SSHPublicKeyId"] == kid:
            return k
    raise _iam.no_entity(f"The Public Key with id {kid} cannot be found.")


def list_ssh_public_keys(ctx, p):
    u = _iam.user_or_caller(ctx, p)
    keys = [{"UserName": u["UserName"], "SSHPublicKeyId": k["SSHPublicKeyId"], "Status": k["Status"],
             "UploadDate": k["UploadDate"]} for k in u.get("SSHPublicKeys", [])]
    keys, trunc, marker = _iam.pages(keys, p)
    return {"SSHPublicKeys": keys, "IsTruncated": trunc, "Marker": marker}


def update_ssh_public_key(ctx, p):
    _ssh_key(_iam.user(ctx, p["UserName"]), p["SSHPublicKeyId"])["Status"] = p["Status"]
    return {}


def delete_ssh_public_key(ctx, p):
    u = _iam.user(ctx, p["UserName"])
    u["SSHPublicKeys"].remove(_ssh_key(u, p["SSHPublicKeyId"]))
    return {}


def _cert(u, cid):
    for c in u.get("SigningCertificates", []):
        if c["CertificateId"] == cid:
            return c
    raise _iam.no_entity(f"The Certificate with id {cid} cannot be found.")


def list_signing_certificates(ctx, p):
    u = _iam.user_or_caller(ctx, p)
    certs = [dict(c, UserName=u["UserName"]) for c in u.get("SigningCertificates", [])]
    certs, trunc, marker = _iam.pages(certs, p)
    return {"Certificates": certs, "IsTruncated": trunc, "Marker": marker}


def update_signing_certificate(ctx, p):
    _cert(_iam.user_or_caller(ctx, p), p["CertificateId"])["Status"] = p["Status"]
    return {}


def delete_signing_certificate(ctx, p):
    u = _iam.user_or_caller(ctx, p)
    u["SigningCertificates"].remove(_cert(u, p["CertificateId"]))
    return {}


def list_groups_for_user(ctx, p):
    u = _iam.user(ctx, p["UserName"])
    groups = ctx.state.get("groups", {})
    out = [groups.get(g, {"GroupName": g}) for g in u.get("Groups", [])]
    out, trunc, marker = _iam.pages(out, p)
    return {"Groups": out, "IsTruncated": trunc, "Marker": marker}


def normalize(world):
    iam = world.doc.get("iam", {})
    acct = world.account
    for name, u in iam.get("users", {}).items():
        u.setdefault("UserName", name)
        u.setdefault("Path", "/")
        u.setdefault("Arn", f"arn:aws:iam::{acct}:user/{name}")
        u.setdefault("UserId", "AIDA" + name.upper().replace("-", "")[:12].ljust(12, "X") + "FAKE")
        u.setdefault("CreateDate", "2025-01-01T00:00:00Z")
        for k in ("AccessKeys", "MFADevices", "SSHPublicKeys", "SigningCertificates", "Groups", "AttachedPolicies"):
            u.setdefault(k, [])
        u.setdefault("InlinePolicies", {})
        # World files may date what an attacker added relative to load time ("-2d").
        for k in ("CreateDate", "PasswordLastUsed"):
            if k in u:
                u[k] = st.resolve_time(u[k])
        if u.get("LoginProfile"):
            u["LoginProfile"]["CreateDate"] = st.resolve_time(u["LoginProfile"].get("CreateDate", u["CreateDate"]))
        for d in u["MFADevices"]:
            d["EnableDate"] = st.resolve_time(d.get("EnableDate", u["CreateDate"]))
        for k in u["AccessKeys"]:
            k.setdefault("Status", "Active")
            k["CreateDate"] = st.resolve_time(k.get("CreateDate", "2025-01-01T00:00:00Z"))
            if (k.get("LastUsed") or {}).get("LastUsedDate"):
                k["LastUsed"]["LastUsedDate"] = st.resolve_time(k["LastUsed"]["LastUsedDate"])
        for k in u["SSHPublicKeys"]:
            k.setdefault("Status", "Active")
            k["UploadDate"] = st.resolve_time(k.get("UploadDate", "2025-01-01T00:00:00Z"))
        for c in u["SigningCertificates"]:
            c.setdefault("Status", "Active")
            c["UploadDate"] = st.resolve_time(c.get("UploadDate", "2025-01-01T00:00:00Z"))
            c.setdefault("CertificateBody", "-----BEGIN CERTIFICATE-----\nMIIfake\n-----END CERTIFICATE-----")
    for name, g in iam.get("groups", {}).items():
        g.setdefault("GroupName", name)
        g.setdefault("Path", "/")
        g.setdefault("Arn", f"arn:aws:iam::{acct}:group/{name}")
        g.setdefault("GroupId", "AGPA" + name.upper().replace("-", "")[:12].ljust(12, "X") + "FAKE")
        g.setdefault("CreateDate", "2025-01-01T00:00:00Z")


OPERATIONS = {
    "ListUsers": list_users, "GetUser": get_user, "DeleteUser": delete_user,
    "ListAccessKeys": list_access_keys, "GetAccessKeyLastUsed": get_access_key_last_used,
    "UpdateAccessKey": update_access_key, "DeleteAccessKey": delete_access_key, "CreateAccessKey": create_access_key,
    "GetLoginProfile": get_login_profile, "CreateLoginProfile": create_login_profile,
    "UpdateLoginProfile": update_login_profile, "DeleteLoginProfile": delete_login_profile,
    "ListMFADevices": list_mfa_devices, "DeactivateMFADevice": deactivate_mfa_device,
    "ListVirtualMFADevices": list_virtual_mfa_devices, "DeleteVirtualMFADevice": delete_virtual_mfa_device,
    "ListSSHPublicKeys": list_ssh_public_keys, "UpdateSSHPublicKey": update_ssh_public_key,
    "DeleteSSHPublicKey": delete_ssh_public_key, "ListSigningCertificates": list_signing_certificates,
    "UpdateSigningCertificate": update_signing_certificate, "DeleteSigningCertificate": delete_signing_certificate,
    "ListGroupsForUser": list_groups_for_user,
}

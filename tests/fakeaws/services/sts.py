"""sts: who is calling, and AssumeRole (which issues credentials the fake then
accepts, scoped to an assumed-role ARN, until they expire)."""
import datetime
import secrets

from ..errors import AwsError

SERVICE = "sts"


def get_caller_identity(ctx, p):
    c = ctx.caller
    return {"UserId": c.get("user_id", "AIDAFAKEAWS00000000"), "Account": c.get("account", ctx.account),
            "Arn": c.get("arn", f"arn:aws:iam::{ctx.account}:user/irhost-test")}


def assume_role(ctx, p):
    arn = p["RoleArn"]
    name = arn.rsplit("/", 1)[-1]
    roles = ctx.world.glob("iam").get("roles", {})
    role = roles.get(name)
    if role is None or role.get("Arn") != arn:
        raise AwsError("AccessDenied", f"User: {ctx.caller.get('arn')} is not authorized to perform: "
                       f"sts:AssumeRole on resource: {arn}", status=403)
    session = p["RoleSessionName"]
    duration = p.get("DurationSeconds", 3600)
    if not 900 <= duration <= role.get("MaxSessionDuration", 3600):
        raise AwsError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set "
                       "for this role.")
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=duration)
    akid = "ASIA" + secrets.token_hex(8).upper()
    cred = {"access_key": akid, "secret_key": secrets.token_urlsafe(30), "session_token":
            "FQoGZXIvYXdzE" + secrets.token_urlsafe(60), "arn": f"arn:aws:sts::{ctx.account}:assumed-role/"
            f"{name}/{session}", "user_id": f"{role['RoleId']}:{session}", "account": ctx.account,
            "expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "role": name}
    ctx.world.doc["credentials"].append(cred)
    return {"Credentials": {"AccessKeyId": akid, "SecretAccessKey": cred["secret_key"],
                            "SessionToken": cred["session_token"], "Expiration": cred["expiration"]},
            "AssumedRoleUser": {"AssumedRoleId": cred["user_id"], "Arn": cred["arn"]}, "PackedPolicySize": 6}


OPERATIONS = {"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role}

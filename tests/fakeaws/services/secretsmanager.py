"""secretsmanager: secrets with versions and staging labels. Values live in the
world (`_versions`), so a test can check what a runbook stored."""
import json
import uuid

from .. import state as st
from ..errors import AwsError

SERVICE = "secretsmanager"


def _secrets(ctx):
    return ctx.state.setdefault("secrets", {})


def _secret(ctx, sid):
    s = _secrets(ctx).get(sid) or next((x for x in _secrets(ctx).values() if x.get("ARN") == sid), None)
    if s is None or s.get("DeletedDate"):
        raise AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    return s


def _public(s):
    return {k: v for k, v in s.items() if not k.startswith("_")}


def _new_version(ctx, s, value, stages=("AWSCURRENT",)):
    vid = str(uuid.uuid4())
    for v in s.setdefault("_versions", {}).values():
        if "AWSCURRENT" in stages and "AWSCURRENT" in v["stages"]:
            v["stages"] = ["AWSPREVIOUS"]
        elif "AWSPREVIOUS" in v["stages"] and "AWSCURRENT" in stages:
            v["stages"] = []
    s["_versions"][vid] = dict(value, stages=list(stages), CreatedDate=ctx.now())
    s["LastChangedDate"] = ctx.now()
    return vid


def _value(p):
    if p.get("SecretString") is not None:
        return {"SecretString": p["SecretString"]}
    if p.get("SecretBinary") is not None:
        import base64
        return {"SecretBinaryBase64": base64.b64encode(p["SecretBinary"]).decode()}
    return None


def create_secret(ctx, p):
    name = p["Name"]
    if name in _secrets(ctx):
        raise AwsError("ResourceExistsException", f"The operation failed because the secret {name} already exists.")
    arn = f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:{name}-{ctx.new_id('', 6)}"
    s = {"ARN": arn, "Name": name, "Description": p.get("Description", ""), "Tags": p.get("Tags", []),
         "CreatedDate": ctx.now(), "LastChangedDate": ctx.now(), "RotationEnabled": False, "_versions": {}}
    if p.get("KmsKeyId"):
        s["KmsKeyId"] = p["KmsKeyId"]
    _secrets(ctx)[name] = s
    out = {"ARN": arn, "Name": name}
    value = _value(p)
    if value:
        out["VersionId"] = _new_version(ctx, s, value)
    return out


def describe_secret(ctx, p):
    s = _secret(ctx, p["SecretId"])
    return dict(_public(s), VersionIdsToStages={k: v["stages"] for k, v in s.get("_versions", {}).items()
                                                if v["stages"]})


def list_secrets(ctx, p):
    items = [dict(_public(s), SecretVersionsToStages={k: v["stages"] for k, v in s.get("_versions", {}).items()
                                                      if v["stages"]})
             for s in _secrets(ctx).values() if not s.get("DeletedDate")]
    for f in p.get("Filters") or []:
        if f["Key"] == "name":
            items = [s for s in items if any(s["Name"].startswith(v) for v in f["Values"])]
    page, nxt = st.page(items, p)
    return {"SecretList": page, "NextToken": nxt}


def get_secret_value(ctx, p):
    s = _secret(ctx, p["SecretId"])
    stage = p.get("VersionStage") or ("AWSCURRENT" if not p.get("VersionId") else None)
    for vid, v in s.get("_versions", {}).items():
        if (p.get("VersionId") and vid == p["VersionId"]) or (stage and stage in v["stages"]):
            s["LastAccessedDate"] = ctx.now()[:10] + "T00:00:00Z"
            out = {"ARN": s["ARN"], "Name": s["Name"], "VersionId": vid, "VersionStages": v["stages"],
                   "CreatedDate": v.get("CreatedDate")}
            if "SecretString" in v:
                out["SecretString"] = v["SecretString"]
            else:
                import base64
                out["SecretBinary"] = base64.b64decode(v.get("SecretBinaryBase64", ""))
            return out
    raise AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for "
                   f"staging label: {stage or p.get('VersionId')}")


def put_secret_value(ctx, p):
    s = _secret(ctx, p["SecretId"])
    value = _value(p)
    if value is None:
        raise AwsError("InvalidRequestException", "You must provide either SecretString or SecretBinary.")
    stages = tuple(p.get("VersionStages") or ("AWSCURRENT",))
    vid = _new_version(ctx, s, value, stages)
    return {"ARN": s["ARN"], "Name": s["Name"], "VersionId": vid, "VersionStages": list(stages)}


def update_secret(ctx, p):
    s = _secret(ctx, p["SecretId"])
    if "Description" in p:
        s["Description"] = p["Description"]
    if p.get("KmsKeyId"):
        s["KmsKeyId"] = p["KmsKeyId"]
    out = {"ARN": s["ARN"], "Name": s["Name"]}
    value = _value(p)
    if value:
        out["VersionId"] = _new_version(ctx, s, value)
    return out


_RDS_TAGS = ("aws:rds:primaryDBInstanceArn", "aws:rds:primaryDBClusterArn")


def _managed_by_rds(s):
    """The DB ARN of an RDS-managed master secret (OwningService rds, tagged by RDS), or None."""
    tags = {t["Key"]: t["Value"] for t in s.get("Tags", [])}
    arn = next((tags[k] for k in _RDS_TAGS if k in tags), None)
    return arn if arn or s.get("OwningService") == "rds" else None


def _rotate_managed(ctx, s, p):
    """AWS rotates a managed secret itself: no Lambda, no RotationLambdaARN allowed; the
    new version keeps the JSON {username, password, ...} with a new password, which the
    DB instance (kept by rds.py) then accepts."""
    if p.get("RotationLambdaARN"):
        raise AwsError("InvalidRequestException",
                       "You can't specify a rotation function for a secret managed by rds.")
    if p.get("RotationRules"):
        s["RotationRules"] = p["RotationRules"]
    s["RotationEnabled"] = True
    if not p.get("RotateImmediately", True):
        return None
    current = next((v for v in s.get("_versions", {}).values() if "AWSCURRENT" in v["stages"]), {})
    try:
        doc = json.loads(current.get("SecretString") or "{}")
    except ValueError:
        doc = {}
    doc["password"] = f"fakeaws-rds-rotated-{ctx.new_id('', 12)}"
    vid = _new_version(ctx, s, {"SecretString": json.dumps(doc)})
    s["LastRotatedDate"] = ctx.now()
    arn = _managed_by_rds(s)
    rds = ctx.regional("rds")
    for db in list(rds.get("db_instances", {}).values()) + list(rds.get("db_clusters", {}).values()):
        if arn and arn in (db.get("DBInstanceArn"), db.get("DBClusterArn")):
            db["_master_password"] = doc["password"]
    return vid


def rotate_secret(ctx, p):
    s = _secret(ctx, p["SecretId"])
    if _managed_by_rds(s):
        return {"ARN": s["ARN"], "Name": s["Name"], "VersionId": _rotate_managed(ctx, s, p)}
    lam = p.get("RotationLambdaARN") or s.get("RotationLambdaARN")
    if not lam:
        raise AwsError("InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.")
    s["RotationEnabled"] = True
    s["RotationLambdaARN"] = lam
    if p.get("RotationRules"):
        s["RotationRules"] = p["RotationRules"]
    vid = None
    if p.get("RotateImmediately", True):
        # The rotation function is not run; a new version stands for its result.
        vid = _new_version(ctx, s, {"SecretString": f"fakeaws-rotated-{ctx.new_id('', 12)}"})
        s["LastRotatedDate"] = ctx.now()
    return {"ARN": s["ARN"], "Name": s["Name"], "VersionId": vid}


def tag_resource(ctx, p):
    s = _secret(ctx, p["SecretId"])
    st.set_tags(s, p["Tags"])
    return {}


def normalize(world):
    for region, s in world.doc.get("secretsmanager", {}).items():
        for name, sec in s.get("secrets", {}).items():
            sec.setdefault("Name", name)
            sec.setdefault("ARN", f"arn:aws:secretsmanager:{region}:{world.account}:secret:{name}-FaKe00")
            sec.setdefault("CreatedDate", "2025-01-01T00:00:00Z")
            sec.setdefault("Tags", [])
            sec.setdefault("_versions", {})


OPERATIONS = {"CreateSecret": create_secret, "DescribeSecret": describe_secret, "ListSecrets": list_secrets,
              "GetSecretValue": get_secret_value, "PutSecretValue": put_secret_value, "UpdateSecret": update_secret,
              "RotateSecret": rotate_secret, "TagResource": tag_resource}


# Run by test_faithful.py through botocore on the demo world: (operation, params, check).
FAITHFUL_CASES = [
    ("CreateSecret", {"Name": "irhost/IR-42/ci-deploy", "SecretString": "{\"k\": \"v\"}"},
     lambda r: r["ARN"].startswith("arn:aws:secretsmanager:") and r["VersionId"]),
    ("DescribeSecret", {"SecretId": "prod/db/master"}, lambda r: r["RotationEnabled"] is False),
    ("ListSecrets", {}, lambda r: len(r["SecretList"]) == 3),
    ("GetSecretValue", {"SecretId": "irhost/IR-42/ci-deploy"},
     lambda r: r["SecretString"] == '{"k": "v"}' and r["VersionStages"] == ["AWSCURRENT"]),
    ("PutSecretValue", {"SecretId": "irhost/IR-42/ci-deploy", "SecretString": "v2"},
     lambda r: r["VersionStages"] == ["AWSCURRENT"]),
    ("UpdateSecret", {"SecretId": "irhost/IR-42/ci-deploy", "Description": "replacement key"},
     None),
    ("RotateSecret", {"SecretId": "ci/deploy-token"}, lambda r: r["VersionId"]),
    ("TagResource", {"SecretId": "prod/db/master",
                                       "Tags": [{"Key": "irhost:ticket", "Value": "IR-42"}]}, None),
]

"""s3 bucket security settings beyond s3.py: policy status (is the policy
public?), deleting the public access block and ownership controls, object lock,
tagging, access logging and default encryption: what the S3 runbook
saves before it secures a bucket and reports after; and the bucket's region.

State on each bucket: `Tags` (TagSet), `Logging` (LoggingEnabled), `ObjectLock`
(ObjectLockConfiguration), `Encryption` (ServerSideEncryptionConfiguration), `Region`
(s3.py). GetBucketLocation's answer is a bare <LocationConstraint>region</...> root,
empty for us-east-1 (wire_out.S3_TEXT_ROOTS)."""
import json

from ..errors import AwsError

SERVICE = "s3"

# Condition keys that pin a statement to known principals or networks: a statement
# that uses one is not public (AWS's "fixed values" rule for policy status).
_FIXING_KEYS = {"aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceaccount", "aws:sourcearn",
                "aws:sourceowner", "aws:principalorgid", "aws:principalaccount", "aws:principalarn",
                "aws:userid", "aws:principalorgpaths", "s3:dataaccesspointaccount", "s3:dataaccesspointarn"}


def _bucket(ctx, name):
    b = ctx.state.setdefault("buckets", {}).get(name)
    if b is None:
        raise AwsError("NoSuchBucket", "The specified bucket does not exist", status=404)
    return b


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _statement_is_public(s):
    if s.get("Effect") != "Allow":
        return False
    pr = s.get("Principal")
    everyone = pr == "*" or (isinstance(pr, dict) and "*" in _as_list(pr.get("AWS", [])))
    if not everyone:
        return False
    keys = {k.lower() for cond in (s.get("Condition") or {}).values() for k in cond}
    return not keys & _FIXING_KEYS


def policy_is_public(policy):
    """True when a bucket policy grants access to everyone without a fixing condition."""
    doc = json.loads(policy) if isinstance(policy, str) else policy
    return any(_statement_is_public(s) for s in _as_list(doc.get("Statement", [])))


def get_bucket_policy_status(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    if not b.get("Policy"):
        raise AwsError("NoSuchBucketPolicy", "The bucket policy does not exist", status=404)
    return {"PolicyStatus": {"IsPublic": policy_is_public(b["Policy"])}}


def delete_public_access_block(ctx, p):
    _bucket(ctx, p["Bucket"]).pop("PublicAccessBlock", None)
    return {}


def delete_bucket_ownership_controls(ctx, p):
    _bucket(ctx, p["Bucket"])["OwnershipControls"] = ""
    return {}


def get_object_lock_configuration(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    if not b.get("ObjectLock"):
        raise AwsError("ObjectLockConfigurationNotFoundError",
                       "Object Lock configuration does not exist for this bucket", status=404)
    return {"ObjectLockConfiguration": b["ObjectLock"]}


def put_object_lock_configuration(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    if b.get("Versioning") != "Enabled":
        raise AwsError("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                       "configuration", status=409)
    conf = p.get("ObjectLockConfiguration") or {}
    if conf.get("ObjectLockEnabled") != "Enabled":
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against "
                       "our published schema")
    b["ObjectLock"] = conf
    return {}


def get_bucket_tagging(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    if not b.get("Tags"):
        raise AwsError("NoSuchTagSet", "The TagSet does not exist", status=404)
    return {"TagSet": b["Tags"]}


def put_bucket_tagging(ctx, p):
    tags = p["Tagging"].get("TagSet", [])
    if len({t["Key"] for t in tags}) != len(tags):
        raise AwsError("InvalidTag", "Cannot provide multiple Tags with the same key")
    _bucket(ctx, p["Bucket"])["Tags"] = tags
    return {}


def delete_bucket_tagging(ctx, p):
    _bucket(ctx, p["Bucket"]).pop("Tags", None)
    return {}


def get_bucket_logging(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    return {"LoggingEnabled": b.get("Logging") or None}


def put_bucket_logging(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    enabled = (p.get("BucketLoggingStatus") or {}).get("LoggingEnabled")
    if enabled and enabled.get("TargetBucket") not in ctx.state.get("buckets", {}):
        raise AwsError("InvalidTargetBucketForLogging", "The target bucket for logging does not exist")
    b["Logging"] = enabled or {}
    return {}


def get_bucket_encryption(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    # Since January 2023 every bucket has SSE-S3 by default.
    conf = b.get("Encryption") or {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                              "BucketKeyEnabled": False}]}
    return {"ServerSideEncryptionConfiguration": conf}


def get_bucket_location(ctx, p):
    # Answered from any region's endpoint, as AWS does: it is how a client finds the region.
    region = _bucket(ctx, p["Bucket"]).get("Region") or "us-east-1"
    return {"LocationConstraint": "" if region == "us-east-1" else region}


OPERATIONS = {
    "GetBucketLocation": get_bucket_location,
    "GetBucketPolicyStatus": get_bucket_policy_status, "DeletePublicAccessBlock": delete_public_access_block,
    "DeleteBucketOwnershipControls": delete_bucket_ownership_controls,
    "GetObjectLockConfiguration": get_object_lock_configuration,
    "PutObjectLockConfiguration": put_object_lock_configuration,
    "GetBucketTagging": get_bucket_tagging, "PutBucketTagging": put_bucket_tagging,
    "DeleteBucketTagging": delete_bucket_tagging, "GetBucketLogging": get_bucket_logging,
    "PutBucketLogging": put_bucket_logging, "GetBucketEncryption": get_bucket_encryption,
}

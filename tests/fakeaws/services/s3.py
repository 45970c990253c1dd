"""s3 (path-style addressing): buckets and objects, enough for evidence upload,
plus bucket policy, ACL, public access block, ownership and versioning.
Object bodies are kept base64-encoded in state (`BodyBase64`)."""
import base64
import hashlib
import json

from .. import state as st
from ..errors import AwsError

SERVICE = "s3"


def _buckets(ctx):
    return ctx.state.setdefault("buckets", {})


def _bucket(ctx, name):
    b = _buckets(ctx).get(name)
    if b is None:
        raise AwsError("NoSuchBucket", "The specified bucket does not exist", status=404)
    return b


def create_bucket(ctx, p):
    name = p["Bucket"]
    region = (p.get("CreateBucketConfiguration") or {}).get("LocationConstraint") or "us-east-1"
    if name in _buckets(ctx):
        if region == "us-east-1" and _buckets(ctx)[name].get("Region") == "us-east-1":
            return {"Location": f"/{name}"}   # us-east-1's legacy 200 for the owner
        raise AwsError("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded "
                       "and you already own it.", status=409)
    if ctx.region != region:
        raise AwsError("IllegalLocationConstraintException", f"The {region} location constraint is incompatible "
                       f"for the region specific endpoint this request was sent to.")
    _buckets(ctx)[name] = {"Name": name, "Region": region, "CreationDate": ctx.now(), "Objects": {},
                           "Versioning": "", "OwnershipControls": p.get("ObjectOwnership", "BucketOwnerEnforced")}
    return {"Location": f"/{name}" if region == "us-east-1" else f"http://{name}.s3.amazonaws.com/"}


def head_bucket(ctx, p):
    _bucket(ctx, p["Bucket"])
    return {}


def list_buckets(ctx, p):
    return {"Buckets": [{"Name": b["Name"], "CreationDate": b["CreationDate"]} for b in _buckets(ctx).values()],
            "Owner": {"ID": ctx.account, "DisplayName": "irhost-test"}}


def put_object(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    body = p.get("Body") or b""
    if isinstance(body, str):
        body = body.encode()
    if p.get("ContentMD5") and base64.b64decode(p["ContentMD5"]) != hashlib.md5(body).digest():
        raise AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.")
    etag = '"' + hashlib.md5(body).hexdigest() + '"'
    obj = {"Key": p["Key"], "BodyBase64": base64.b64encode(body).decode(), "ETag": etag, "Size": len(body),
           "LastModified": ctx.now(), "ContentType": p.get("ContentType", "binary/octet-stream"),
           "Metadata": p.get("Metadata", {}), "StorageClass": p.get("StorageClass", "STANDARD")}
    if p.get("ServerSideEncryption"):
        obj["ServerSideEncryption"] = p["ServerSideEncryption"]
    out = {"ETag": etag, "ServerSideEncryption": obj.get("ServerSideEncryption", "AES256")}
    if b.get("Versioning") == "Enabled":
        obj["VersionId"] = ctx.new_id("", 32)
        out["VersionId"] = obj["VersionId"]
        b.setdefault("Versions", []).append({k: v for k, v in obj.items()})
    b["Objects"][p["Key"]] = obj
    return out


def _object(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    obj = b["Objects"].get(p["Key"])
    if p.get("VersionId"):
        obj = next((v for v in b.get("Versions", []) if v["Key"] == p["Key"] and
                    v.get("VersionId") == p["VersionId"]), None)
    if obj is None:
        raise AwsError("NoSuchKey", "The specified key does not exist.", status=404)
    return obj


def _meta(obj):
    return {"ContentLength": obj["Size"], "ContentType": obj["ContentType"], "ETag": obj["ETag"],
            "LastModified": obj["LastModified"], "Metadata": obj.get("Metadata") or None,
            "VersionId": obj.get("VersionId"), "ServerSideEncryption": obj.get("ServerSideEncryption", "AES256"),
            "AcceptRanges": "bytes"}


def get_object(ctx, p):
    obj = _object(ctx, p)
    return dict(_meta(obj), Body=base64.b64decode(obj["BodyBase64"]))


def head_object(ctx, p):
    return _meta(_object(ctx, p))


def list_objects_v2(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    prefix, delim = p.get("Prefix", ""), p.get("Delimiter")
    keys = sorted(k for k in b["Objects"] if k.startswith(prefix) and k > p.get("StartAfter", ""))
    contents, prefixes = [], []
    for k in keys:
        rest = k[len(prefix):]
        if delim and delim in rest:
            cp = prefix + rest.split(delim, 1)[0] + delim
            if cp not in prefixes:
                prefixes.append(cp)
            continue
        o = b["Objects"][k]
        contents.append({"Key": k, "LastModified": o["LastModified"], "ETag": o["ETag"], "Size": o["Size"],
                         "StorageClass": o.get("StorageClass", "STANDARD")})
    maxkeys = p.get("MaxKeys", 1000)
    rows = [("c", c) for c in contents] + [("p", x) for x in prefixes]
    page, nxt = st.page(rows, {"MaxKeys": maxkeys, "NextToken": p.get("ContinuationToken")}, max_key="MaxKeys")
    out = {"Name": b["Name"], "Prefix": prefix, "MaxKeys": maxkeys, "KeyCount": len(page),
           "IsTruncated": nxt is not None, "Contents": [r for t, r in page if t == "c"] or None,
           "CommonPrefixes": [{"Prefix": r} for t, r in page if t == "p"] or None,
           "NextContinuationToken": nxt, "ContinuationToken": p.get("ContinuationToken"),
           "Delimiter": delim, "StartAfter": p.get("StartAfter")}
    return out


def get_bucket_policy(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    if not b.get("Policy"):
        raise AwsError("NoSuchBucketPolicy", "The bucket policy does not exist", status=404)
    pol = b["Policy"]
    return {"Policy": pol if isinstance(pol, str) else json.dumps(pol)}


def put_bucket_policy(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    try:
        json.loads(p["Policy"])
    except ValueError:
        raise AwsError("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'") from None
    b["Policy"] = p["Policy"]
    return {}


def delete_bucket_policy(ctx, p):
    _bucket(ctx, p["Bucket"]).pop("Policy", None)
    return {}


def get_public_access_block(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    if not b.get("PublicAccessBlock"):
        raise AwsError("NoSuchPublicAccessBlockConfiguration",
                       "The public access block configuration was not found", status=404)
    return {"PublicAccessBlockConfiguration": b["PublicAccessBlock"]}


def put_public_access_block(ctx, p):
    _bucket(ctx, p["Bucket"])["PublicAccessBlock"] = p["PublicAccessBlockConfiguration"]
    return {}


def get_bucket_acl(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    owner = {"ID": ctx.account, "DisplayName": "irhost-test"}
    grants = b.get("Acl") or [{"Grantee": dict(owner, Type="CanonicalUser"), "Permission": "FULL_CONTROL"}]
    return {"Owner": owner, "Grants": grants}


def put_bucket_acl(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    if b.get("OwnershipControls") == "BucketOwnerEnforced" and p.get("ACL") not in (None, "private",
                                                                                  "bucket-owner-full-control"):
        raise AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs")
    if p.get("AccessControlPolicy"):
        b["Acl"] = p["AccessControlPolicy"].get("Grants", [])
    elif p.get("ACL") == "private":
        b["Acl"] = []
    return {}


def get_bucket_ownership_controls(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    if not b.get("OwnershipControls"):
        raise AwsError("OwnershipControlsNotFoundError", "The bucket ownership controls were not found", status=404)
    return {"OwnershipControls": {"Rules": [{"ObjectOwnership": b["OwnershipControls"]}]}}


def put_bucket_ownership_controls(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    b["OwnershipControls"] = p["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
    return {}


def get_bucket_versioning(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    return {"Status": b.get("Versioning") or None}


def put_bucket_versioning(ctx, p):
    b = _bucket(ctx, p["Bucket"])
    b["Versioning"] = p["VersioningConfiguration"].get("Status", "")
    return {}


def normalize(world):
    for name, b in world.doc.get("s3", {}).get("buckets", {}).items():
        b.setdefault("Name", name)
        b.setdefault("Region", world.doc["region"])
        b.setdefault("CreationDate", "2026-01-01T00:00:00.000Z")
        b.setdefault("Objects", {})
        b.setdefault("Versioning", "")
        b.setdefault("OwnershipControls", "BucketOwnerEnforced")
        for key, o in b["Objects"].items():
            if "Body" in o:
                o["BodyBase64"] = base64.b64encode(o.pop("Body").encode()).decode()
            raw = base64.b64decode(o.get("BodyBase64", ""))
            o.setdefault("Key", key)
            o.setdefault("BodyBase64", "")
            o.setdefault("Size", len(raw))
            o.setdefault("ETag", '"' + hashlib.md5(raw).hexdigest() + '"')
            o.setdefault("LastModified", "2026-01-01T00:00:00.000Z")
            o.setdefault("ContentType", "binary/octet-stream")


OPERATIONS = {
    "CreateBucket": create_bucket, "HeadBucket": head_bucket, "ListBuckets": list_buckets,
    "PutObject": put_object, "GetObject": get_object, "HeadObject": head_object, "ListObjectsV2": list_objects_v2,
    "GetBucketPolicy": get_bucket_policy, "PutBucketPolicy": put_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "GetPublicAccessBlock": get_public_access_block, "PutPublicAccessBlock": put_public_access_block,
    "GetBucketAcl": get_bucket_acl, "PutBucketAcl": put_bucket_acl,
    "GetBucketOwnershipControls": get_bucket_ownership_controls,
    "PutBucketOwnershipControls": put_bucket_ownership_controls,
    "GetBucketVersioning": get_bucket_versioning, "PutBucketVersioning": put_bucket_versioning,
}

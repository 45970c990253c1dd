"""s3control: the account-level S3 Block Public Access (Get/Put/Delete
PublicAccessBlock, the account id in the x-amz-account-id header and, on AWS,
in the host prefix). Kept once per account under s3control.account_public_access_block.
Access points (ListAccessPoints) live in s3control.access_points.<name>, each in its
`_region` (the world's default region when absent): AWS lists those of the endpoint's region."""
from .. import state as st
from ..errors import AwsError

SERVICE = "s3control"


def _store(ctx, account):
    if account != ctx.account:
        raise AwsError("AccessDenied", "Access Denied", status=403)
    return ctx.world.glob("s3control")


def get_public_access_block(ctx, p):
    conf = _store(ctx, p["AccountId"]).get("account_public_access_block")
    if not conf:
        raise AwsError("NoSuchPublicAccessBlockConfiguration",
                       "The public access block configuration was not found", status=404)
    return {"PublicAccessBlockConfiguration": conf}


def put_public_access_block(ctx, p):
    _store(ctx, p["AccountId"])["account_public_access_block"] = p["PublicAccessBlockConfiguration"]
    return {}


def delete_public_access_block(ctx, p):
    _store(ctx, p["AccountId"]).pop("account_public_access_block", None)
    return {}


def list_access_points(ctx, p):
    _store(ctx, p["AccountId"])
    if p.get("MaxResults") is not None and not 0 <= p["MaxResults"] <= 1000:
        raise AwsError("InvalidRequest", "maxResults must be between 0 and 1000")
    points = ctx.world.glob("s3control").get("access_points", {})
    items = [{k: v for k, v in ap.items() if not k.startswith("_")} for _, ap in sorted(points.items())
             if ap.get("_region", ctx.world.doc["region"]) == ctx.region
             and (not p.get("Bucket") or ap.get("Bucket") == p["Bucket"])]
    page, nxt = st.page(items, p, default=1000)
    return {"AccessPointList": page, "NextToken": nxt}


def normalize(world):
    for name, ap in world.doc.get("s3control", {}).get("access_points", {}).items():
        region = ap.setdefault("_region", world.doc["region"])
        ap.setdefault("Name", name)
        ap.setdefault("NetworkOrigin", "VPC" if ap.get("VpcConfiguration") else "Internet")
        ap.setdefault("AccessPointArn", f"arn:aws:s3:{region}:{world.account}:accesspoint/{name}")
        ap.setdefault("Alias", f"{name}-fakeaws0000000000000000000000-s3alias")
        ap.setdefault("BucketAccountId", world.account)


OPERATIONS = {"ListAccessPoints": list_access_points, "GetPublicAccessBlock": get_public_access_block, "PutPublicAccessBlock": put_public_access_block,
              "DeletePublicAccessBlock": delete_public_access_block}

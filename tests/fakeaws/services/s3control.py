"""s3control: the account-level S3 Block Public Access (Get/Put/Delete
PublicAccessBlock, the account id in the x-amz-account-id header and, on AWS,
in the host prefix). Kept once per account under s3control.account_public_access_block."""
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


OPERATIONS = {"GetPublicAccessBlock": get_public_access_block, "PutPublicAccessBlock": put_public_access_block,
              "DeletePublicAccessBlock": delete_public_access_block}

"""kms: DescribeKey, so the runbooks can say which key protects a volume, a
snapshot, a secret or a database. Keys are looked up by id, ARN, alias name or
alias ARN, as KMS does."""
from ..errors import AwsError

SERVICE = "kms"


def _resolve(ctx, ref):
    keys = ctx.state.setdefault("keys", {})
    aliases = ctx.state.setdefault("aliases", {})
    kid = ref
    if ref.startswith("arn:") and ":alias/" in ref:
        kid = aliases.get("alias/" + ref.split(":alias/", 1)[1])
    elif ref.startswith("arn:") and ":key/" in ref:
        kid = ref.split(":key/", 1)[1]
    elif ref.startswith("alias/"):
        kid = aliases.get(ref)
    if kid is None or kid not in keys:
        if ref.startswith("alias/") or ":alias/" in ref:
            name = ref if ref.startswith("alias/") else "alias/" + ref.split(":alias/", 1)[1]
            raise AwsError("NotFoundException", f"Alias arn:aws:kms:{ctx.region}:{ctx.account}:{name} is not found.")
        raise AwsError("NotFoundException", f"Key 'arn:aws:kms:{ctx.region}:{ctx.account}:key/{kid}' does not exist")
    return keys[kid]


def describe_key(ctx, p):
    return {"KeyMetadata": dict(_resolve(ctx, p["KeyId"]))}


def normalize(world):
    acct = world.account
    for region, s in world.doc.get("kms", {}).items():
        for kid, k in s.get("keys", {}).items():
            k.setdefault("KeyId", kid)
            k.setdefault("Arn", f"arn:aws:kms:{region}:{acct}:key/{kid}")
            k.setdefault("AWSAccountId", acct)
            k.setdefault("CreationDate", "2025-01-01T00:00:00Z")
            k.setdefault("Enabled", True)
            k.setdefault("KeyState", "Enabled" if k["Enabled"] else "Disabled")
            k.setdefault("KeyUsage", "ENCRYPT_DECRYPT")
            k.setdefault("KeySpec", "SYMMETRIC_DEFAULT")
            k.setdefault("CustomerMasterKeySpec", k["KeySpec"])
            k.setdefault("EncryptionAlgorithms", ["SYMMETRIC_DEFAULT"])
            k.setdefault("Origin", "AWS_KMS")
            k.setdefault("KeyManager", "CUSTOMER")
            k.setdefault("MultiRegion", False)
            k.setdefault("Description", "")


OPERATIONS = {"DescribeKey": describe_key}

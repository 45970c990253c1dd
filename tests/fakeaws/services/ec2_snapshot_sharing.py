"""ec2 snapshot sharing: who may create volumes from a snapshot
(`CreateVolumePermissions` on the stored snapshot). A stolen key sharing a
snapshot with an outside account is a resource the identity runbooks find and
undo; `Group: all` is a public snapshot."""
from ..errors import AwsError

SERVICE = "ec2"


def _snapshot(ctx, sid):
    snap = ctx.state.setdefault("snapshots", {}).get(sid)
    if snap is None:
        raise AwsError("InvalidSnapshot.NotFound", f"The snapshot '{sid}' does not exist.")
    return snap


def _attribute(p):
    if p["Attribute"] not in ("createVolumePermission", "productCodes"):
        raise AwsError("InvalidParameterValue", f"Value ({p['Attribute']}) for parameter attribute is invalid.")
    return p["Attribute"]


def modify_snapshot_attribute(ctx, p):
    snap = _snapshot(ctx, p["SnapshotId"])
    if _attribute(p) != "createVolumePermission":
        raise AwsError("InvalidParameterCombination", "Only createVolumePermission can be modified.")
    perms = list(snap.get("CreateVolumePermissions", []))
    add = list((p.get("CreateVolumePermission") or {}).get("Add", []))
    remove = list((p.get("CreateVolumePermission") or {}).get("Remove", []))
    extra = [{"UserId": u} for u in p.get("UserIds", [])] + [{"Group": g} for g in p.get("GroupNames", [])]
    if extra:
        if p.get("OperationType") not in ("add", "remove"):
            raise AwsError("MissingParameter", "The request must contain the parameter operationType")
        (add if p["OperationType"] == "add" else remove).extend(extra)
    for e in add:
        if e not in perms:
            perms.append(e)
    perms = [e for e in perms if e not in remove]
    snap["CreateVolumePermissions"] = perms
    return {}


def describe_snapshot_attribute(ctx, p):
    snap = _snapshot(ctx, p["SnapshotId"])
    if _attribute(p) == "productCodes":
        return {"SnapshotId": p["SnapshotId"], "ProductCodes": []}
    return {"SnapshotId": p["SnapshotId"], "CreateVolumePermissions": list(snap.get("CreateVolumePermissions", []))}


OPERATIONS = {"ModifySnapshotAttribute": modify_snapshot_attribute,
              "DescribeSnapshotAttribute": describe_snapshot_attribute}

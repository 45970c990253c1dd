"""Shared by the ec2 handler modules: lookups with AWS's not-found errors, tags,
and the derived views (an instance's ENIs, groups and block devices are read from
the ENI and volume records, so there is one source of truth)."""
from ..errors import AwsError
from .. import state as st

# id prefix -> (collection, not-found code, resource type for DescribeTags)
KINDS = {
    "i": ("instances", "InvalidInstanceID.NotFound", "instance"),
    "vol": ("volumes", "InvalidVolume.NotFound", "volume"),
    "snap": ("snapshots", "InvalidSnapshot.NotFound", "snapshot"),
    "sg": ("security_groups", "InvalidGroup.NotFound", "security-group"),
    "sgr": ("security_group_rules", "InvalidSecurityGroupRuleId.NotFound", "security-group-rule"),
    "eni": ("network_interfaces", "InvalidNetworkInterfaceID.NotFound", "network-interface"),
    "vpc": ("vpcs", "InvalidVpcID.NotFound", "vpc"),
    "subnet": ("subnets", "InvalidSubnetID.NotFound", "subnet"),
    "acl": ("network_acls", "InvalidNetworkAclID.NotFound", "network-acl"),
    "eipalloc": ("addresses", "InvalidAllocationID.NotFound", "elastic-ip"),
    "key": ("key_pairs", "InvalidKeyPair.NotFound", "key-pair"),
}
COLLECTIONS = ("vpcs", "subnets", "security_groups", "security_group_rules", "instances",
               "network_interfaces", "volumes", "snapshots", "addresses", "network_acls", "key_pairs",
               "iam_instance_profile_associations", "instance_types")

STATES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


def ec2(ctx, region=None):
    """This region's ec2 state with every collection present."""
    s = ctx.regional("ec2", region)
    for c in COLLECTIONS:
        s.setdefault(c, {})
    return s


def tag_key(resource_id):
    return "TagSet" if resource_id.startswith("eni-") else "Tags"


def find(ctx, resource_id, kind=None):
    """The resource with this id, or the AWS NotFound/Malformed error."""
    prefix = resource_id.split("-", 1)[0]
    if kind and prefix != kind:
        code = KINDS[kind][1].replace(".NotFound", ".Malformed")
        raise AwsError(code, f'Invalid id: "{resource_id}"')
    if prefix not in KINDS or "-" not in resource_id:
        raise AwsError("InvalidID", f'The ID \'{resource_id}\' is not valid')
    coll, code, _ = KINDS[prefix]
    s = ec2(ctx)
    if prefix == "key":
        for kp in s["key_pairs"].values():
            if kp.get("KeyPairId") == resource_id:
                return kp
        raise AwsError(code, f"The key pair '{resource_id}' does not exist")
    r = s[coll].get(resource_id)
    if r is None:
        raise AwsError(code, not_found_message(prefix, resource_id))
    return r


def not_found_message(prefix, rid):
    what = {"i": "instance ID", "vol": "volume", "snap": "snapshot", "sg": "security group",
            "sgr": "security group rule ID", "eni": "networkInterface ID", "vpc": "vpc ID",
            "subnet": "subnet ID", "acl": "network ACL ID", "eipalloc": "allocation ID"}[prefix]
    return f"The {what} '{rid}' does not exist"


def find_many(ctx, ids, kind):
    """Resources for explicit ids; all missing ones named in one error, as AWS does."""
    s = ec2(ctx)
    coll, code, _ = KINDS[kind]
    for i in ids:
        if not i.startswith(kind + "-"):
            raise AwsError(code.replace(".NotFound", ".Malformed"), f'Invalid id: "{i}"')
    missing = [i for i in ids if i not in s[coll]]
    if missing:
        if kind == "i" and len(missing) > 1:
            raise AwsError(code, f"The instance IDs '{', '.join(missing)}' do not exist")
        raise AwsError(code, not_found_message(kind, missing[0]))
    return [s[coll][i] for i in ids]


def select(ctx, kind, ids, filters, getters):
    """Resources of a kind: by explicit ids (all must exist) or all, then filtered."""
    s = ec2(ctx)
    items = find_many(ctx, ids, kind) if ids else list(s[KINDS[kind][0]].values())
    return st.match_filters(items, filters, getters)


def apply_tag_specs(resource, specs, resource_type):
    for spec in specs or []:
        if spec.get("ResourceType") in (None, resource_type):
            st.set_tags(resource, spec.get("Tags", []))


def enis_of(ctx, instance_id):
    s = ec2(ctx)
    enis = [e for e in s["network_interfaces"].values()
            if (e.get("Attachment") or {}).get("InstanceId") == instance_id]
    return sorted(enis, key=lambda e: e["Attachment"].get("DeviceIndex", 0))


def volumes_of(ctx, instance_id):
    s = ec2(ctx)
    out = []
    for v in s["volumes"].values():
        for a in v.get("Attachments", []):
            if a.get("InstanceId") == instance_id:
                out.append((v, a))
    return sorted(out, key=lambda va: va[1].get("Device", ""))


def groups_of(ctx, instance_id):
    seen, out = set(), []
    for e in enis_of(ctx, instance_id):
        for g in e.get("Groups", []):
            if g["GroupId"] not in seen:
                seen.add(g["GroupId"])
                out.append(dict(g))
    return out


def block_devices(ctx, instance_id):
    return [{"DeviceName": a["Device"],
             "Ebs": {"AttachTime": a.get("AttachTime"), "DeleteOnTermination": a.get("DeleteOnTermination", False),
                     "Status": a.get("State", "attached"), "VolumeId": v["VolumeId"]}}
            for v, a in volumes_of(ctx, instance_id)]


def instance_view(ctx, inst):
    """The Instance as DescribeInstances returns it."""
    out = dict(inst)
    iid = inst["InstanceId"]
    out["NetworkInterfaces"] = [{k: v for k, v in e.items() if k != "TagSet"} for e in enis_of(ctx, iid)]
    out["SecurityGroups"] = groups_of(ctx, iid)
    out["BlockDeviceMappings"] = block_devices(ctx, iid)
    return out


def group_ref(ctx, group_id):
    g = find(ctx, group_id, "sg")
    return {"GroupId": g["GroupId"], "GroupName": g["GroupName"]}

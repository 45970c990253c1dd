"""ec2: instances, their attributes and lifecycle, volumes and snapshots, tags,
key pairs, regions, console output, instance profile associations.
(Networking lives in ec2_network.py.)"""
import base64

from .. import state as st
from ..errors import AwsError
from . import _ec2util as u

SERVICE = "ec2"

# A 1x1 JPEG: what GetConsoleScreenshot returns when the world has no image.
_JPEG = base64.b64encode(bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c19"
    "12130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b08"
    "0001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000"
    "02010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f0"
    "2433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768"
    "696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3"
    "c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fb"
    "d3ffd9")).decode()


def _inst_getters(ctx):
    return {
        "instance-id": lambda i: [i["InstanceId"]],
        "instance-state-name": lambda i: [i["State"]["Name"]],
        "instance-state-code": lambda i: [i["State"]["Code"]],
        "instance-type": lambda i: [i.get("InstanceType")],
        "vpc-id": lambda i: [i.get("VpcId")],
        "subnet-id": lambda i: [i.get("SubnetId")],
        "key-name": lambda i: [i.get("KeyName")],
        "private-ip-address": lambda i: [i.get("PrivateIpAddress")],
        "ip-address": lambda i: [i.get("PublicIpAddress")],
        "availability-zone": lambda i: [i.get("Placement", {}).get("AvailabilityZone")],
        "iam-instance-profile.arn": lambda i: [(i.get("IamInstanceProfile") or {}).get("Arn")],
        "network-interface.network-interface-id": lambda i: [e["NetworkInterfaceId"]
                                                             for e in u.enis_of(ctx, i["InstanceId"])],
        "instance.group-id": lambda i: [g["GroupId"] for g in u.groups_of(ctx, i["InstanceId"])],
        "block-device-mapping.volume-id": lambda i: [v["VolumeId"] for v, _ in u.volumes_of(ctx, i["InstanceId"])],
    }


def _advance(ctx, inst):
    """A stopping instance becomes stopped after `stop_polls` Describe calls."""
    if inst["State"]["Name"] in ("stopping", "shutting-down"):
        inst["_polls"] = inst.get("_polls", 0) + 1
        if inst["_polls"] >= ctx.settings("stop_polls"):
            final = "stopped" if inst["State"]["Name"] == "stopping" else "terminated"
            inst["State"] = {"Code": u.STATES[final], "Name": final}
            inst["_polls"] = 0


def describe_instances(ctx, p):
    ids = p.get("InstanceIds") or []
    if ids and p.get("MaxResults"):
        raise AwsError("InvalidParameterCombination",
                       "The parameter instancesSet cannot be used with the parameter maxResults")
    items = u.select(ctx, "i", ids, p.get("Filters"), _inst_getters(ctx))
    for i in items:
        _advance(ctx, i)
    items, nxt = st.page(items, p, default=ctx.settings("page_size"), lo=5, hi=1000)
    res = [{"ReservationId": i.get("_reservation", "r-" + i["InstanceId"][2:]), "OwnerId": ctx.account,
            "Groups": [], "Instances": [u.instance_view(ctx, i)]} for i in items]
    return {"Reservations": res, "NextToken": nxt}


def describe_instance_types(ctx, p):
    s = u.ec2(ctx)
    names = p.get("InstanceTypes") or list(s["instance_types"])
    out = []
    for n in names:
        if n not in s["instance_types"]:
            raise AwsError("InvalidInstanceType", f"The following supplied instance types do not exist: [{n}]")
        out.append(s["instance_types"][n])
    out = st.match_filters(out, p.get("Filters"), {"instance-type": lambda t: [t["InstanceType"]],
                                                   "instance-storage-supported":
                                                       lambda t: [t.get("InstanceStorageSupported", False)]})
    items, nxt = st.page(out, p)
    return {"InstanceTypes": items, "NextToken": nxt}


def describe_instance_attribute(ctx, p):
    inst = u.find(ctx, p["InstanceId"], "i")
    attr = p["Attribute"]
    a = inst.setdefault("Attributes", {})
    iid = inst["InstanceId"]
    out = {"InstanceId": iid}
    simple = {"disableApiTermination": ("DisableApiTermination", False),
              "disableApiStop": ("DisableApiStop", False),
              "instanceInitiatedShutdownBehavior": ("InstanceInitiatedShutdownBehavior", "stop"),
              "userData": ("UserData", None), "sourceDestCheck": ("SourceDestCheck", True),
              "ebsOptimized": ("EbsOptimized", False), "instanceType": ("InstanceType", None),
              "rootDeviceName": ("RootDeviceName", None)}
    if attr == "groupSet":
        out["Groups"] = u.groups_of(ctx, iid)
    elif attr == "blockDeviceMapping":
        out["BlockDeviceMappings"] = u.block_devices(ctx, iid)
    elif attr in simple:
        key, default = simple[attr]
        val = a.get(key, inst.get(key, default))
        if val is not None:
            out[key] = {"Value": val}
    else:
        raise AwsError("InvalidParameterValue", f"Value ({attr}) for parameter attribute is invalid. "
                       "Unknown attribute.")
    return out


def modify_instance_attribute(ctx, p):
    inst = u.find(ctx, p["InstanceId"], "i")
    iid = inst["InstanceId"]
    a = inst.setdefault("Attributes", {})
    legacy = {"disableApiTermination": "DisableApiTermination", "disableApiStop": "DisableApiStop",
              "instanceInitiatedShutdownBehavior": "InstanceInitiatedShutdownBehavior"}
    if p.get("Attribute"):     # the older Attribute=name, Value=v form
        key = legacy.get(p["Attribute"])
        if key is None:
            raise AwsError("InvalidParameterValue", f"Value ({p['Attribute']}) for parameter attribute is invalid.")
        val = p.get("Value")
        p = dict(p, **{key: {"Value": val if key == "InstanceInitiatedShutdownBehavior" else val == "true"}})
    for key in ("DisableApiTermination", "DisableApiStop", "SourceDestCheck", "EbsOptimized"):
        if key in p:
            a[key] = bool(p[key].get("Value"))
    if "InstanceInitiatedShutdownBehavior" in p:
        v = p["InstanceInitiatedShutdownBehavior"].get("Value")
        if v not in ("stop", "terminate"):
            raise AwsError("InvalidParameterValue",
                           f"Value ({v}) for parameter instanceInitiatedShutdownBehavior is invalid.")
        a["InstanceInitiatedShutdownBehavior"] = v
    if p.get("BlockDeviceMappings"):
        attached = {a2["Device"]: a2 for _, a2 in u.volumes_of(ctx, iid)}
        for m in p["BlockDeviceMappings"]:
            dev = m.get("DeviceName")
            if dev not in attached:
                raise AwsError("InvalidInstanceAttributeValue", f"No device is currently mapped at {dev}")
            if "DeleteOnTermination" in (m.get("Ebs") or {}):
                attached[dev]["DeleteOnTermination"] = bool(m["Ebs"]["DeleteOnTermination"])
    if p.get("Groups"):
        enis = u.enis_of(ctx, iid)
        if len(enis) > 1:
            raise AwsError("InvalidInstanceID", f"There are multiple interfaces attached to instance '{iid}'. "
                           "Please specify an interface ID for the operation instead.")
        refs = [u.group_ref(ctx, g) for g in p["Groups"]]
        for e in enis:
            e["Groups"] = refs
    return {}


def stop_instances(ctx, p):
    out = []
    for inst in u.find_many(ctx, p["InstanceIds"], "i"):
        prev = dict(inst["State"])
        if prev["Name"] in ("terminated", "shutting-down"):
            raise AwsError("IncorrectInstanceState",
                           f"This instance '{inst['InstanceId']}' is not in a state from which it can be stopped.")
        if inst.get("Attributes", {}).get("DisableApiStop"):
            raise AwsError("OperationNotPermitted", f"The instance '{inst['InstanceId']}' may not be stopped. "
                           "Modify its 'disableApiStop' instance attribute and try again.")
        if prev["Name"] not in ("stopped", "stopping"):
            inst["State"] = {"Code": u.STATES["stopping"], "Name": "stopping"}
            inst["StateTransitionReason"] = f"User initiated ({ctx.now()[:19].replace('T', ' ')} GMT)"
            inst["_polls"] = 0
            if not _has_eip(ctx, inst):
                inst.pop("PublicIpAddress", None)   # an auto-assigned public IP goes on stop
        out.append({"InstanceId": inst["InstanceId"], "PreviousState": prev, "CurrentState": dict(inst["State"])})
    return {"StoppingInstances": out}


def _has_eip(ctx, inst):
    return any(a.get("InstanceId") == inst["InstanceId"] for a in u.ec2(ctx)["addresses"].values())


def terminate_instances(ctx, p):
    insts = u.find_many(ctx, p["InstanceIds"], "i")
    for inst in insts:
        if inst.get("Attributes", {}).get("DisableApiTermination"):
            raise AwsError("OperationNotPermitted", f"The instance '{inst['InstanceId']}' may not be terminated. "
                           "Modify its 'disableApiTermination' instance attribute and try again.")
    out = []
    s = u.ec2(ctx)
    for inst in insts:
        prev = dict(inst["State"])
        inst["State"] = {"Code": u.STATES["shutting-down"], "Name": "shutting-down"}
        for v, a in u.volumes_of(ctx, inst["InstanceId"]):
            if a.get("DeleteOnTermination"):
                del s["volumes"][v["VolumeId"]]
            else:
                v["Attachments"] = [x for x in v["Attachments"] if x is not a]
                v["State"] = "available"
        for e in u.enis_of(ctx, inst["InstanceId"]):
            if e["Attachment"].get("DeleteOnTermination"):
                del s["network_interfaces"][e["NetworkInterfaceId"]]
            else:
                e.pop("Attachment")
                e["Status"] = "available"
        out.append({"InstanceId": inst["InstanceId"], "PreviousState": prev, "CurrentState": dict(inst["State"])})
    return {"TerminatingInstances": out}


def get_console_output(ctx, p):
    inst = u.find(ctx, p["InstanceId"], "i")
    text = inst.get("_console_output", "")
    return {"InstanceId": inst["InstanceId"], "Timestamp": ctx.now(),
            "Output": base64.b64encode(text.encode()).decode() if text else None}


def get_console_screenshot(ctx, p):
    inst = u.find(ctx, p["InstanceId"], "i")
    if inst["State"]["Name"] != "running":
        raise AwsError("IncorrectInstanceState", f"The instance '{inst['InstanceId']}' is not in the 'running' state.")
    return {"InstanceId": inst["InstanceId"], "ImageData": inst.get("_screenshot", _JPEG)}


# ---------------------------------------------------------------- volumes and snapshots

def describe_volumes(ctx, p):
    getters = {
        "volume-id": lambda v: [v["VolumeId"]],
        "attachment.instance-id": lambda v: [a.get("InstanceId") for a in v.get("Attachments", [])],
        "attachment.device": lambda v: [a.get("Device") for a in v.get("Attachments", [])],
        "attachment.delete-on-termination": lambda v: [a.get("DeleteOnTermination", False)
                                                       for a in v.get("Attachments", [])],
        "encrypted": lambda v: [v.get("Encrypted", False)],
        "status": lambda v: [v.get("State")],
        "availability-zone": lambda v: [v.get("AvailabilityZone")],
        "volume-type": lambda v: [v.get("VolumeType")],
    }
    ids = p.get("VolumeIds") or []
    items = u.select(ctx, "vol", ids, p.get("Filters"), getters)
    items, nxt = st.page(items, p, default=ctx.settings("page_size"), lo=5, hi=500)
    return {"Volumes": items, "NextToken": nxt}


def _snapshot(ctx, vol, description, tags):
    sid = ctx.new_id("snap")
    snap = {"SnapshotId": sid, "VolumeId": vol["VolumeId"], "VolumeSize": vol.get("Size"),
            "State": "pending", "Progress": "0%", "StartTime": ctx.now(), "OwnerId": ctx.account,
            "Description": description or "", "Encrypted": bool(vol.get("Encrypted")), "Tags": [], "_polls": 0}
    if vol.get("KmsKeyId"):
        snap["KmsKeyId"] = vol["KmsKeyId"]
    u.apply_tag_specs(snap, tags, "snapshot")
    u.ec2(ctx)["snapshots"][sid] = snap
    return snap


def create_snapshot(ctx, p):
    vol = u.find(ctx, p["VolumeId"], "vol")
    return dict(_snapshot(ctx, vol, p.get("Description"), p.get("TagSpecifications")))


def create_snapshots(ctx, p):
    spec = p["InstanceSpecification"]
    inst = u.find(ctx, spec["InstanceId"], "i")
    exclude = set(spec.get("ExcludeDataVolumeIds") or [])
    out = []
    for vol, att in u.volumes_of(ctx, inst["InstanceId"]):
        if vol["VolumeId"] in exclude:
            continue
        if spec.get("ExcludeBootVolume") and att["Device"] == inst.get("RootDeviceName"):
            continue
        snap = _snapshot(ctx, vol, p.get("Description"), p.get("TagSpecifications"))
        if p.get("CopyTagsFromSource") == "volume":
            st.set_tags(snap, vol.get("Tags", []))
        out.append(snap)
    return {"Snapshots": out}


def describe_snapshots(ctx, p):
    getters = {"snapshot-id": lambda s: [s["SnapshotId"]], "volume-id": lambda s: [s["VolumeId"]],
               "status": lambda s: [s["State"]], "owner-id": lambda s: [s.get("OwnerId")],
               "description": lambda s: [s.get("Description", "")]}
    ids = p.get("SnapshotIds") or []
    items = u.select(ctx, "snap", ids, p.get("Filters"), getters)
    owners = p.get("OwnerIds")
    if owners:
        items = [s for s in items if s.get("OwnerId") in owners or ("self" in owners and s.get("OwnerId") == ctx.account)]
    for s in items:
        if s["State"] == "pending":
            s["_polls"] += 1
            need = max(1, ctx.settings("snapshot_polls"))
            s["Progress"] = f"{min(100, 100 * s['_polls'] // need)}%"
            if s["_polls"] >= need:
                s["State"], s["Progress"] = "completed", "100%"
    items, nxt = st.page(items, p, default=ctx.settings("page_size"), lo=5, hi=1000)
    return {"Snapshots": items, "NextToken": nxt}


# ---------------------------------------------------------------- tags

def _taggable(ctx, rid):
    return u.find(ctx, rid)


def create_tags(ctx, p):
    targets = [_taggable(ctx, r) for r in p["Resources"]]
    for rid, r in zip(p["Resources"], targets):
        key = u.tag_key(rid)
        holder = {"Tags": r.get(key, [])}
        st.set_tags(holder, p.get("Tags", []))
        r[key] = holder["Tags"]
    return {}


def delete_tags(ctx, p):
    targets = [_taggable(ctx, r) for r in p["Resources"]]
    for rid, r in zip(p["Resources"], targets):
        key = u.tag_key(rid)
        if p.get("Tags"):
            holder = {"Tags": r.get(key, [])}
            st.delete_tags(holder, p["Tags"])
            r[key] = holder["Tags"]
        else:
            r[key] = []
    return {}


def describe_tags(ctx, p):
    s = u.ec2(ctx)
    rows = []
    for prefix, (coll, _, rtype) in sorted(u.KINDS.items()):
        for r in s[coll].values():
            rid = r.get("KeyPairId") if prefix == "key" else _id_of(prefix, r)
            for t in r.get(u.tag_key(rid or ""), []) or []:
                rows.append({"Key": t["Key"], "Value": t.get("Value", ""), "ResourceId": rid, "ResourceType": rtype})
    getters = {"resource-id": lambda t: [t["ResourceId"]], "resource-type": lambda t: [t["ResourceType"]],
               "key": lambda t: [t["Key"]], "value": lambda t: [t["Value"]]}
    flt = [f for f in p.get("Filters") or [] if not f["Name"].startswith("tag")]
    rows = st.match_filters(rows, flt, getters)
    rows, nxt = st.page(rows, p)
    return {"Tags": rows, "NextToken": nxt}


def _id_of(prefix, r):
    for k in ("InstanceId", "VolumeId", "SnapshotId", "GroupId", "SecurityGroupRuleId", "NetworkInterfaceId",
              "VpcId", "SubnetId", "NetworkAclId", "AllocationId"):
        if k in r and str(r[k]).startswith(prefix + "-"):
            return r[k]
    return None


# ---------------------------------------------------------------- key pairs, regions

def describe_key_pairs(ctx, p):
    s = u.ec2(ctx)
    items = list(s["key_pairs"].values())
    for name in p.get("KeyNames") or []:
        if name not in s["key_pairs"]:
            raise AwsError("InvalidKeyPair.NotFound", f"The key pair '{name}' does not exist")
    if p.get("KeyNames"):
        items = [s["key_pairs"][n] for n in p["KeyNames"]]
    if p.get("KeyPairIds"):
        items = [u.find(ctx, k) for k in p["KeyPairIds"]]
    items = st.match_filters(items, p.get("Filters"), {"key-name": lambda k: [k["KeyName"]],
                                                       "key-pair-id": lambda k: [k.get("KeyPairId")],
                                                       "fingerprint": lambda k: [k.get("KeyFingerprint")]})
    return {"KeyPairs": items}


def delete_key_pair(ctx, p):
    s = u.ec2(ctx)
    name = p.get("KeyName")
    if not name and p.get("KeyPairId"):
        name = next((k for k, v in s["key_pairs"].items() if v.get("KeyPairId") == p["KeyPairId"]), None)
    kp = s["key_pairs"].pop(name, None) if name else None
    return {"Return": True, "KeyPairId": kp.get("KeyPairId") if kp else None}


def describe_regions(ctx, p):
    names = p.get("RegionNames") or ctx.world.doc["regions"]
    for n in names:
        if n not in ctx.world.doc["regions"]:
            raise AwsError("InvalidParameterValue", f"Invalid region: {n}")
    return {"Regions": [{"RegionName": n, "Endpoint": f"ec2.{n}.amazonaws.com", "OptInStatus": "opt-in-not-required"}
                        for n in names]}


# ---------------------------------------------------------------- instance profiles

def describe_iam_instance_profile_associations(ctx, p):
    s = u.ec2(ctx)
    items = list(s["iam_instance_profile_associations"].values())
    if p.get("AssociationIds"):
        missing = [a for a in p["AssociationIds"] if a not in s["iam_instance_profile_associations"]]
        if missing:
            raise AwsError("InvalidAssociationID.NotFound", f"An association ID {missing[0]} does not exist")
        items = [s["iam_instance_profile_associations"][a] for a in p["AssociationIds"]]
    items = st.match_filters(items, p.get("Filters"), {"instance-id": lambda a: [a["InstanceId"]],
                                                       "state": lambda a: [a["State"]]})
    items, nxt = st.page(items, p)
    return {"IamInstanceProfileAssociations": items, "NextToken": nxt}


def disassociate_iam_instance_profile(ctx, p):
    s = u.ec2(ctx)
    assoc = s["iam_instance_profile_associations"].pop(p["AssociationId"], None)
    if assoc is None:
        raise AwsError("InvalidAssociationID.NotFound", f"An association ID {p['AssociationId']} does not exist")
    inst = s["instances"].get(assoc["InstanceId"])
    if inst:
        inst.pop("IamInstanceProfile", None)
    return {"IamInstanceProfileAssociation": dict(assoc, State="disassociating")}


def normalize(world):
    """Fill what a world file may leave out on instances and volumes."""
    for region, s in world.doc.get("ec2", {}).items():
        for iid, inst in s.get("instances", {}).items():
            inst.setdefault("InstanceId", iid)
            inst.setdefault("State", {"Code": 16, "Name": "running"})
            inst.setdefault("LaunchTime", "2026-11-30T09:00:00.000Z")
            inst.setdefault("RootDeviceName", "/dev/xvda")
            inst.setdefault("RootDeviceType", "ebs")
            inst.setdefault("Tags", [])
            inst.setdefault("Attributes", {"DisableApiTermination": False, "DisableApiStop": False,
                                           "InstanceInitiatedShutdownBehavior": "stop"})
        for vid, v in s.get("volumes", {}).items():
            v.setdefault("VolumeId", vid)
            v.setdefault("State", "in-use" if v.get("Attachments") else "available")
            v.setdefault("Encrypted", False)
            v.setdefault("Tags", [])
            for a in v.get("Attachments", []):
                a.setdefault("VolumeId", vid)
                a.setdefault("State", "attached")
                a.setdefault("DeleteOnTermination", True)


OPERATIONS = {
    "DescribeInstances": describe_instances,
    "DescribeInstanceTypes": describe_instance_types,
    "DescribeInstanceAttribute": describe_instance_attribute,
    "ModifyInstanceAttribute": modify_instance_attribute,
    "StopInstances": stop_instances,
    "TerminateInstances": terminate_instances,
    "GetConsoleOutput": get_console_output,
    "GetConsoleScreenshot": get_console_screenshot,
    "DescribeVolumes": describe_volumes,
    "CreateSnapshot": create_snapshot,
    "CreateSnapshots": create_snapshots,
    "DescribeSnapshots": describe_snapshots,
    "CreateTags": create_tags,
    "DeleteTags": delete_tags,
    "DescribeTags": describe_tags,
    "DescribeKeyPairs": describe_key_pairs,
    "DeleteKeyPair": delete_key_pair,
    "DescribeRegions": describe_regions,
    "DescribeIamInstanceProfileAssociations": describe_iam_instance_profile_associations,
    "DisassociateIamInstanceProfile": disassociate_iam_instance_profile,
}

"""ec2 networking: VPCs, subnets, security groups and their rules, network
interfaces, network ACLs, Elastic IPs.

Security group rules are stored one per peer (as DescribeSecurityGroupRules shows
them, each with its sgr- id); DescribeSecurityGroups groups them back into
IpPermissions the way EC2 does."""
from .. import state as st
from ..errors import AwsError
from . import _ec2util as u

SERVICE = "ec2"
_PROTO = {"-1": "-1", "all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_PEERS = (("IpRanges", "CidrIp", "CidrIpv4"), ("Ipv6Ranges", "CidrIpv6", "CidrIpv6"),
          ("PrefixListIds", "PrefixListId", "PrefixListId"))


# ---------------------------------------------------------------- VPCs, subnets, ACLs

def describe_vpcs(ctx, p):
    g = {"vpc-id": lambda v: [v["VpcId"]], "is-default": lambda v: [v.get("IsDefault", False)],
         "cidr": lambda v: [v.get("CidrBlock")], "state": lambda v: [v.get("State", "available")]}
    items, nxt = st.page(u.select(ctx, "vpc", p.get("VpcIds") or [], p.get("Filters"), g), p)
    return {"Vpcs": items, "NextToken": nxt}


def describe_subnets(ctx, p):
    g = {"vpc-id": lambda s: [s["VpcId"]], "subnet-id": lambda s: [s["SubnetId"]],
         "availability-zone": lambda s: [s.get("AvailabilityZone")], "cidr-block": lambda s: [s.get("CidrBlock")],
         "default-for-az": lambda s: [s.get("DefaultForAz", False)], "state": lambda s: [s.get("State")]}
    items, nxt = st.page(u.select(ctx, "subnet", p.get("SubnetIds") or [], p.get("Filters"), g), p)
    return {"Subnets": items, "NextToken": nxt}


def describe_network_acls(ctx, p):
    g = {"vpc-id": lambda a: [a["VpcId"]], "network-acl-id": lambda a: [a["NetworkAclId"]],
         "default": lambda a: [a.get("IsDefault", False)],
         "association.subnet-id": lambda a: [x.get("SubnetId") for x in a.get("Associations", [])]}
    items, nxt = st.page(u.select(ctx, "acl", p.get("NetworkAclIds") or [], p.get("Filters"), g), p)
    return {"NetworkAcls": items, "NextToken": nxt}


def create_network_acl_entry(ctx, p):
    acl = u.find(ctx, p["NetworkAclId"], "acl")
    n = p["RuleNumber"]
    if not 1 <= n <= 32766:
        raise AwsError("InvalidParameterValue", f"Value ({n}) for parameter ruleNumber is invalid.")
    if p.get("RuleAction") not in ("allow", "deny"):
        raise AwsError("InvalidParameterValue", f"Value ({p.get('RuleAction')}) for parameter ruleAction is invalid.")
    entries = acl.setdefault("Entries", [])
    if any(e["RuleNumber"] == n and e.get("Egress", False) == p["Egress"] for e in entries):
        raise AwsError("NetworkAclEntryAlreadyExists", f"The network acl entry identified by {n} already exists.")
    e = {"RuleNumber": n, "Protocol": p["Protocol"], "RuleAction": p["RuleAction"], "Egress": p["Egress"]}
    for k in ("CidrBlock", "Ipv6CidrBlock", "PortRange", "IcmpTypeCode"):
        if k in p:
            e[k] = p[k]
    entries.append(e)
    entries.sort(key=lambda x: (x.get("Egress", False), x["RuleNumber"]))
    return {}


def delete_network_acl_entry(ctx, p):
    acl = u.find(ctx, p["NetworkAclId"], "acl")
    before = acl.get("Entries", [])
    after = [e for e in before if not (e["RuleNumber"] == p["RuleNumber"] and e.get("Egress", False) == p["Egress"])]
    if len(after) == len(before):
        raise AwsError("InvalidNetworkAclEntry.NotFound", "The specified rule does not exist in this network acl.")
    acl["Entries"] = after
    return {}


# ---------------------------------------------------------------- security groups

def _rules(ctx, group_id, egress=None):
    return [r for r in u.ec2(ctx)["security_group_rules"].values()
            if r["GroupId"] == group_id and (egress is None or r["IsEgress"] == egress)]


def _permissions(rules):
    perms, order = {}, []
    for r in rules:
        key = (r["IpProtocol"], r.get("FromPort"), r.get("ToPort"))
        if key not in perms:
            perm = {"IpProtocol": r["IpProtocol"], "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                    "UserIdGroupPairs": []}
            if r["IpProtocol"] != "-1":
                perm["FromPort"], perm["ToPort"] = r.get("FromPort"), r.get("ToPort")
            perms[key] = perm
            order.append(key)
        perm = perms[key]
        desc = {"Description": r["Description"]} if r.get("Description") else {}
        for lst, field, rfield in _PEERS:
            if rfield in r:
                perm[lst].append(dict({field: r[rfield]}, **desc))
        if "ReferencedGroupInfo" in r:
            perm["UserIdGroupPairs"].append(dict(r["ReferencedGroupInfo"], **desc))
    return [perms[k] for k in order]


def _group_view(ctx, g):
    out = dict(g)
    out["IpPermissions"] = _permissions(_rules(ctx, g["GroupId"], False))
    out["IpPermissionsEgress"] = _permissions(_rules(ctx, g["GroupId"], True))
    return out


def _explode(ctx, group, perms, egress):
    """IpPermissions -> rule records (without ids), one per peer."""
    out = []
    for perm in perms:
        proto = str(perm.get("IpProtocol", "")).lower()
        proto = _PROTO.get(proto, proto)
        if proto == "-1" or ("FromPort" not in perm and proto in ("icmp", "icmpv6")):
            lo = hi = -1
        else:
            lo, hi = perm.get("FromPort"), perm.get("ToPort")
            if lo is None or hi is None:
                raise AwsError("InvalidParameterValue", "Invalid value for portRange. Must specify both from "
                               "and to ports with TCP/UDP.")
        base = {"GroupId": group["GroupId"], "GroupOwnerId": ctx.account, "IsEgress": egress,
                "IpProtocol": proto, "FromPort": lo, "ToPort": hi}
        for lst, field, rfield in _PEERS:
            for peer in perm.get(lst) or []:
                r = dict(base, **{rfield: peer[field]})
                if peer.get("Description"):
                    r["Description"] = peer["Description"]
                out.append(r)
        for pair in perm.get("UserIdGroupPairs") or []:
            ref = pair.get("GroupId")
            if ref is None and pair.get("GroupName"):
                ref = _by_name(ctx, pair["GroupName"], group["VpcId"])["GroupId"]
            u.find(ctx, ref, "sg")
            r = dict(base, ReferencedGroupInfo={"GroupId": ref, "UserId": pair.get("UserId", ctx.account)})
            if pair.get("Description"):
                r["Description"] = pair["Description"]
            out.append(r)
    return out


def _same(a, b):
    keys = ("IsEgress", "IpProtocol", "FromPort", "ToPort", "CidrIpv4", "CidrIpv6", "PrefixListId")
    return all(a.get(k) == b.get(k) for k in keys) and \
        (a.get("ReferencedGroupInfo") or {}).get("GroupId") == (b.get("ReferencedGroupInfo") or {}).get("GroupId")


def _describe_rule(r):
    peer = r.get("CidrIpv4") or r.get("CidrIpv6") or r.get("PrefixListId") or \
        (r.get("ReferencedGroupInfo") or {}).get("GroupId")
    proto = "ALL" if r["IpProtocol"] == "-1" else r["IpProtocol"].upper()
    ports = "" if r["IpProtocol"] == "-1" else f", from port: {r['FromPort']}, to port: {r['ToPort']}"
    return f'peer: {peer}, {proto}{ports}, ALLOW'


def _legacy_perms(p):
    if not p.get("IpProtocol") and not p.get("CidrIp"):
        return p.get("IpPermissions") or []
    perm = {"IpProtocol": p.get("IpProtocol", "-1")}
    if "FromPort" in p:
        perm["FromPort"], perm["ToPort"] = p["FromPort"], p.get("ToPort")
    if p.get("CidrIp"):
        perm["IpRanges"] = [{"CidrIp": p["CidrIp"]}]
    return [perm]


def _group_for(ctx, p):
    if p.get("GroupId"):
        return u.find(ctx, p["GroupId"], "sg")
    if p.get("GroupName"):
        return _by_name(ctx, p["GroupName"], None)
    raise AwsError("MissingParameter", "The request must contain the parameter groupId")


def _by_name(ctx, name, vpc_id):
    s = u.ec2(ctx)
    if vpc_id is None:
        vpc_id = next((v["VpcId"] for v in s["vpcs"].values() if v.get("IsDefault")), None)
    for g in s["security_groups"].values():
        if g["GroupName"] == name and g.get("VpcId") == vpc_id:
            return g
    raise AwsError("InvalidGroup.NotFound", f"The security group '{name}' does not exist in default VPC "
                   f"'{vpc_id or 'none'}'")


def _authorize(ctx, p, egress):
    g = _group_for(ctx, p)
    new = _explode(ctx, g, _legacy_perms(p), egress)
    existing = _rules(ctx, g["GroupId"], egress)
    for r in new:
        if any(_same(r, e) for e in existing):
            raise AwsError("InvalidPermission.Duplicate", f'the specified rule "{_describe_rule(r)}" already exists')
    out = []
    for r in new:
        r["SecurityGroupRuleId"] = ctx.new_id("sgr")
        r["Tags"] = []
        u.apply_tag_specs(r, p.get("TagSpecifications"), "security-group-rule")
        u.ec2(ctx)["security_group_rules"][r["SecurityGroupRuleId"]] = r
        out.append(dict(r))
    return {"Return": True, "SecurityGroupRules": out}


def _revoke(ctx, p, egress):
    g = _group_for(ctx, p)
    rules = u.ec2(ctx)["security_group_rules"]
    if p.get("SecurityGroupRuleIds"):
        for rid in p["SecurityGroupRuleIds"]:
            r = rules.get(rid)
            if r is None or r["GroupId"] != g["GroupId"] or r["IsEgress"] != egress:
                raise AwsError("InvalidSecurityGroupRuleId.NotFound",
                               f"The security group rule ID '{rid}' does not exist")
        for rid in p["SecurityGroupRuleIds"]:
            del rules[rid]
        return {"Return": True}
    unknown = []
    for perm in _legacy_perms(p):
        for want in _explode(ctx, g, [perm], egress):
            hit = [rid for rid, r in rules.items() if r["GroupId"] == g["GroupId"] and _same(r, want)]
            if hit:
                del rules[hit[0]]
            else:
                unknown.append(perm)
    return {"Return": True, "UnknownIpPermissions": unknown or None}


def authorize_ingress(ctx, p):
    return _authorize(ctx, p, False)


def authorize_egress(ctx, p):
    return _authorize(ctx, p, True)


def revoke_ingress(ctx, p):
    return _revoke(ctx, p, False)


def revoke_egress(ctx, p):
    return _revoke(ctx, p, True)


def create_security_group(ctx, p):
    s = u.ec2(ctx)
    vpc_id = p.get("VpcId") or next((v["VpcId"] for v in s["vpcs"].values() if v.get("IsDefault")), None)
    if vpc_id is None:
        raise AwsError("VPCIdNotSpecified", "No default VPC for this user")
    vpc = u.find(ctx, vpc_id, "vpc")
    name = p["GroupName"]
    if name.startswith("sg-"):
        raise AwsError("InvalidParameterValue", "Group names may not be in the format sg-*.")
    if any(g["GroupName"] == name and g.get("VpcId") == vpc_id for g in s["security_groups"].values()):
        raise AwsError("InvalidGroup.Duplicate", f"The security group '{name}' already exists for VPC '{vpc_id}'")
    gid = ctx.new_id("sg")
    g = {"GroupId": gid, "GroupName": name, "Description": p["Description"], "VpcId": vpc_id,
         "OwnerId": ctx.account, "Tags": []}
    u.apply_tag_specs(g, p.get("TagSpecifications"), "security-group")
    s["security_groups"][gid] = g
    _default_egress(ctx.world, s, g, vpc)
    return {"GroupId": gid, "Tags": g["Tags"] or None}


def _default_egress(world, s, g, vpc):
    """AWS's default outbound rules: all IPv4, and all IPv6 when the VPC has IPv6."""
    base = {"GroupId": g["GroupId"], "GroupOwnerId": g["OwnerId"], "IsEgress": True, "IpProtocol": "-1",
            "FromPort": -1, "ToPort": -1, "Tags": []}
    peers = [{"CidrIpv4": "0.0.0.0/0"}]
    if vpc.get("Ipv6CidrBlockAssociationSet"):
        peers.append({"CidrIpv6": "::/0"})
    for peer in peers:
        rid = world.new_id("sgr")
        s["security_group_rules"][rid] = dict(base, SecurityGroupRuleId=rid, **peer)


def delete_security_group(ctx, p):
    g = _group_for(ctx, p)
    s = u.ec2(ctx)
    gid = g["GroupId"]
    for e in s["network_interfaces"].values():
        if any(x["GroupId"] == gid for x in e.get("Groups", [])):
            raise AwsError("DependencyViolation", f"resource {gid} has a dependent object")
    for r in s["security_group_rules"].values():
        if (r.get("ReferencedGroupInfo") or {}).get("GroupId") == gid and r["GroupId"] != gid:
            raise AwsError("DependencyViolation", f"resource {gid} has a dependent object")
    if g["GroupName"] == "default":
        raise AwsError("CannotDelete", f"the specified group: \"{gid}\" name: \"default\" cannot be deleted by a user")
    del s["security_groups"][gid]
    for rid in [rid for rid, r in s["security_group_rules"].items() if r["GroupId"] == gid]:
        del s["security_group_rules"][rid]
    return {"Return": True, "GroupId": gid}


def describe_security_groups(ctx, p):
    s = u.ec2(ctx)
    g = {"group-id": lambda x: [x["GroupId"]], "group-name": lambda x: [x["GroupName"]],
         "vpc-id": lambda x: [x.get("VpcId")], "description": lambda x: [x.get("Description")],
         "owner-id": lambda x: [x.get("OwnerId")],
         "ip-permission.cidr": lambda x: [r.get("CidrIpv4") for r in _rules(ctx, x["GroupId"], False)],
         "egress.ip-permission.cidr": lambda x: [r.get("CidrIpv4") for r in _rules(ctx, x["GroupId"], True)],
         "ip-permission.group-id": lambda x: [(r.get("ReferencedGroupInfo") or {}).get("GroupId")
                                              for r in _rules(ctx, x["GroupId"], False)]}
    items = list(s["security_groups"].values())
    if p.get("GroupIds"):
        items = u.find_many(ctx, p["GroupIds"], "sg")
    if p.get("GroupNames"):
        items = [_by_name(ctx, n, None) for n in p["GroupNames"]]
    items = st.match_filters(items, p.get("Filters"), g)
    items, nxt = st.page(items, p, default=ctx.settings("page_size"), lo=5, hi=1000)
    return {"SecurityGroups": [_group_view(ctx, x) for x in items], "NextToken": nxt}


def describe_security_group_rules(ctx, p):
    g = {"group-id": lambda r: [r["GroupId"]], "security-group-rule-id": lambda r: [r["SecurityGroupRuleId"]]}
    items = u.select(ctx, "sgr", p.get("SecurityGroupRuleIds") or [], p.get("Filters"), g)
    items, nxt = st.page(items, p, default=ctx.settings("page_size"), lo=5, hi=1000)
    return {"SecurityGroupRules": items, "NextToken": nxt}


# ---------------------------------------------------------------- network interfaces

def describe_network_interfaces(ctx, p):
    g = {"network-interface-id": lambda e: [e["NetworkInterfaceId"]],
         "attachment.instance-id": lambda e: [(e.get("Attachment") or {}).get("InstanceId")],
         "attachment.attachment-id": lambda e: [(e.get("Attachment") or {}).get("AttachmentId")],
         "group-id": lambda e: [x["GroupId"] for x in e.get("Groups", [])],
         "vpc-id": lambda e: [e.get("VpcId")], "subnet-id": lambda e: [e.get("SubnetId")],
         "status": lambda e: [e.get("Status")], "interface-type": lambda e: [e.get("InterfaceType")],
         "private-ip-address": lambda e: [x.get("PrivateIpAddress") for x in e.get("PrivateIpAddresses", [])],
         "addresses.private-ip-address": lambda e: [x.get("PrivateIpAddress")
                                                    for x in e.get("PrivateIpAddresses", [])],
         "association.public-ip": lambda e: [(e.get("Association") or {}).get("PublicIp")],
         "description": lambda e: [e.get("Description", "")]}
    items = u.select(ctx, "eni", p.get("NetworkInterfaceIds") or [], p.get("Filters"), g)
    items, nxt = st.page(items, p, default=ctx.settings("page_size"), lo=5, hi=1000)
    return {"NetworkInterfaces": items, "NextToken": nxt}


def modify_network_interface_attribute(ctx, p):
    e = u.find(ctx, p["NetworkInterfaceId"], "eni")
    if e.get("RequesterManaged"):
        # AWS owns requester-managed ENIs (ECS/Fargate tasks, VPC endpoints, RDS, NAT):
        # only tags may change; every attribute change is refused, even for an admin.
        raise AwsError("AuthFailure", "You do not have permission to access the specified resource.")
    if p.get("Groups"):
        refs = []
        for gid in p["Groups"]:
            grp = u.find(ctx, gid, "sg")
            if grp.get("VpcId") != e.get("VpcId"):
                raise AwsError("InvalidGroup.NotFound",
                               f"The security group '{gid}' does not exist in VPC '{e.get('VpcId')}'")
            refs.append({"GroupId": gid, "GroupName": grp["GroupName"]})
        e["Groups"] = refs
    if "SourceDestCheck" in p:
        e["SourceDestCheck"] = bool(p["SourceDestCheck"].get("Value"))
    if "Description" in p:
        e["Description"] = p["Description"].get("Value", "")
    if p.get("Attachment"):
        att = e.get("Attachment") or {}
        if att.get("AttachmentId") != p["Attachment"].get("AttachmentId"):
            raise AwsError("InvalidAttachmentID.NotFound",
                           f"The attachment ID '{p['Attachment'].get('AttachmentId')}' does not exist")
        if "DeleteOnTermination" in p["Attachment"]:
            att["DeleteOnTermination"] = bool(p["Attachment"]["DeleteOnTermination"])
    return {}


# ---------------------------------------------------------------- Elastic IPs

def describe_addresses(ctx, p):
    s = u.ec2(ctx)
    items = list(s["addresses"].values())
    if p.get("AllocationIds"):
        items = u.find_many(ctx, p["AllocationIds"], "eipalloc")
    if p.get("PublicIps"):
        by_ip = {a["PublicIp"]: a for a in s["addresses"].values()}
        for ip in p["PublicIps"]:
            if ip not in by_ip:
                raise AwsError("InvalidAddress.NotFound", f"Address '{ip}' not found.")
        items = [by_ip[ip] for ip in p["PublicIps"]]
    g = {"allocation-id": lambda a: [a.get("AllocationId")], "association-id": lambda a: [a.get("AssociationId")],
         "instance-id": lambda a: [a.get("InstanceId")], "network-interface-id": lambda a: [a.get("NetworkInterfaceId")],
         "public-ip": lambda a: [a.get("PublicIp")], "domain": lambda a: [a.get("Domain")],
         "private-ip-address": lambda a: [a.get("PrivateIpAddress")]}
    return {"Addresses": st.match_filters(items, p.get("Filters"), g)}


def disassociate_address(ctx, p):
    s = u.ec2(ctx)
    addr = None
    for a in s["addresses"].values():
        if (p.get("AssociationId") and a.get("AssociationId") == p["AssociationId"]) or \
                (p.get("PublicIp") and a.get("PublicIp") == p["PublicIp"]):
            addr = a
    if addr is None or not addr.get("AssociationId"):
        if p.get("AssociationId"):
            raise AwsError("InvalidAssociationID.NotFound", f"The association ID '{p['AssociationId']}' does not exist")
        raise AwsError("InvalidAddress.NotFound", f"Address '{p.get('PublicIp')}' not found.")
    eni = s["network_interfaces"].get(addr.get("NetworkInterfaceId"))
    if eni is not None:
        eni.pop("Association", None)
        for pip in eni.get("PrivateIpAddresses", []):
            if (pip.get("Association") or {}).get("PublicIp") == addr["PublicIp"]:
                pip.pop("Association", None)
    inst = s["instances"].get(addr.get("InstanceId"))
    if inst is not None and inst.get("PublicIpAddress") == addr["PublicIp"]:
        inst.pop("PublicIpAddress", None)
        inst["PublicDnsName"] = ""
    for k in ("AssociationId", "InstanceId", "NetworkInterfaceId", "NetworkInterfaceOwnerId", "PrivateIpAddress"):
        addr.pop(k, None)
    return {}


def normalize(world):
    """Expand a world file's conveniences: group ids on ENIs, IpPermissions on groups."""
    for region, s in world.doc.get("ec2", {}).items():
        for c in u.COLLECTIONS:
            s.setdefault(c, {})
        for gid, g in s["security_groups"].items():
            g.setdefault("GroupId", gid)
            g.setdefault("OwnerId", world.account)
            g.setdefault("Tags", [])
            g.setdefault("Description", g["GroupName"])
        ctx = st.WorldContext(world, "ec2", region)
        for gid, g in list(s["security_groups"].items()):
            for key, egress in (("IpPermissions", False), ("IpPermissionsEgress", True)):
                for r in _explode(ctx, g, g.pop(key, []) or [], egress):
                    r["SecurityGroupRuleId"] = world.new_id("sgr")
                    r["Tags"] = []
                    s["security_group_rules"][r["SecurityGroupRuleId"]] = r
        for eid, e in s["network_interfaces"].items():
            e.setdefault("NetworkInterfaceId", eid)
            e.setdefault("OwnerId", world.account)
            e.setdefault("TagSet", [])
            e.setdefault("InterfaceType", "interface")
            e.setdefault("Status", "in-use" if e.get("Attachment") else "available")
            e["Groups"] = [{"GroupId": x, "GroupName": s["security_groups"][x]["GroupName"]}
                           if isinstance(x, str) else x for x in e.get("Groups", [])]


OPERATIONS = {
    "DescribeVpcs": describe_vpcs,
    "DescribeSubnets": describe_subnets,
    "DescribeNetworkAcls": describe_network_acls,
    "CreateNetworkAclEntry": create_network_acl_entry,
    "DeleteNetworkAclEntry": delete_network_acl_entry,
    "CreateSecurityGroup": create_security_group,
    "DeleteSecurityGroup": delete_security_group,
    "DescribeSecurityGroups": describe_security_groups,
    "DescribeSecurityGroupRules": describe_security_group_rules,
    "AuthorizeSecurityGroupIngress": authorize_ingress,
    "AuthorizeSecurityGroupEgress": authorize_egress,
    "RevokeSecurityGroupIngress": revoke_ingress,
    "RevokeSecurityGroupEgress": revoke_egress,
    "DescribeNetworkInterfaces": describe_network_interfaces,
    "ModifyNetworkInterfaceAttribute": modify_network_interface_attribute,
    "DescribeAddresses": describe_addresses,
    "DisassociateAddress": disassociate_address,
}

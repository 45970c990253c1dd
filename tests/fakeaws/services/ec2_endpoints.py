"""ec2 VPC endpoints and AWS-managed prefix lists: where an isolated instance may still
reach SSM and S3 without the internet (runbooks/lib/isolation.lua, online capture).

State: `ec2.<region>.vpc_endpoints.<vpce-id>` in DescribeVpcEndpoints' output shape
(a world file may give `Groups` as group ids and leave the rest to normalize), and
`ec2.<region>.prefix_lists.<pl-id>` ({PrefixListId, PrefixListName, Cidrs})."""
from .. import state as st
from ..errors import AwsError

SERVICE = "ec2"


def _coll(ctx, name):
    return ctx.regional("ec2").setdefault(name, {})


def _by_ids(coll, ids, code, what):
    missing = [i for i in ids if i not in coll]
    if missing:
        raise AwsError(code, f"The {what} ID '{missing[0]}' does not exist")
    return [coll[i] for i in ids]


def describe_vpc_endpoints(ctx, p):
    eps = _coll(ctx, "vpc_endpoints")
    for i in p.get("VpcEndpointIds") or []:
        if not i.startswith("vpce-"):
            raise AwsError("InvalidVpcEndpointId.Malformed", f'Invalid Id: "{i}" (expecting "vpce-...")')
    items = _by_ids(eps, p["VpcEndpointIds"], "InvalidVpcEndpointId.NotFound", "Vpc Endpoint") \
        if p.get("VpcEndpointIds") else list(eps.values())
    g = {"vpc-id": lambda e: [e["VpcId"]], "service-name": lambda e: [e["ServiceName"]],
         "vpc-endpoint-type": lambda e: [e["VpcEndpointType"]], "vpc-endpoint-id": lambda e: [e["VpcEndpointId"]],
         "vpc-endpoint-state": lambda e: [e.get("State")], "ip-address-type": lambda e: [e.get("IpAddressType")]}
    items, nxt = st.page(st.match_filters(items, p.get("Filters"), g), p)
    return {"VpcEndpoints": items, "NextToken": nxt}


def describe_prefix_lists(ctx, p):
    pls = _coll(ctx, "prefix_lists")
    for i in p.get("PrefixListIds") or []:
        if not i.startswith("pl-"):
            raise AwsError("InvalidPrefixListId.Malformed", f'Invalid Id: "{i}" (expecting "pl-...")')
    items = _by_ids(pls, p["PrefixListIds"], "InvalidPrefixListID.NotFound", "prefix list") \
        if p.get("PrefixListIds") else list(pls.values())
    g = {"prefix-list-id": lambda x: [x["PrefixListId"]], "prefix-list-name": lambda x: [x["PrefixListName"]]}
    items, nxt = st.page(st.match_filters(items, p.get("Filters"), g), p)
    return {"PrefixLists": items, "NextToken": nxt}


def normalize(world):
    """Endpoint groups as {GroupId, GroupName}, and the fields AWS always returns."""
    for region, s in world.doc.get("ec2", {}).items():
        groups = s.get("security_groups", {})
        for vid, e in s.get("vpc_endpoints", {}).items():
            e.setdefault("VpcEndpointId", vid)
            e.setdefault("State", "available")
            e.setdefault("OwnerId", world.doc.get("account_id", "111122223333"))
            e.setdefault("CreationTimestamp", "2026-11-01T09:00:00.000Z")
            e.setdefault("RequesterManaged", False)
            e.setdefault("IpAddressType", "ipv4")
            e.setdefault("Tags", [])
            interface = e.get("VpcEndpointType") == "Interface"
            e.setdefault("PrivateDnsEnabled", interface)
            e.setdefault("RouteTableIds", [])
            e.setdefault("SubnetIds", [])
            e.setdefault("NetworkInterfaceIds", [])
            e.setdefault("DnsEntries", [])
            e["Groups"] = [g if isinstance(g, dict) else {"GroupId": g, "GroupName": groups.get(g, {}).get("GroupName", "")}
                           for g in e.get("Groups", [])]
            if "PolicyDocument" not in e:
                e["PolicyDocument"] = ('{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
                                       '"Action":"*","Resource":"*"}]}')
        for pid, pl in s.get("prefix_lists", {}).items():
            pl.setdefault("PrefixListId", pid)


OPERATIONS = {"DescribeVpcEndpoints": describe_vpc_endpoints, "DescribePrefixLists": describe_prefix_lists}

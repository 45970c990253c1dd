"""Faithfulness of services/ec2_endpoints.py: DescribeVpcEndpoints and DescribePrefixLists
through botocore's own ec2 serializer and parser, against the demo world's endpoints
(interface endpoints for ssm, ssmmessages, ec2messages and an S3 gateway endpoint in the
demo VPC, with the S3 prefix list), in the style of test_faithful.py."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "lib")]

import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

import tap  # noqa: E402
from fakeaws import client  # noqa: E402

VPC = "vpc-0a1b2c3d4e5f60001"
SG_ENDPOINTS = "sg-0a1b2c3d4e5f60106"
S3_PL = "pl-63a5400a"

fake = client.start(world="demo")
ec2 = botocore.session.get_session().create_client(
    "ec2", region_name="us-east-1", endpoint_url=fake.url, aws_access_key_id=client.ACCESS_KEY,
    aws_secret_access_key=client.SECRET_KEY, config=Config(retries={"total_max_attempts": 1}))


def error_of(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


def by_service(r):
    return {e["ServiceName"]: e for e in r["VpcEndpoints"]}


@tap.case
def describe_vpc_endpoints_of_the_demo_vpc():
    r = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [VPC]}])
    eps = by_service(r)
    assert set(eps) == {f"com.amazonaws.us-east-1.{s}" for s in ("ssm", "ssmmessages", "ec2messages", "s3")}, eps
    for s in ("ssm", "ssmmessages", "ec2messages"):
        e = eps[f"com.amazonaws.us-east-1.{s}"]
        assert e["VpcEndpointType"] == "Interface" and e["VpcEndpointId"].startswith("vpce-") and e["VpcId"] == VPC, e
        assert e["Groups"] == [{"GroupId": SG_ENDPOINTS, "GroupName": "vpc-endpoints"}], e["Groups"]
        assert e["PrivateDnsEnabled"] is True and len(e["SubnetIds"]) == 2 and e["State"] == "available", e
        assert e["DnsEntries"] and e["CreationTimestamp"].year == 2026, e
    gw = eps["com.amazonaws.us-east-1.s3"]
    assert gw["VpcEndpointType"] == "Gateway" and gw["Groups"] == [] and gw["RouteTableIds"], gw
    assert '"Statement"' in gw["PolicyDocument"], gw


@tap.case
def describe_vpc_endpoints_filters():
    r = ec2.describe_vpc_endpoints(Filters=[{"Name": "service-name", "Values": ["com.amazonaws.us-east-1.ssm"]}])
    assert [e["ServiceName"] for e in r["VpcEndpoints"]] == ["com.amazonaws.us-east-1.ssm"], r["VpcEndpoints"]
    r = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-endpoint-type", "Values": ["Gateway"]}])
    assert [e["ServiceName"] for e in r["VpcEndpoints"]] == ["com.amazonaws.us-east-1.s3"], r["VpcEndpoints"]
    r = ec2.describe_vpc_endpoints(Filters=[{"Name": "service-name", "Values": ["*.ssm*"]},
                                            {"Name": "vpc-endpoint-type", "Values": ["Interface"]}])
    assert {e["ServiceName"].rsplit(".", 1)[1] for e in r["VpcEndpoints"]} == {"ssm", "ssmmessages"}, r
    r = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": ["vpc-0123456789abcdef0"]}])
    assert r["VpcEndpoints"] == [], r
    r = ec2.describe_vpc_endpoints(Filters=[{"Name": "tag:Name", "Values": ["prod-s3"]}])
    assert [e["VpcEndpointType"] for e in r["VpcEndpoints"]] == ["Gateway"], r
    assert error_of(lambda: ec2.describe_vpc_endpoints(Filters=[{"Name": "bogus", "Values": ["x"]}]))[0] == \
        "InvalidParameterValue"


@tap.case
def describe_vpc_endpoints_by_id_and_pages():
    all_ids = sorted(e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"])
    r = ec2.describe_vpc_endpoints(VpcEndpointIds=[all_ids[0]])
    assert [e["VpcEndpointId"] for e in r["VpcEndpoints"]] == [all_ids[0]], r
    assert error_of(lambda: ec2.describe_vpc_endpoints(VpcEndpointIds=["vpce-0123456789abcdef0"])) == \
        ("InvalidVpcEndpointId.NotFound", 400)
    pages = list(ec2.get_paginator("describe_vpc_endpoints").paginate(PaginationConfig={"PageSize": 3}))
    seen = sorted(e["VpcEndpointId"] for p in pages for e in p["VpcEndpoints"])
    assert len(pages) == 2 and seen == all_ids, (len(pages), seen)


@tap.case
def describe_prefix_lists():
    r = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.us-east-1.s3"]}])
    assert [p["PrefixListId"] for p in r["PrefixLists"]] == [S3_PL], r
    assert all("/" in c for c in r["PrefixLists"][0]["Cidrs"]) and r["PrefixLists"][0]["Cidrs"], r
    r = ec2.describe_prefix_lists(PrefixListIds=[S3_PL])
    assert r["PrefixLists"][0]["PrefixListName"] == "com.amazonaws.us-east-1.s3", r
    r = ec2.describe_prefix_lists()
    assert {p["PrefixListName"] for p in r["PrefixLists"]} >= {"com.amazonaws.us-east-1.s3",
                                                               "com.amazonaws.us-east-1.dynamodb"}, r
    r = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-id", "Values": ["pl-0000"]}])
    assert r["PrefixLists"] == [], r
    assert error_of(lambda: ec2.describe_prefix_lists(PrefixListIds=["pl-00000000"])) == \
        ("InvalidPrefixListID.NotFound", 400)


@tap.case
def every_call_was_signed():
    calls = fake.calls(service="ec2")
    assert calls and all(c["signature_ok"] for c in calls), [c for c in calls if not c["signature_ok"]][:2]
    assert {c["operation"] for c in calls} == {"DescribeVpcEndpoints", "DescribePrefixLists"}, calls[:2]


fake.stop()
tap.done()

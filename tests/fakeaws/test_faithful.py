"""Faithfulness: botocore's own serializers and parsers against the fake.

Every operation the fake implements is called through a botocore client (so its
request is what an SDK sends and its response must parse with botocore's parser
for that protocol); plus signature failures per protocol, a stale X-Amz-Date,
and each fault kind."""
import os
import socket
import sys
import time
import types
import unittest.mock
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "lib")]

import botocore  # noqa: E402
import botocore.auth  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.parsers  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

import tap  # noqa: E402
from fakeaws import client, services  # noqa: E402

A = "111122223333"
I1, I2, I3, I6 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002", "i-0a1b2c3d4e5f60003", "i-0a1b2c3d4e5f60006"
VPC, SUB1 = "vpc-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60011"
SG_WEB, SG_SSH = "sg-0a1b2c3d4e5f60102", "sg-0a1b2c3d4e5f60103"
ENI1 = "eni-0a1b2c3d4e5f60001"
TG = f"arn:aws:elasticloadbalancing:us-east-1:{A}:targetgroup/web-tg/0a1b2c3d4e5f6001"
ALB = f"arn:aws:elasticloadbalancing:us-east-1:{A}:loadbalancer/app/web-alb/0a1b2c3d4e5f6001"
BUCKET = f"irhost-evidence-{A}"
ACL = "acl-0a1b2c3d4e5f60001"
DET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
CLUSTER = f"arn:aws:ecs:us-east-1:{A}:cluster/prod-cluster"
TASK1 = f"arn:aws:ecs:us-east-1:{A}:task/prod-cluster/0a1b2c3d4e5f4a0b9c8d7e6f5a4b3c21"
CI = f"arn:aws:ecs:us-east-1:{A}:container-instance/prod-cluster/0a1b2c3d4e5f40000000000000000001"

fake = client.start()
session = botocore.session.get_session()
_clients = {}


def c(service, region="us-east-1", key=client.ACCESS_KEY, secret=client.SECRET_KEY, token=None, **cfg):
    k = (service, region, key, secret, token, tuple(sorted(cfg.items())))
    if k not in _clients:
        _clients[k] = session.create_client(
            service, region_name=region, endpoint_url=fake.url, aws_access_key_id=key,
            aws_secret_access_key=secret, aws_session_token=token,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1, "mode": "standard"}, **cfg))
    return _clients[k]


def call(service, op, params=None, region="us-east-1"):
    cl = c(service, region)
    return getattr(cl, cl.meta.method_to_api_mapping and
                   {v: k for k, v in cl.meta.method_to_api_mapping.items()}[op])(**(params or {}))


def error_of(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


state = {}

# (service, operation, params or fn(state) -> params, check(result) or None). In order: later
# calls use what earlier ones created (kept in `state`).
CASES = [
    ("sts", "GetCallerIdentity", {}, lambda r: r["Account"] == A and r["Arn"].endswith("user/ir-responder")),
    ("sts", "AssumeRole", {"RoleArn": f"arn:aws:iam::{A}:role/ir-responder", "RoleSessionName": "ir-42"},
     lambda r: r["Credentials"]["AccessKeyId"].startswith("ASIA") and "assumed-role" in r["AssumedRoleUser"]["Arn"]),
    ("ec2", "DescribeRegions", {}, lambda r: "eu-west-1" in [x["RegionName"] for x in r["Regions"]]),
    ("ec2", "DescribeInstances", {"InstanceIds": [I2]},
     lambda r: len(r["Reservations"][0]["Instances"][0]["NetworkInterfaces"]) == 3),
    ("ec2", "DescribeInstanceTypes", {"InstanceTypes": ["m5d.large"]},
     lambda r: r["InstanceTypes"][0]["InstanceStorageSupported"] is True),
    ("ec2", "DescribeVolumes", {"Filters": [{"Name": "attachment.instance-id", "Values": [I1]}]},
     lambda r: len(r["Volumes"]) == 2 and any(v["Encrypted"] for v in r["Volumes"])),
    ("ec2", "DescribeNetworkInterfaces", {"Filters": [{"Name": "attachment.instance-id", "Values": [I2]}]},
     lambda r: len(r["NetworkInterfaces"]) == 3),
    ("ec2", "DescribeSecurityGroups", {"GroupIds": [SG_WEB]},
     lambda r: r["SecurityGroups"][0]["IpPermissions"][0]["FromPort"] == 80),
    ("ec2", "DescribeSecurityGroupRules", {"Filters": [{"Name": "group-id", "Values": [SG_WEB]}]},
     lambda r: any(x["IsEgress"] and x.get("CidrIpv6") == "::/0" for x in r["SecurityGroupRules"])),
    ("ec2", "DescribeAddresses", {"Filters": [{"Name": "instance-id", "Values": [I1]}]},
     lambda r: r["Addresses"][0]["PublicIp"] == "198.51.100.10"),
    ("ec2", "DescribeIamInstanceProfileAssociations", {"Filters": [{"Name": "instance-id", "Values": [I1]}]},
     lambda r: r["IamInstanceProfileAssociations"][0]["State"] == "associated"),
    ("ec2", "GetConsoleOutput", {"InstanceId": I1}, lambda r: "xmrig" in r["Output"]),
    ("ec2", "GetConsoleScreenshot", {"InstanceId": I1}, lambda r: len(r["ImageData"]) > 100),
    ("ec2", "DescribeInstanceAttribute", {"InstanceId": I1, "Attribute": "disableApiTermination"},
     lambda r: r["DisableApiTermination"]["Value"] is False),
    ("ec2", "ModifyInstanceAttribute", {"InstanceId": I1, "DisableApiTermination": {"Value": True}}, None),
    ("ec2", "DescribeVpcs", {"VpcIds": [VPC]}, lambda r: r["Vpcs"][0]["Ipv6CidrBlockAssociationSet"]),
    ("ec2", "DescribeSubnets", {"Filters": [{"Name": "vpc-id", "Values": [VPC]}]}, lambda r: len(r["Subnets"]) == 2),
    ("ec2", "DescribeNetworkAcls", {"Filters": [{"Name": "association.subnet-id", "Values": [SUB1]}]},
     lambda r: r["NetworkAcls"][0]["NetworkAclId"] == ACL),
    ("ec2", "CreateNetworkAclEntry", {"NetworkAclId": ACL, "RuleNumber": 10, "Protocol": "-1", "RuleAction": "deny",
                                      "Egress": False, "CidrBlock": "10.0.1.10/32"}, None),
    ("ec2", "DeleteNetworkAclEntry", {"NetworkAclId": ACL, "RuleNumber": 10, "Egress": False}, None),
    ("ec2", "CreateSecurityGroup", {"GroupName": "ir-isolation", "Description": "isolation", "VpcId": VPC,
                                    "TagSpecifications": [{"ResourceType": "security-group",
                                                           "Tags": [{"Key": "irhost:ticket", "Value": "IR-42"}]}]},
     lambda r: state.update(sg=r["GroupId"]) or r["GroupId"].startswith("sg-")),
    ("ec2", "AuthorizeSecurityGroupIngress",
     lambda: {"GroupId": state["sg"], "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                                         "IpRanges": [{"CidrIp": "192.0.2.1/32"}]}]},
     lambda r: r["Return"] and state.update(rule=r["SecurityGroupRules"][0]["SecurityGroupRuleId"]) is None),
    ("ec2", "RevokeSecurityGroupIngress", lambda: {"GroupId": state["sg"], "SecurityGroupRuleIds": [state["rule"]]},
     lambda r: r["Return"]),
    ("ec2", "AuthorizeSecurityGroupEgress",
     lambda: {"GroupId": state["sg"], "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                                         "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]}, None),
    ("ec2", "RevokeSecurityGroupEgress",
     lambda: {"GroupId": state["sg"], "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                                                         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]},
     lambda r: r["Return"] and not r.get("UnknownIpPermissions")),
    ("ec2", "ModifyNetworkInterfaceAttribute", lambda: {"NetworkInterfaceId": ENI1, "Groups": [state["sg"]]}, None),
    ("ec2", "ModifyNetworkInterfaceAttribute", {"NetworkInterfaceId": ENI1, "Groups": [SG_WEB, SG_SSH]}, None),
    ("ec2", "DeleteSecurityGroup", lambda: {"GroupId": state["sg"]}, None),
    ("ec2", "CreateSnapshot", {"VolumeId": "vol-0a1b2c3d4e5f60001", "Description": "IR-42"},
     lambda r: r["State"] == "pending" and state.update(snap=r["SnapshotId"]) is None),
    ("ec2", "CreateSnapshots", {"InstanceSpecification": {"InstanceId": I1}, "Description": "IR-42",
                                "TagSpecifications": [{"ResourceType": "snapshot",
                                                       "Tags": [{"Key": "irhost:ticket", "Value": "IR-42"}]}]},
     lambda r: len(r["Snapshots"]) == 2),
    ("ec2", "DescribeSnapshots", lambda: {"SnapshotIds": [state["snap"]]},
     lambda r: r["Snapshots"][0]["VolumeId"] == "vol-0a1b2c3d4e5f60001"),
    ("ec2", "CreateTags", {"Resources": [I1, ENI1], "Tags": [{"Key": "irhost:status", "Value": "quarantined"}]}, None),
    ("ec2", "DescribeTags", {"Filters": [{"Name": "key", "Values": ["irhost:status"]}]},
     lambda r: {t["ResourceId"] for t in r["Tags"]} == {I1, ENI1}),
    ("ec2", "DeleteTags", {"Resources": [ENI1], "Tags": [{"Key": "irhost:status"}]}, None),
    ("ec2", "DescribeKeyPairs", {}, lambda r: {k["KeyName"] for k in r["KeyPairs"]} == {"ir-demo", "ops-admin"}),
    ("ec2", "DeleteKeyPair", {"KeyName": "ops-admin"}, None),
    ("ec2", "DisassociateAddress", {"AssociationId": "eipassoc-0a1b2c3d4e5f60001"}, None),
    ("ec2", "DisassociateIamInstanceProfile", {"AssociationId": "iip-assoc-0a1b2c3d4e5f60001"},
     lambda r: r["IamInstanceProfileAssociation"]["State"] == "disassociating"),
    ("ec2", "StopInstances", {"InstanceIds": [I2]},
     lambda r: r["StoppingInstances"][0]["CurrentState"]["Name"] == "stopping"),
    ("ec2", "TerminateInstances", {"InstanceIds": [I2]},
     lambda r: r["TerminatingInstances"][0]["CurrentState"]["Name"] == "shutting-down"),
    ("autoscaling", "DescribeAutoScalingInstances", {"InstanceIds": [I3]},
     lambda r: r["AutoScalingInstances"][0]["AutoScalingGroupName"] == "web-asg"),
    ("autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": ["web-asg"]},
     lambda r: r["AutoScalingGroups"][0]["DesiredCapacity"] == 3),
    ("autoscaling", "SuspendProcesses", {"AutoScalingGroupName": "web-asg",
                                         "ScalingProcesses": ["HealthCheck", "ReplaceUnhealthy", "Terminate"]}, None),
    ("autoscaling", "ResumeProcesses", {"AutoScalingGroupName": "web-asg", "ScalingProcesses": ["HealthCheck"]}, None),
    ("autoscaling", "EnterStandby", {"AutoScalingGroupName": "web-asg", "InstanceIds": ["i-0a1b2c3d4e5f60005"],
                                     "ShouldDecrementDesiredCapacity": True}, lambda r: len(r["Activities"]) == 1),
    ("autoscaling", "ExitStandby", {"AutoScalingGroupName": "web-asg", "InstanceIds": ["i-0a1b2c3d4e5f60005"]},
     lambda r: len(r["Activities"]) == 1),
    ("elb", "DescribeLoadBalancers", {}, lambda r: r["LoadBalancerDescriptions"][0]["LoadBalancerName"] == "web-classic"),
    ("elb", "DescribeInstanceHealth", {"LoadBalancerName": "web-classic"}, lambda r: len(r["InstanceStates"]) == 3),
    ("elbv2", "DescribeLoadBalancers", {}, lambda r: r["LoadBalancers"][0]["LoadBalancerArn"] == ALB),
    ("elbv2", "DescribeTargetGroups", {"LoadBalancerArn": ALB}, lambda r: r["TargetGroups"][0]["TargetGroupArn"] == TG),
    ("elbv2", "DescribeTargetHealth", {"TargetGroupArn": TG}, lambda r: len(r["TargetHealthDescriptions"]) == 3),
    ("elb", "DeregisterInstancesFromLoadBalancer", {"LoadBalancerName": "web-classic", "Instances": [{"InstanceId": I3}]},
     lambda r: I3 not in [i["InstanceId"] for i in r["Instances"]]),
    ("elbv2", "DeregisterTargets", {"TargetGroupArn": TG, "Targets": [{"Id": I3, "Port": 80}]}, None),
    ("autoscaling", "DetachInstances", {"AutoScalingGroupName": "web-asg", "InstanceIds": [I3],
                                       "ShouldDecrementDesiredCapacity": False},
     lambda r: r["Activities"][0]["StatusCode"] == "InProgress"),
    ("ssm", "DescribeInstanceInformation", {"InstanceInformationFilterList": [{"key": "InstanceIds", "valueSet": [I6]}]},
     lambda r: r["InstanceInformationList"][0]["PingStatus"] == "Online"),
    ("ssm", "SendCommand", {"InstanceIds": [I6], "DocumentName": "AWS-RunShellScript",
                            "Parameters": {"commands": ["uname -a"]}},
     lambda r: state.update(cmd=r["Command"]["CommandId"]) or r["Command"]["Status"] == "Pending"),
    ("ssm", "GetCommandInvocation", lambda: {"CommandId": state["cmd"], "InstanceId": I6},
     lambda r: r["Status"] == "InProgress"),
    ("ssm", "ListCommandInvocations", lambda: {"CommandId": state["cmd"], "Details": True},
     lambda r: r["CommandInvocations"][0]["InstanceId"] == I6),
    ("s3", "CreateBucket", {"Bucket": "ir-42-scratch"}, None),
    ("s3", "HeadBucket", {"Bucket": "ir-42-scratch"}, None),
    ("s3", "ListBuckets", {}, lambda r: "ir-42-scratch" in [b["Name"] for b in r["Buckets"]]),
    ("s3", "PutObject", {"Bucket": BUCKET, "Key": "IR-42/evidence/instance.json", "Body": b'{"i": 1}',
                         "ContentType": "application/json"}, lambda r: r["ETag"] and r.get("VersionId")),
    ("s3", "HeadObject", {"Bucket": BUCKET, "Key": "IR-42/evidence/instance.json"},
     lambda r: r["ContentLength"] == 8 and r["ContentType"] == "application/json"),
    ("s3", "GetObject", {"Bucket": BUCKET, "Key": "IR-42/evidence/instance.json"},
     lambda r: r["Body"].read() == b'{"i": 1}'),
    ("s3", "ListObjectsV2", {"Bucket": BUCKET, "Prefix": "IR-42/"}, lambda r: r["KeyCount"] == 1),
    ("s3", "PutBucketPolicy", {"Bucket": "ir-42-scratch", "Policy": '{"Version":"2012-10-17","Statement":[]}'}, None),
    ("s3", "GetBucketPolicy", {"Bucket": "ir-42-scratch"}, lambda r: "2012-10-17" in r["Policy"]),
    ("s3", "DeleteBucketPolicy", {"Bucket": "ir-42-scratch"}, None),
    ("s3", "PutPublicAccessBlock", {"Bucket": "ir-42-scratch", "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}},
     None),
    ("s3", "GetPublicAccessBlock", {"Bucket": "ir-42-scratch"},
     lambda r: r["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True),
    ("s3", "GetBucketAcl", {"Bucket": "acme-public-assets"}, lambda r: len(r["Grants"]) == 2),
    ("s3", "PutBucketAcl", {"Bucket": "acme-public-assets", "ACL": "private"}, None),
    ("s3", "PutBucketOwnershipControls", {"Bucket": "ir-42-scratch", "OwnershipControls": {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}}, None),
    ("s3", "GetBucketOwnershipControls", {"Bucket": "ir-42-scratch"},
     lambda r: r["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"),
    ("s3", "PutBucketVersioning", {"Bucket": "ir-42-scratch", "VersioningConfiguration": {"Status": "Enabled"}}, None),
    ("s3", "GetBucketVersioning", {"Bucket": "ir-42-scratch"}, lambda r: r["Status"] == "Enabled"),
    ("iam", "GetInstanceProfile", {"InstanceProfileName": "web-server-profile"},
     lambda r: r["InstanceProfile"]["Roles"][0]["RoleName"] == "web-server-role"),
    ("iam", "GetRole", {"RoleName": "web-server-role"},
     lambda r: r["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"),
    ("iam", "PutRolePolicy", {"RoleName": "web-server-role", "PolicyName": "irhost-revoke-older-sessions",
                              "PolicyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*",'
                                                '"Resource":"*"}]}'}, None),
    ("iam", "ListRolePolicies", {"RoleName": "web-server-role"},
     lambda r: r["PolicyNames"] == ["irhost-revoke-older-sessions", "read-assets"]),
    ("iam", "GetRolePolicy", {"RoleName": "web-server-role", "PolicyName": "irhost-revoke-older-sessions"},
     lambda r: r["PolicyDocument"]["Statement"][0]["Effect"] == "Deny"),
    # Operations whose world data belongs to their module's author: a parsed answer or
    # the AWS error for absent data both prove the wire format.
    ("detective", "ListGraphs", {}, ("parses", set())),
    ("kms", "DescribeKey", {"KeyId": "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a00"}, ("parses", {"NotFoundException"})),
    ("lambda", "ListFunctions", {}, ("parses", set())),
    ("lambda", "GetFunction", {"FunctionName": "nope"}, ("error", {"ResourceNotFoundException"})),
    ("lambda", "DeleteFunction", {"FunctionName": "nope"}, ("error", {"ResourceNotFoundException"})),
    ("organizations", "DescribeOrganization", {}, ("parses", {"AWSOrganizationsNotInUseException"})),
    ("organizations", "ListAccounts", {}, ("parses", {"AWSOrganizationsNotInUseException"})),
]


def run_case(service, op, params, check):
    """check: None (must succeed), fn(result) -> truthy, ("error", codes) or ("parses", codes)."""
    p = params() if callable(params) else params
    if isinstance(check, tuple):
        kind, codes = check
        try:
            call(service, op, p)
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] not in codes:
                raise
            return
        if kind == "error":
            raise AssertionError(f"expected one of {codes}")
        return
    r = call(service, op, p)
    if check is not None and not check(r):
        raise AssertionError(f"unexpected result: {r}")


# A service module may carry its own cases: FAITHFUL_CASES = [(operation, params, check)],
# run after ours on a fresh demo world.
MODULE_CASES = [(m.SERVICE, op, params, check) for m in services.modules()
                for op, params, check in getattr(m, "FAITHFUL_CASES", [])]

seen_calls = []
for case in CASES + [None] + MODULE_CASES:
    if case is None:
        seen_calls = fake.calls()
        fake.reset()
        continue
    service, op, params, check = case
    try:
        run_case(service, op, params, check)
        tap.ok(f"{service} {op} parses with botocore")
    except Exception as e:  # noqa: BLE001
        tap.fail(f"{service} {op} parses with botocore", repr(e))

covered = {(s, o) for s, o, _, _ in CASES + MODULE_CASES}
# Operations another suite of this directory calls through botocore count as covered too.
others = "".join(open(os.path.join(HERE, f)).read() for f in sorted(os.listdir(HERE))
                 if f.startswith("test_") and f.endswith(".py") and f != os.path.basename(__file__))
missing = [f"{s} {o}" for s, o in services.implemented() if (s, o) not in covered
           and f".{botocore.xform_name(o)}(" not in others and f'"{o}"' not in others]
tap.check("every implemented operation has a faithfulness case", not missing, "missing: " + ", ".join(missing))
calls = seen_calls + fake.calls()
tap.check("every call was signed correctly", all(x["signature_ok"] for x in calls),
          [x for x in calls if not x["signature_ok"]][:2])


# ---------------------------------------------------------------- errors in each protocol

@tap.case
def not_found_errors_in_each_format():
    assert error_of(lambda: call("ec2", "DescribeInstances", {"InstanceIds": ["i-0123456789abcdef0"]})) == \
        ("InvalidInstanceID.NotFound", 400)
    assert error_of(lambda: call("iam", "GetRole", {"RoleName": "nope"})) == ("NoSuchEntity", 404)
    assert error_of(lambda: call("s3", "GetObject", {"Bucket": "no-such-bucket", "Key": "k"})) == ("NoSuchBucket", 404)
    assert error_of(lambda: call("elb", "DescribeLoadBalancers", {"LoadBalancerNames": ["nope"]})) == \
        ("LoadBalancerNotFound", 400)
    assert error_of(lambda: call("ssm", "SendCommand", {"InstanceIds": [I1], "DocumentName": "AWS-RunShellScript",
                                                        "Parameters": {"commands": ["id"]}})) == \
        ("InvalidInstanceId", 400)
    assert error_of(lambda: call("ec2", "StopInstances", {"InstanceIds": [I1], "DryRun": True})) == \
        ("DryRunOperation", 412)


@tap.case
def unimplemented_operation_is_a_clear_501():
    code, status = error_of(lambda: call("ec2", "DescribeImages", {}))
    assert (code, status) == ("NotImplemented", 501), (code, status)


@tap.case
def signature_mismatch_in_each_protocol():
    bad = "x" + client.SECRET_KEY[1:]
    cases = [("ec2", "describe_regions", {}, ("SignatureDoesNotMatch", 403)),
             ("sts", "get_caller_identity", {}, ("SignatureDoesNotMatch", 403)),
             ("ssm", "describe_instance_information", {}, ("InvalidSignatureException", 400)),
             ("s3", "list_buckets", {}, ("SignatureDoesNotMatch", 403)),
             ("guardduty", "list_detectors", {}, ("InvalidSignatureException", 403))]
    for svc, method, params, want in cases:
        got = error_of(lambda: getattr(c(svc, secret=bad), method)(**params))
        assert got == want, (svc, got, want)
    last = fake.calls()[-1]
    assert last["signature_ok"] is False and last["operation"] == "ListDetectors", last


@tap.case
def unknown_access_key_is_refused():
    got = error_of(lambda: c("sts", key="AKIDNOTKNOWN").get_caller_identity())
    assert got == ("InvalidClientTokenId", 403), got
    got = error_of(lambda: c("ec2", key="AKIDNOTKNOWN").describe_regions())
    assert got == ("AuthFailure", 401), got


def _raw(service, method, path, body=b"", headers=None, minutes_off=0):
    """A request signed by botocore's SigV4Auth `minutes_off` minutes from now: (status, body)."""
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    real = botocore.auth.datetime

    class Shifted(real.datetime):
        @classmethod
        def utcnow(cls):
            return real.datetime.utcnow() + real.timedelta(minutes=minutes_off)
    req = AWSRequest(method, fake.url + path, data=body, headers=headers or {})
    signer = (botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth)(
        Credentials(client.ACCESS_KEY, client.SECRET_KEY), service, "us-east-1")
    with unittest.mock.patch.object(botocore.auth, "datetime", types.SimpleNamespace(datetime=Shifted)):
        signer.add_auth(req)
    p = req.prepare()
    r = urllib.request.Request(p.url, data=body or None, headers=dict(p.headers), method=method)
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@tap.case
def stale_date_is_refused_as_aws_does():
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = _raw("ec2", "POST", "/", b"Action=DescribeRegions&Version=2016-11-15", form, -20)
    assert status == 400 and b"<Code>RequestExpired</Code>" in body, (status, body)
    status, body = _raw("sts", "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", form, -20)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body and b"Signature expired" in body, body
    status, body = _raw("sts", "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", form, 20)
    assert status == 403 and b"Signature not yet current" in body, body
    status, body = _raw("s3", "GET", "/", b"", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, -20)
    assert status == 403 and b"<Code>RequestTimeTooSkewed</Code>" in body, (status, body)
    status, body = _raw("ssm", "POST", "/", b"{}", {"X-Amz-Target": "AmazonSSM.DescribeInstanceInformation",
                                                     "Content-Type": "application/x-amz-json-1.1"}, -20)
    assert status == 400 and b'"InvalidSignatureException"' in body, (status, body)
    status, _ = _raw("sts", "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", form, -10)
    assert status == 200, "10 minutes of skew is within AWS's 15"


@tap.case
def unknown_and_missing_parameters_are_refused():
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = _raw("ec2", "POST", "/", b"Action=DescribeInstances&Version=2016-11-15&InstanceIdz.1=i-1", form)
    assert status == 400 and b"<Code>UnknownParameter</Code>" in body and b"InstanceIdz.1" in body, body
    status, body = _raw("ec2", "POST", "/", b"Action=StopInstances&Version=2016-11-15", form)
    assert status == 400 and b"<Code>MissingParameter</Code>" in body and b"InstanceIds" in body, body
    status, body = _raw("iam", "POST", "/", b"Action=GetRole&Version=2010-05-08", form)
    assert status == 400 and b"<Code>ValidationError</Code>" in body, body
    status, body = _raw("ssm", "POST", "/", b'{"CommandId": "x"}', {
        "X-Amz-Target": "AmazonSSM.GetCommandInvocation", "Content-Type": "application/x-amz-json-1.1"})
    assert status == 400 and b'"ValidationException"' in body and b"InstanceId" in body, body


@tap.case
def expired_temporary_credentials_are_refused():
    world = fake.state()
    world["credentials"].append({"access_key": "ASIAEXPIREDFAKE00001", "secret_key": "s3cr3t", "session_token": "tok",
                                 "arn": f"arn:aws:sts::{A}:assumed-role/ir-responder/old",
                                 "expiration": "2020-01-01T00:00:00Z"})
    fake.reset(world)
    cl = c("sts", key="ASIAEXPIREDFAKE00001", secret="s3cr3t", token="tok")
    assert error_of(cl.get_caller_identity) == ("ExpiredToken", 403)
    fake.reset()


@tap.case
def presigned_urls_are_verified():
    s3 = c("s3", signature_version="s3v4")
    s3.put_object(Bucket=BUCKET, Key="IR-42/presign.txt", Body=b"evidence")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "IR-42/presign.txt"},
                                    ExpiresIn=600)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"evidence"
    bad = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")[:-1]
    try:
        urllib.request.urlopen(bad, timeout=10)
        raise AssertionError("a tampered presigned URL was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in e.read()
    real = botocore.auth.datetime

    class Earlier(real.datetime):
        @classmethod
        def utcnow(cls):
            return real.datetime.utcnow() - real.timedelta(hours=2)
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest("GET", f"{fake.url}/{BUCKET}/IR-42/presign.txt")
    signer = botocore.auth.S3SigV4QueryAuth(Credentials(client.ACCESS_KEY, client.SECRET_KEY), "s3", "us-east-1",
                                            expires=3600)
    with unittest.mock.patch.object(botocore.auth, "datetime", types.SimpleNamespace(datetime=Earlier)):
        signer.add_auth(req)
    old = req.url
    try:
        urllib.request.urlopen(old, timeout=10)
        raise AssertionError("an expired presigned URL was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403 and b"Request has expired" in e.read()


@tap.case
def assumed_role_credentials_work_and_need_their_token():
    r = call("sts", "AssumeRole", {"RoleArn": f"arn:aws:iam::{A}:role/ir-responder", "RoleSessionName": "tok"})
    cr = r["Credentials"]
    who = c("sts", key=cr["AccessKeyId"], secret=cr["SecretAccessKey"], token=cr["SessionToken"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{A}:assumed-role/ir-responder/tok", who
    got = error_of(lambda: c("sts", key=cr["AccessKeyId"], secret=cr["SecretAccessKey"],
                             token="wrong").get_caller_identity())
    assert got == ("InvalidClientTokenId", 403), got


# ---------------------------------------------------------------- faults

@tap.case
def fault_throttle_count_then_success():
    fake.fault(service="ec2", operation="DescribeRegions", kind="throttle", count=2)
    assert error_of(lambda: call("ec2", "DescribeRegions")) == ("RequestLimitExceeded", 503)
    assert error_of(lambda: call("ec2", "DescribeRegions")) == ("RequestLimitExceeded", 503)
    assert error_of(lambda: call("ec2", "DescribeRegions")) == (None, 200)
    fake.fault(service="ssm", kind="throttle", count=1)
    assert error_of(lambda: call("ssm", "DescribeInstanceInformation")) == ("ThrottlingException", 400)
    fake.fault(service="sts", kind="throttle", count=1)
    assert error_of(lambda: call("sts", "GetCallerIdentity")) == ("Throttling", 400)
    fake.fault(service="s3", kind="throttle", count=1)
    assert error_of(lambda: call("s3", "ListBuckets")) == ("SlowDown", 503)
    fake.clear_faults()


@tap.case
def fault_after_and_every():
    fake.fault(service="ec2", operation="DescribeRegions", kind="throttle", count=-1, after=1, every=2)
    got = [error_of(lambda: call("ec2", "DescribeRegions"))[0] for _ in range(5)]
    assert got == [None, "RequestLimitExceeded", None, "RequestLimitExceeded", None], got
    fake.clear_faults()


@tap.case
def fault_5xx():
    fake.fault(service="ec2", operation="DescribeRegions", kind="error", status=503)
    assert error_of(lambda: call("ec2", "DescribeRegions")) == ("ServiceUnavailable", 503)
    fake.fault(service="ec2", operation="DescribeRegions", kind="error")
    assert error_of(lambda: call("ec2", "DescribeRegions")) == ("InternalError", 500)


@tap.case
def fault_reset_closes_the_connection():
    fake.fault(service="ec2", operation="DescribeRegions", kind="reset")
    try:
        call("ec2", "DescribeRegions")
        raise AssertionError("no error on a reset connection")
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError):
        pass
    assert error_of(lambda: call("ec2", "DescribeRegions")) == (None, 200)


@tap.case
def fault_slow_response():
    fake.fault(service="ec2", operation="DescribeRegions", kind="slow", delay_ms=400)
    t = time.monotonic()
    call("ec2", "DescribeRegions")
    assert time.monotonic() - t >= 0.4


@tap.case
def fault_truncated_body():
    fake.fault(service="ec2", operation="DescribeInstances", kind="truncate")
    try:
        call("ec2", "DescribeInstances")
        raise AssertionError("a truncated body parsed")
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError,
            botocore.parsers.ResponseParserError):
        pass


@tap.case
def fault_malformed_xml_and_json():
    fake.fault(service="ec2", operation="DescribeRegions", kind="malformed")
    try:
        call("ec2", "DescribeRegions")
        raise AssertionError("malformed XML parsed")
    except (botocore.parsers.ResponseParserError):
        pass
    fake.fault(service="ssm", operation="DescribeInstanceInformation", kind="malformed")
    status, body = _raw("ssm", "POST", "/", b"{}", {"X-Amz-Target": "AmazonSSM.DescribeInstanceInformation",
                                                     "Content-Type": "application/x-amz-json-1.1"})
    assert status == 200, status
    try:
        import json
        json.loads(body)
        raise AssertionError(f"malformed JSON was valid: {body!r}")
    except ValueError:
        pass


@tap.case
def fault_missing_field():
    fake.fault(service="ec2", operation="DescribeInstances", kind="missing_field", field="Reservations.Instances.State")
    r = call("ec2", "DescribeInstances", {"InstanceIds": [I1]})
    inst = r["Reservations"][0]["Instances"][0]
    assert "State" not in inst and inst["InstanceId"] == I1, inst


@tap.case
def faults_listed_and_cleared():
    fake.clear_faults()
    fake.fault(service="*", kind="throttle", count=5)
    assert len(fake._req("GET", "/_fake/faults")) == 1
    fake.clear_faults()
    assert error_of(lambda: call("ec2", "DescribeRegions")) == (None, 200)


@tap.case
def keepalive_and_expect_continue_over_raw_http():
    # What libcurl does: one connection for several requests, Expect: 100-continue on big bodies.
    s = socket.create_connection(("127.0.0.1", fake.port))
    f = s.makefile("rb")

    def response():
        status = f.readline()
        length = 0
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return status, f.read(length)
    try:
        for _ in range(2):
            s.sendall(b"GET /_fake/health HTTP/1.1\r\nHost: x\r\n\r\n")
            status, body = response()
            assert status.startswith(b"HTTP/1.1 200") and body == b"ok", (status, body)
        s.sendall(b"POST /_fake/calls HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert f.readline().startswith(b"HTTP/1.1 100"), "no 100 Continue"
        f.readline()
        s.sendall(b"{}")
        status, _ = response()
        assert b"404" in status, status
    finally:
        f.close()
        s.close()


@tap.case
def reset_restores_the_world():
    fake.reset()
    st = fake.state()
    assert st["ec2"]["us-east-1"]["instances"][I1]["Attributes"]["DisableApiTermination"] is False
    assert fake.calls() == []
    fake.reset("demo")
    assert "ops-admin" in fake.state()["ec2"]["us-east-1"]["key_pairs"]


@tap.case
def latency_setting_delays_a_service():
    fake.config(latency_service={"sts": 300})
    t = time.monotonic()
    call("sts", "GetCallerIdentity")
    slow = time.monotonic() - t
    t = time.monotonic()
    call("ec2", "DescribeRegions")
    fast = time.monotonic() - t
    fake.config(latency_ms=0, latency_service={})
    assert slow >= 0.3 and fast < 0.3, (slow, fast)


fake.stop()
tap.check("server stopped", fake.proc.returncode is not None)
tap.done()

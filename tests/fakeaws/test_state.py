"""State semantics of the fake that the runbooks' end-to-end tests rely on:
driven through botocore, asserted on GET /_fake/state."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "lib")]

import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

import tap  # noqa: E402
from fakeaws import client  # noqa: E402

A = "111122223333"
I1, I2, I3, I4, I5, I6 = (f"i-0a1b2c3d4e5f6000{n}" for n in range(1, 7))
VPC = "vpc-0a1b2c3d4e5f60001"
SG_WEB, SG_APP = "sg-0a1b2c3d4e5f60102", "sg-0a1b2c3d4e5f60104"
TG = f"arn:aws:elasticloadbalancing:us-east-1:{A}:targetgroup/web-tg/0a1b2c3d4e5f6001"

fake = client.start()
session = botocore.session.get_session()
_clients = {}


def c(service, region="us-east-1"):
    if (service, region) not in _clients:
        _clients[(service, region)] = session.create_client(
            service, region_name=region, endpoint_url=fake.url, aws_access_key_id=client.ACCESS_KEY,
            aws_secret_access_key=client.SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    return _clients[(service, region)]


def code_of(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    return None, ""


def ec2state():
    return fake.state()["ec2"]["us-east-1"]


ec2 = c("ec2")


@tap.case
def default_egress_rules_have_ids_ipv4_and_ipv6():
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [SG_WEB]}])["SecurityGroupRules"]
    egress = [r for r in rules if r["IsEgress"]]
    assert {r.get("CidrIpv4") or r.get("CidrIpv6") for r in egress} == {"0.0.0.0/0", "::/0"}, egress
    assert all(r["SecurityGroupRuleId"].startswith("sgr-") for r in egress)


@tap.case
def new_group_gets_default_egress_and_revoking_by_id_empties_it():
    gid = ec2.create_security_group(GroupName="iso", Description="iso", VpcId=VPC)["GroupId"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
    assert len(rules) == 2 and all(r["IsEgress"] for r in rules), rules   # the VPC has IPv6
    ec2.revoke_security_group_egress(GroupId=gid, SecurityGroupRuleIds=[r["SecurityGroupRuleId"] for r in rules])
    g = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    assert g["IpPermissions"] == [] and g["IpPermissionsEgress"] == [], g
    assert code_of(lambda: ec2.create_security_group(GroupName="iso", Description="x", VpcId=VPC))[0] == \
        "InvalidGroup.Duplicate"
    assert code_of(lambda: ec2.revoke_security_group_egress(GroupId=gid, SecurityGroupRuleIds=["sgr-0000000000000dead"]))[0] \
        == "InvalidSecurityGroupRuleId.NotFound"


@tap.case
def duplicate_authorize_is_refused():
    perm = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    code, msg = code_of(lambda: ec2.authorize_security_group_ingress(GroupId=SG_WEB, IpPermissions=perm))
    assert code == "InvalidPermission.Duplicate" and "0.0.0.0/0" in msg, (code, msg)


@tap.case
def eni_groups_are_replaced_and_instance_attribute_groups_fails_on_multi_eni():
    eni = "eni-0a1b2c3d4e5f60003"
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=[SG_WEB])
    assert [g["GroupId"] for g in ec2state()["network_interfaces"][eni]["Groups"]] == [SG_WEB]
    code, msg = code_of(lambda: ec2.modify_instance_attribute(InstanceId=I2, Groups=[SG_WEB]))
    assert code == "InvalidInstanceID" and "multiple interfaces" in msg, (code, msg)
    ec2.modify_instance_attribute(InstanceId=I6, Groups=[SG_WEB])
    inst = ec2.describe_instances(InstanceIds=[I6])["Reservations"][0]["Instances"][0]
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == [SG_WEB]
    assert code_of(lambda: ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=["sg-0000000000000dead"]))[0] \
        == "InvalidGroup.NotFound"


@tap.case
def termination_protection_and_delete_on_termination():
    ec2.modify_instance_attribute(InstanceId=I1, DisableApiTermination={"Value": True})
    ec2.modify_instance_attribute(InstanceId=I1, InstanceInitiatedShutdownBehavior={"Value": "stop"})
    ec2.modify_instance_attribute(InstanceId=I1, BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"DeleteOnTermination": False}}])
    st = ec2state()
    assert st["instances"][I1]["Attributes"]["DisableApiTermination"] is True
    root = st["volumes"]["vol-0a1b2c3d4e5f60001"]["Attachments"][0]
    assert root["DeleteOnTermination"] is False
    assert ec2.describe_instance_attribute(InstanceId=I1, Attribute="disableApiTermination")[
        "DisableApiTermination"]["Value"] is True
    code, _ = code_of(lambda: ec2.terminate_instances(InstanceIds=[I1]))
    assert code == "OperationNotPermitted", code
    assert code_of(lambda: ec2.modify_instance_attribute(InstanceId=I1, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdz", "Ebs": {"DeleteOnTermination": False}}]))[0] == "InvalidInstanceAttributeValue"


@tap.case
def termination_deletes_only_what_is_marked_so():
    ec2.terminate_instances(InstanceIds=[I2])
    st = ec2state()
    assert "vol-0a1b2c3d4e5f60003" not in st["volumes"], "the root volume (DeleteOnTermination) stayed"
    data = st["volumes"]["vol-0a1b2c3d4e5f60004"]
    assert data["State"] == "available" and data["Attachments"] == [], data
    assert "eni-0a1b2c3d4e5f60002" not in st["network_interfaces"]
    assert st["network_interfaces"]["eni-0a1b2c3d4e5f60003"]["Status"] == "available"
    assert st["instances"][I2]["State"]["Name"] == "shutting-down"


@tap.case
def stop_goes_through_stopping_to_stopped():
    r = ec2.stop_instances(InstanceIds=[I1])
    assert r["StoppingInstances"][0]["PreviousState"]["Name"] == "running"
    assert ec2state()["instances"][I1]["State"]["Name"] == "stopping"
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[I1], WaiterConfig={"Delay": 0, "MaxAttempts": 5})
    assert ec2state()["instances"][I1]["State"]["Name"] == "stopped"


@tap.case
def snapshots_complete_after_polls_with_tags():
    snap = ec2.create_snapshot(VolumeId="vol-0a1b2c3d4e5f60002", TagSpecifications=[
        {"ResourceType": "snapshot", "Tags": [{"Key": "irhost:ticket", "Value": "IR-42"}]}])
    assert snap["Encrypted"] is True and snap["KmsKeyId"].startswith("arn:aws:kms:")
    states = [ec2.describe_snapshots(SnapshotIds=[snap["SnapshotId"]])["Snapshots"][0]["State"] for _ in range(2)]
    assert states == ["pending", "completed"], states
    st = ec2state()["snapshots"][snap["SnapshotId"]]
    assert {"Key": "irhost:ticket", "Value": "IR-42"} in st["Tags"]


@tap.case
def wrong_ids_get_aws_codes():
    cases = [
        (lambda: ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"]), "InvalidInstanceID.NotFound"),
        (lambda: ec2.describe_instances(InstanceIds=["bogus"]), "InvalidInstanceID.Malformed"),
        (lambda: ec2.describe_security_groups(GroupIds=["sg-0123456789abcdef0"]), "InvalidGroup.NotFound"),
        (lambda: ec2.describe_volumes(VolumeIds=["vol-0123456789abcdef0"]), "InvalidVolume.NotFound"),
        (lambda: ec2.create_tags(Resources=["i-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}]),
         "InvalidInstanceID.NotFound"),
        (lambda: ec2.describe_key_pairs(KeyNames=["nope"]), "InvalidKeyPair.NotFound"),
        (lambda: ec2.disassociate_address(AssociationId="eipassoc-0000000000000dead"), "InvalidAssociationID.NotFound"),
        (lambda: c("autoscaling").suspend_processes(AutoScalingGroupName="nope"), "ValidationError"),
        (lambda: c("elbv2").describe_target_health(TargetGroupArn=TG + "x"), "TargetGroupNotFound"),
        (lambda: c("iam").get_instance_profile(InstanceProfileName="nope"), "NoSuchEntity"),
        (lambda: c("s3").head_bucket(Bucket="nope"), "404"),
        (lambda: c("sts").assume_role(RoleArn=f"arn:aws:iam::{A}:role/nope", RoleSessionName="xx"), "AccessDenied"),
    ]
    for fn, want in cases:
        got = code_of(fn)[0]
        assert got == want, (want, got)


@tap.case
def dry_run_changes_nothing():
    before = ec2state()["instances"][I3]["State"]["Name"]
    assert code_of(lambda: ec2.stop_instances(InstanceIds=[I3], DryRun=True))[0] == "DryRunOperation"
    assert code_of(lambda: ec2.create_security_group(GroupName="dry", Description="d", VpcId=VPC, DryRun=True))[0] \
        == "DryRunOperation"
    st = ec2state()
    assert st["instances"][I3]["State"]["Name"] == before
    assert not any(g["GroupName"] == "dry" for g in st["security_groups"].values())


@tap.case
def pagination_tokens_are_honoured():
    pages = list(ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5}))
    ids = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
    assert len(pages) == 2 and len(ids) == len(set(ids)) == len(ec2state()["instances"]), (len(pages), ids)
    assert code_of(lambda: ec2.describe_instances(MaxResults=2))[0] == "InvalidParameterValue"
    assert code_of(lambda: ec2.describe_instances(InstanceIds=[I1], MaxResults=5))[0] == \
        "InvalidParameterCombination"
    vols = list(ec2.get_paginator("describe_volumes").paginate(PaginationConfig={"PageSize": 5}))
    assert len(vols) == 3 and sum(len(p["Volumes"]) for p in vols) == len(ec2state()["volumes"])


@tap.case
def asg_detach_keeps_capacity_and_leaves_load_balancers():
    asg = c("autoscaling")
    asg.suspend_processes(AutoScalingGroupName="web-asg", ScalingProcesses=["HealthCheck", "ReplaceUnhealthy",
                                                                             "Terminate", "AZRebalance"])
    asg.detach_instances(AutoScalingGroupName="web-asg", InstanceIds=[I3], ShouldDecrementDesiredCapacity=False)
    asg.resume_processes(AutoScalingGroupName="web-asg", ScalingProcesses=["HealthCheck", "ReplaceUnhealthy",
                                                                            "Terminate", "AZRebalance"])
    st = fake.state()
    g = st["autoscaling"]["us-east-1"]["groups"]["web-asg"]
    assert g["DesiredCapacity"] == 3 and g["SuspendedProcesses"] == [], g
    assert [i["InstanceId"] for i in g["Instances"]] == [I4, I5]
    assert g["_replacements_wanted"] == 1
    assert [i["InstanceId"] for i in st["elb"]["us-east-1"]["load_balancers"]["web-classic"]["Instances"]] == [I4, I5]
    assert [t["Id"] for t in st["elbv2"]["us-east-1"]["target_groups"][TG]["Targets"]] == [I4, I5]
    assert st["ec2"]["us-east-1"]["instances"][I4]["State"]["Name"] == "running"
    assert asg.describe_auto_scaling_instances(InstanceIds=[I3])["AutoScalingInstances"] == []
    assert code_of(lambda: asg.detach_instances(AutoScalingGroupName="web-asg", InstanceIds=[I3],
                                                ShouldDecrementDesiredCapacity=False))[0] == "ValidationError"


@tap.case
def standby_and_decrement_below_minimum():
    asg = c("autoscaling")
    asg.enter_standby(AutoScalingGroupName="web-asg", InstanceIds=[I4], ShouldDecrementDesiredCapacity=True)
    g = fake.state()["autoscaling"]["us-east-1"]["groups"]["web-asg"]
    assert g["DesiredCapacity"] == 2 and g["Instances"][0]["LifecycleState"] == "Standby"
    code = code_of(lambda: asg.detach_instances(AutoScalingGroupName="web-asg", InstanceIds=[I5],
                                                ShouldDecrementDesiredCapacity=True))[0]
    assert code == "ValidationError", code


@tap.case
def ssm_records_commands_and_succeeds_after_polls():
    ssm = c("ssm")
    cmd = ssm.send_command(InstanceIds=[I6], DocumentName="AWS-RunShellScript",
                           Parameters={"commands": ["avml /tmp/mem.lime", "aws s3 cp /tmp/mem.lime s3://b/k"]})
    cid = cmd["Command"]["CommandId"]
    got = [ssm.get_command_invocation(CommandId=cid, InstanceId=I6)["Status"] for _ in range(3)]
    assert got == ["InProgress", "InProgress", "Success"], got
    out = ssm.get_command_invocation(CommandId=cid, InstanceId=I6)["StandardOutputContent"]
    assert "avml /tmp/mem.lime" in out
    st = fake.state()["ssm"]["us-east-1"]["commands"][cid]
    assert st["Parameters"]["commands"] == ["avml /tmp/mem.lime", "aws s3 cp /tmp/mem.lime s3://b/k"]
    assert code_of(lambda: ssm.send_command(InstanceIds=[I1], DocumentName="AWS-RunShellScript",
                                            Parameters={"commands": ["id"]}))[0] == "InvalidInstanceId"


@tap.case
def eip_disassociation_clears_the_instance():
    ec2.disassociate_address(AssociationId="eipassoc-0a1b2c3d4e5f60001")
    st = ec2state()
    assert "InstanceId" not in st["addresses"]["eipalloc-0a1b2c3d4e5f60001"]
    assert "PublicIpAddress" not in st["instances"][I1]
    assert "Association" not in st["network_interfaces"]["eni-0a1b2c3d4e5f60001"]


@tap.case
def network_acl_entries():
    acl = "acl-0a1b2c3d4e5f60001"
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=1, Protocol="-1", RuleAction="deny", Egress=False,
                                 CidrBlock="10.0.1.10/32")
    assert code_of(lambda: ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=1, Protocol="-1",
                                                        RuleAction="deny", Egress=False,
                                                        CidrBlock="10.0.1.10/32"))[0] == "NetworkAclEntryAlreadyExists"
    entries = ec2state()["network_acls"][acl]["Entries"]
    assert entries[0]["RuleNumber"] == 1 and entries[0]["RuleAction"] == "deny"
    ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=1, Egress=False)
    assert code_of(lambda: ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=1, Egress=False))[0] == \
        "InvalidNetworkAclEntry.NotFound"


@tap.case
def security_group_in_use_cannot_be_deleted():
    assert code_of(lambda: ec2.delete_security_group(GroupId=SG_APP))[0] == "DependencyViolation"


@tap.case
def key_pairs_are_regional():
    us = {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]}
    eu = {k["KeyName"] for k in c("ec2", "eu-west-1").describe_key_pairs()["KeyPairs"]}
    assert us == {"ir-demo", "ops-admin"} and eu == {"ir-demo-eu", "legacy-admin"}, (us, eu)
    c("ec2", "eu-west-1").delete_key_pair(KeyName="legacy-admin")
    assert "legacy-admin" not in fake.state()["ec2"]["eu-west-1"]["key_pairs"]


@tap.case
def role_policy_and_evidence_upload_are_kept():
    c("iam").put_role_policy(RoleName="web-server-role", PolicyName="deny-old",
                             PolicyDocument='{"Version":"2012-10-17","Statement":[]}')
    assert "deny-old" in fake.state()["iam"]["roles"]["web-server-role"]["InlinePolicies"]
    s3 = c("s3")
    r = s3.put_object(Bucket=f"irhost-evidence-{A}", Key="IR-42/report.md", Body=b"# report")
    obj = fake.state()["s3"]["buckets"][f"irhost-evidence-{A}"]["Objects"]["IR-42/report.md"]
    assert obj["Size"] == 8 and obj["VersionId"] == r["VersionId"]


@tap.case
def calls_are_recorded_with_params():
    calls = fake.calls(service="ssm", operation="SendCommand")
    assert calls and calls[0]["params"]["Parameters"]["commands"][0] == "avml /tmp/mem.lime", calls
    assert all(x["signature_ok"] for x in calls)


@tap.case
def parallel_calls_are_served_concurrently():
    import concurrent.futures
    import time
    fake.config(latency_ms=300)
    clients = [session.create_client("sts", region_name="us-east-1", endpoint_url=fake.url,
                                     aws_access_key_id=client.ACCESS_KEY, aws_secret_access_key=client.SECRET_KEY)
               for _ in range(4)]
    t = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda cl: cl.get_caller_identity(), clients))
    took = time.monotonic() - t
    fake.config(latency_ms=0)
    assert took < 1.0, took     # 4 x 300 ms in sequence would be 1.2 s


fake.stop()
tap.done()

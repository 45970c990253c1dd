"""The fake-endpoint gaps the runbook authors found, each driven by botocore
itself (its serializers and parsers) against the fake on worlds/data.json, and
each asserting the state on GET /_fake/state as well as the answer."""
import copy
import datetime
import json
import os
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "lib")]

import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

import tap  # noqa: E402
from fakeaws import client, state  # noqa: E402

A = "111122223333"
DETECTOR = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
MANAGED = "rds!db-3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f607"
TASK_ENI, HOST_ENI = "eni-0a1b2c3d4e5f68001", "eni-0a1b2c3d4e5f60009"
SG_APP, SG_WEB = "sg-0a1b2c3d4e5f60104", "sg-0a1b2c3d4e5f60102"

DATA = state.load_world("data")
fake = client.start(world="data")
session = botocore.session.get_session()
_clients = {}


def _keep_host(request, **_):
    """s3control puts the account id in front of the host: connect to 127.0.0.1, keep Host."""
    url = urllib.parse.urlsplit(request.url)
    if url.hostname and url.hostname.endswith(".127.0.0.1"):
        request.headers["Host"] = url.netloc
        request.url = urllib.parse.urlunsplit(url._replace(netloc=f"127.0.0.1:{url.port}"))


def c(service, region="us-east-1"):
    if (service, region) not in _clients:
        cl = session.create_client(service, region_name=region, endpoint_url=fake.url,
                                   aws_access_key_id=client.ACCESS_KEY, aws_secret_access_key=client.SECRET_KEY,
                                   config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
        if service == "s3control":
            cl.meta.events.register("before-send", _keep_host)
        _clients[(service, region)] = cl
    return _clients[(service, region)]


def code_of(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


def ago(**kw):
    return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(**kw)


# ---------------------------------------------------------------- 1. XML attributes (xsi:type)

@tap.case
def put_bucket_acl_with_an_explicit_grant_list_keeps_each_grantee_type():
    s3 = c("s3")
    owner = {"ID": A, "DisplayName": "irhost-test"}
    grants = [{"Grantee": {"Type": "CanonicalUser", "ID": A}, "Permission": "FULL_CONTROL"},
              {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
               "Permission": "WRITE"},
              {"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "sec@example.com"},
               "Permission": "READ_ACP"}]
    s3.put_bucket_acl(Bucket="acme-public-assets", AccessControlPolicy={"Owner": owner, "Grants": grants})
    kept = fake.state()["s3"]["buckets"]["acme-public-assets"]["Acl"]
    assert [g["Grantee"]["Type"] for g in kept] == ["CanonicalUser", "Group", "AmazonCustomerByEmail"], kept
    got = s3.get_bucket_acl(Bucket="acme-public-assets")["Grants"]
    assert [(g["Grantee"]["Type"], g["Permission"]) for g in got] == \
        [("CanonicalUser", "FULL_CONTROL"), ("Group", "WRITE"), ("AmazonCustomerByEmail", "READ_ACP")], got
    assert got[1]["Grantee"]["URI"].endswith("/LogDelivery")
    # The public grant is gone: only the three above remain.
    assert not any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in got)


# ---------------------------------------------------------------- 2. s3control ListAccessPoints

@tap.case
def list_access_points_by_bucket_region_and_page():
    s3c = c("s3control")
    aps = s3c.list_access_points(AccountId=A)["AccessPointList"]
    assert [a["Name"] for a in aps] == ["partner-share-vpc", "public-assets-cdn"], aps
    vpc, net = aps
    assert vpc["NetworkOrigin"] == "VPC" and vpc["VpcConfiguration"]["VpcId"] == "vpc-0a1b2c3d4e5f60001"
    assert net["NetworkOrigin"] == "Internet" and "VpcConfiguration" not in net
    assert net["AccessPointArn"] == f"arn:aws:s3:us-east-1:{A}:accesspoint/public-assets-cdn"
    assert net["Bucket"] == "acme-public-assets" and net["BucketAccountId"] == A and net["Alias"].endswith("-s3alias")
    one = s3c.list_access_points(AccountId=A, Bucket="acme-public-assets")["AccessPointList"]
    assert [a["Name"] for a in one] == ["public-assets-cdn"]
    assert s3c.list_access_points(AccountId=A, Bucket="acme-logs").get("AccessPointList", []) == []
    assert c("s3control", "eu-west-1").list_access_points(AccountId=A).get("AccessPointList", []) == []
    first = s3c.list_access_points(AccountId=A, MaxResults=1)
    assert len(first["AccessPointList"]) == 1 and first["NextToken"]
    rest = s3c.list_access_points(AccountId=A, MaxResults=1, NextToken=first["NextToken"])
    assert [a["Name"] for a in rest["AccessPointList"]] == ["public-assets-cdn"] and not rest.get("NextToken")
    assert code_of(lambda: s3c.list_access_points(AccountId="444455556666"))[0] == "AccessDenied"


# ---------------------------------------------------------------- 3. CloudTrail event selectors

@tap.case
def get_event_selectors_tells_which_trail_records_s3_data_events():
    ct = c("cloudtrail")
    trails = {t["Name"]: t for t in ct.describe_trails()["trailList"]}
    assert trails["s3-data-events"]["HasCustomEventSelectors"] is True
    assert trails["org-trail"]["HasCustomEventSelectors"] is False
    assert "_event_selectors" not in json.dumps(ct.describe_trails()["trailList"])
    sel = ct.get_event_selectors(TrailName="s3-data-events")
    assert sel["TrailARN"] == f"arn:aws:cloudtrail:us-east-1:{A}:trail/s3-data-events"
    data = sel["EventSelectors"][0]["DataResources"][0]
    assert data["Type"] == "AWS::S3::Object" and data["Values"] == ["arn:aws:s3:::acme-public-assets/"]
    assert "AdvancedEventSelectors" not in sel
    default = ct.get_event_selectors(TrailName=trails["org-trail"]["TrailARN"])["EventSelectors"]
    assert default == [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                        "ExcludeManagementEventSources": []}], default
    assert code_of(lambda: ct.get_event_selectors(TrailName="nope"))[0] == "TrailNotFoundException"
    # A trail with advanced selectors answers those instead (a world of our own).
    world = copy.deepcopy(DATA)
    t = world["cloudtrail"]["us-east-1"]["trails"][1]
    t.pop("_event_selectors")
    t["_advanced_event_selectors"] = [{"Name": "s3 writes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::acme-public-assets/"]}]}]
    fake.reset(world)
    try:
        adv = ct.get_event_selectors(TrailName="s3-data-events")
        assert "EventSelectors" not in adv
        assert adv["AdvancedEventSelectors"][0]["FieldSelectors"][2]["StartsWith"] == ["arn:aws:s3:::acme-public-assets/"]
        assert ct.describe_trails(trailNameList=["s3-data-events"])["trailList"][0]["HasCustomEventSelectors"] is True
    finally:
        fake.reset()


# ---------------------------------------------------------------- 4. RotateSecret on an RDS-managed secret

@tap.case
def rotate_secret_of_an_rds_managed_secret_needs_no_lambda():
    sm = c("secretsmanager")
    before = sm.get_secret_value(SecretId=MANAGED)
    old = json.loads(before["SecretString"])
    out = sm.rotate_secret(SecretId=MANAGED, RotateImmediately=True)
    assert out["Name"] == MANAGED and out["VersionId"] and out["VersionId"] != before["VersionId"]
    now = sm.get_secret_value(SecretId=MANAGED)
    new = json.loads(now["SecretString"])
    assert now["VersionId"] == out["VersionId"] and now["VersionStages"] == ["AWSCURRENT"]
    assert new["username"] == old["username"] and new["password"] != old["password"], (old.keys(), new.keys())
    prev = sm.get_secret_value(SecretId=MANAGED, VersionStage="AWSPREVIOUS")
    assert json.loads(prev["SecretString"])["password"] == old["password"]
    d = sm.describe_secret(SecretId=MANAGED)
    assert d["RotationEnabled"] is True and d["OwningService"] == "rds" and "RotationLambdaARN" not in d
    kept = fake.state()["secretsmanager"]["us-east-1"]["secrets"][MANAGED]
    assert kept["LastRotatedDate"] > "2026-11-28"
    # AWS rotates it itself: a rotation function of our own is refused, and nothing changes.
    lam = f"arn:aws:lambda:us-east-1:{A}:function:rotate-deploy-token"
    assert code_of(lambda: sm.rotate_secret(SecretId=MANAGED, RotationLambdaARN=lam)) == \
        ("InvalidRequestException", 400)
    assert sm.get_secret_value(SecretId=MANAGED)["VersionId"] == out["VersionId"]
    # An ordinary secret without a rotation function is still refused.
    assert code_of(lambda: sm.rotate_secret(SecretId="prod/db/master"))[0] == "InvalidRequestException"
    # The new password never appears in the fake's record of the calls.
    assert new["password"] not in json.dumps(fake.calls(service="secretsmanager", operation="RotateSecret"))


# ---------------------------------------------------------------- 5. GuardDuty relative times

@tap.case
def guardduty_relative_times_resolve_at_any_depth():
    gd = c("guardduty")
    f = gd.get_findings(DetectorId=DETECTOR, FindingIds=["b7e1c2d3a4f5061728394a5b6c7d8e01"])["Findings"][0]
    first = state.parse_time(f["Service"]["EventFirstSeen"])
    assert abs((first - ago(hours=26)).total_seconds()) < 120, f["Service"]["EventFirstSeen"]
    assert state.parse_time(f["Service"]["EventLastSeen"]) >= first
    world = copy.deepcopy(DATA)
    det = world["guardduty"]["us-east-1"]["detectors"][DETECTOR]
    g = copy.deepcopy(det["findings"]["b7e1c2d3a4f5061728394a5b6c7d8e01"])
    g.update(Id="c0ffee00000000000000000000000001", CreatedAt="-2d", UpdatedAt="-90m")
    g["Service"].update(EventFirstSeen="-2d", EventLastSeen="-30m")
    g["Service"]["Action"] = {"ActionType": "NETWORK_CONNECTION", "NetworkConnectionAction": {
        "ConnectionDirection": "OUTBOUND", "Blocked": False, "Protocol": "TCP",
        "RemoteIpDetails": {"IpAddressV4": "203.0.113.50"}}}
    g["Service"]["Evidence"] = {"ThreatIntelligenceDetails": [{"ThreatListName": "t", "ThreatNames": ["x"]}]}
    det["findings"][g["Id"]] = g
    fake.reset(world)
    try:
        kept = fake.state()["guardduty"]["us-east-1"]["detectors"][DETECTOR]["findings"][g["Id"]]
        assert "-" not in kept["Service"]["EventFirstSeen"][:1], kept["Service"]
        got = gd.get_findings(DetectorId=DETECTOR, FindingIds=[g["Id"]])["Findings"][0]
        for when, want in ((got["CreatedAt"], ago(days=2)), (got["UpdatedAt"], ago(minutes=90)),
                           (got["Service"]["EventFirstSeen"], ago(days=2)),
                           (got["Service"]["EventLastSeen"], ago(minutes=30))):
            assert abs((state.parse_time(when) - want).total_seconds()) < 120, when
        # Times filter: the finding updated 90 minutes ago is inside a 2-hour window.
        since = int(ago(hours=2).timestamp() * 1000)
        ids = gd.list_findings(DetectorId=DETECTOR, FindingCriteria={"Criterion": {
            "updatedAt": {"Gte": since}}})["FindingIds"]
        assert g["Id"] in ids, ids
    finally:
        fake.reset()


# ---------------------------------------------------------------- 6. requester-managed ENIs

@tap.case
def requester_managed_eni_refuses_attribute_changes_as_aws_does():
    ec2 = c("ec2")
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[TASK_ENI])["NetworkInterfaces"][0]
    assert eni["RequesterManaged"] is True
    before = [g["GroupId"] for g in eni["Groups"]]
    for kw in ({"Groups": [SG_APP]}, {"SourceDestCheck": {"Value": False}}, {"Description": {"Value": "x"}}):
        assert code_of(lambda: ec2.modify_network_interface_attribute(NetworkInterfaceId=TASK_ENI, **kw)) == \
            ("AuthFailure", 400), kw
    kept = fake.state()["ec2"]["us-east-1"]["network_interfaces"][TASK_ENI]
    assert [g["GroupId"] if isinstance(g, dict) else g for g in kept["Groups"]] == before
    # Tags still change on a requester-managed ENI.
    ec2.create_tags(Resources=[TASK_ENI], Tags=[{"Key": "irhost:ticket", "Value": "IR-42"}])
    assert {"Key": "irhost:ticket", "Value": "IR-42"} in \
        ec2.describe_network_interfaces(NetworkInterfaceIds=[TASK_ENI])["NetworkInterfaces"][0]["TagSet"]
    # The instance's own ENI still moves.
    ec2.modify_network_interface_attribute(NetworkInterfaceId=HOST_ENI, Groups=[SG_WEB])
    got = ec2.describe_network_interfaces(NetworkInterfaceIds=[HOST_ENI])["NetworkInterfaces"][0]["Groups"]
    assert [g["GroupId"] for g in got] == [SG_WEB]
    fake.reset()


# ---------------------------------------------------------------- 7. RDS DescribeEvents default window

@tap.case
def rds_describe_events_defaults_to_the_past_hour():
    rds = c("rds")

    def msgs(**kw):
        return [e["Message"] for e in rds.describe_events(SourceIdentifier="prod-db", SourceType="db-instance",
                                                          **kw)["Events"]]
    assert msgs() == [], msgs()                    # world events are 3 h and older
    assert msgs(Duration=60 * 5) == ["Finished updating DB instance settings", "DB instance restarted"]
    assert msgs(StartTime=ago(hours=3, minutes=30)) == ["DB instance restarted"]
    assert msgs(EndTime=ago(hours=2), Duration=90) == ["DB instance restarted"]   # the 90 minutes before EndTime
    rds.modify_db_instance(DBInstanceIdentifier="prod-db", DeletionProtection=True, ApplyImmediately=True)
    assert msgs() == ["Finished updating DB instance settings"]   # the new event is within the hour
    fake.reset()


fake.stop()
tap.done()

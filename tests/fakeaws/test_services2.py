"""The services the identity and data runbooks need (issues 7 and 8), driven by
botocore itself (its serializers and parsers for each protocol) against the
fake on worlds/identity.json and worlds/data.json; every case asserts the
state semantics on GET /_fake/state, not only that a response parsed."""
import datetime
import json
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "lib")]

import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

import tap  # noqa: E402
from fakeaws import client  # noqa: E402

A = "111122223333"
EXPOSED, PERSIST = "AKIA4JDOEXPOSEDKEYAA", "AKIA4JDOEPERSISTKEYB"
SG_APP, SG_DB = "sg-0a1b2c3d4e5f60104", "sg-0a1b2c3d4e5f60105"
DB_ARN = f"arn:aws:rds:us-east-1:{A}:db:prod-db"
AURORA_ARN = f"arn:aws:rds:us-east-1:{A}:cluster:reports-aurora"
BACKDOOR_POLICY = f"arn:aws:iam::{A}:policy/backdoor-full-access"

fake = client.start(world="identity")
session = botocore.session.get_session()
_clients = {}


def _keep_host(request, **_):
    """s3control's endpoint rules put the account id in front of the host
    (111122223333.127.0.0.1): connect to the fake, keep the signed Host."""
    url = urllib.parse.urlsplit(request.url)
    if url.hostname and url.hostname.endswith(".127.0.0.1"):
        request.headers["Host"] = url.netloc
        request.url = urllib.parse.urlunsplit(url._replace(netloc=f"127.0.0.1:{url.port}"))


def c(service, region="us-east-1", key=client.ACCESS_KEY, secret=client.SECRET_KEY):
    k = (service, region, key, secret)
    if k not in _clients:
        cl = session.create_client(service, region_name=region, endpoint_url=fake.url, aws_access_key_id=key,
                                   aws_secret_access_key=secret,
                                   config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
        if service == "s3control":
            cl.meta.events.register("before-send", _keep_host)
        _clients[k] = cl
    return _clients[k]


def code_of(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


def iam_state():
    return fake.state()["iam"]


iam = c("iam")

# ================================================================ identity world: IAM users

@tap.case
def users_and_the_caller():
    names = [u["UserName"] for u in iam.list_users()["Users"]]
    assert names == ["alice", "backdoor-admin", "ir-responder", "jdoe"], names
    assert iam.get_user()["User"]["UserName"] == "ir-responder"      # no UserName: the caller
    assert iam.get_user(UserName="jdoe")["User"]["Arn"] == f"arn:aws:iam::{A}:user/jdoe"
    assert code_of(lambda: iam.get_user(UserName="nobody")) == ("NoSuchEntity", 404)
    cr = c("sts").assume_role(RoleArn=f"arn:aws:iam::{A}:role/ir-responder", RoleSessionName="s1")["Credentials"]
    as_role = session.create_client("iam", region_name="us-east-1", endpoint_url=fake.url,
                                    aws_access_key_id=cr["AccessKeyId"], aws_secret_access_key=cr["SecretAccessKey"],
                                    aws_session_token=cr["SessionToken"])
    assert code_of(as_role.get_user) == ("ValidationError", 400)     # a role session has no user of its own
    page = iam.list_users(MaxItems=3)
    assert page["IsTruncated"] and len(page["Users"]) == 3
    rest = iam.list_users(Marker=page["Marker"])
    assert [u["UserName"] for u in rest["Users"]] == ["jdoe"] and not rest["IsTruncated"]


@tap.case
def exposed_key_is_found_and_deactivated_not_deleted():
    keys = iam.list_access_keys(UserName="jdoe")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(EXPOSED, "Active"), (PERSIST, "Active")], keys
    used = iam.get_access_key_last_used(AccessKeyId=EXPOSED)
    assert used["UserName"] == "jdoe" and used["AccessKeyLastUsed"]["ServiceName"] == "iam"
    assert code_of(lambda: iam.get_access_key_last_used(AccessKeyId="AKIA4NOSUCHKEYXXXXXX"))[0] == "AccessDenied"
    thief = c("sts", key=EXPOSED, secret="jdoe/EXPOSED+secret/fakeaws00000000000000")
    assert thief.get_caller_identity()["Arn"].endswith("user/jdoe")
    iam.update_access_key(UserName="jdoe", AccessKeyId=EXPOSED, Status="Inactive")
    keys = {k["AccessKeyId"]: k for k in iam_state()["users"]["jdoe"]["AccessKeys"]}
    assert keys[EXPOSED]["Status"] == "Inactive" and keys[PERSIST]["Status"] == "Active"
    # As on AWS, an inactive key no longer signs; reactivating restores it.
    assert code_of(thief.get_caller_identity) == ("InvalidClientTokenId", 403)
    iam.update_access_key(UserName="jdoe", AccessKeyId=EXPOSED, Status="Active")
    assert thief.get_caller_identity()["Account"] == A
    iam.update_access_key(UserName="jdoe", AccessKeyId=EXPOSED, Status="Inactive")
    assert code_of(lambda: iam.update_access_key(UserName="jdoe", AccessKeyId="AKIA4NOSUCHKEYXXXXXX",
                                                 Status="Inactive")) == ("NoSuchEntity", 404)


@tap.case
def replacement_key_works_and_its_secret_is_in_state():
    st = iam_state()["users"]["alice"]["AccessKeys"]
    assert len(st) == 1
    new = iam.create_access_key(UserName="alice")["AccessKey"]
    assert new["Status"] == "Active" and new["AccessKeyId"].startswith("AKIA") and len(new["AccessKeyId"]) == 20
    world = fake.state()
    rec = [x for x in world["credentials"] if x["access_key"] == new["AccessKeyId"]]
    assert rec and rec[0]["secret_key"] == new["SecretAccessKey"]
    who = c("sts", key=new["AccessKeyId"], secret=new["SecretAccessKey"]).get_caller_identity()
    assert who["Arn"].endswith("user/alice")
    assert code_of(lambda: iam.create_access_key(UserName="alice")) == ("LimitExceeded", 409)
    iam.delete_access_key(UserName="alice", AccessKeyId=new["AccessKeyId"])
    assert [k["AccessKeyId"] for k in iam_state()["users"]["alice"]["AccessKeys"]] == ["AKIA4ALICEINNOCENTKY"]
    assert code_of(c("sts", key=new["AccessKeyId"], secret=new["SecretAccessKey"]).get_caller_identity)[0] == \
        "InvalidClientTokenId"


@tap.case
def login_profiles():
    lp = iam.get_login_profile(UserName="jdoe")["LoginProfile"]
    assert lp["UserName"] == "jdoe" and lp["PasswordResetRequired"] is False
    assert code_of(lambda: iam.create_login_profile(UserName="jdoe", Password="x")) == ("EntityAlreadyExists", 409)
    iam.update_login_profile(UserName="alice", Password="Gener4ted-Passw0rd!", PasswordResetRequired=True)
    world = fake.state()
    assert world["iam"]["users"]["alice"]["LoginProfile"]["PasswordResetRequired"] is True
    assert "_password_changed" in world["iam"]["users"]["alice"]["LoginProfile"]
    assert "Gener4ted-Passw0rd!" not in json.dumps(world), "a password must never sit in the state"
    made = iam.create_login_profile(UserName="backdoor-admin", Password="Other-Passw0rd!", PasswordResetRequired=True)
    assert made["LoginProfile"]["PasswordResetRequired"] is True
    iam.delete_login_profile(UserName="jdoe")
    assert "LoginProfile" not in iam_state()["users"]["jdoe"]
    assert code_of(lambda: iam.get_login_profile(UserName="jdoe")) == ("NoSuchEntity", 404)
    assert code_of(lambda: iam.delete_login_profile(UserName="jdoe")) == ("NoSuchEntity", 404)


@tap.case
def mfa_devices_assigned_then_unassigned_then_deleted():
    serial = f"arn:aws:iam::{A}:mfa/jdoe-phone"
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="jdoe")["MFADevices"]] == [serial]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert {d["SerialNumber"]: d["User"]["UserName"] for d in assigned}[serial] == "jdoe"
    assert code_of(lambda: iam.delete_virtual_mfa_device(SerialNumber=serial)) == ("DeleteConflict", 409)
    iam.deactivate_mfa_device(UserName="jdoe", SerialNumber=serial)
    assert iam_state()["users"]["jdoe"]["MFADevices"] == []
    free = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert [d["SerialNumber"] for d in free] == [serial]
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] and \
        serial not in [d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]]
    assert code_of(lambda: iam.deactivate_mfa_device(UserName="jdoe", SerialNumber=serial)) == ("NoSuchEntity", 404)


@tap.case
def ssh_keys_and_signing_certificates():
    keys = iam.list_ssh_public_keys(UserName="jdoe")["SSHPublicKeys"]
    assert [(k["SSHPublicKeyId"], k["Status"]) for k in keys] == [("APKA4JDOEATTACKERSSH", "Active")]
    iam.update_ssh_public_key(UserName="jdoe", SSHPublicKeyId="APKA4JDOEATTACKERSSH", Status="Inactive")
    assert iam_state()["users"]["jdoe"]["SSHPublicKeys"][0]["Status"] == "Inactive"
    iam.delete_ssh_public_key(UserName="jdoe", SSHPublicKeyId="APKA4JDOEATTACKERSSH")
    assert iam_state()["users"]["jdoe"]["SSHPublicKeys"] == []
    certs = iam.list_signing_certificates(UserName="jdoe")["Certificates"]
    cid = certs[0]["CertificateId"]
    assert certs[0]["Status"] == "Active" and certs[0]["CertificateBody"].startswith("-----BEGIN")
    iam.update_signing_certificate(UserName="jdoe", CertificateId=cid, Status="Inactive")
    assert iam_state()["users"]["jdoe"]["SigningCertificates"][0]["Status"] == "Inactive"
    iam.delete_signing_certificate(UserName="jdoe", CertificateId=cid)
    assert iam_state()["users"]["jdoe"]["SigningCertificates"] == []
    assert code_of(lambda: iam.delete_signing_certificate(UserName="jdoe", CertificateId=cid)) == ("NoSuchEntity", 404)


@tap.case
def groups_and_policies_of_a_user():
    g = iam.list_groups_for_user(UserName="jdoe")["Groups"]
    assert g[0]["GroupName"] == "developers" and g[0]["Arn"].endswith(":group/developers") and g[0]["GroupId"]
    assert iam.list_user_policies(UserName="jdoe")["PolicyNames"] == ["deploy-artifacts"]
    doc = iam.get_user_policy(UserName="jdoe", PolicyName="deploy-artifacts")["PolicyDocument"]
    assert doc["Statement"][1]["Action"] == ["ec2:*", "iam:*", "lambda:*"]
    attached = [p["PolicyName"] for p in iam.list_attached_user_policies(UserName="jdoe")["AttachedPolicies"]]
    assert attached == ["ReadOnlyAccess", "AWSCompromisedKeyQuarantineV2"], attached


@tap.case
def deny_policy_with_token_issue_time_is_read_back_then_removed():
    deny = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-12-03T17:00:00Z"}}}]}
    iam.put_user_policy(UserName="jdoe", PolicyName="AWSRevokeOlderSessions", PolicyDocument=json.dumps(deny))
    assert iam_state()["users"]["jdoe"]["InlinePolicies"]["AWSRevokeOlderSessions"] == deny
    got = iam.get_user_policy(UserName="jdoe", PolicyName="AWSRevokeOlderSessions")["PolicyDocument"]
    assert got == deny
    assert iam.list_user_policies(UserName="jdoe")["PolicyNames"] == ["AWSRevokeOlderSessions", "deploy-artifacts"]
    assert code_of(lambda: iam.put_user_policy(UserName="jdoe", PolicyName="bad", PolicyDocument="{nope")) == \
        ("MalformedPolicyDocument", 400)
    iam.delete_user_policy(UserName="jdoe", PolicyName="AWSRevokeOlderSessions")
    assert "AWSRevokeOlderSessions" not in iam_state()["users"]["jdoe"]["InlinePolicies"]
    assert code_of(lambda: iam.get_user_policy(UserName="jdoe", PolicyName="AWSRevokeOlderSessions")) == \
        ("NoSuchEntity", 404)


@tap.case
def managed_policy_attachment_leaves_quarantine_alone():
    iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")   # idempotent
    assert [p["PolicyArn"] for p in iam_state()["users"]["alice"]["AttachedPolicies"]] == \
        ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    iam.detach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert iam_state()["users"]["alice"]["AttachedPolicies"] == []
    assert code_of(lambda: iam.detach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")) \
        == ("NoSuchEntity", 404)
    assert code_of(lambda: iam.attach_user_policy(UserName="alice", PolicyArn=f"arn:aws:iam::{A}:policy/none")) == \
        ("NoSuchEntity", 404)
    names = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="legacy-ci-role")["AttachedPolicies"]]
    assert names == ["AWSCompromisedKeyQuarantineV2"]
    q = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2")["Policy"]
    assert q["PolicyName"] == "AWSCompromisedKeyQuarantineV2" and q["AttachmentCount"] == 2


@tap.case
def roles_trust_and_identity_providers():
    roles = {r["RoleName"]: r for r in iam.list_roles()["Roles"]}
    saml = roles["AdminSSO"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert saml["Action"] == "sts:AssumeRoleWithSAML" and saml["Principal"]["Federated"].endswith("saml-provider/okta")
    oidc = roles["github-actions-deploy"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Federated"]
    providers = iam.list_saml_providers()["SAMLProviderList"]
    assert [p["Arn"] for p in providers] == [f"arn:aws:iam::{A}:saml-provider/okta"]
    meta = iam.get_saml_provider(SAMLProviderArn=providers[0]["Arn"])
    assert "okta.com" in meta["SAMLMetadataDocument"] and meta["ValidUntil"].year == 2124
    assert [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]] == [oidc]
    op = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=oidc)
    assert op["Url"] == "token.actions.githubusercontent.com" and op["ClientIDList"] == ["sts.amazonaws.com"]
    assert code_of(lambda: iam.get_saml_provider(SAMLProviderArn=f"arn:aws:iam::{A}:saml-provider/x")) == \
        ("NoSuchEntity", 404)
    deny_federation = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"Federated": "*"},
                                                               "Action": ["sts:AssumeRoleWithSAML",
                                                                          "sts:AssumeRoleWithWebIdentity"]}]}
    iam.update_assume_role_policy(RoleName="AdminSSO", PolicyDocument=json.dumps(deny_federation))
    assert iam_state()["roles"]["AdminSSO"]["AssumeRolePolicyDocument"] == deny_federation
    assert iam.get_role(RoleName="AdminSSO")["Role"]["AssumeRolePolicyDocument"] == deny_federation
    profiles = iam.list_instance_profiles_for_role(RoleName="app-runtime")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in profiles] == ["app-runtime-profile"]
    assert profiles[0]["Roles"][0]["RoleName"] == "app-runtime"
    assert iam.list_instance_profiles_for_role(RoleName="AdminSSO")["InstanceProfiles"] == []


@tap.case
def inline_and_managed_role_policies():
    iam.delete_role_policy(RoleName="github-actions-deploy", PolicyName="deploy")
    assert iam_state()["roles"]["github-actions-deploy"]["InlinePolicies"] == {}
    assert code_of(lambda: iam.delete_role_policy(RoleName="github-actions-deploy", PolicyName="deploy")) == \
        ("NoSuchEntity", 404)
    iam.attach_role_policy(RoleName="github-actions-deploy", PolicyArn="arn:aws:iam::aws:policy/AWSDenyAll")
    assert iam_state()["roles"]["github-actions-deploy"]["AttachedPolicies"][-1]["PolicyName"] == "AWSDenyAll"
    iam.detach_role_policy(RoleName="github-actions-deploy", PolicyArn="arn:aws:iam::aws:policy/AWSDenyAll")
    assert iam_state()["roles"]["github-actions-deploy"]["AttachedPolicies"] == []


@tap.case
def what_the_attacker_created_can_be_removed():
    local = iam.list_policies(Scope="Local")["Policies"]
    assert [(p["Arn"], p["AttachmentCount"]) for p in local] == [(BACKDOOR_POLICY, 1)]
    doc = iam.get_policy_version(PolicyArn=BACKDOOR_POLICY, VersionId="v1")["PolicyVersion"]["Document"]
    assert doc["Statement"][0]["Action"] == "*"
    assert code_of(lambda: iam.delete_policy(PolicyArn=BACKDOOR_POLICY)) == ("DeleteConflict", 409)
    assert code_of(lambda: iam.delete_role(RoleName="support-backdoor")) == ("DeleteConflict", 409)
    iam.detach_role_policy(RoleName="support-backdoor", PolicyArn=BACKDOOR_POLICY)
    iam.delete_policy(PolicyArn=BACKDOOR_POLICY)
    iam.delete_role(RoleName="support-backdoor")
    st = iam_state()
    assert BACKDOOR_POLICY not in st["policies"] and "support-backdoor" not in st["roles"]
    assert code_of(lambda: iam.delete_user(UserName="backdoor-admin")) == ("DeleteConflict", 409)
    iam.delete_access_key(UserName="backdoor-admin", AccessKeyId="AKIA4BACKDOORADMINKA")
    iam.detach_user_policy(UserName="backdoor-admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    if "LoginProfile" in iam_state()["users"]["backdoor-admin"]:
        iam.delete_login_profile(UserName="backdoor-admin")
    iam.delete_user(UserName="backdoor-admin")
    assert "backdoor-admin" not in iam_state()["users"]
    assert code_of(lambda: iam.delete_user(UserName="backdoor-admin")) == ("NoSuchEntity", 404)


@tap.case
def account_summary_and_aliases():
    s = iam.get_account_summary()["SummaryMap"]
    assert s["AccountMFAEnabled"] == 1 and s["AccountAccessKeysPresent"] == 0 and s["Users"] == len(iam_state()["users"])
    assert iam.list_account_aliases()["AccountAliases"] == ["acme-prod"]
    world = fake.state()
    world["iam"]["root_mfa"] = False
    fake.reset(world)
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 0


# ================================================================ identity world: other services

@tap.case
def identity_world_cloudtrail_guardduty_keypairs():
    fake.reset("identity")
    ct = c("cloudtrail")
    ev = ct.lookup_events(LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": EXPOSED}],
                          MaxResults=50)["Events"]
    ips = {json.loads(e["CloudTrailEvent"])["sourceIPAddress"] for e in ev}
    assert ips == {"192.0.2.10", "203.0.113.77", "198.51.100.23"}, ips
    assert {"CreateUser", "CreateAccessKey", "CreateLoginProfile", "PutAlternateContact"} <= {e["EventName"] for e in ev}
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=4)
    recent = ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "jdoe"}],
                              StartTime=since)["Events"]
    assert recent and all(e["EventTime"] >= since for e in recent) and len(recent) < len(
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "jdoe"}])["Events"])
    eu = c("cloudtrail", "eu-west-1").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RunInstances"}])["Events"]
    assert [r["ResourceName"] for r in eu[0]["Resources"]] == ["i-0f1e2d3c4b5a69002"]
    assert ct.get_trail_status(Name="org-trail")["IsLogging"] is True
    assert code_of(lambda: ct.get_trail_status(Name="nope")) == ("TrailNotFoundException", 400)
    gd = c("guardduty")
    det = gd.list_detectors()["DetectorIds"][0]
    ids = gd.list_findings(DetectorId=det, FindingCriteria={"Criterion": {
        "resource.accessKeyDetails.userName": {"Eq": ["jdoe"]}}})["FindingIds"]
    found = gd.get_findings(DetectorId=det, FindingIds=ids)["Findings"]
    assert len(found) == 3 and {f["Resource"]["AccessKeyDetails"]["AccessKeyId"] for f in found} == {EXPOSED, PERSIST}
    assert all(f["Service"]["EventLastSeen"] > "2026" for f in found)
    assert {k["KeyName"] for k in c("ec2", "eu-west-1").describe_key_pairs()["KeyPairs"]} == {"ir-demo-eu", "legacy-admin", "x"}
    assert c("account").get_alternate_contact(AlternateContactType="SECURITY")["AlternateContact"]["EmailAddress"] == \
        "sec-alerts@example.net"
    assert code_of(c("organizations").describe_organization)[0] == "AWSOrganizationsNotInUseException"


@tap.case
def snapshot_shared_out_is_seen_and_unshared():
    ec2 = c("ec2")
    snap = "snap-0f1e2d3c4b5a69001"
    perms = ec2.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")
    assert perms["CreateVolumePermissions"] == [{"UserId": "999988887777"}]
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission",
                                  CreateVolumePermission={"Remove": [{"UserId": "999988887777"}]})
    assert fake.state()["ec2"]["us-east-1"]["snapshots"][snap]["CreateVolumePermissions"] == []
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission", OperationType="add",
                                  GroupNames=["all"])
    assert ec2.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")[
        "CreateVolumePermissions"] == [{"Group": "all"}]
    assert code_of(lambda: ec2.describe_snapshot_attribute(SnapshotId="snap-0000000000000dead",
                                                           Attribute="createVolumePermission")) == \
        ("InvalidSnapshot.NotFound", 400)


@tap.case
def lambda_functions_listed_read_and_deleted():
    lam = c("lambda")
    fns = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    assert set(fns) == {"exfil-helper", "thumbnailer"} and fns["exfil-helper"]["Role"].endswith("role/support-backdoor")
    got = lam.get_function(FunctionName=f"arn:aws:lambda:us-east-1:{A}:function:thumbnailer")
    assert got["Configuration"]["FunctionName"] == "thumbnailer" and got["Tags"] == {"team": "media"}
    assert got["Code"]["RepositoryType"] == "S3"
    lam.delete_function(FunctionName="exfil-helper")
    assert "exfil-helper" not in fake.state()["lambda"]["us-east-1"]["functions"]
    assert code_of(lambda: lam.get_function(FunctionName="exfil-helper")) == ("ResourceNotFoundException", 404)


# ================================================================ data world: S3

fake.reset("data")


def bucket(name):
    return fake.state()["s3"]["buckets"][name]


@tap.case
def policy_status_tells_public_from_cross_account_and_private():
    s3 = c("s3")
    assert s3.get_bucket_policy_status(Bucket="acme-public-assets")["PolicyStatus"]["IsPublic"] is True
    # Another account and an IP-conditioned "*" are not public, as AWS judges it.
    assert s3.get_bucket_policy_status(Bucket="acme-partner-share")["PolicyStatus"]["IsPublic"] is False
    assert code_of(lambda: s3.get_bucket_policy_status(Bucket="acme-logs")) == ("NoSuchBucketPolicy", 404)
    assert code_of(lambda: s3.get_bucket_policy_status(Bucket="nope-bucket")) == ("NoSuchBucket", 404)
    grants = s3.get_bucket_acl(Bucket="acme-partner-share")["Grants"]
    assert {g["Grantee"].get("URI") or g["Grantee"].get("ID") for g in grants} >= {
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}


@tap.case
def securing_a_bucket():
    s3 = c("s3")
    pab = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    s3.put_public_access_block(Bucket="acme-public-assets", PublicAccessBlockConfiguration=pab)
    assert bucket("acme-public-assets")["PublicAccessBlock"] == pab
    s3.delete_public_access_block(Bucket="acme-public-assets")
    assert "PublicAccessBlock" not in bucket("acme-public-assets")
    assert code_of(lambda: s3.get_public_access_block(Bucket="acme-public-assets"))[0] == \
        "NoSuchPublicAccessBlockConfiguration"
    s3.put_bucket_ownership_controls(Bucket="acme-partner-share",
                                     OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert bucket("acme-partner-share")["OwnershipControls"] == "BucketOwnerEnforced"
    s3.delete_bucket_ownership_controls(Bucket="acme-partner-share")
    assert code_of(lambda: s3.get_bucket_ownership_controls(Bucket="acme-partner-share")) == \
        ("OwnershipControlsNotFoundError", 404)
    s3.put_bucket_versioning(Bucket="acme-partner-share", VersioningConfiguration={"Status": "Enabled"})
    lock = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}
    s3.put_object_lock_configuration(Bucket="acme-partner-share", ObjectLockConfiguration=lock)
    assert bucket("acme-partner-share")["ObjectLock"] == lock
    got = s3.get_object_lock_configuration(Bucket=f"acme-cloudtrail-{A}")["ObjectLockConfiguration"]
    assert got["Rule"]["DefaultRetention"]["Days"] == 365
    assert code_of(lambda: s3.put_object_lock_configuration(Bucket="acme-public-assets", ObjectLockConfiguration=lock)) \
        == ("InvalidBucketState", 409)
    assert code_of(lambda: s3.get_object_lock_configuration(Bucket="acme-public-assets")) == \
        ("ObjectLockConfigurationNotFoundError", 404)


@tap.case
def bucket_tagging_logging_encryption():
    s3 = c("s3")
    assert s3.get_bucket_tagging(Bucket="acme-public-assets")["TagSet"] == [{"Key": "team", "Value": "web"}]
    s3.put_bucket_tagging(Bucket="acme-public-assets", Tagging={"TagSet": [{"Key": "irhost:ticket", "Value": "IR-42"}]})
    assert bucket("acme-public-assets")["Tags"] == [{"Key": "irhost:ticket", "Value": "IR-42"}]
    s3.delete_bucket_tagging(Bucket="acme-public-assets")
    assert code_of(lambda: s3.get_bucket_tagging(Bucket="acme-public-assets")) == ("NoSuchTagSet", 404)
    assert s3.get_bucket_logging(Bucket="acme-public-assets")["LoggingEnabled"]["TargetBucket"] == "acme-logs"
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket="acme-partner-share")
    s3.put_bucket_logging(Bucket="acme-partner-share", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "acme-logs", "TargetPrefix": "s3/partner/"}})
    assert bucket("acme-partner-share")["Logging"]["TargetPrefix"] == "s3/partner/"
    assert code_of(lambda: s3.put_bucket_logging(Bucket="acme-partner-share", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "no-such-target", "TargetPrefix": "x/"}}))[0] == "InvalidTargetBucketForLogging"
    enc = s3.get_bucket_encryption(Bucket="acme-logs")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    default = s3.get_bucket_encryption(Bucket="acme-partner-share")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert default["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


@tap.case
def account_level_block_public_access():
    s3c = c("s3control")
    assert code_of(lambda: s3c.get_public_access_block(AccountId=A)) == ("NoSuchPublicAccessBlockConfiguration", 404)
    pab = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    s3c.put_public_access_block(AccountId=A, PublicAccessBlockConfiguration=pab)
    assert fake.state()["s3control"]["account_public_access_block"] == pab
    assert s3c.get_public_access_block(AccountId=A)["PublicAccessBlockConfiguration"] == pab
    assert code_of(lambda: s3c.get_public_access_block(AccountId="444455556666")) == ("AccessDenied", 403)
    s3c.delete_public_access_block(AccountId=A)
    assert "account_public_access_block" not in fake.state()["s3control"]
    call = fake.calls(service="s3control", operation="PutPublicAccessBlock")[-1]
    assert call["signature_ok"] and call["params"]["AccountId"] == A


# ================================================================ data world: RDS

def db_state():
    return fake.state()["rds"]["us-east-1"]["db_instances"]["prod-db"]


@tap.case
def rds_describe_and_restrict_network():
    rds = c("rds")
    d = rds.describe_db_instances(DBInstanceIdentifier="prod-db")["DBInstances"][0]
    assert d["VpcSecurityGroups"] == [{"VpcSecurityGroupId": SG_DB, "Status": "active"}]
    assert d["DBParameterGroups"][0]["DBParameterGroupName"] == "prod-pg15"
    assert code_of(lambda: rds.describe_db_instances(DBInstanceIdentifier="nope")) == ("DBInstanceNotFound", 404)
    out = rds.modify_db_instance(DBInstanceIdentifier="prod-db", VpcSecurityGroupIds=[SG_APP],
                                 PubliclyAccessible=False, DeletionProtection=True,
                                 EnableIAMDatabaseAuthentication=True, ApplyImmediately=True)["DBInstance"]
    assert out["VpcSecurityGroups"][0]["VpcSecurityGroupId"] == SG_APP
    st = db_state()
    assert [g["VpcSecurityGroupId"] for g in st["VpcSecurityGroups"]] == [SG_APP]
    assert st["DeletionProtection"] is True and st["IAMDatabaseAuthenticationEnabled"] is True
    assert code_of(lambda: rds.modify_db_instance(DBInstanceIdentifier="prod-db",
                                                  VpcSecurityGroupIds=["sg-0000000000000dead"]))[0] == \
        "InvalidParameterValue"
    ev = rds.describe_events(SourceIdentifier="prod-db", SourceType="db-instance", Duration=10)["Events"]
    assert ev and ev[-1]["Message"] == "Finished updating DB instance settings"


@tap.case
def rds_master_password_is_kept_from_every_answer():
    rds = c("rds")
    secret = "Gen3rated+Master/Pass"
    out = rds.modify_db_instance(DBInstanceIdentifier="prod-db", MasterUserPassword=secret, ApplyImmediately=True)
    assert out["DBInstance"]["PendingModifiedValues"]["MasterUserPassword"] == "****"
    assert secret not in json.dumps(out, default=str)
    assert db_state()["_master_password"] == secret
    assert secret not in json.dumps(rds.describe_db_instances(DBInstanceIdentifier="prod-db"), default=str)


@tap.case
def rds_parameters_events_snapshots_clusters_tags():
    rds = c("rds")
    groups = rds.describe_db_parameter_groups()["DBParameterGroups"]
    assert [g["DBParameterGroupName"] for g in groups] == ["prod-pg15"] and groups[0]["DBParameterGroupFamily"] == "postgres15"
    user = rds.describe_db_parameters(DBParameterGroupName="prod-pg15", Source="user")["Parameters"]
    assert [p["ParameterName"] for p in user] == ["log_connections", "log_statement"]
    assert code_of(lambda: rds.describe_db_parameters(DBParameterGroupName="x")) == ("DBParameterGroupNotFound", 404)
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=5)
    msgs = [e["Message"] for e in rds.describe_events(SourceIdentifier="prod-db", SourceType="db-instance",
                                                     StartTime=since)["Events"]]
    assert "DB instance restarted" in msgs and "Finished DB Instance backup" not in msgs, msgs
    snap = rds.create_db_snapshot(DBSnapshotIdentifier="ir-42-prod-db", DBInstanceIdentifier="prod-db",
                                  Tags=[{"Key": "irhost:ticket", "Value": "IR-42"}])["DBSnapshot"]
    assert snap["Status"] == "creating" and snap["DBSnapshotArn"].endswith(":snapshot:ir-42-prod-db")
    assert code_of(lambda: rds.create_db_snapshot(DBSnapshotIdentifier="ir-42-prod-db",
                                                  DBInstanceIdentifier="prod-db"))[0] == "DBSnapshotAlreadyExists"
    statuses = [rds.describe_db_snapshots(DBInstanceIdentifier="prod-db")["DBSnapshots"][0]["Status"] for _ in range(3)]
    assert statuses[-1] == "available", statuses
    assert code_of(lambda: rds.describe_db_snapshots(DBSnapshotIdentifier="nope")) == ("DBSnapshotNotFound", 404)
    cl = rds.describe_db_clusters(DBClusterIdentifier="reports-aurora")["DBClusters"][0]
    assert cl["HttpEndpointEnabled"] is True and cl["DBClusterArn"] == AURORA_ARN
    assert code_of(lambda: rds.describe_db_clusters(DBClusterIdentifier="nope")) == ("DBClusterNotFoundFault", 404)
    rds.add_tags_to_resource(ResourceName=DB_ARN, Tags=[{"Key": "irhost:ticket", "Value": "IR-42"}])
    assert {"Key": "irhost:ticket", "Value": "IR-42"} in rds.list_tags_for_resource(ResourceName=DB_ARN)["TagList"]


@tap.case
def rds_log_files_download_in_marker_pages():
    rds = c("rds")
    files = rds.describe_db_log_files(DBInstanceIdentifier="prod-db")["DescribeDBLogFiles"]
    assert len(files) == 3 and all(f["Size"] > 0 and f["LastWritten"] > 1.7e12 for f in files)
    recent = rds.describe_db_log_files(DBInstanceIdentifier="prod-db",
                                       FileLastWritten=int((time.time() - 24 * 3600) * 1000))["DescribeDBLogFiles"]
    assert [f["LogFileName"] for f in recent] == ["error/postgresql.log.2026-12-03-10"]
    name = "error/postgresql.log.2026-12-02-00"
    whole = db_state()["_log_files"][name]["Data"]
    got, marker, pages = "", "0", 0
    while True:
        part = rds.download_db_log_file_portion(DBInstanceIdentifier="prod-db", LogFileName=name, Marker=marker,
                                                NumberOfLines=40)
        got += part.get("LogFileData", "")
        marker, pages = part["Marker"], pages + 1
        if not part["AdditionalDataPending"]:
            break
    assert got == whole and pages == 4, (pages, len(got), len(whole))
    assert code_of(lambda: rds.download_db_log_file_portion(DBInstanceIdentifier="prod-db", LogFileName="x")) == \
        ("DBLogFileNotFoundFault", 404)


@tap.case
def rds_data_records_the_sql():
    rd = c("rds-data")
    secret = fake.state()["secretsmanager"]["us-east-1"]["secrets"]["rds!db-3f1a2b4c-5d6e-4f70-8a91-b2c3d4e5f607"]["ARN"]
    sql = 'ALTER ROLE "support" NOLOGIN; REVOKE ALL PRIVILEGES ON DATABASE reports FROM "support";'
    out = rd.execute_statement(resourceArn=AURORA_ARN, secretArn=secret, sql=sql, database="reports")
    assert out["numberOfRecordsUpdated"] == 0
    st = fake.state()["rds-data"]["us-east-1"]["statements"]
    assert st[-1]["sql"] == sql and st[-1]["secretArn"] == secret
    assert code_of(lambda: rd.execute_statement(resourceArn=DB_ARN, secretArn=secret, sql="SELECT 1"))[0] == \
        "BadRequestException"


# ================================================================ data world: GuardDuty, KMS, Detective, Organizations

@tap.case
def guardduty_findings_and_malware_protection():
    gd = c("guardduty")
    det = gd.list_detectors()["DetectorIds"][0]
    s3_ids = gd.list_findings(DetectorId=det, FindingCriteria={"Criterion": {
        "resource.s3BucketDetails.name": {"Eq": ["acme-public-assets"]}}})["FindingIds"]
    found = gd.get_findings(DetectorId=det, FindingIds=s3_ids)["Findings"]
    assert "Policy:S3/BucketAnonymousAccessGranted" in {f["Type"] for f in found}
    ctr = gd.list_findings(DetectorId=det, FindingCriteria={"Criterion": {
        "resource.containerDetails.id": {"Eq": ["9c4e2d1b7a30"]}}})["FindingIds"]
    f = gd.get_findings(DetectorId=det, FindingIds=ctr)["Findings"][0]
    assert f["Resource"]["InstanceDetails"]["InstanceId"] == "i-0a1b2c3d4e5f60006"
    settings = gd.get_malware_scan_settings(DetectorId=det)
    assert settings["EbsSnapshotPreservation"] == "RETENTION_WITH_FINDING"
    scans = gd.describe_malware_scans(DetectorId=det, FilterCriteria={"FilterCriterion": [{
        "CriterionKey": "EC2_INSTANCE_ARN",
        "FilterCondition": {"EqualsValue": f"arn:aws:ec2:us-east-1:{A}:instance/i-0a1b2c3d4e5f60006"}}]})["Scans"]
    assert len(scans) == 1 and scans[0]["ScanStatus"] == "COMPLETED"
    snaps = [v["SnapshotArn"].rsplit("/", 1)[1] for v in scans[0]["AttachedVolumes"]]
    assert snaps and all(s in fake.state()["ec2"]["us-east-1"]["snapshots"] for s in snaps)
    none = gd.describe_malware_scans(DetectorId=det, FilterCriteria={"FilterCriterion": [{
        "CriterionKey": "SCAN_ID", "FilterCondition": {"EqualsValue": "nope"}}]})["Scans"]
    assert none == []
    gd.update_malware_scan_settings(DetectorId=det, EbsSnapshotPreservation="NO_RETENTION")
    assert gd.get_malware_scan_settings(DetectorId=det)["EbsSnapshotPreservation"] == "NO_RETENTION"
    assert code_of(lambda: gd.get_malware_scan_settings(DetectorId="0" * 32)) == ("BadRequestException", 400)


@tap.case
def kms_detective_organizations():
    kms = c("kms")
    kid = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a00"
    for ref in (kid, "alias/prod-data", f"arn:aws:kms:us-east-1:{A}:key/{kid}", f"arn:aws:kms:us-east-1:{A}:alias/prod-data"):
        meta = kms.describe_key(KeyId=ref)["KeyMetadata"]
        assert meta["KeyId"] == kid and meta["KeyState"] == "Enabled" and meta["KeyManager"] == "CUSTOMER", ref
    assert code_of(lambda: kms.describe_key(KeyId="alias/nope"))[0] == "NotFoundException"
    graphs = c("detective").list_graphs()["GraphList"]
    assert len(graphs) == 1 and graphs[0]["Arn"].startswith("arn:aws:detective:us-east-1:")
    assert c("detective", "eu-west-1").list_graphs()["GraphList"] == []
    org = c("organizations")
    assert org.describe_organization()["Organization"]["MasterAccountId"] == A
    assert {a["Id"] for a in org.list_accounts()["Accounts"]} == {A, "444455556666"}


fake.stop()
tap.done()

"""S3 GetBucketLocation against the fake, parsed by botocore: S3's answer is a bare
<LocationConstraint> root (empty for us-east-1), not a structure; botocore reads it with
its own customization, which the structure the generic serializer makes would not pass."""
import os
import sys
import urllib.request
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "lib")]

import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

import tap  # noqa: E402
from fakeaws import client  # noqa: E402

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
A = "111122223333"
WORLD = {
    "account_id": A, "region": "us-east-1", "regions": ["us-east-1", "eu-west-1", "ap-southeast-2"],
    "credentials": [{"access_key": client.ACCESS_KEY, "secret_key": client.SECRET_KEY,
                     "arn": f"arn:aws:iam::{A}:user/ir-responder"}],
    "s3": {"buckets": {
        "loc-east": {},
        "loc-ireland": {"Region": "eu-west-1"},
        "loc-sydney": {"Region": "ap-southeast-2"},
    }},
}

fake = client.start(world="demo")
session = botocore.session.get_session()


def s3(region="us-east-1"):
    return session.create_client(
        "s3", region_name=region, endpoint_url=fake.url, aws_access_key_id=client.ACCESS_KEY,
        aws_secret_access_key=client.SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1, "mode": "standard"}))


def raw_location(bucket):
    """The fake's answer on the wire (signed as botocore signs it), as (status, body)."""
    url = f"{fake.url}/{bucket}?location"
    req = botocore.awsrequest.AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    creds = botocore.credentials.Credentials(client.ACCESS_KEY, client.SECRET_KEY)
    botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    r = urllib.request.Request(url, headers=dict(req.headers.items()), method="GET")
    with urllib.request.urlopen(r, timeout=10) as resp:
        return resp.status, resp.read()


try:
    fake.reset(WORLD)

    @tap.case
    def us_east_1_is_an_empty_constraint():
        r = s3().get_bucket_location(Bucket="loc-east")
        assert r.get("LocationConstraint") is None, r
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 200, r

    @tap.case
    def other_regions_are_named():
        assert s3().get_bucket_location(Bucket="loc-ireland")["LocationConstraint"] == "eu-west-1"
        assert s3().get_bucket_location(Bucket="loc-sydney")["LocationConstraint"] == "ap-southeast-2"

    @tap.case
    def answered_from_another_regions_endpoint():
        # How a client finds a bucket's region: the call works from wherever it is sent.
        assert s3("eu-west-1").get_bucket_location(Bucket="loc-sydney")["LocationConstraint"] == "ap-southeast-2"

    @tap.case
    def wire_form_is_a_bare_root():
        status, body = raw_location("loc-ireland")
        root = ET.fromstring(body)
        assert status == 200 and root.tag == NS + "LocationConstraint", body
        assert root.text == "eu-west-1" and len(root) == 0, body
        status, body = raw_location("loc-east")
        root = ET.fromstring(body)
        assert root.tag == NS + "LocationConstraint" and not root.text and len(root) == 0, body

    @tap.case
    def missing_bucket_is_no_such_bucket():
        try:
            s3().get_bucket_location(Bucket="loc-missing")
        except botocore.exceptions.ClientError as e:
            err = e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
            assert err == ("NoSuchBucket", 404), err
        else:
            raise AssertionError("no error for a missing bucket")

    @tap.case
    def calls_were_signed_and_recorded():
        calls = fake.calls(service="s3", operation="GetBucketLocation")
        assert len(calls) >= 6 and all(c["signature_ok"] for c in calls), calls[:2]
finally:
    fake.stop()

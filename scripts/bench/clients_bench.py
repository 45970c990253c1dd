#!/usr/bin/python3
"""botocore side of scripts/bench.d/40-clients.sh: the same work as clients_bench.lua.
   clients_bench.py parse FILE N | serialize - N | call - N  -> ms per operation
   call: a boto3-style client call (validate, serialize, sign, parse) whose HTTP send is
   answered at once by a before-send handler with a one-instance response."""
import sys
import time

import botocore.session
from botocore import parsers, serialize, validate


def main():
    mode, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    session = botocore.session.get_session()
    model = session.get_service_model("ec2")
    op = model.operation_model("DescribeInstances")
    if mode == "parse":
        body = open(path, "rb").read()
        parser = parsers.create_parser("ec2")
        resp = {"body": body, "headers": {}, "status_code": 200}
        r = parser.parse(resp, op.output_shape)
        assert sum(len(x["Instances"]) for x in r["Reservations"]) >= 1000
        t0 = time.process_time()
        for _ in range(n):
            parser.parse(resp, op.output_shape)
        print("%.3f" % ((time.process_time() - t0) * 1000 / n))
    elif mode == "call":
        from botocore.awsrequest import AWSResponse
        body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                b'<requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><ownerId>111122223333</ownerId>'
                b'<instancesSet><item><instanceId>i-0a1b2c3d4e5f60001</instanceId><instanceState><code>16</code><name>running</name>'
                b'</instanceState><instanceType>m5.large</instanceType><launchTime>2024-01-02T03:04:05.000Z</launchTime></item>'
                b'</instancesSet></item></reservationSet></DescribeInstancesResponse>')

        class Raw:
            def stream(self, **kwargs):
                yield body

        def answer(request, **kwargs):
            return AWSResponse(request.url, 200, {}, Raw())

        c = session.create_client("ec2", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                                  aws_secret_access_key="bench-secret-not-real")
        c.meta.events.register("before-send.ec2.DescribeInstances", answer)
        r = c.describe_instances(InstanceIds=["i-0a1b2c3d4e5f60001"])
        assert r["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
        t0 = time.process_time()
        for _ in range(n):
            c.describe_instances(InstanceIds=["i-0a1b2c3d4e5f60001"])
        print("%.4f" % ((time.process_time() - t0) * 1000 / n))
    elif mode == "serialize":
        ids = ["i-%017x" % i for i in range(1, 1001)]
        params = {"InstanceIds": ids, "Filters": [{"Name": "instance-state-name", "Values": ["running"]}]}
        ser = serialize.create_serializer("ec2")
        t0 = time.process_time()
        for _ in range(n):
            validate.validate_parameters(params, op.input_shape)
            ser.serialize_to_request(params, op)
        print("%.3f" % ((time.process_time() - t0) * 1000 / n))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""botocore side of scripts/bench.d/40-clients.sh: the same work as clients_bench.lua.
   clients_bench.py parse FILE N | serialize - N   -> ms per operation"""
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

#!/usr/bin/python3
"""botocore's signing cost per request, same requests as sigv4_bench.c.
Usage: sigv4_bench.py ITERATIONS -> one line per request kind: "kind ns_per_request"."""
import datetime
import sys
import time
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
creds = Credentials('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
                    'FwoGZXIvYXdzEBYaDHhBTEXAMPLETOKEN/with+some=chars')
body = b'Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0abc123def4567890'


def ec2():
    r = AWSRequest(method='POST', url='https://ec2.eu-west-1.amazonaws.com/', data=body)
    r.headers['Host'] = 'ec2.eu-west-1.amazonaws.com'
    r.headers['Content-Type'] = 'application/x-www-form-urlencoded; charset=utf-8'
    r.headers['User-Agent'] = 'irhost/0.1'
    return r


def s3():
    r = AWSRequest(method='GET', url='https://evidence-bucket.s3.eu-west-1.amazonaws.com'
                   '/IR-42/i-0abc123/memory%20dump.lime?x-id=GetObject')
    r.headers['Host'] = 'evidence-bucket.s3.eu-west-1.amazonaws.com'
    return r


class Fixed(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return datetime.datetime(2023, 11, 14, 22, 13, 20)


kinds = [('ec2-header', ec2, botocore.auth.SigV4Auth(creds, 'ec2', 'eu-west-1')),
         ('s3-presign', s3, botocore.auth.S3SigV4QueryAuth(creds, 's3', 'eu-west-1', expires=3600))]
with mock.patch('botocore.auth.datetime.datetime', Fixed):
    for name, make, signer in kinds:
        reqs = [make() for _ in range(n)]          # built outside the timed loop
        for r in [make() for _ in range(n // 10 + 1)]:
            signer.add_auth(r)
        t0 = time.perf_counter_ns()
        for r in reqs:
            signer.add_auth(r)
        print('%s %.0f' % (name, (time.perf_counter_ns() - t0) / n))

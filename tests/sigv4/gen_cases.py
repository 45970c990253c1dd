#!/usr/bin/python3
"""Random SigV4 cases signed by Debian's botocore, for the C signer to match byte for byte.

Usage: gen_cases.py [--count N] [--seed S] > cases.json

Each case is a request as it goes on the wire (method, percent-encoded path and query as
botocore's serializers write them, or with raw unicode and reserved characters where
botocore and AWS accept that), headers with odd whitespace and repeated names, a body,
credentials with or without a session token, a service (s3 uses S3SigV4Auth /
S3SigV4QueryAuth), a region and a fixed signing time (botocore.auth.datetime is mocked, as
botocore's own tests do). The expected canonical request, string to sign and signature are
captured from the signer itself while it signs. Runs on /usr/bin/python3 (botocore 1.29).
"""
import argparse
import datetime
import json
import random
import sys
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICES = ['s3', 's3', 's3', 'ec2', 'iam', 'sts', 'execute-api', 'dynamodb', 'lambda', 'logs',
            'guardduty', 'securityhub']
REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1', 'cn-north-1', 'me-south-1']
METHODS = ['GET', 'GET', 'PUT', 'POST', 'POST', 'DELETE', 'HEAD', 'PATCH']
# Characters logical path segments and query keys/values are drawn from.
PLAIN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~'
RESERVED = "!$&'()*+,;=:@[]%?#/ "
UNICODE = ['é', 'ü', 'ሴ', '中文', 'Ω', '😀', 'ß', 'ñ', '\u00a0x', 'ﬁ']
HEADER_NAMES = ['X-Amz-Meta-Owner', 'x-amz-meta-owner', 'Content-Type', 'X-Custom', 'My-Header1',
                'my-header1', 'X-Amz-Target', 'Content-MD5', 'X-Amz-Tagging', 'Accept', 'If-Match',
                'X-Amz-Acl', 'Cache-Control']
UNSIGNED = ['User-Agent', 'Expect', 'X-Amzn-Trace-Id']
VALUE_WORDS = ['value', 'a', 'b c', '"quoted   text"', 'application/x-amz-json-1.1',
               'DynamoDB_20120810.GetItem', 'x=y;z', '123', '', 'UPPER', 'tab\there']


def rand_text(rng, maxlen, allow_slash=False):
    out = []
    for _ in range(rng.randint(0, maxlen)):
        r = rng.random()
        if r < 0.6:
            out.append(rng.choice(PLAIN))
        elif r < 0.85:
            c = rng.choice(RESERVED)
            if c == '/' and not allow_slash:
                c = '-'
            out.append(c)
        else:
            out.append(rng.choice(UNICODE))
    return ''.join(out)


def rand_path(rng, s3):
    """A wire path. Non-S3 paths get dot segments and empty segments to normalize."""
    segs = []
    for _ in range(rng.randint(0, 5)):
        r = rng.random()
        if not s3 and r < 0.12:
            segs.append(rng.choice(['.', '..', '']))
        elif s3 and r < 0.08:
            segs.append(rng.choice(['', '..', '.']))   # S3 keys keep these verbatim
        else:
            segs.append(rand_text(rng, 10))
    logical = '/' + '/'.join(segs)
    if rng.random() < 0.2:
        logical += '/'
    style = rng.random()
    if s3 or style < 0.6:
        return quote(logical, safe='/~')                # what botocore's serializers send
    if style < 0.8:
        return quote(logical, safe="/~!$&'()*+,;=:@")   # sub-delims left raw on the wire
    # Raw unicode and spaces (the signer must encode them; '?' and '#' would end the path).
    raw = set("/~!$&'()*+,;=:@ ")
    return ''.join(ch if ch in raw or ord(ch) > 127 else quote(ch, safe='') for ch in logical)


def rand_query(rng, allow_dupes):
    pairs = []
    for _ in range(rng.randint(0, 6)):
        if allow_dupes and pairs and rng.random() < 0.25:
            k = rng.choice(pairs)[0]                      # repeated key, sorted by value
        else:
            k = rand_text(rng, 8)
            if not k or any(k == p[0] for p in pairs) and not allow_dupes:
                k = k + 'k%d' % len(pairs)
        v = '' if rng.random() < 0.15 else rand_text(rng, 12)
        pairs.append((k, v))
    parts = []
    for k, v in pairs:
        ek, ev = quote(k, safe='-_.~'), quote(v, safe='-_.~')
        if v == '' and rng.random() < 0.5:
            parts.append(ek)                              # key without '='
        else:
            parts.append(ek + '=' + ev)
    return '&'.join(parts)


def rand_value(rng):
    words = [rng.choice(VALUE_WORDS) for _ in range(rng.randint(1, 3))]
    seps = ['  ', ' ', '\t', ' \t ', '\n   ', '\r\n\t']
    v = rng.choice(seps).join(words)
    return rng.choice(['', ' ', '   ', '\t']) + v + rng.choice(['', ' ', '  ', '\t'])


def rand_headers(rng, host, mode, s3):
    headers = [('Host', host)]
    for _ in range(rng.randint(0, 6)):
        headers.append((rng.choice(HEADER_NAMES), rand_value(rng)))
    if rng.random() < 0.2:
        headers.append((rng.choice(UNSIGNED), 'curl/8.0 (x)'))
    if mode == 'header' and rng.random() < 0.1:
        headers.append(('Authorization', 'AWS4-HMAC-SHA256 stale'))
    if mode == 'header' and not s3 and rng.random() < 0.1:
        headers.append(('X-Amz-Content-SHA256', 'UNSIGNED-PAYLOAD'))
    rng.shuffle(headers)
    return headers


def rand_token(rng):
    alphabet = PLAIN.replace('-', '').replace('.', '').replace('_', '').replace('~', '') + '/+='
    return ''.join(rng.choice(alphabet) for _ in range(rng.randint(16, 400)))


class FixedDateTime(datetime.datetime):
    now_value = None

    @classmethod
    def utcnow(cls):
        return cls.now_value


def sign_case(rng, idx):
    mode = 'query' if rng.random() < 0.4 else 'header'
    service = rng.choice(SERVICES)
    s3 = service == 's3'
    region = rng.choice(REGIONS)
    method = rng.choice(METHODS)
    host = rng.choice(['example.amazonaws.com', 'bucket.s3.%s.amazonaws.com' % region,
                       '%s.%s.amazonaws.com' % (service, region), '127.0.0.1:4566'])
    path = rand_path(rng, s3)
    query = rand_query(rng, allow_dupes=(mode == 'header'))
    headers = rand_headers(rng, host, mode, s3)
    body = b''
    if mode == 'header' and rng.random() < 0.6:
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        if rng.random() < 0.5:
            body = rand_text(rng, 60).encode()
    token = rand_token(rng) if rng.random() < 0.4 else None
    ak = 'AKIA' + ''.join(rng.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567') for _ in range(16))
    sk = ''.join(rng.choice(PLAIN + '/+') for _ in range(40))
    creds = Credentials(ak, sk, token)
    when = rng.randint(946684800, 2082758399)
    expires = rng.choice([1, 60, 3600, 86400, 604800, rng.randint(1, 604800)])

    url = 'https://' + host + path + ('?' + query if query else '')
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value                   # HTTPMessage: repeated names append

    if mode == 'header':
        signer = (botocore.auth.S3SigV4Auth if s3 else botocore.auth.SigV4Auth)(creds, service, region)
    else:
        cls = botocore.auth.S3SigV4QueryAuth if s3 else botocore.auth.SigV4QueryAuth
        signer = cls(creds, service, region, expires=expires)

    seen = {}
    orig_sts, orig_sig = signer.string_to_sign, signer.signature

    def string_to_sign(req, canonical_request):
        seen['canonical_request'] = canonical_request
        seen['string_to_sign'] = orig_sts(req, canonical_request)
        return seen['string_to_sign']

    def signature(sts, req):
        seen['signature'] = orig_sig(sts, req)
        return seen['signature']

    signer.string_to_sign = string_to_sign
    signer.signature = signature
    FixedDateTime.now_value = datetime.datetime.utcfromtimestamp(when)
    with mock.patch('botocore.auth.datetime.datetime', FixedDateTime):
        signer.add_auth(request)
    # The signature botocore put on the request must be the one captured.
    if mode == 'header':
        assert request.headers['Authorization'].endswith('Signature=' + seen['signature'])
    else:
        assert request.url.endswith('X-Amz-Signature=' + seen['signature'])

    return {
        'id': idx, 'mode': mode, 'service': service, 'region': region, 's3': s3,
        'sign_body_header': s3 and mode == 'header', 'unsigned_payload': s3 and mode == 'query',
        'method': method, 'path': path, 'query': query,
        'headers': [[n, v] for n, v in headers], 'body_hex': body.hex(),
        'access_key': ak, 'secret_key': sk, 'token': token, 'time': when, 'expires': expires,
        'canonical_request': seen['canonical_request'], 'string_to_sign': seen['string_to_sign'],
        'signature': seen['signature'],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--count', type=int, default=1200)
    ap.add_argument('--seed', type=int, default=20150830)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cases = [sign_case(rng, i + 1) for i in range(args.count)]
    json.dump(cases, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()

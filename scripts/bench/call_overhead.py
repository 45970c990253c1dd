"""Client-side cost of one AWS call against a loopback endpoint, in the same run:
irhost's broker pipeline (host/awscall.c through tests/unit/test_awscall --script: derive,
allow-list, rate limiter, credentials, SigV4, libcurl on a reused connection, retry policy,
fsync'd audit line) vs botocore (the full client call, and only sign + send), vs a bare
keep-alive http.client POST as the floor (what the loopback server itself costs).
Usage: call_overhead.py DRIVER [N]. Prints a markdown section."""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DRIVER = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
BODY = b'<DescribeInstancesResponse><requestId>r-1</requestId><reservationSet/></DescribeInstancesResponse>'
FORM = 'Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0abc'
FORM_BYTES = FORM.encode()


class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True   # no 40 ms delayed-ACK stall between header and body writes

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get('content-length') or 0)
        self.rfile.read(n)
        self.send_response(200)
        self.send_header('Content-Type', 'text/xml')
        self.send_header('Content-Length', str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


srv = ThreadingHTTPServer(('127.0.0.1', 0), H)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = 'http://127.0.0.1:%d' % srv.server_address[1]
tmp = tempfile.mkdtemp(prefix='irh-bench-')
# The audit log lives in the run directory, on disk: fsync per line is part of the cost.
# (under build/, which git ignores, rather than a tmpfs /tmp).
_build = os.path.join(os.environ.get('IRHOST_ROOT', '.'), 'build')
os.makedirs(_build, exist_ok=True)
AUDIT_DIR = tempfile.mkdtemp(prefix='irh-bench-', dir=_build)
env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_') and 'proxy' not in k.lower()}
env.update(AWS_ACCESS_KEY_ID='AKIDBENCH', AWS_SECRET_ACCESS_KEY='bench-not-a-secret', AWS_CONFIG_FILE='/dev/null',
           AWS_SHARED_CREDENTIALS_FILE='/dev/null', AWS_EC2_METADATA_DISABLED='true')


REGIONS = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-west-2', 'eu-west-3',
           'eu-central-1', 'eu-north-1', 'eu-south-1', 'ap-south-1', 'ap-northeast-1', 'ap-northeast-2',
           'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ca-central-1', 'sa-east-1', 'me-south-1',
           'af-south-1', 'ap-east-1', 'eu-south-2', 'ap-south-2', 'me-central-1', 'il-central-1']


def irhost(n, audit_dir=None):
    """Median submit-to-result time (s) of n sequential calls, measured inside the driver.
    The calls rotate over regions so the per-(service, region) rate limiter (ec2: 20/s, and
    it can only be lowered) never makes one wait: the limiter's bookkeeping is measured,
    not its delay."""
    cmds = [{'op': 'new', 'audit': os.path.join(audit_dir or AUDIT_DIR, 'audit.jsonl'),
             'options': {'endpoint_url': url, 'region': 'us-east-1'}},
            {'op': 'declare', 'json': json.dumps({'permissions': ['ec2:Describe*']})}]
    for i in range(n):
        cmds.append({'op': 'call', 'id': i + 1, 'req': {
            'service': 'ec2', 'operation': 'DescribeInstances', 'signing_name': 'ec2', 'endpoint_prefix': 'ec2',
            'method': 'POST', 'path': '/', 'region': REGIONS[i % len(REGIONS)],
            'h:content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'body': FORM, 'params': '{"InstanceIds":["i-0abc"]}'}})
        cmds.append({'op': 'wait', 'count': 1})
    text = ''.join(json.dumps(c) + '\n' for c in cmds).encode()
    p = subprocess.run([DRIVER, '--script'], input=text, capture_output=True, env=env, check=True)
    us = sorted(json.loads(line)['us'] for line in p.stdout.decode().splitlines() if '"op":"result"' in line)
    assert len(us) == n and p.stdout.count(b'"status":"200"') == n, p.stdout[-500:]
    return us[len(us) // 2] / 1e6


def floor(n):
    c = http.client.HTTPConnection('127.0.0.1', srv.server_address[1])
    hdr = {'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'}
    t0 = time.perf_counter()
    for _ in range(n):
        c.request('POST', '/', FORM_BYTES, hdr)
        c.getresponse().read()
    return (time.perf_counter() - t0) / n


def botocore_client(n):
    import botocore.session
    s = botocore.session.get_session()
    cl = s.create_client('ec2', region_name='us-east-1', endpoint_url=url, aws_access_key_id='AKIDBENCH',
                         aws_secret_access_key='bench-not-a-secret')
    cl.describe_instances(InstanceIds=['i-0abc'])
    t0 = time.perf_counter()
    for _ in range(n):
        cl.describe_instances(InstanceIds=['i-0abc'])
    return (time.perf_counter() - t0) / n


def botocore_sign_send(n):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.httpsession import URLLib3Session
    creds = Credentials('AKIDBENCH', 'bench-not-a-secret')
    sess = URLLib3Session()
    t0 = time.perf_counter()
    for _ in range(n):
        r = AWSRequest(method='POST', url=url + '/', data=FORM,
                       headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
        SigV4Auth(creds, 'ec2', 'us-east-1').add_auth(r)
        sess.send(r.prepare()).content
    return (time.perf_counter() - t0) / n


def median_of(fn, n, rounds=3):
    return sorted(fn(n) for _ in range(rounds))[rounds // 2]



n_irh = min(N, 19 * len(REGIONS))
fl = median_of(floor, N)
irh = median_of(irhost, n_irh)
SHM = '/dev/shm' if os.path.isdir('/dev/shm') else None
irh_nosync = sorted(irhost(n_irh, SHM) for _ in range(3))[1] if SHM else None
bc = median_of(botocore_client, N)
bss = median_of(botocore_sign_send, N)
print('## One AWS call through the broker pipeline (loopback)')
print()
rows = [
    ('irhost broker pipeline: derive, allow-list, limiter, SigV4, libcurl, retry policy, audit line flushed to disk', irh),
] + ([('irhost, audit log on tmpfs (the flush costs nothing): the pipeline alone', irh_nosync)] if irh_nosync else []) + [
    ('botocore `client.describe_instances` (serialize, sign, send, parse)', bc),
    ('botocore `SigV4Auth` + `URLLib3Session.send` (sign and send only)', bss),
    ('reference: bare `http.client` keep-alive POST, unsigned (the server plus the thinnest Python client)', fl),
]
print('| path | µs per call (median) |')
print('|---|---:|')
for name, t in rows:
    print('| %s | %.0f |' % (name, t * 1e6))
print()
alone = irh_nosync or irh
print('The pipeline alone is %.1fx faster than a botocore client call and %.1fx faster than botocore '
      'signing and sending only; flushing each audit line to disk with fdatasync (the price of losing no record when a run '
      'is killed) costs %.0f µs per call on this disk.' % (bc / alone, bss / alone, (irh - alone) * 1e6))
print()
print('Medians: irhost over %d sequential calls (submit to result, timed in the broker process), '
      'Python paths over %d sequential calls; each the median of 3 rounds, all against the same '
      'loopback server in this run. The irhost calls rotate over regions so the per-region rate '
      'limiter (ec2: 20/s) never delays one: its bookkeeping is measured, not its waits.' % (n_irh, N))
srv.shutdown()
import shutil
shutil.rmtree(AUDIT_DIR, ignore_errors=True)
shutil.rmtree(tmp, ignore_errors=True)

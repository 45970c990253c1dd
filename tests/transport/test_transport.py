"""The AWS call pipeline (host/awscall.c, http.c, audit.c, secrets.c, awserror.c) end to end
against a loopback fault server: signatures, connection reuse, retries, quota, adaptive mode,
rate limits, caps, allow-list, dry run, secret handles, faults, TLS, unreachable endpoints.
Drives tests/unit/test_awscall.c --script. 127.0.0.1 only."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from faultserver import FaultServer  # noqa: E402

ROOT = os.environ.get('IRHOST_ROOT', os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))
IRHOST = os.environ.get('IRHOST', os.path.join(ROOT, 'build', 'asan', 'irhost'))
DRIVER = os.path.join(os.path.dirname(IRHOST), 'unit', 'test_awscall')
AKID, SECRET = 'AKIDTRANSPORTTEST01', 'transport-secret-key-do-not-log-3f9a'
TOKEN = 'transport-session-token-do-not-log-77c1'
TMP = tempfile.mkdtemp(prefix='irh-transport-')
OUTPUTS = []          # every stdout/stderr/audit text, searched for secrets at the end
FORBIDDEN = [SECRET, TOKEN]


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update({'AWS_ACCESS_KEY_ID': AKID, 'AWS_SECRET_ACCESS_KEY': SECRET, 'AWS_SESSION_TOKEN': TOKEN,
                'AWS_CONFIG_FILE': os.path.join(TMP, 'none'), 'AWS_SHARED_CREDENTIALS_FILE': os.path.join(TMP, 'none'),
                'AWS_EC2_METADATA_DISABLED': 'true', 'NO_PROXY': '*', 'no_proxy': '*'})
    for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'all_proxy'):
        env.pop(k, None)
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run(cmds, env=None, timeout=120):
    """Runs the driver over cmds; returns (records, audit lines, stderr)."""
    audit = os.path.join(TMP, 'audit-%d.jsonl' % len(OUTPUTS))
    if os.path.exists(audit):
        os.unlink(audit)
    for c in cmds:
        if c.get('op') == 'new':
            c['audit'] = audit
    text = ''.join(json.dumps(c) + '\n' for c in cmds)
    p = subprocess.run([DRIVER, '--script'], input=text.encode(), capture_output=True, env=env or base_env(),
                       timeout=timeout)
    out, err = p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')
    atext = open(audit, encoding='utf-8').read() if os.path.exists(audit) else ''
    OUTPUTS.append((out, err, atext))
    if p.returncode != 0:
        raise AssertionError('driver exited %d: %s' % (p.returncode, err[-3000:]))
    recs = [json.loads(line) for line in out.splitlines() if line.strip()]
    audits = [json.loads(line) for line in atext.splitlines()]
    return recs, audits, err


def new(srv_url, **options):
    o = {'endpoint_url': srv_url, 'region': 'us-east-1'}
    o.update(options)
    return {'op': 'new', 'options': o}


def declare(perms, rates=None):
    d = {'name': 't', 'permissions': perms}
    if rates:
        d['rates'] = rates
    return {'op': 'declare', 'json': json.dumps(d)}


FORM = 'application/x-www-form-urlencoded; charset=utf-8'


def ec2(op, idx, n=1):
    body = 'Action=%s&Version=2016-11-15' % op + ''.join('&InstanceId.%d=i-%04d' % (k + 1, idx) for k in range(n))
    return {'op': 'call', 'id': idx, 'req': {
        'service': 'ec2', 'operation': op, 'signing_name': 'ec2', 'endpoint_prefix': 'ec2', 'method': 'POST',
        'path': '/', 'h:content-type': FORM, 'body': body,
        'params': json.dumps({'InstanceIds': ['i-%04d' % idx]})}}


def query(service, version, op, idx, fields=(), params=None):
    body = 'Action=%s&Version=%s' % (op, version) + ''.join('&%s=%s' % kv for kv in fields)
    return {'op': 'call', 'id': idx, 'req': {
        'service': service, 'operation': op, 'signing_name': service, 'endpoint_prefix': service,
        'method': 'POST', 'path': '/', 'h:content-type': FORM, 'body': body,
        'params': json.dumps(params or dict(fields))}}


def smgr(op, idx, doc):
    return {'op': 'call', 'id': idx, 'req': {
        'service': 'secretsmanager', 'operation': op, 'signing_name': 'secretsmanager',
        'endpoint_prefix': 'secretsmanager', 'method': 'POST', 'path': '/',
        'h:content-type': 'application/x-amz-json-1.1', 'h:x-amz-target': 'secretsmanager.' + op,
        'body': json.dumps(doc), 'params': json.dumps(doc)}}


def wait(n, timeout_ms=30000):
    return {'op': 'wait', 'count': n, 'timeout_ms': timeout_ms}


def results(recs):
    return {r['id']: r['kv'] for r in recs if r['op'] == 'result'}


def one(recs, op):
    return [r for r in recs if r['op'] == op]


def attempts_of(audits, call_id):
    return [a for a in audits if a['call_id'] == call_id]


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


if not os.path.exists(DRIVER):
    tap.fail('driver built', DRIVER + ' is missing: make BUILD=... test-build first')
    tap.done()

srv = FaultServer({AKID: SECRET})
ALL = ['ec2:*', 'iam:*', 'secretsmanager:*', 's3:*', 'sts:*']


@tap.case
def signed_requests_verify_with_botocore():
    srv.reset()
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1),
                           query('iam', '2010-05-08', 'ListUsers', 2), wait(1),
                           smgr('ListSecrets', 3, {}), wait(1),
                           {'op': 'call', 'id': 4, 'req': {'service': 's3', 'operation': 'GetObject', 'signing_name': 's3',
                            'endpoint_prefix': 's3', 'method': 'GET', 'path': '/evidence-bucket/case%2042/a%2Bb.txt',
                            'params': '{"Bucket":"evidence-bucket","Key":"case 42/a+b.txt"}'}}, wait(1)])
    res = results(recs)
    assert len(srv.requests) == 4, srv.requests
    for r in srv.requests:
        assert r['sig_ok'], r['sig_why']
        assert r['headers'].get('x-amz-security-token') == TOKEN
    scopes = [r['sig_why'] for r in srv.requests]
    assert scopes == ['us-east-1/ec2', 'us-east-1/iam', 'us-east-1/secretsmanager', 'us-east-1/s3'], scopes
    assert srv.requests[3]['headers']['x-amz-content-sha256'], 'S3 signs the payload hash'
    assert all(res[i]['status'] == '200' for i in (1, 2, 3, 4)), res
    assert res[1]['request_id'] == 'req-1' and res[1]['attempts'] == '1', res[1]
    assert [a['outcome'] for a in audits] == ['ok'] * 4, audits
    a = audits[0]
    for k in ('time', 'service', 'operation', 'region', 'params', 'status', 'request_id', 'latency_ms', 'attempt',
              'error_code', 'error_message', 'dry_run', 'account'):
        assert k in a, k
    assert a['params'] == {'InstanceIds': ['i-0001']} and a['status'] == 200 and a['dry_run'] is False


@tap.case
def account_learned_from_get_caller_identity():
    srv.reset()
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1),
                           query('sts', '2011-06-15', 'GetCallerIdentity', 2), wait(1), ec2('DescribeInstances', 3), wait(1)])
    assert [a['account'] for a in audits] == [None, '111122223333', '111122223333'], audits


@tap.case
def host_prefix_and_s3control_signing():
    srv.reset()
    req = {'op': 'call', 'id': 1, 'req': {
        'service': 's3control', 'operation': 'GetPublicAccessBlock', 'signing_name': 's3', 'endpoint_prefix': 's3-control',
        'method': 'GET', 'path': '/v20180820/configuration/publicAccessBlock', 'host_prefix': '111122223333.',
        'h:x-amz-account-id': '111122223333', 'params': '{"AccountId":"111122223333"}'}}
    recs, audits, _ = run([new(srv.url), declare(['s3:GetAccountPublicAccessBlock', 's3:GetPublicAccessBlock']), req, wait(1)])
    r = results(recs)[1]
    assert r.get('status') == '200', r
    got = srv.requests[0]
    assert got['sig_ok'] and got['sig_why'] == 'us-east-1/s3', got['sig_why']
    assert got['headers']['host'] == srv.url.split('//')[1], 'no host prefix on an IP-literal endpoint'


@tap.case
def one_connection_for_several_calls():
    srv.reset()
    cmds = [new(srv.url), declare(ALL)]
    for i in range(1, 6):
        cmds += [ec2('DescribeInstances', i), wait(1)]
    run(cmds)
    conns = {r['conn'] for r in srv.requests}
    assert len(srv.requests) == 5 and len(conns) == 1, conns


@tap.case
def calls_run_concurrently():
    srv.reset([{'kind': 'slow', 'delay': 1.0}] * 4)
    t0 = time.monotonic()
    recs, _, _ = run([new(srv.url), declare(ALL)] + [ec2('DescribeInstances', i) for i in range(1, 5)] + [wait(4)])
    took = time.monotonic() - t0
    assert len(results(recs)) == 4
    assert took < 3.9, 'four 1 s calls in flight together took %.1f s' % took


@tap.case
def retries_throttling_then_succeeds():
    srv.reset([{'kind': 'throttle'}, {'kind': 'throttle'}])
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)])
    r = results(recs)[1]
    assert r['status'] == '200' and r['attempts'] == '3', r
    assert [(a['attempt'], a['outcome'], a['error_code']) for a in audits] == \
        [(1, 'retry', 'Throttling'), (2, 'retry', 'Throttling'), (3, 'ok', None)], audits
    assert all(x['sig_ok'] for x in srv.requests)


@tap.case
def retries_5xx_and_reset():
    # The reset comes first, on a fresh connection (libcurl itself resends once on a reused
    # connection found dead, which is not an attempt).
    srv.reset([{'kind': 'reset'}, {'status': 503, 'body': ''}])
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)])
    r = results(recs)[1]
    assert r['status'] == '200' and r['attempts'] == '3', r
    assert [a['error_code'] for a in audits] == ['ConnectionClosed', '503', None], audits


@tap.case
def non_retryable_error_surfaces_at_once():
    body = ('<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID '
            '\'i-0001\' does not exist</Message></Error></Errors><RequestID>ec2-rid-9</RequestID></Response>')
    srv.reset([{'status': 400, 'body': body}])
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)])
    r = results(recs)[1]
    assert r['status'] == '400' and r['attempts'] == '1' and 'InvalidInstanceID.NotFound' in r['body'], r
    assert len(srv.requests) == 1
    a = audits[0]
    assert a['outcome'] == 'error' and a['error_code'] == 'InvalidInstanceID.NotFound', a
    assert a['request_id'] != '' and 'does not exist' in a['error_message'], a


@tap.case
def max_attempts_from_environment():
    srv.reset([{'status': 500, 'body': '<<malformed'}] * 5)
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)],
                          env=base_env(AWS_MAX_ATTEMPTS='2'))
    r = results(recs)[1]
    assert r['status'] == '500' and r['attempts'] == '2', r
    assert [a['error_code'] for a in audits] == ['500', '500'], 'malformed error body: status as the code'


@tap.case
def retry_quota_runs_out():
    srv.reset([{'status': 503, 'body': ''}] * 400)
    n = 110
    cmds = [new(srv.url), declare(ALL)]
    for i in range(1, n + 1):
        cmds.append({'op': 'call', 'id': i, 'req': {'service': 's3', 'operation': 'ListBuckets', 'signing_name': 's3',
                     'endpoint_prefix': 's3', 'method': 'GET', 'path': '/', 'params': '{}'}})
    cmds += [wait(n, 60000), {'op': 'stats'}]
    recs, audits, _ = run(cmds, env=base_env(AWS_MAX_ATTEMPTS='2'))
    st = one(recs, 'stats')[0]
    res = results(recs)
    assert len(res) == n
    # 500 tokens, 5 per retry: exactly 100 retries, the other calls fail at once.
    assert st['retries'] == 100, st
    assert sum(1 for r in res.values() if r['attempts'] == '1') == n - 100


@tap.case
def adaptive_mode_slows_down_after_throttling():
    """Four calls are throttled once each; then six fresh calls go out. Standard mode sends the
    six at once (the default ec2 rate allows it); adaptive mode has cut its client send rate
    after the throttles and spreads them."""
    def span(mode):
        srv.reset([{'kind': 'throttle'}] * 4)
        env = base_env(AWS_RETRY_MODE=mode, AWS_MAX_ATTEMPTS='6')
        cmds = [new(srv.url), declare(ALL)] + [ec2('DescribeInstances', i) for i in range(1, 5)] + [wait(4, 60000)]
        cmds += [ec2('DescribeInstances', i) for i in range(5, 11)] + [wait(6, 60000)]
        recs, _, _ = run(cmds, env=env)
        res = results(recs)
        assert len(res) == 10 and all(r.get('status') == '200' for r in res.values()), res
        t = [r['time'] for r in srv.requests[-6:]]
        return max(t) - min(t)
    std = span('standard')
    ada = span('adaptive')
    tap.ok('six calls after throttling: adaptive spread over %.2f s, standard over %.2f s' % (ada, std))
    assert std < 0.5 and ada > 1.0 and ada > 3 * std, (ada, std)


@tap.case
def rate_limit_spreads_calls_in_order():
    srv.reset()
    cmds = [new(srv.url, rates={'ec2': 10}), declare(ALL, rates={'ec2': 4})]
    cmds += [ec2('DescribeInstances', i) for i in range(1, 13)] + [wait(12)]
    recs, _, _ = run(cmds)
    assert len(results(recs)) == 12
    t = [r['time'] for r in srv.requests]
    ids = [r['body'].decode().split('InstanceId.1=')[1] for r in srv.requests]
    # The first four go at once on parallel connections (any arrival order); the rest in order.
    assert sorted(ids[:4]) == ['i-%04d' % i for i in range(1, 5)] and ids[4:] == ['i-%04d' % i for i in range(5, 13)], ids
    # 4/s, a bucket of one second: 4 at once, then one every 250 ms: about 2 s in all
    # (unlimited, the 12 calls take a few ms).
    assert max(t) - min(t) >= 1.4, 'declared rate 4/s (stricter than --rate 10) not applied: %.2f s' % (max(t) - min(t))


@tap.case
def caps_stop_the_run():
    srv.reset()
    recs, audits, _ = run([new(srv.url, max_calls=2), declare(ALL)] + [ec2('DescribeInstances', i) for i in (1, 2, 3)]
                          + [wait(3), {'op': 'fatal'}])
    res = results(recs)
    assert res[3]['error'] == 'cap' and '--max-calls' in res[3]['message'], res[3]
    f = one(recs, 'fatal')[0]
    assert f['code'] == 3 and '--max-calls' in f['msg'], f
    assert len(srv.requests) == 2
    assert any(a['outcome'] == 'cap' for a in audits)


@tap.case
def allow_list_refuses_before_sending():
    srv.reset()
    recs, audits, _ = run([new(srv.url), declare(['ec2:Describe*']), ec2('TerminateInstances', 1),
                           ec2('DescribeInstances', 2), wait(2)])
    res = results(recs)
    assert res[1]['error'] == 'denied' and 'ec2:TerminateInstances' in res[1]['message'], res[1]
    assert res[2]['status'] == '200'
    assert len(srv.requests) == 1 and b'DescribeInstances' in srv.requests[0]['body']
    assert audits[0]['outcome'] == 'denied' and audits[0]['operation'] == 'TerminateInstances'


@tap.case
def iam_names_use_the_signing_prefix():
    srv.reset()
    req = {'op': 'call', 'id': 1, 'req': {
        'service': 'elbv2', 'operation': 'DeregisterTargets', 'signing_name': 'elasticloadbalancing',
        'endpoint_prefix': 'elasticloadbalancing', 'method': 'POST', 'path': '/', 'h:content-type': FORM,
        'body': 'Action=DeregisterTargets&Version=2015-12-01&TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A1%3Atargetgroup%2Fx%2F1&Targets.member.1.Id=i-1',
        'params': '{}'}}
    recs, _, _ = run([new(srv.url), declare(['elasticloadbalancing:Deregister*']), req, wait(1)])
    assert results(recs)[1].get('status') == '200', results(recs)
    srv.reset()
    recs, _, _ = run([new(srv.url), declare(['elbv2:DeregisterTargets']), req, wait(1)])
    assert results(recs)[1].get('error') == 'denied', 'the model service id is not an IAM prefix'


@tap.case
def dry_run_plans_mutating_calls():
    srv.reset()
    recs, audits, _ = run([new(srv.url, dry_run=1), declare(ALL), ec2('DescribeInstances', 1),
                           ec2('StopInstances', 2), wait(2), {'op': 'stats'}])
    res = results(recs)
    assert res[1]['status'] == '200' and res[2]['error'] == 'dryrun', res
    assert len(srv.requests) == 1 and b'DescribeInstances' in srv.requests[0]['body']
    plan = [a for a in audits if a['dry_run']]
    assert len(plan) == 1 and plan[0]['operation'] == 'StopInstances' and plan[0]['params'] == {'InstanceIds': ['i-0002']}
    assert one(recs, 'stats')[0]['planned'] == 1


@tap.case
def secret_handles_round_trip():
    """A generated password and a secret from a result travel by handle into later requests,
    arrive intact at the server, and appear in no output (no_secret_in_any_output)."""
    srv.reset()
    # Handles are valid only in the run that made them: one driver process, fed step by step.
    p = subprocess.Popen([DRIVER, '--script'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=base_env())
    audit = os.path.join(TMP, 'audit-secret.jsonl')
    out_lines = []
    gen = {'op': 'request', 'type': 'secret_gen', 'req': {'length': '24', 'charset': 'alnumsym'}}

    def send(c):
        p.stdin.write((json.dumps(c) + '\n').encode())
        p.stdin.flush()

    def read():
        line = p.stdout.readline().decode()
        out_lines.append(line)
        return json.loads(line)

    send({'op': 'new', 'audit': audit, 'options': {'endpoint_url': srv.url, 'region': 'us-east-1'}})
    read()
    send(declare(ALL))
    read()
    send(gen)
    h = read()['kv']['handle']
    send(query('iam', '2010-05-08', 'CreateLoginProfile', 1, [('UserName', 'bob'), ('Password', h)],
               params={'UserName': 'bob', 'Password': h}))
    send(wait(1)); r1 = read()
    send(smgr('CreateSecret', 2, {'Name': 'db', 'SecretString': h}))
    send(wait(1)); r2 = read()
    send(query('iam', '2010-05-08', 'CreateAccessKey', 3, [('UserName', 'bob')]))
    send(wait(1)); r3 = read()
    kv3 = r3['kv']
    assert 'result_json' in kv3 and 'body' not in kv3, kv3
    doc = json.loads(kv3['result_json'])
    key_handle = json.dumps(doc)
    assert srv.new_secret not in key_handle and 'irhost-secret-' in key_handle, doc
    kh = key_handle[key_handle.index('irhost-secret-'):][:46]
    send(smgr('PutSecretValue', 4, {'SecretId': 'db', 'SecretString': kh}))
    send(wait(1)); r4 = read()
    send({'op': 'request', 'type': 'sign', 'req': smgr('PutSecretValue', 5, {'SecretId': 'db', 'SecretString': kh})['req']})
    r5 = read()
    p.stdin.close()
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    atext = open(audit).read()
    OUTPUTS.append((''.join(out_lines), err, atext))
    assert r1['kv']['status'] == '200' and r2['kv']['status'] == '200' and r4['kv']['status'] == '200'
    reqs = srv.requests
    from urllib.parse import parse_qs
    password = parse_qs(reqs[0]['body'].decode())['Password'][0]
    assert len(password) == 24 and password != h, password
    assert json.loads(reqs[1]['body'])['SecretString'] == password, 'the same value reaches JSON bodies intact'
    assert json.loads(reqs[3]['body'])['SecretString'] == srv.new_secret, 'a secret from a result goes back intact'
    assert all(x['sig_ok'] for x in reqs), [x['sig_why'] for x in reqs]
    assert 'error' in r5['kv'] and 'secret handle' in r5['kv']['error'], 'aws.sign never signs a secret: %s' % r5
    FORBIDDEN.extend([password, srv.new_secret])
    assert '"Password":"***"' in atext and '"SecretString":"***"' in atext, 'redacted params in the audit log'


@tap.case
def truncated_body_is_retried_then_fails():
    srv.reset([{'kind': 'truncate'}] * 3)
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)])
    r = results(recs)[1]
    assert r['error'] == 'transport' and 'after 3 attempts' in r['message'] and '\n' not in r['message'], r
    assert [a['error_code'] for a in audits] == ['TruncatedResponse'] * 3, audits


@tap.case
def malformed_success_body_passes_to_the_parser():
    srv.reset([{'status': 200, 'body': '<<<not xml at all'}])
    recs, _, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)])
    r = results(recs)[1]
    assert r['status'] == '200' and r['body'] == '<<<not xml at all', r


@tap.case
def slow_response_and_read_timeout():
    srv.reset([{'kind': 'slow', 'delay': 1.2}])
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)])
    assert results(recs)[1]['status'] == '200' and audits[0]['latency_ms'] >= 1100, audits
    srv.reset([{'kind': 'stall', 'delay': 4}])
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)],
                          env=base_env(AWS_MAX_ATTEMPTS='1', IRHOST_READ_TIMEOUT='1'))
    r = results(recs)[1]
    assert r['error'] == 'transport' and audits[0]['error_code'] == 'Timeout', (r, audits)


@tap.case
def unreachable_endpoint():
    url = 'http://127.0.0.1:%d' % free_port()
    recs, audits, _ = run([new(url), declare(ALL), ec2('DescribeInstances', 1), wait(1)],
                          env=base_env(AWS_MAX_ATTEMPTS='2'))
    r = results(recs)[1]
    assert r['error'] == 'transport' and '127.0.0.1' in r['message'] and 'AWS_ENDPOINT_URL' in r['message'], r
    assert '\n' not in r['message']
    assert [a['error_code'] for a in audits] == ['ConnectionError'] * 2, audits


@tap.case
def tls_self_signed_is_refused_unless_trusted():
    if not shutil.which('openssl'):
        raise AssertionError('openssl CLI missing')
    cert, key = os.path.join(TMP, 'cert.pem'), os.path.join(TMP, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
                   check=True, capture_output=True)
    tls = FaultServer({AKID: SECRET}, certfile=cert, keyfile=key)
    try:
        recs, audits, _ = run([new(tls.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)])
        r = results(recs)[1]
        assert r['error'] == 'transport' and 'AWS_CA_BUNDLE' in r['message'], r
        assert audits[-1]['error_code'] == 'TLSError' and len(audits) == 1, 'TLS failures are not retried'
        recs, audits, _ = run([new(tls.url), declare(ALL), ec2('DescribeInstances', 1), wait(1)],
                              env=base_env(AWS_CA_BUNDLE=cert))
        assert results(recs)[1]['status'] == '200' and tls.requests[-1]['sig_ok']
    finally:
        tls.stop()


@tap.case
def missing_credentials_are_fatal():
    srv.reset()
    env = base_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None)
    recs, audits, _ = run([new(srv.url), declare(ALL), ec2('DescribeInstances', 1), wait(1), {'op': 'fatal'}], env=env)
    r = results(recs)[1]
    assert r['error'] == 'credentials' and '\n' not in r['message'], r
    assert one(recs, 'fatal')[0]['code'] == 4
    assert audits and audits[0]['outcome'] == 'credentials' and not srv.requests


@tap.case
def assume_role_handle_signs_with_the_role():
    srv.reset()
    recs, audits, _ = run([new(srv.url), declare(ALL + ['sts:AssumeRole']),
                           {'op': 'request', 'type': 'assume_role', 'req': {
                               'role_arn': 'arn:aws:iam::222233334444:role/ir-responder', 'session_name': 'ir-42',
                               'external_id': 'ext-1', 'duration': '900'}}])
    rep = one(recs, 'reply')[0]['kv']
    assert rep.get('handle') == 'irhost-cred-1', rep
    assert rep['arn'] == 'arn:aws:sts::222233334444:assumed-role/ir-responder/ir-42', rep
    srv.reset()
    c = ec2('DescribeInstances', 1)
    c['req']['credentials'] = 'irhost-cred-1'
    recs, audits, _ = run([new(srv.url), declare(ALL + ['sts:AssumeRole']),
                           {'op': 'request', 'type': 'assume_role', 'req': {
                               'role_arn': 'arn:aws:iam::222233334444:role/ir-responder', 'session_name': 'ir-42'}},
                           c, wait(1)])
    call = srv.requests[-1]
    assert call['sig_ok'] and call['headers']['x-amz-security-token'] == srv.role[2], call['sig_why']
    assert audits[-1]['account'] == '222233334444', audits[-1]
    FORBIDDEN.extend([srv.role[1], srv.role[2]])


class Session:
    """One driver process, command by command (a later command needs an earlier reply)."""

    def __init__(self, env=None, options=None, perms=None):
        self.audit = os.path.join(TMP, 'audit-s%d.jsonl' % len(OUTPUTS))
        self.lines = []
        self.p = subprocess.Popen([DRIVER, '--script'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env or base_env())
        o = {'endpoint_url': srv.url, 'region': 'us-east-1'}
        o.update(options or {})
        self.send({'op': 'new', 'audit': self.audit, 'options': o})
        self.send(declare(perms or ALL))

    def send(self, c):
        self.p.stdin.write((json.dumps(c) + '\n').encode())
        self.p.stdin.flush()
        if c['op'] in ('new', 'declare', 'request', 'wait'):
            line = self.p.stdout.readline().decode()
            self.lines.append(line)
            return json.loads(line)
        return None

    def call(self, c):
        self.send(c)
        return self.send(wait(1))['kv']

    def request(self, type_, req):
        return self.send({'op': 'request', 'type': type_, 'req': req})['kv']

    def close(self, keep=True):
        self.p.stdin.close()
        err = self.p.stderr.read().decode()
        self.p.wait(timeout=60)
        self.atext = open(self.audit).read() if os.path.exists(self.audit) else ''
        if keep:
            OUTPUTS.append((''.join(self.lines), err, self.atext))
        return err


def quote_all(v):
    from urllib.parse import quote
    return quote(v, safe='')


# A generated password made of every character some wire encoding changes.
NASTY = {'length': '32', 'charset': 'aZ9&<>"\'%+/='}


@tap.case
def client_endpoint_must_be_configured():
    other = FaultServer({AKID: SECRET})
    try:
        srv.reset()
        call = ec2('DescribeInstances', 1)
        call['req']['endpoint'] = other.url + '/'
        ok = ec2('DescribeInstances', 2)
        ok['req']['endpoint'] = srv.url + '/'
        recs, audits, _ = run([new(srv.url), declare(ALL), call, ok, wait(2)])
        r = results(recs)
        assert r[1]['error'] == 'protocol' and 'a runbook cannot choose where requests go' in r[1]['message'], r[1]
        assert '--endpoint-url' in r[1]['message'], r[1]
        assert r[2]['status'] == '200', 'the --endpoint-url value itself is accepted: %s' % r[2]
        assert not other.requests and len(srv.requests) == 1, 'nothing signed reaches the runbook\'s endpoint'
        # AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL are user configuration too.
        srv.reset()
        c1 = ec2('DescribeInstances', 3)
        c1['req']['endpoint'] = srv.url
        c2 = ec2('DescribeInstances', 4)
        c2['req']['endpoint'] = other.url
        recs, _, _ = run([new(''), declare(ALL), c1, c2, wait(2)],
                         env=base_env(AWS_ENDPOINT_URL_EC2=srv.url + '/', AWS_ENDPOINT_URL=None))
        r = results(recs)
        assert r[3]['status'] == '200' and r[4]['error'] == 'protocol', r
        assert not other.requests, other.requests
    finally:
        other.stop()


@tap.case
def handles_go_only_into_sensitive_members():
    srv.reset()
    s = Session()
    h = s.request('secret_gen', NASTY)['handle']
    tags = {'Resources': ['i-0a1'], 'Tags': [{'Key': 'leak', 'Value': h}]}
    body = 'Action=CreateTags&Version=2016-11-15&ResourceId.1=i-0a1&Tag.1.Key=leak&Tag.1.Value=' + h
    r1 = s.call({'op': 'call', 'id': 1, 'req': dict(ec2('CreateTags', 1)['req'], body=body, params=json.dumps(tags))})
    r2 = s.call({'op': 'call', 'id': 2, 'req': dict(ec2('DescribeInstances', 2)['req'],
                 body='Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0' + h,
                 params=json.dumps({'InstanceIds': ['i-0' + h]}))})
    # A runner that lies: its params put the handle in Password, its body in UserName.
    r3 = s.call(query('iam', '2010-05-08', 'CreateLoginProfile', 3, [('UserName', h), ('Password', 'x')],
                      params={'UserName': 'bob', 'Password': h}))
    # ... or keeps the handle out of its params altogether.
    r4 = s.call(query('iam', '2010-05-08', 'CreateLoginProfile', 4, [('UserName', h), ('Password', 'x')],
                      params={'UserName': 'bob', 'Password': 'x'}))
    r5 = s.call(smgr('DescribeSecret', 5, {'SecretId': h}))
    s.close()
    assert r1['error'] == 'protocol' and 'Tags[1].Value' in r1['message'] and 'sensitive' in r1['message'], r1
    assert r2['error'] == 'protocol' and 'InstanceIds[1]' in r2['message'], r2
    assert r3['status'] == '200', r3
    assert r4['error'] == 'protocol' and 'params' in r4['message'], r4
    assert r5['error'] == 'protocol' and 'SecretId' in r5['message'], r5
    sent = srv.requests
    from urllib.parse import parse_qs
    assert len(sent) == 1, [x['body'] for x in sent]
    form = parse_qs(sent[0]['body'].decode())
    assert form['UserName'] == ['bob'] and len(form['Password'][0]) == 32, 'the broker serialized from params'
    assert all(x['sig_ok'] for x in sent), [x['sig_why'] for x in sent]
    FORBIDDEN.append(form['Password'][0])


@tap.case
def echoed_values_go_back_to_their_handles():
    srv.reset([{'kind': 'echo'}, {'kind': 'echo'}, {'kind': 'echo', 'echo_status': 200}])
    s = Session()
    h = s.request('secret_gen', NASTY)['handle']
    r1 = s.call(query('iam', '2010-05-08', 'CreateLoginProfile', 1, [('UserName', 'bob'), ('Password', h)],
                      params={'UserName': 'bob', 'Password': h}))
    r2 = s.call(smgr('CreateSecret', 2, {'Name': 'db', 'SecretString': h}))
    r3 = s.call(query('iam', '2010-05-08', 'UpdateLoginProfile', 3, [('UserName', 'bob'), ('Password', h)],
                      params={'UserName': 'bob', 'Password': h}))
    err = s.close()
    from urllib.parse import parse_qs
    password = parse_qs(srv.requests[0]['body'].decode())['Password'][0]
    FORBIDDEN.append(password)
    assert len(password) == 32 and any(c in password for c in '&<>"\'%+/='), password
    assert json.loads(srv.requests[1]['body'])['SecretString'] == password
    for r in (r1, r2, r3):
        text = json.dumps(r)
        assert password not in text and h in r['body'], r
        assert h in r.get('h:x-echo', ''), r
    assert '&#39;' not in r1['body'] or password not in r1['body']
    audits = [json.loads(x) for x in s.atext.splitlines()]
    msgs = [a.get('error_message') or '' for a in audits]
    assert sum(h in m for m in msgs) >= 2, msgs
    for form in (password, quote_all(password), password.replace('/', '\\/')):
        assert form not in s.atext and form not in err and form not in ''.join(s.lines), form


@tap.case
def presign_returns_a_handle_and_handoff_delivers_it():
    srv.reset()
    s = Session(perms=['s3:GetObject', 'ec2:Describe*'])
    p1 = s.request('presign', {'method': 'GET', 'bucket': 'evidence', 'key': 'IR-42/disk image.raw', 'expires': '600',
                               'region': 'us-east-1'})
    p2 = s.request('presign', {'method': 'PUT', 'bucket': 'evidence', 'key': 'x', 'expires': '600'})
    g = s.request('secret_gen', {'length': '16'})['handle']
    h1 = s.request('handoff', {'handle': p1['handle'], 'label': 'disk image\nfor the lab'})
    h2 = s.request('handoff', {'handle': g, 'label': 'x'})
    sg = s.request('sign', ec2('DescribeInstances', 1)['req'])
    err = s.close(keep=False)
    out = ''.join(s.lines)
    handoff = os.path.join(TMP, 'handoff.txt')
    text = open(handoff).read()
    mode = os.stat(handoff).st_mode & 0o777
    os.unlink(handoff)                  # it holds the session token: that is its job
    assert p1['handle'].startswith('irhost-secret-') and 'url' not in p1 and p1['expires'].endswith('Z'), p1
    assert p1['what'] == 'GET s3://evidence/IR-42/disk image.raw', p1
    assert p2.get('error') and 's3:PutObject' in p2['error'], p2
    assert h1['path'] == 'handoff.txt' and h1['expires'] == p1['expires'] and '\n' not in h1['label'], h1
    assert h2.get('error') and 'aws.presign' in h2['error'], h2
    assert mode == 0o600, oct(mode)
    assert 'X-Amz-Expires=600' in text and 'disk%20image.raw' in text and 'X-Amz-Security-Token=' in text, text
    url = [x for x in text.splitlines() if x.startswith('http')][0]
    assert url in err, 'the URL is shown on stderr'
    # The session token reaches neither the runner nor the audit log.
    from urllib.parse import quote
    for t in (TOKEN, quote(TOKEN, safe='')):
        assert t not in out and t not in s.atext, 'token leaked to the runner or the audit log'
    assert url not in out and url not in s.atext
    assert sg['h:authorization'].startswith('irhost-secret-') and sg['h:x-amz-security-token'].startswith('irhost-secret-'), sg
    assert sg.get('url', '').startswith(srv.url) and sg.get('h:x-amz-date'), sg
    assert not srv.requests, 'sign and presign send nothing'


@tap.case
def sign_applies_the_allow_list_and_the_dry_run_gate():
    srv.reset()
    stop = query('ec2', '2016-11-15', 'StopInstances', 1, [('InstanceId.1', 'i-0a1')], params={'InstanceIds': ['i-0a1']})
    term = query('ec2', '2016-11-15', 'TerminateInstances', 2, [('InstanceId.1', 'i-0a1')], params={'InstanceIds': ['i-0a1']})
    recs, audits, _ = run([new(srv.url, dry_run=1), declare(['ec2:StopInstances', 'ec2:DescribeInstances']),
                           {'op': 'request', 'type': 'sign', 'req': stop['req']},
                           {'op': 'request', 'type': 'sign', 'req': term['req']},
                           {'op': 'request', 'type': 'sign', 'req': ec2('DescribeInstances', 3)['req']}])
    r = one(recs, 'reply')
    assert 'dry run' in r[0]['kv'].get('error', '') and 'h:authorization' not in r[0]['kv'], r[0]
    assert 'ec2:TerminateInstances' in r[1]['kv'].get('error', ''), r[1]
    assert r[2]['kv']['h:authorization'].startswith('irhost-secret-'), r[2]
    assert [a['outcome'] for a in audits] == ['dryrun', 'denied', 'signed'], audits
    assert audits[0]['dry_run'] is True, audits[0]
    assert not srv.requests


@tap.case
def no_secret_in_any_output():
    leaked = []
    for out, err, audit in OUTPUTS:
        for s in FORBIDDEN:
            for name, text in (('stdout', out), ('stderr', err), ('audit', audit)):
                if s in text:
                    leaked.append((s[:6] + '...', name))
    # ... and in every file the runs left behind (audit logs and all).
    for dirpath, _, files in os.walk(TMP):
        for f in files:
            data = open(os.path.join(dirpath, f), 'rb').read()
            for sec in FORBIDDEN:
                if sec.encode() in data:
                    leaked.append((sec[:6] + '...', f))
    assert not leaked, leaked
    assert len(FORBIDDEN) >= 6, FORBIDDEN


srv.stop()
shutil.rmtree(TMP, ignore_errors=True)
tap.done()

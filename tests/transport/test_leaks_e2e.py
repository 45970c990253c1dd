"""End to end, the real irhost binary against the loopback fault server: a runbook cannot
turn the broker into a signing oracle or a secret oracle. It cannot choose where signed
requests go, cannot place a secret handle in a member AWS echoes, gets echoed secrets back
as handles, and never sees the session token (aws.presign returns a handle that
ctx.handoff gives to the user; aws.sign returns handles). 127.0.0.1 only."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from urllib.parse import parse_qs, quote

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from faultserver import FaultServer  # noqa: E402

ROOT = os.environ.get('IRHOST_ROOT', os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))
IRHOST = os.environ.get('IRHOST', os.path.join(ROOT, 'build', 'asan', 'irhost'))
AKID, SECRET = 'AKIDLEAKSE2E000001', 'leaks-e2e-secret-key-do-not-log-0b7e'
TOKEN = 'leaks-e2e-session-token-do-not-log-4d21'
TMP = tempfile.mkdtemp(prefix='irh-leaks-')
FORBIDDEN = [SECRET, TOKEN, quote(TOKEN, safe='')]
RUNS = []            # (name, stdout, stderr, run dir)


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    e.update({'AWS_ACCESS_KEY_ID': AKID, 'AWS_SECRET_ACCESS_KEY': SECRET, 'AWS_SESSION_TOKEN': TOKEN,
              'AWS_CONFIG_FILE': os.path.join(TMP, 'none'), 'AWS_SHARED_CREDENTIALS_FILE': os.path.join(TMP, 'none'),
              'AWS_EC2_METADATA_DISABLED': 'true', 'NO_PROXY': '*', 'no_proxy': '*', 'AWS_MAX_ATTEMPTS': '1'})
    for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'all_proxy'):
        e.pop(k, None)
    e.update(extra)
    return e


def run(name, source, *args):
    path = os.path.join(TMP, name + '.lua')
    with open(path, 'w') as f:
        f.write(source)
    out = os.path.join(TMP, 'out-' + name)
    p = subprocess.run([IRHOST, path, '--out', out, '--endpoint-url', srv.url, '--region', 'us-east-1', *args],
                       capture_output=True, env=env(), timeout=120, stdin=subprocess.DEVNULL)
    so, se = p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')
    RUNS.append((name, so, without_handoff(se), out))
    # print() output reaches the user on stderr, indented under its step.
    printed = '\n'.join(x.strip() for x in (so + se).splitlines())
    return p.returncode, printed, se, out


def without_handoff(se):
    """stderr without the handed-off URLs (the one place they belong)."""
    lines, out, skip = se.splitlines(), [], False
    for x in lines:
        if x.startswith('irhost: presigned URL for '):
            skip = True
            continue
        if skip:
            skip = False
            continue
        out.append(x)
    return '\n'.join(out)


def read(out, name):
    path = os.path.join(out, name)
    return open(path, encoding='utf-8', errors='replace').read() if os.path.exists(path) else ''


def runbook(perms, body):
    return ('return ir.runbook{ name = "leak", description = "escape attempt", params = {}, permissions = %s,\n'
            ' steps = { { name = "s", run = function(ctx)\n%s\n end } } }\n') % (
                '{' + ', '.join('"%s"' % p for p in perms) + '}', body)


def sent_password():
    for r in srv.requests:
        form = parse_qs(r['body'].decode('utf-8', 'replace'))
        if 'Password' in form:
            return form['Password'][0]
    return None


if not os.path.exists(IRHOST):
    tap.fail('irhost built', IRHOST + ' is missing')
    tap.done()

srv = FaultServer({AKID: SECRET})
other = FaultServer({AKID: SECRET})


@tap.case
def runbook_cannot_choose_the_endpoint():
    srv.reset()
    rc, so, se, out = run('endpoint', runbook(['ec2:DescribeRegions', 'sts:GetCallerIdentity'], '''
    print("ec2", pcall(function() return aws.client("ec2", {endpoint="%s/x"}):DescribeRegions{} end))
    local ok, e = pcall(function() return aws.client("sts", {endpoint="%s/"}):GetCallerIdentity{} end)
    print("sts", ok, ok and "" or e.message)
    print("own", pcall(function() return aws.client("ec2", {endpoint="%s"}):DescribeRegions{} end))
''' % (other.url, other.url, srv.url)))
    assert not other.requests, 'a signed request reached the runbook\'s endpoint: %s' % other.requests
    assert 'a runbook cannot choose where requests go' in so and 'use --endpoint-url' in so, so + se
    assert 'own\ttrue' in so, 'the configured endpoint still works: ' + so


@tap.case
def handle_oracles_are_closed():
    srv.reset([{'kind': 'echo'}] * 3)
    rc, so, se, out = run('oracle', runbook(
        ['iam:CreateLoginProfile', 'ec2:CreateTags', 'ec2:DescribeInstances', 'secretsmanager:DescribeSecret'], '''
    local h = aws.secret.generate{ length = 32, charset = "aZ9&<>\\"'%+/=" }
    local ok1, e1 = pcall(function() return aws.client("ec2"):CreateTags{ Resources = {"i-0a1"}, Tags = {{Key = "leak", Value = h}} } end)
    print("tag", ok1, e1.code, e1.message)
    local ok2, e2 = pcall(function() return aws.client("ec2"):DescribeInstances{ InstanceIds = {"i-0" .. h} } end)
    print("id", ok2, e2.message)
    local ok3, e3 = pcall(function() return aws.client("secretsmanager"):DescribeSecret{ SecretId = h } end)
    print("sid", ok3, e3.message)
    local ok4, e4 = pcall(function() return aws.client("iam"):CreateLoginProfile{ UserName = "bob", Password = h } end)
    print("echo", ok4, e4.code, e4.message, e4.message:find(h, 1, true) and "has-handle" or "no-handle")
    ctx.info("error was: %s", e4.message)
    error(e4)
'''))
    password = sent_password()
    assert password and len(password) == 32, srv.requests
    FORBIDDEN.append(password)
    lines = so.splitlines()
    tag = [x for x in lines if x.startswith('tag\t')]
    assert tag and 'false' in tag[0] and 'Tags[1].Value' in tag[0] and 'sensitive' in tag[0], so
    assert any(x.startswith('id\tfalse') and 'InstanceIds[1]' in x for x in lines), so
    assert any(x.startswith('sid\tfalse') and 'SecretId' in x for x in lines), so
    assert any(x.startswith('echo\tfalse') and 'has-handle' in x for x in lines), so
    assert len(srv.requests) == 2, 'only GetCallerIdentity and CreateLoginProfile were sent: %s' % [
        r['body'][:60] for r in srv.requests]
    audit = read(out, 'audit.jsonl')
    assert 'irhost-secret-' in audit and 'ValidationError' in audit, audit


@tap.case
def presigned_urls_are_handed_off_not_shown_to_lua():
    srv.reset()
    rc, so, se, out = run('presign', runbook(['s3:GetObject', 'ec2:DescribeInstances', 'ec2:StopInstances'], '''
    local h, info = aws.presign{ bucket = "evidence", key = "IR-42/disk.raw", expires = 600 }
    print("handle", h, info.expires, info.what)
    local r = ctx.handoff(h, "the disk image")
    print("handoff", r.path, r.expires)
    local s = aws.sign{ service = "ec2", operation = "DescribeInstances", method = "POST", path = "/", query = "",
      body = "Action=DescribeInstances&Version=2016-11-15", ["h:content-type"] = "application/x-www-form-urlencoded; charset=utf-8",
      params = "{}" }
    print("sign", json.encode(s))
    print("oracle", pcall(ctx.handoff, aws.secret.generate{ length = 16 }, "x"))
    ctx.evidence:save("u.txt", h .. json.encode(s))
'''))
    assert rc == 0, se
    handoff = read(out, 'handoff.txt')
    url = [x for x in handoff.splitlines() if x.startswith('http')]
    assert url and 'X-Amz-Security-Token=' in url[0] and 'IR-42/disk.raw' in url[0], handoff
    assert os.stat(os.path.join(out, 'handoff.txt')).st_mode & 0o777 == 0o600
    assert url[0] in se, 'the URL is shown on stderr: ' + se
    assert 'handle\tirhost-secret-' in so and 'handoff\thandoff.txt' in so, so
    assert 'x-amz-security-token":"irhost-secret-' in so and 'authorization":"irhost-secret-' in so, so
    assert 'oracle\tfalse' in so and 'aws.presign' in so, so
    md = read(out, 'report.md')
    assert 'a presigned URL for the disk image (expires ' in md and 'was handed off in handoff.txt' in md, md
    for f in ('report.md', 'report.json', 'run.log', 'audit.jsonl', 'evidence/u.txt'):
        text = read(out, f)
        assert url[0] not in text and TOKEN not in text and quote(TOKEN, safe='') not in text, f
    assert url[0] not in without_handoff(so), 'the runbook never had the URL'
    os.unlink(os.path.join(out, 'handoff.txt'))      # it holds the token: its one job


@tap.case
def quiet_still_shows_the_handoff():
    srv.reset()
    rc, so, se, out = run('quiet', runbook(['s3:GetObject'], '''
    ctx.handoff((aws.presign{ bucket = "evidence", key = "k", expires = 60 }), "k")
'''), '--quiet')
    assert rc == 0, se
    url = [x for x in read(out, 'handoff.txt').splitlines() if x.startswith('http')]
    assert url and url[0] in se, se
    os.unlink(os.path.join(out, 'handoff.txt'))


@tap.case
def dry_run_signs_no_mutating_request():
    srv.reset()
    rc, so, se, out = run('drysign', runbook(['ec2:StopInstances'], '''
    print("sign", pcall(aws.sign, { service = "ec2", operation = "StopInstances", method = "POST", path = "/", query = "",
      body = "Action=StopInstances&Version=2016-11-15&InstanceId.1=i-0a1", ["h:content-type"] = "application/x-www-form-urlencoded; charset=utf-8",
      params = "{\\"InstanceIds\\":[\\"i-0a1\\"]}" }))
'''), '--dry-run')
    assert 'sign\tfalse' in so and 'dry run: ec2:StopInstances was not signed' in so, so + se
    assert '"outcome":"dryrun"' in read(out, 'audit.jsonl')


@tap.case
def no_secret_in_any_output():
    leaked = []
    for name, so, se, out in RUNS:
        for s in FORBIDDEN:
            for where, text in (('stdout', so), ('stderr', se)):
                if s in text:
                    leaked.append((name, where, s[:8]))
        for dirpath, _, files in os.walk(out):
            for f in files:
                data = open(os.path.join(dirpath, f), 'rb').read()
                for s in FORBIDDEN:
                    if s.encode() in data:
                        leaked.append((name, f, s[:8]))
    assert not leaked, leaked
    assert len(FORBIDDEN) >= 4 and len(RUNS) >= 5, (FORBIDDEN, RUNS)


srv.stop()
other.stop()
if not os.environ.get("KEEP"): shutil.rmtree(TMP, ignore_errors=True)
tap.done()

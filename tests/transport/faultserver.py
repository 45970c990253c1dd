"""A loopback AWS endpoint for the transport tests: verifies every SigV4 signature with
botocore, records what arrived (and on which TCP connection), and answers from a script
of faults: throttling, 5xx, connection resets, slow or stalled responses, truncated and
malformed bodies. 127.0.0.1 only. Run with Debian's /usr/bin/python3 (botocore)."""
import json
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

THROTTLE = (b'<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>'
            b'<Message>Rate exceeded</Message></Error><RequestId>thr-1</RequestId></ErrorResponse>')


def verify(method, path, headers, body, secrets):
    """True when the Authorization header is a valid SigV4 signature (botocore computes it)."""
    auth = headers.get('authorization', '')
    if not auth.startswith('AWS4-HMAC-SHA256 '):
        return False, 'no SigV4 authorization'
    fields = dict(p.strip().split('=', 1) for p in auth[len('AWS4-HMAC-SHA256 '):].split(','))
    akid, date, region, service, _ = fields['Credential'].split('/')
    secret = secrets.get(akid)
    if secret is None:
        return False, 'unknown access key'
    signed = fields['SignedHeaders'].split(';')
    req = AWSRequest(method=method, url='http://' + headers['host'] + path, data=body,
                     headers={h: headers[h] for h in signed if h in headers})
    req.context['timestamp'] = headers.get('x-amz-date', '')
    signer = (S3SigV4Auth if service == 's3' else SigV4Auth)(
        Credentials(akid, secret, headers.get('x-amz-security-token')), service, region)
    cr = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, cr), req)
    if want != fields['Signature']:
        return False, 'signature mismatch; canonical request:\n' + cr
    return True, region + '/' + service


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True   # no 40 ms delayed-ACK stall between header and body writes

    def log_message(self, *args):  # quiet
        pass

    def do_any(self):
        srv = self.server
        n = int(self.headers.get('content-length') or 0)
        body = self.rfile.read(n) if n else b''
        headers = {k.lower(): v for k, v in self.headers.items()}
        ok, why = verify(self.command, self.path, headers, body, srv.secrets)
        with srv.lock:
            srv.count += 1
            rid = 'req-%d' % srv.count
            action = srv.script.pop(0) if srv.script else None
            rec = {'method': self.command, 'path': self.path, 'headers': headers, 'body': body,
                   'conn': self.client_address[1], 'time': time.monotonic(), 'sig_ok': ok,
                   'sig_why': why, 'rid': rid}
            srv.requests.append(rec)
        act = action or {}
        kind = act.get('kind')
        if kind == 'reset':
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if kind == 'stall':
            time.sleep(act.get('delay', 5))
            self.close_connection = True
            return
        if kind == 'slow':
            time.sleep(act.get('delay', 1))
        if kind == 'truncate':
            self.send_response(200)
            self.send_header('Content-Type', 'text/xml')
            self.send_header('Content-Length', '100')
            self.end_headers()
            self.wfile.write(b'<Partial>')
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, rbody, rheaders = self.default_answer(headers, body, rid)
        if kind == 'echo':
            status, rbody, rheaders = self.echo(headers, body, rid, act.get('echo_status', 400))
        elif kind == 'throttle':
            status, rbody, rheaders = 400, THROTTLE, {'Content-Type': 'text/xml'}
        elif 'status' in act:
            status = act['status']
            rbody = act.get('body', '').encode() if isinstance(act.get('body', ''), str) else act['body']
            rheaders = dict(act.get('headers', {'Content-Type': 'text/xml'}))
        if not ok and not act:
            status, rbody = 403, (b'<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>'
                                  b'signature mismatch</Message></Error></ErrorResponse>')
        self.send_response(status)
        rheaders.setdefault('x-amzn-RequestId', rid)
        for k, v in rheaders.items():
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(rbody)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(rbody)

    def echo(self, headers, body, rid, status):
        """What a careless service does with bad input: quotes every value back, decoded and
        re-encoded for the response (JSON with escaped slashes, XML with &#39;), plus the raw
        request body and a header."""
        text = body.decode('utf-8', 'replace')
        if headers.get('x-amz-target'):
            doc = json.loads(text or '{}')
            vals = [v for v in doc.values() if isinstance(v, str)]
            msg = 'Invalid value: ' + ' '.join(vals)
            out = json.dumps({'__type': 'InvalidParameterException', 'message': msg, 'raw': text}).replace('/', '\\/')
            return status, out.encode(), {'Content-Type': 'application/x-amz-json-1.1',
                                          'x-amzn-ErrorType': 'InvalidParameterException', 'x-echo': quote(msg)}
        fields = parse_qsl(text)
        vals = [v for k, v in fields if k not in ('Action', 'Version')]
        msg = escape('Invalid value: ' + ' '.join(vals), {'"': '&quot;', "'": '&#39;'})
        if dict(fields).get('Version') == '2016-11-15':
            x = ('<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>%s</Message></Error></Errors>'
                 '<RequestID>%s</RequestID><Raw>%s</Raw></Response>') % (msg, rid, escape(text))
        else:
            x = ('<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>%s</Message>'
                 '<Raw>%s</Raw></Error><RequestId>%s</RequestId></ErrorResponse>') % (msg, escape(text), rid)
        return status, x.encode(), {'Content-Type': 'text/xml', 'x-echo': text}

    def default_answer(self, headers, body, rid):
        target = headers.get('x-amz-target')
        if target:
            return 200, b'{}', {'Content-Type': 'application/x-amz-json-1.1'}
        form = dict(parse_qsl(body.decode('utf-8', 'replace'))) if body else {}
        if 'Action' not in form:
            form.update(dict(parse_qsl(urlsplit(self.path).query)))
        action = form.get('Action')
        if action == 'AssumeRole':
            x = ('<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId>'
                 '<SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>'
                 '<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser>'
                 '<Arn>arn:aws:sts::222233334444:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId>'
                 '</AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>%s</RequestId>'
                 '</ResponseMetadata></AssumeRoleResponse>') % (
                     self.server.role[0], self.server.role[1], self.server.role[2], rid)
            return 200, x.encode(), {'Content-Type': 'text/xml'}
        if action == 'GetCallerIdentity':
            x = ('<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/t</Arn>'
                 '<UserId>AIDAT</UserId><Account>111122223333</Account></GetCallerIdentityResult>'
                 '<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>') % rid
            return 200, x.encode(), {'Content-Type': 'text/xml'}
        if action == 'CreateAccessKey':
            x = ('<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>bob</UserName>'
                 '<AccessKeyId>AKIANEWKEY0000000001</AccessKeyId><Status>Active</Status>'
                 '<SecretAccessKey>%s</SecretAccessKey><CreateDate>2026-01-01T00:00:00Z</CreateDate>'
                 '</AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>%s</RequestId>'
                 '</ResponseMetadata></CreateAccessKeyResponse>') % (self.server.new_secret, rid)
            return 200, x.encode(), {'Content-Type': 'text/xml'}
        if action:
            if form.get('Version') == '2016-11-15':   # ec2
                x = '<%sResponse><requestId>%s</requestId></%sResponse>' % (action, rid, action)
            else:
                x = ('<%sResponse><%sResult/><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>'
                     '</%sResponse>') % (action, action, rid, action)
            return 200, x.encode(), {'Content-Type': 'text/xml'}
        return 200, b'', {'x-amz-request-id': rid}

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_any


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, secrets, certfile=None, keyfile=None):
        super().__init__(('127.0.0.1', 0), Handler)
        self.secrets = dict(secrets)
        self.lock = threading.Lock()
        self.script = []
        self.requests = []
        self.count = 0
        self.role = ('ASIAROLE000000000001', 'role-secret-do-not-log-7d1f', 'role-token-do-not-log-91ab')
        self.secrets[self.role[0]] = self.role[1]
        self.new_secret = 'new-iam-secret-do-not-log-5c2e9'
        self.scheme = 'http'
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile, keyfile)
            self.socket = ctx.wrap_socket(self.socket, server_side=True)
            self.scheme = 'https'
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return '%s://127.0.0.1:%d' % (self.scheme, self.server_address[1])

    def reset(self, script=()):
        with self.lock:
            self.script = list(script)
            self.requests = []

    def stop(self):
        self.shutdown()
        self.server_close()

#!/usr/bin/python3
"""Loopback stand-ins for the credential endpoints: EC2 instance metadata (IMDSv2), the
container credential endpoint and STS (AssumeRole, AssumeRoleWithWebIdentity,
GetCallerIdentity, query protocol). 127.0.0.1 only, a free port.

    fake_metadata.py --port-file F --log L [--key AKID=SECRET ...]

Writes its port to F once listening. Every request is one JSON line in L (kind, path,
relevant headers and STS parameters, whether the SigV4 signature verified), never a
secret. PUT /_control with a JSON object changes behaviour (see DEFAULTS).
STS signatures are checked with botocore's own SigV4Auth against the keys given with --key
and the keys this server issued.

Every secret it issues contains S3KR1T and every session token T0K3N, so a test can search
any output for them.
"""
import argparse
import datetime
import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

DEFAULTS = {
    "expire_seconds": 3600,        # lifetime of every credential issued
    "imds_token_status": 200,      # 403/404/405: no IMDSv2 here (v1 fallback)
    "imds_require_token": True,    # GETs without the token header get 401
    "imds_role": "ir-responder",   # "" -> no role attached (404)
    "imds_region": "eu-central-1",
    "imds_fail_first": 0,          # fail this many token PUTs with 500 first
    "container_token": None,       # expected Authorization header, or None
    "web_token": None,             # expected WebIdentityToken
    "sts_error": None,             # {"status": 403, "code": "...", "message": "..."}
    "account": "123456789012",
}

LOCK = threading.Lock()
STATE = {"cfg": dict(DEFAULTS), "n": 0, "keys": {}, "log": None, "fails": 0}
IMDS_TOKEN = "imds-T0K3N-v2-session"
AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")


def issue(kind):
    """New credentials of a kind; the server remembers the secret to verify later calls."""
    with LOCK:
        STATE["n"] += 1
        n = STATE["n"]
        cfg = STATE["cfg"]
        akid = "ASIA%s%04d" % (kind.upper(), n)
        secret = "%s-S3KR1T-%04d" % (kind, n)
        STATE["keys"][akid] = secret
    exp = datetime.datetime.utcnow().replace(microsecond=0) + datetime.timedelta(seconds=cfg["expire_seconds"])
    return {"AccessKeyId": akid, "SecretAccessKey": secret, "Token": "%s-T0K3N-%04d" % (kind, n),
            "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}


def log(entry):
    with LOCK:
        with open(STATE["log"], "a") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")


def verify_sigv4(method, path, headers, body):
    """True when the Authorization header is botocore's signature for this request."""
    m = AUTH_RE.match(headers.get("Authorization", ""))
    if not m:
        return False, None
    akid, _date, region, service, signed, sig = m.groups()
    with LOCK:
        secret = STATE["keys"].get(akid)
    if secret is None:
        return False, akid
    hdrs = {}
    for name in signed.split(";"):
        if headers.get(name) is None:
            return False, akid
        hdrs[name] = headers.get(name)
    req = AWSRequest(method=method, url="http://%s%s" % (headers.get("host"), path), data=body, headers=hdrs)
    req.context["timestamp"] = headers.get("X-Amz-Date", "")
    auth = SigV4Auth(Credentials(akid, secret, headers.get("X-Amz-Security-Token")), service, region)
    canonical = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, canonical), req)
    return expected == sig, akid


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def cfg(self):
        with LOCK:
            return dict(STATE["cfg"])

    # ------------------------------------------------------------ IMDS
    def imds_token_ok(self, cfg):
        if not cfg["imds_require_token"] or cfg["imds_token_status"] != 200:
            return True
        return self.headers.get("x-aws-ec2-metadata-token") == IMDS_TOKEN

    def do_PUT(self):
        body = self.body()
        if self.path == "/_control":
            with LOCK:
                STATE["cfg"].update(json.loads(body or b"{}"))
            return self.reply(200, "ok")
        if self.path == "/_reset":
            with LOCK:
                STATE["cfg"] = dict(DEFAULTS)
                STATE["fails"] = 0
            return self.reply(200, "ok")
        if self.path == "/latest/api/token":
            cfg = self.cfg()
            ttl = self.headers.get("x-aws-ec2-metadata-token-ttl-seconds")
            log({"kind": "imds_token", "ttl": ttl})
            with LOCK:
                failing = STATE["fails"] < cfg["imds_fail_first"]
                STATE["fails"] += 1 if failing else 0
            if failing:
                return self.reply(500, "try again")
            if not ttl:
                return self.reply(400, "missing ttl")
            if cfg["imds_token_status"] != 200:
                return self.reply(cfg["imds_token_status"], "no")
            return self.reply(200, IMDS_TOKEN)
        return self.reply(404, "not found")

    def do_GET(self):
        cfg = self.cfg()
        path = self.path
        base = "/latest/meta-data/iam/security-credentials/"
        if path.startswith("/latest/"):
            has_token = self.headers.get("x-aws-ec2-metadata-token") is not None
            if not self.imds_token_ok(cfg):
                log({"kind": "imds_denied", "path": path})
                return self.reply(401, "token required")
            if path == base:
                log({"kind": "imds_roles", "token": has_token})
                if not cfg["imds_role"]:
                    return self.reply(404, "no role")
                return self.reply(200, cfg["imds_role"])
            if path.startswith(base) and cfg["imds_role"] and path[len(base):] == cfg["imds_role"]:
                log({"kind": "imds_creds", "token": has_token, "role": path[len(base):]})
                creds = issue("imds")
                creds.update({"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": "2026-01-01T00:00:00Z"})
                return self.reply(200, json.dumps(creds), "application/json")
            if path == "/latest/meta-data/placement/region":
                log({"kind": "imds_region", "token": has_token})
                return self.reply(200, cfg["imds_region"])
            return self.reply(404, "not found")
        if path.startswith("/container"):
            auth = self.headers.get("Authorization")
            want = cfg["container_token"]
            log({"kind": "container", "path": path, "auth_ok": want is None or auth == want,
                 "auth_sent": auth is not None})
            if want is not None and auth != want:
                return self.reply(401, json.dumps({"code": "Unauthorized"}), "application/json")
            creds = issue("ecs")
            creds["RoleArn"] = "arn:aws:iam::%s:role/task" % cfg["account"]
            return self.reply(200, json.dumps(creds), "application/json")
        return self.reply(404, "not found")

    # ------------------------------------------------------------ STS
    def do_POST(self):
        cfg = self.cfg()
        body = self.body()
        params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        action = params.get("Action", "")
        headers = {k: v for k, v in self.headers.items()}
        headers["host"] = self.headers.get("Host")
        signed, akid = verify_sigv4("POST", self.path, self.headers, body)
        entry = {"kind": "sts", "action": action, "sig_ok": signed, "signed_by": akid,
                 "authorization": "Authorization" in self.headers,
                 "token_header": "X-Amz-Security-Token" in self.headers,
                 "content_type": self.headers.get("Content-Type")}
        for k in ("RoleArn", "RoleSessionName", "ExternalId", "DurationSeconds", "SerialNumber", "TokenCode", "Version"):
            if k in params:
                entry[k] = params[k]
        if "WebIdentityToken" in params:
            entry["web_token_ok"] = params["WebIdentityToken"] == cfg["web_token"]
        log(entry)
        err = cfg["sts_error"]
        if err:
            return self.error(err["status"], err["code"], err["message"])
        ns = "https://sts.amazonaws.com/doc/2011-06-15/"
        if action in ("AssumeRole", "AssumeRoleWithWebIdentity"):
            if action == "AssumeRole" and not signed:
                return self.error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
            if action == "AssumeRoleWithWebIdentity" and not entry.get("web_token_ok"):
                return self.error(400, "InvalidIdentityToken", "Token is not valid")
            c = issue("sts")
            role = params.get("RoleArn", "").split("/")[-1]
            arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (cfg["account"], role, params.get("RoleSessionName"))
            xml = ("<{a}Response xmlns=\"{ns}\"><{a}Result><Credentials><AccessKeyId>{AccessKeyId}</AccessKeyId>"
                   "<SecretAccessKey>{SecretAccessKey}</SecretAccessKey><SessionToken>{Token}</SessionToken>"
                   "<Expiration>{Expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:{s}"
                   "</AssumedRoleId><Arn>{arn}</Arn></AssumedRoleUser></{a}Result><ResponseMetadata><RequestId>"
                   "c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata></{a}Response>"
                   ).format(a=action, ns=ns, arn=arn, s=params.get("RoleSessionName"), **c)
            return self.reply(200, xml, "text/xml")
        if action == "GetCallerIdentity":
            if not signed:
                return self.error(403, "InvalidClientTokenId", "The security token included in the request is invalid")
            xml = ("<GetCallerIdentityResponse xmlns=\"%s\"><GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/%s</Arn>"
                   "<UserId>AIDA</UserId><Account>%s</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
                   % (ns, cfg["account"], akid, cfg["account"]))
            return self.reply(200, xml, "text/xml")
        return self.error(400, "InvalidAction", "Could not find operation %s" % action)

    def error(self, status, code, message):
        xml = ("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
               "<Code>%s</Code><Message>%s</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
               % (code, message))
        return self.reply(status, xml, "text/xml")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--key", action="append", default=[], help="AKID=SECRET a signer may use")
    a = ap.parse_args()
    STATE["log"] = a.log
    for kv in a.key:
        k, v = kv.split("=", 1)
        STATE["keys"][k] = v
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

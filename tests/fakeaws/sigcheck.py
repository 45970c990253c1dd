"""SigV4 verification: botocore recomputes the signature a request should carry
for the secret the world gives its access key, and we compare.

Failures are answered as each protocol's AWS services answer them (codes and
statuses below), so clients exercise their real error paths."""
import datetime
import hashlib
import hmac
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from .errors import AwsError

SKEW = datetime.timedelta(minutes=15)
MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details.")
_AUTH_RE = re.compile(r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)")


class Auth:
    """What a request claims: access key, scope, signed headers, signature, time."""

    def __init__(self, access_key, date, region, service, signed, signature, amz_date, presigned, expires):
        self.access_key, self.date, self.region, self.service = access_key, date, region, service
        self.signed, self.signature, self.amz_date = signed, signature, amz_date
        self.presigned, self.expires = presigned, expires


def parse_auth(req):
    """The request's SigV4 claim (header or presigned query), or None when unsigned.
    Raises AwsError(IncompleteSignature) on a malformed one."""
    header = req.header("authorization")
    if header:
        m = _AUTH_RE.match(header.strip())
        if not m:
            raise AwsError("IncompleteSignature", "Authorization header requires 'Credential', "
                           "'SignedHeaders' and 'Signature' parameters.", status=400)
        cred, signed, sig = m.groups()
        parts = cred.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise AwsError("IncompleteSignature", f"Credential scope is malformed: {cred}", status=400)
        return Auth(parts[0], parts[1], parts[2], parts[3], signed.split(";"), sig,
                    req.header("x-amz-date") or "", False, None)
    q = dict(req.query_pairs())
    if q.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256":
        parts = q.get("X-Amz-Credential", "").split("/")
        if len(parts) != 5:
            raise AwsError("AuthorizationQueryParametersError", "X-Amz-Credential is malformed", status=400)
        return Auth(parts[0], parts[1], parts[2], parts[3], q.get("X-Amz-SignedHeaders", "").split(";"),
                    q.get("X-Amz-Signature", ""), q.get("X-Amz-Date", ""), True,
                    int(q.get("X-Amz-Expires", "0") or 0))
    return None


class _Verifier(SigV4Auth):
    """SigV4Auth over exactly the headers the client signed, with its payload hash."""

    def __init__(self, creds, service, region, signed, payload_hash, s3):
        super().__init__(creds, service, region)
        self._signed, self._payload_hash, self._s3 = signed, payload_hash, s3

    def headers_to_sign(self, request):
        out = HTTPHeaders()
        for name in self._signed:
            for v in request.headers.get_all(name) or []:
                out[name] = v
        return out

    def payload(self, request):
        return self._payload_hash

    def _normalize_url_path(self, path):
        return path if self._s3 else super()._normalize_url_path(path)


def fail(proto, kind, message):
    """The AwsError a `kind` of authentication failure gets in `proto`."""
    table = {
        "missing": {"ec2": ("MissingAuthenticationToken", 401), "query": ("MissingAuthenticationToken", 403),
                    "json": ("MissingAuthenticationTokenException", 400),
                    "rest-json": ("MissingAuthenticationTokenException", 403), "rest-xml": ("AccessDenied", 403)},
        "unknown": {"ec2": ("AuthFailure", 401), "query": ("InvalidClientTokenId", 403),
                    "json": ("UnrecognizedClientException", 400),
                    "rest-json": ("UnrecognizedClientException", 403), "rest-xml": ("InvalidAccessKeyId", 403)},
        "mismatch": {"ec2": ("SignatureDoesNotMatch", 403), "query": ("SignatureDoesNotMatch", 403),
                     "json": ("InvalidSignatureException", 400), "rest-json": ("InvalidSignatureException", 403),
                     "rest-xml": ("SignatureDoesNotMatch", 403)},
        "expired": {"ec2": ("RequestExpired", 400), "query": ("SignatureDoesNotMatch", 403),
                    "json": ("InvalidSignatureException", 400), "rest-json": ("InvalidSignatureException", 403),
                    "rest-xml": ("RequestTimeTooSkewed", 403)},
        "token": {"ec2": ("AuthFailure", 401), "query": ("InvalidClientTokenId", 403),
                  "json": ("UnrecognizedClientException", 400), "rest-json": ("UnrecognizedClientException", 403),
                  "rest-xml": ("InvalidToken", 400)},
    }
    code, status = table[kind][proto]
    return AwsError(code, message, status=status)


def _fmt(dt):
    return dt.strftime("%Y%m%dT%H%M%SZ")


def verify(req, auth, proto, credentials, now=None):
    """Check `req`'s signature against `credentials` (access key -> {secret, token}).

    Returns the access key's record; raises AwsError in `proto`'s format when the
    request is unsigned, from an unknown key, expired, or does not match."""
    if auth is None:
        raise fail(proto, "missing", "Request is missing Authentication Token")
    rec = credentials.get(auth.access_key)
    if rec is None:
        msg = {"ec2": "AWS was not able to validate the provided access credentials",
               "rest-xml": "The AWS Access Key Id you provided does not exist in our records."}
        raise fail(proto, "unknown", msg.get(proto, "The security token included in the request is invalid."))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        when = datetime.datetime.strptime(auth.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise fail(proto, "mismatch", "X-Amz-Date is missing or malformed") from None
    if auth.presigned:
        if now > when + datetime.timedelta(seconds=auth.expires or 0):
            raise AwsError("AccessDenied", "Request has expired", status=403)
    elif when < now - SKEW:
        msg = "Request has expired." if proto == "ec2" else (
            "The difference between the request time and the current time is too large."
            if proto == "rest-xml" else
            f"Signature expired: {_fmt(when)} is now earlier than {_fmt(now - SKEW)} "
            f"({_fmt(now)} - 15 min.)")
        raise fail(proto, "expired", msg)
    elif when > now + SKEW:
        msg = "Request is not yet valid." if proto == "ec2" else (
            "The difference between the request time and the current time is too large."
            if proto == "rest-xml" else
            f"Signature not yet current: {_fmt(when)} is still later than {_fmt(now + SKEW)} "
            f"({_fmt(now)} + 15 min.)")
        raise fail(proto, "expired", msg)
    if rec.get("expiration") and now > datetime.datetime.strptime(
            rec["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc):
        raise AwsError({"ec2": "AuthFailure", "rest-xml": "ExpiredToken"}.get(proto, "ExpiredTokenException"
                       if proto.endswith("json") else "ExpiredToken"),
                       "The security token included in the request is expired", status=403 if proto != "ec2" else 401)
    if rec.get("session_token"):
        token = req.header("x-amz-security-token") or dict(req.query_pairs()).get("X-Amz-Security-Token")
        if token != rec["session_token"]:
            raise fail(proto, "token", "The security token included in the request is invalid.")
    s3 = proto == "rest-xml"
    body_hash = hashlib.sha256(req.body or b"").hexdigest()
    claimed = req.header("x-amz-content-sha256")
    if auth.presigned:
        payload_hash = "UNSIGNED-PAYLOAD" if s3 else body_hash
    elif claimed:
        if claimed not in ("UNSIGNED-PAYLOAD",) and not claimed.startswith("STREAMING-") and claimed != body_hash:
            raise AwsError("XAmzContentSHA256Mismatch",
                           "The provided 'x-amz-content-sha256' header does not match what was computed.",
                           status=400)
        payload_hash = claimed
    else:
        payload_hash = body_hash
    pairs = [(k, v) for k, v in req.query_pairs() if not (auth.presigned and k == "X-Amz-Signature")]
    areq = AWSRequest(method=req.method, url="http://fakeaws" + req.path, headers=None, data=req.body)
    areq.headers = HTTPHeaders()
    for k, v in req.headers:
        areq.headers[k.lower()] = v
    if auth.presigned and "host" not in areq.headers:
        areq.headers["host"] = req.header("host", "")
    areq.params = pairs
    areq.context["timestamp"] = auth.amz_date
    if claimed is not None:
        del areq.headers["x-amz-content-sha256"]
        areq.headers["x-amz-content-sha256"] = claimed
    v = _Verifier(Credentials(auth.access_key, rec["secret_key"]), auth.service, auth.region,
                  auth.signed, payload_hash, s3)
    canonical = v.canonical_request(areq)
    expected = v.signature(v.string_to_sign(areq, canonical), areq)
    if not hmac.compare_digest(expected, auth.signature):
        raise fail(proto, "mismatch", MISMATCH)
    return rec

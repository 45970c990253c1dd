"""Responses onto the wire: one generic serializer per protocol, driven by the
operation's output shape in botocore's model, and each protocol's error format.

A handler returns a dict keyed by the output shape's member names; members the
shape does not have are not sent. Timestamps are ISO-8601 strings in state and
leave as the protocol wants them (ISO in XML, epoch seconds in JSON, RFC 822 in
headers)."""
import base64
import datetime
import email.utils
import json
import xml.etree.ElementTree as ET

from . import models

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
# rest-xml root elements when the output has no payload member (S3's own names).
S3_ROOTS = {
    "ListObjectsV2Output": "ListBucketResult",
    "ListObjectsOutput": "ListBucketResult",
    "ListBucketsOutput": "ListAllMyBucketsResult",
    "GetBucketAclOutput": "AccessControlPolicy",
    "GetObjectAclOutput": "AccessControlPolicy",
    "GetBucketVersioningOutput": "VersioningConfiguration",
    "GetBucketTaggingOutput": "Tagging",
    "GetBucketLoggingOutput": "BucketLoggingStatus",
    "GetBucketEncryptionOutput": "ServerSideEncryptionConfiguration",
    "ListObjectVersionsOutput": "ListVersionsResult",
}
# S3 answers these with a bare root element whose text is the output's one member, not a
# structure (SDKs parse them with a customization): output shape -> that member.
# GetBucketLocation: <LocationConstraint xmlns=...>eu-west-1</LocationConstraint>, empty
# for us-east-1.
S3_TEXT_ROOTS = {"GetBucketLocationOutput": "LocationConstraint"}
THROTTLE = {"ec2": ("RequestLimitExceeded", 503), "query": ("Throttling", 400),
            "json": ("ThrottlingException", 400), "rest-json": ("TooManyRequestsException", 429),
            "rest-xml": ("SlowDown", 503)}


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers      # list of (name, value)
        self.body = body            # bytes


# ---------------------------------------------------------------- scalars

def _dt(value):
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    s = str(value).replace("Z", "+00:00")
    dt = datetime.datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt


def _ts_text(value, fmt):
    dt = _dt(value)
    if fmt == "unixTimestamp":
        return dt.timestamp()
    if fmt == "rfc822":
        return email.utils.format_datetime(dt.astimezone(datetime.timezone.utc), usegmt=True)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _blob(value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    return value


def _text(shape, value, default_ts="iso8601"):
    t = shape.type_name
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp":
        return str(_ts_text(value, shape.serialization.get("timestampFormat", default_ts)))
    if t == "blob":
        return base64.b64encode(_blob(value)).decode("ascii")
    return str(value)


# ---------------------------------------------------------------- XML

def _xml_member(parent, name, shape, value, item_name):
    t = shape.type_name
    if t == "structure":
        el = ET.SubElement(parent, name)
        ns = shape.serialization.get("xmlNamespace")
        if isinstance(ns, dict) and ns.get("prefix"):
            el.set(f"xmlns:{ns['prefix']}", ns["uri"])    # e.g. S3's Grantee xsi:type
        _xml_struct(el, shape, value, item_name)
    elif t == "list":
        mname = shape.member.serialization.get("name", item_name)
        if shape.serialization.get("flattened"):
            for v in value:
                _xml_member(parent, shape.member.serialization.get("name", name), shape.member, v, item_name)
        else:
            el = ET.SubElement(parent, name)
            for v in value:
                _xml_member(el, mname, shape.member, v, item_name)
    elif t == "map":
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        holder = parent if shape.serialization.get("flattened") else ET.SubElement(parent, name)
        for k, v in value.items():
            entry = ET.SubElement(holder, name if shape.serialization.get("flattened") else "entry")
            ET.SubElement(entry, kname).text = str(k)
            _xml_member(entry, vname, shape.value, v, item_name)
    else:
        ET.SubElement(parent, name).text = _text(shape, value)


def _xml_struct(el, shape, value, item_name):
    for mname, mshape in shape.members.items():
        if mname not in value or value[mname] is None:
            continue
        ser = mshape.serialization
        if ser.get("location"):
            continue
        if ser.get("xmlAttribute"):
            el.set(ser["name"], _text(mshape, value[mname]))
            continue
        _xml_member(el, ser.get("name", mname), mshape, value[mname], item_name)


def _xml_bytes(root):
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _ec2(op, result, rid):
    root = ET.Element(f"{op.name}Response", xmlns=models.model("ec2").metadata["xmlNamespace"] + "/")
    ET.SubElement(root, "requestId").text = rid
    if op.output_shape is not None and op.output_shape.members:
        _xml_struct(root, op.output_shape, result, "item")
    else:
        ET.SubElement(root, "return").text = "true"
    return Response(200, [("Content-Type", "text/xml;charset=UTF-8")], _xml_bytes(root))


def _query(service, op, result, rid):
    ns = models.model(service).metadata.get("xmlNamespace", "")
    root = ET.Element(f"{op.name}Response", xmlns=ns)
    out = op.output_shape
    if out is not None:
        wrapper = ET.SubElement(root, out.serialization.get("resultWrapper", f"{op.name}Result"))
        _xml_struct(wrapper, out, result, "member")
    meta = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(meta, "RequestId").text = rid
    return Response(200, [("Content-Type", "text/xml")], _xml_bytes(root))


# ---------------------------------------------------------------- JSON

def _json_value(shape, value, default_ts="unixTimestamp"):
    t = shape.type_name
    if t == "structure":
        out = {}
        for mname, mshape in shape.members.items():
            if mname in value and value[mname] is not None and not mshape.serialization.get("location"):
                out[mshape.serialization.get("name", mname)] = _json_value(mshape, value[mname], default_ts)
        return out
    if t == "list":
        return [_json_value(shape.member, v, default_ts) for v in value]
    if t == "map":
        return {k: _json_value(shape.value, v, default_ts) for k, v in value.items()}
    if t == "timestamp":
        return _ts_text(value, shape.serialization.get("timestampFormat", default_ts))
    if t == "blob":
        return base64.b64encode(_blob(value)).decode("ascii")
    if t in ("integer", "long"):
        return int(value)
    if t in ("float", "double"):
        return float(value)
    if t == "boolean":
        return bool(value)
    return value


def _json(service, op, result, rid):
    ver = models.model(service).metadata.get("jsonVersion", "1.0")
    body = {} if op.output_shape is None else _json_value(op.output_shape, result)
    return Response(200, [("Content-Type", f"application/x-amz-json-{ver}"), ("x-amzn-RequestId", rid)],
                    json.dumps(body).encode())


# ---------------------------------------------------------------- REST

def _rest(service, op, result, rid, proto):
    status, headers, body = 200, [], b""
    out = op.output_shape
    if proto == "rest-xml":
        headers += [("x-amz-request-id", rid), ("x-amz-id-2", "fakeaws/" + rid)]
    else:
        headers.append(("x-amzn-RequestId", rid))
    if out is None:
        return Response(status, headers, body)
    payload = out.serialization.get("payload")
    body_members = False
    for mname, mshape in out.members.items():
        ser = mshape.serialization
        loc = ser.get("location")
        value = result.get(mname)
        if loc == "statusCode":
            status = int(value) if value is not None else status
        elif value is None:
            continue
        elif loc == "header":
            if mshape.type_name == "list":
                text = ",".join(str(v) for v in value)
            elif mshape.type_name == "timestamp":
                text = _ts_text(value, ser.get("timestampFormat", "rfc822"))
            elif ser.get("jsonvalue"):
                text = base64.b64encode(json.dumps(value).encode()).decode()
            else:
                text = _text(mshape, value)
            headers.append((ser.get("name", mname), str(text)))
        elif loc == "headers":
            for k, v in value.items():
                headers.append((ser.get("name", "") + k, str(v)))
        elif mname != payload:
            body_members = True
    if payload:
        pshape = out.members[payload]
        value = result.get(payload)
        if value is None:
            pass
        elif pshape.type_name in ("blob", "string"):
            body = _blob(value)
        elif proto == "rest-xml":
            root = ET.Element(pshape.serialization.get("name", pshape.name), xmlns=S3_NS)
            _xml_struct(root, pshape, value, "member")
            body = _xml_bytes(root)
        else:
            body = json.dumps(_json_value(pshape, value)).encode()
    elif proto == "rest-xml" and out.name in S3_TEXT_ROOTS:
        member = S3_TEXT_ROOTS[out.name]
        root = ET.Element(member, xmlns=S3_NS)
        if result.get(member):
            root.text = _text(out.members[member], result[member])
        body = _xml_bytes(root)
    elif body_members:
        if proto == "rest-xml":
            root = ET.Element(S3_ROOTS.get(out.name, out.serialization.get("name", out.name)), xmlns=S3_NS)
            _xml_struct(root, out, result, "member")
            body = _xml_bytes(root)
        else:
            body = json.dumps(_json_value(out, result)).encode()
    if body and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/xml" if proto == "rest-xml" else "application/json"))
    return Response(status, headers, body)


def serialize(service, op, result, rid):
    """The HTTP response carrying `result` (output-shape dict) for `op`."""
    proto = models.protocol(service)
    result = result or {}
    if proto == "ec2":
        return _ec2(op, result, rid)
    if proto == "query":
        return _query(service, op, result, rid)
    if proto == "json":
        return _json(service, op, result, rid)
    return _rest(service, op, result, rid, proto)


# ---------------------------------------------------------------- errors

def error_status(service, op, err):
    """The HTTP status for an AwsError: explicit, else the model's, else the usual."""
    if err.status:
        return err.status
    if op is not None:
        for shape in op.error_shapes:
            meta = shape.metadata.get("error", {})
            if meta.get("code", shape.name) == err.code and meta.get("httpStatusCode"):
                return meta["httpStatusCode"]
    proto = models.protocol(service) if service else "ec2"
    code = err.code
    if code in ("AccessDenied", "AccessDeniedException", "SignatureDoesNotMatch",
                "InvalidClientTokenId", "InvalidAccessKeyId", "RequestTimeTooSkewed",
                "MissingAuthenticationToken", "ExpiredToken"):
        return 403
    if proto in ("rest-xml", "query", "rest-json") and ("NoSuch" in code or code.endswith("NotFound")
                                                        or code.endswith("NotFoundFault")
                                                        or code == "ResourceNotFoundException"):
        return 404
    if code in ("InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable"):
        return 500 if code.startswith("Internal") else 503
    return 400


def serialize_error(service, op, err, rid, head=False):
    """The HTTP error response for AwsError `err` in `service`'s error format."""
    proto = models.protocol(service) if service else "ec2"
    status = error_status(service, op, err)
    extra = list(err.headers.items())
    if proto == "ec2":
        root = ET.Element("Response")
        e = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
        ET.SubElement(e, "Code").text = err.code
        ET.SubElement(e, "Message").text = err.message
        ET.SubElement(root, "RequestID").text = rid
        return Response(status, [("Content-Type", "text/xml;charset=UTF-8")] + extra, _xml_bytes(root))
    if proto == "query":
        root = ET.Element("ErrorResponse", xmlns=models.model(service).metadata.get("xmlNamespace", ""))
        e = ET.SubElement(root, "Error")
        ET.SubElement(e, "Type").text = "Sender" if err.sender else "Receiver"
        ET.SubElement(e, "Code").text = err.code
        ET.SubElement(e, "Message").text = err.message
        ET.SubElement(root, "RequestId").text = rid
        return Response(status, [("Content-Type", "text/xml")] + extra, _xml_bytes(root))
    if proto == "json":
        ver = models.model(service).metadata.get("jsonVersion", "1.0")
        body = json.dumps({"__type": err.code, "message": err.message}).encode()
        return Response(status, [("Content-Type", f"application/x-amz-json-{ver}"),
                                 ("x-amzn-RequestId", rid)] + extra, body)
    if proto == "rest-json":
        body = json.dumps({"__type": err.code, "message": err.message, "Message": err.message}).encode()
        return Response(status, [("Content-Type", "application/json"), ("x-amzn-RequestId", rid),
                                 ("x-amzn-ErrorType", err.code)] + extra, body)
    headers = [("x-amz-request-id", rid), ("x-amz-id-2", "fakeaws/" + rid)] + extra
    if head:
        return Response(status, headers, b"")
    root = ET.Element("Error")
    ET.SubElement(root, "Code").text = err.code
    ET.SubElement(root, "Message").text = err.message
    ET.SubElement(root, "RequestId").text = rid
    ET.SubElement(root, "HostId").text = "fakeaws/" + rid
    return Response(status, [("Content-Type", "application/xml")] + headers, _xml_bytes(root))

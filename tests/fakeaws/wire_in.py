"""Requests off the wire: which operation a request calls, and its params.

The inverse of botocore's serializers, driven by the same models: query and ec2
form bodies, JSON 1.0/1.1 bodies, and REST path/query/header/body bindings."""
import base64
import datetime
import functools
import json
import re
import urllib.parse
import xml.etree.ElementTree as ET

from . import models
from .errors import AwsError


class Request:
    """One HTTP request as received: raw path and query, lowercase headers."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path            # percent-encoded, as on the wire
        self.query = query          # raw, without '?'
        self.headers = headers      # list of (name, value), names as sent
        self.body = body            # bytes

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def query_pairs(self):
        return urllib.parse.parse_qsl(self.query, keep_blank_values=True)

    def form(self):
        """Form fields (POST body or query string) as one flat dict."""
        pairs = self.query_pairs()
        ctype = (self.header("content-type") or "").lower()
        if self.body and "x-www-form-urlencoded" in ctype:
            pairs += urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)
        return dict(pairs)


# ---------------------------------------------------------------- routing

def identify(req, candidates):
    """(service, OperationModel) for `req` among candidate services, or AwsError."""
    target = req.header("x-amz-target")
    if target:
        prefix, _, opname = target.rpartition(".")
        svc = models.service_for_target(prefix)
        if svc and (not candidates or svc in candidates):
            op = models.operation(svc, opname)
            if op is None:
                raise AwsError("UnknownOperationException", f"Unknown operation {target}")
            return svc, op
    form_svcs = [s for s in candidates if models.protocol(s) in ("query", "ec2")]
    if form_svcs:
        form = req.form()
        action = form.get("Action")
        if action:
            version = form.get("Version")
            chosen = [s for s in form_svcs if models.model(s).api_version == version] or form_svcs
            for s in chosen:
                op = models.operation(s, action)
                if op is not None:
                    return s, op
            raise AwsError("InvalidAction", f"The action {action} is not valid for this web service.")
    rest_svcs = [s for s in candidates if models.protocol(s).startswith("rest-")]
    best = None
    for s in rest_svcs:
        m = _match_rest(s, req)
        if m and (best is None or m[0] > best[0]):
            best = (m[0], s, m[1])
    if best:
        return best[1], models.operation(best[1], best[2])
    raise AwsError("UnknownOperationException", f"No operation matches {req.method} {req.path}")


@functools.lru_cache(maxsize=None)
def _rest_templates(service):
    out = []
    m = models.model(service)
    for name in m.operation_names:
        http = m.operation_model(name).http
        path, _, query = http["requestUri"].partition("?")
        regex, literal = "", 0
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{"):
                label = part[1:-1]
                greedy = label.endswith("+")
                label = label.rstrip("+")
                regex += f"(?P<{label}>.+)" if greedy else f"(?P<{label}>[^/]+)"
            else:
                regex += re.escape(part)
                literal += len(part)
        lits = dict(urllib.parse.parse_qsl(query, keep_blank_values=True)) if query else {}
        heads = []
        shape = m.operation_model(name).input_shape
        for mname in (shape.required_members if shape is not None else []):
            ser = shape.members[mname].serialization
            if ser.get("location") == "header":
                heads.append(ser.get("name", mname).lower())
            elif ser.get("location") == "querystring":
                lits.setdefault(ser.get("name", mname), "")
        out.append((http["method"], re.compile(regex + "/?$"), lits, literal, name, tuple(heads)))
    return out


def _match_rest(service, req):
    present = dict(req.query_pairs())
    sent = {k.lower() for k, _ in req.headers}
    best = None
    for method, rx, lits, literal, name, heads in _rest_templates(service):
        if method != req.method:
            continue
        if not rx.match(req.path):
            continue
        if any(k not in present or (v and present[k] != v) for k, v in lits.items()):
            continue
        if any(h not in sent for h in heads):
            continue
        score = (len(lits) + len(heads), literal)
        if best is None or score > best[0]:
            best = (score, name)
    return best


# ---------------------------------------------------------------- params

def parse_params(service, op, req):
    """The operation's input params decoded from the wire by the model."""
    shape = op.input_shape
    if shape is None:
        return {}
    proto = models.protocol(service)
    if proto in ("query", "ec2"):
        flat = req.form()
        used = set()
        out = _from_form(shape, flat, "", proto == "ec2", used) or {}
        if proto == "ec2":
            extra = sorted(k for k in flat if k not in used and k not in ("Action", "Version")
                           and not k.startswith("X-Amz-"))
            if extra:
                raise AwsError("UnknownParameter", f"The parameter {extra[0]} is not recognized")
        return out
    if proto == "json":
        body = json.loads(req.body or b"{}")
        return _from_json(shape, body) or {}
    return _from_rest(service, op, shape, req, proto)


def _scalar(shape, text):
    t = shape.type_name
    if t in ("integer", "long"):
        return int(text)
    if t in ("float", "double"):
        return float(text)
    if t == "boolean":
        return str(text).lower() == "true"
    if t == "blob":
        return base64.b64decode(text)
    return text


def _form_name(shape, default, ec2):
    ser = shape.serialization
    if ec2:
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return default
    return ser.get("name", default)


def _has(flat, key):
    if key in flat:
        return True
    dotted = key + "."
    return any(k.startswith(dotted) for k in flat)


def _indices(flat, prefix):
    idx = set()
    dotted = prefix + "."
    for k in flat:
        if k.startswith(dotted):
            head = k[len(dotted):].split(".", 1)[0]
            if head.isdigit():
                idx.add(int(head))
    return sorted(idx)


def _from_form(shape, flat, prefix, ec2, used):
    t = shape.type_name
    if t == "structure":
        out = {}
        for mname, mshape in shape.members.items():
            key = _form_name(mshape, mname, ec2)
            if mshape.type_name == "list" and not ec2 and mshape.serialization.get("flattened") \
                    and mshape.member.serialization.get("name"):
                key = _form_name(mshape.member, mname, ec2)
            full = f"{prefix}.{key}" if prefix else key
            if _has(flat, full):
                out[mname] = _from_form(mshape, flat, full, ec2, used)
        return out
    if t == "list":
        if flat.get(prefix) == "":
            used.add(prefix)
            return []
        if ec2 or shape.serialization.get("flattened"):
            base = prefix
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        return [_from_form(shape.member, flat, f"{base}.{i}", ec2, used) for i in _indices(flat, base)]
    if t == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        out = {}
        for i in _indices(flat, base):
            k = flat.get(f"{base}.{i}.{kname}")
            used.add(f"{base}.{i}.{kname}")
            out[k] = _from_form(shape.value, flat, f"{base}.{i}.{vname}", ec2, used)
        return out
    used.add(prefix)
    return _scalar(shape, flat[prefix])


def _from_json(shape, value):
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        out = {}
        for mname, mshape in shape.members.items():
            key = mshape.serialization.get("name", mname)
            if key in value:
                out[mname] = _from_json(mshape, value[key])
        return out
    if t == "list":
        return [_from_json(shape.member, v) for v in value]
    if t == "map":
        return {k: _from_json(shape.value, v) for k, v in value.items()}
    if t == "timestamp" and isinstance(value, (int, float)):
        return iso(datetime.datetime.fromtimestamp(value, datetime.timezone.utc))
    if t == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    return value


def _from_xml(shape, node):
    t = shape.type_name
    if t == "structure":
        out = {}
        children = {}
        for c in node:
            children.setdefault(_tag(c), []).append(c)
        for mname, mshape in shape.members.items():
            key = mshape.serialization.get("name", mname)
            if mshape.serialization.get("xmlAttribute"):
                # `xsi:type` arrives namespaced ({uri}type): match the local name.
                local = key.rsplit(":", 1)[-1]
                for aname, aval in node.attrib.items():
                    if _tag_name(aname) == local:
                        out[mname] = _scalar(mshape, aval)
                continue
            if mshape.type_name == "list" and mshape.serialization.get("flattened"):
                key = mshape.member.serialization.get("name", key)
                if key in children:
                    out[mname] = [_from_xml(mshape.member, c) for c in children[key]]
                continue
            if key in children:
                out[mname] = _from_xml(mshape, children[key][0])
        return out
    if t == "list":
        return [_from_xml(shape.member, c) for c in node]
    if t == "map":
        out = {}
        for entry in node:
            kv = {_tag(c): c for c in entry}
            out[(kv.get("key").text or "")] = _from_xml(shape.value, kv.get("value"))
        return out
    return _scalar(shape, node.text or "")


def _tag(node):
    return _tag_name(node.tag)


def _tag_name(name):
    return name.rsplit("}", 1)[-1]


def _from_rest(service, op, shape, req, proto):
    out = {}
    rx = [t[1] for t in _rest_templates(service) if t[4] == op.name][0]
    labels = rx.match(req.path).groupdict() if rx.match(req.path) else {}
    qpairs = req.query_pairs()
    headers = {k.lower(): v for k, v in req.headers}
    payload = shape.serialization.get("payload")
    body_members = {}
    for mname, mshape in shape.members.items():
        ser = mshape.serialization
        loc = ser.get("location")
        name = ser.get("name", mname)
        if loc == "uri":
            if name in labels:
                out[mname] = urllib.parse.unquote(labels[name])
        elif loc == "querystring":
            if mshape.type_name == "map":
                vals = {k: v for k, v in qpairs}
                if vals:
                    out[mname] = vals
            else:
                vals = [v for k, v in qpairs if k == name]
                if vals:
                    out[mname] = [_scalar(mshape.member, v) for v in vals] \
                        if mshape.type_name == "list" else _scalar(mshape, vals[0])
        elif loc == "header":
            if name.lower() in headers:
                v = headers[name.lower()]
                if mshape.type_name == "list":
                    out[mname] = [x.strip() for x in v.split(",")]
                elif mshape.type_name == "string" and ser.get("jsonvalue"):
                    out[mname] = json.loads(base64.b64decode(v))
                else:
                    out[mname] = v if mshape.type_name == "timestamp" else _scalar(mshape, v)
        elif loc == "headers":
            pre = name.lower()
            vals = {k[len(pre):]: v for k, v in headers.items() if k.startswith(pre)}
            if vals:
                out[mname] = vals
        elif mname == payload:
            if mshape.type_name in ("blob", "string"):
                out[mname] = req.body if mshape.type_name == "blob" else req.body.decode("utf-8")
            elif req.body:
                if proto == "rest-xml":
                    out[mname] = _from_xml(mshape, ET.fromstring(req.body))
                else:
                    out[mname] = _from_json(mshape, json.loads(req.body))
        else:
            body_members[mname] = mshape
    if body_members and not payload and req.body:
        if proto == "rest-json":
            doc = json.loads(req.body)
            for mname, mshape in body_members.items():
                key = mshape.serialization.get("name", mname)
                if key in doc:
                    out[mname] = _from_json(mshape, doc[key])
        else:
            root = ET.fromstring(req.body)
            out.update(_from_xml(shape, root))
    return out


def iso(dt):
    """AWS's ISO-8601 form, milliseconds and Z."""
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{dt.microsecond // 1000:03d}Z"


_MISSING = {"ec2": "MissingParameter", "query": "ValidationError", "json": "ValidationException",
            "rest-json": "ValidationException", "rest-xml": "InvalidRequest"}


def validate(service, op, params):
    """Required members present (at every depth), as the service checks them."""
    proto = models.protocol(service)

    def walk(shape, value, path):
        if shape.type_name == "structure" and isinstance(value, dict):
            for name in shape.required_members:
                if value.get(name) is None:
                    where = f"{path}.{name}" if path else name
                    if proto == "ec2":
                        raise AwsError("MissingParameter", f"The request must contain the parameter {where}")
                    raise AwsError(_MISSING[proto], f"1 validation error detected: Value null at '{where}' "
                                   "failed to satisfy constraint: Member must not be null")
            for name, v in value.items():
                if name in shape.members:
                    walk(shape.members[name], v, f"{path}.{name}" if path else name)
        elif shape.type_name == "list" and isinstance(value, list):
            for i, v in enumerate(value, 1):
                walk(shape.member, v, f"{path}.{i}")
        elif shape.type_name == "map" and isinstance(value, dict):
            for k, v in value.items():
                walk(shape.value, v, f"{path}.{k}")
    if op.input_shape is not None:
        walk(op.input_shape, params, "")

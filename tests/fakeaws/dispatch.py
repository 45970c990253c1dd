"""The fake's core: one AWS request in, one response out.

Order, as AWS does it: route (signing scope, X-Amz-Target, Action, REST path),
authenticate (SigV4), then faults, DryRun, the handler, the response. Every
request that names an operation is recorded for GET /_fake/calls."""
import base64
import copy
import threading
import time
import uuid

from . import faults as faultmod
from . import models, services, sigcheck, state, wire_in, wire_out
from .errors import AwsError


class Outcome:
    """A response plus what the server must do with the connection."""

    def __init__(self, response, action=None, delay=0.0):
        self.response = response
        self.action = action        # None, "reset", "truncate"
        self.delay = delay          # seconds to wait before answering


class Context(state.WorldContext):
    """What a handler gets: the world context plus the caller and this request."""

    def __init__(self, fake, service, op, region, caller, rid):
        super().__init__(fake.world, service, region)
        self.fake, self.operation = fake, op
        self.caller, self.request_id = caller, rid


def _jsonable(v):
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(v).decode()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


class Fake:
    def __init__(self, world_doc, latency_ms=0, latency_service=None, clock=None):
        models.preload()
        self.lock = threading.RLock()
        self.faults = faultmod.Faults()
        self.latency_ms = latency_ms
        self.latency_service = dict(latency_service or {})
        self.clock = clock          # for tests of the clock-skew check
        self.initial = copy.deepcopy(world_doc)     # what POST /_fake/reset with no body restores
        self.reset(world_doc)

    def reset(self, world_doc):
        with self.lock:
            self.world = state.World(world_doc, services.normalizers())
            self.calls = []

    def calls_snapshot(self):
        with self.lock:
            return copy.deepcopy(self.calls)

    def _latency(self, service):
        ms = self.latency_service.get(service, self.latency_ms)
        return ms / 1000.0

    def handle(self, req):
        rid = str(uuid.uuid4())
        rec = {"time": time.time(), "service": None, "operation": None, "region": None,
               "params": None, "signature_ok": False, "status": None, "error": None, "fault": None,
               "request_id": rid}
        out = self._handle(req, rid, rec)
        rec["status"] = out.response.status
        with self.lock:
            if rec["operation"]:
                rec["seq"] = len(self.calls) + 1
                self.calls.append(rec)
        if rec["service"]:
            out.delay += self._latency(rec["service"])
        return out

    def _handle(self, req, rid, rec):
        head = req.method == "HEAD"
        try:
            auth = sigcheck.parse_auth(req)
        except AwsError as e:
            return Outcome(wire_out.serialize_error(None, None, e, rid, head))
        candidates = list(models.SERVICES)
        if auth is not None and models.services_for_signing_name(auth.service):
            candidates = models.services_for_signing_name(auth.service)
        try:
            service, op = wire_in.identify(req, candidates)
        except AwsError as e:
            svc = candidates[0] if len(candidates) == 1 else None
            return Outcome(wire_out.serialize_error(svc, None, e, rid, head))
        proto = models.protocol(service)
        rec.update(service=service, operation=op.name, region=auth.region if auth else None)
        try:
            params = wire_in.parse_params(service, op, req)
        except AwsError as e:
            parse_error = e
            params = {}
        except (ValueError, KeyError, TypeError) as e:
            err = AwsError("SerializationException" if proto.endswith("json") else "MalformedInput",
                           f"could not read the request: {e}")
            return Outcome(wire_out.serialize_error(service, op, err, rid, head))
        else:
            parse_error = None
        rec["params"] = _jsonable(params)
        try:
            if auth is not None and auth.service != models.signing_name(service):
                raise sigcheck.fail(proto, "mismatch",
                                     f"Credential should be scoped to correct service: "
                                     f"'{models.signing_name(service)}'. ")
            with self.lock:
                creds = self.world.credentials()
            caller = sigcheck.verify(req, auth, proto, creds, self.clock() if self.clock else None)
            rec["signature_ok"] = True
            rec["access_key"] = auth.access_key
            if parse_error is not None:
                raise parse_error
            wire_in.validate(service, op, params)
        except AwsError as e:
            rec["error"] = e.code
            return Outcome(wire_out.serialize_error(service, op, e, rid, head))
        fired = self.faults.take(service, op.name)
        for f in fired:
            if f["kind"] in faultmod.BEFORE:
                rec["fault"] = f["kind"]
                return self._before_fault(f, service, op, proto, rid, head, rec)
        try:
            if proto == "ec2" and params.get("DryRun"):
                raise AwsError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.",
                               status=412)
            fn = services.handler(service, op.name)
            if fn is None:
                raise AwsError("NotImplemented", f"fakeaws does not implement {service} {op.name}",
                               status=501)
            with self.lock:
                ctx = Context(self, service, op.name, auth.region, caller, rid)
                result = fn(ctx, params) or {}
                result = copy.deepcopy(result)
        except AwsError as e:
            rec["error"] = e.code
            return Outcome(wire_out.serialize_error(service, op, e, rid, head))
        outcome = Outcome(None)
        for f in fired:
            rec["fault"] = f["kind"]
            if f["kind"] == "missing_field":
                faultmod.drop_field(result, f["field"])
            elif f["kind"] == "slow":
                outcome.delay += f.get("delay_ms", 2000) / 1000.0
            elif f["kind"] == "truncate":
                outcome.action = "truncate"
        outcome.response = wire_out.serialize(service, op, result, rid)
        if any(f["kind"] == "malformed" for f in fired):
            body = outcome.response.body or b"{}"
            outcome.response.body = body[: max(1, len(body) // 2)] + (b"<<<" if body[:1] == b"<" else b"{{{")
        return outcome

    def _before_fault(self, f, service, op, proto, rid, head, rec):
        if f["kind"] == "reset":
            return Outcome(wire_out.Response(0, [], b""), action="reset")
        if f["kind"] == "throttle":
            code, status = wire_out.THROTTLE[proto]
            err = AwsError(f.get("code", code), f.get("message", "Rate exceeded"), status=f.get("status", status))
        else:
            err = AwsError(f.get("code", "InternalError" if f.get("status", 500) == 500 else "ServiceUnavailable"),
                           f.get("message", "We encountered an internal error. Please try again."),
                           status=f.get("status", 500), sender=False)
        rec["error"] = err.code
        return Outcome(wire_out.serialize_error(service, op, err, rid, head))

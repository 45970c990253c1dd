"""Fault injection, per service and operation, set through POST /_fake/faults.

A fault spec (JSON):
  service      "ec2" (or "*")            operation  "StopInstances" (or "*", default)
  kind         throttle | error | reset | slow | truncate | malformed | missing_field
  count        how many times it fires (default 1; -1: every time)
  after        let this many matching calls through first (default 0)
  every        fire on every Nth matching call after that (default 1), e.g. 2: half
  status, code, message   for `error` (default 500 InternalError) and `throttle`
  delay_ms     for `slow` (default 2000)
  field        for `missing_field`: a top-level output member, or a dotted path
               through dicts and lists (`Reservations.Instances.State`)
throttle, error and reset fire before the handler runs (state unchanged); slow,
truncate, malformed and missing_field after it (the call took effect, as when
the network fails on the way back)."""
import threading

KINDS = ("throttle", "error", "reset", "slow", "truncate", "malformed", "missing_field")
BEFORE = ("throttle", "error", "reset")


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._specs = []

    def add(self, spec):
        """Validate and install one spec; returns it with its counters."""
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "missing_field" and not spec.get("field"):
            raise ValueError("missing_field needs 'field'")
        if "service" not in spec:
            raise ValueError("a fault needs 'service' (or '*')")
        s = {"operation": "*", "count": 1, "after": 0, "every": 1}
        s.update(spec)
        if int(s["every"]) < 1:
            raise ValueError("'every' must be >= 1")
        s["seen"], s["fired"] = 0, 0
        with self._lock:
            self._specs.append(s)
        return s

    def clear(self):
        with self._lock:
            self._specs = []

    def list(self):
        with self._lock:
            return [dict(s) for s in self._specs]

    def take(self, service, operation):
        """The faults that fire on this call (each spec counts the call once)."""
        fired = []
        with self._lock:
            for s in self._specs:
                if s["service"] not in ("*", service) or s["operation"] not in ("*", operation):
                    continue
                s["seen"] += 1
                n = s["seen"] - int(s["after"])
                if n <= 0 or (n - 1) % int(s["every"]):
                    continue
                if int(s["count"]) >= 0 and s["fired"] >= int(s["count"]):
                    continue
                s["fired"] += 1
                fired.append(dict(s))
        return fired


def drop_field(result, path):
    """Remove a dotted path from an output dict (through lists too)."""
    parts = path.split(".")

    def walk(node, i):
        if isinstance(node, list):
            for x in node:
                walk(x, i)
        elif isinstance(node, dict):
            if i == len(parts) - 1:
                node.pop(parts[i], None)
            elif parts[i] in node:
                walk(node[parts[i]], i + 1)
    walk(result, 0)

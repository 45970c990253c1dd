#!/usr/bin/python3
"""Generates vendor/models/<service>.json from Debian's python3-botocore data files.

For each service below, reads the latest API version's service-2.json, paginators-1.json and
waiters-2.json, keeps only what the Lua clients, parameter validation, `irhost check` and the
broker use (no documentation, examples or endpoint rules), and writes one compact,
deterministic JSON document: {"metadata", "operations", "shapes", "paginators", "waiters"}.

Run with Debian's interpreter (it has botocore): /usr/bin/python3 scripts/genmodels.py
"""
import json
import os
import sys

# Service ids as named in botocore's data directory (and in aws.client("...")).
# Adding a service: one line here, then `make models`.
SERVICES = [
    "account",
    "autoscaling",
    "cloudtrail",
    "detective",
    "ec2",
    "ecs",
    "elb",
    "elbv2",
    "guardduty",
    "iam",
    "kms",
    "lambda",
    "organizations",
    "rds",
    "rds-data",
    "s3",
    "s3control",
    "secretsmanager",
    "sns",
    "ssm",
    "sts",
]

DATA = "/usr/lib/python3/dist-packages/botocore/data"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "vendor", "models")

METADATA_KEYS = {
    "apiVersion", "endpointPrefix", "globalEndpoint", "jsonVersion", "protocol",
    "serviceAbbreviation", "serviceFullName", "serviceId", "signatureVersion", "signingName",
    "targetPrefix", "xmlNamespace", "checksumFormat",
}
OPERATION_KEYS = {
    "name", "http", "input", "output", "errors", "endpoint", "httpChecksum",
    "httpChecksumRequired", "authtype", "deprecated", "idempotent",
}
HTTP_KEYS = {"method", "requestUri", "responseCode"}
IO_KEYS = {"shape", "resultWrapper", "locationName", "xmlNamespace"}
SHAPE_KEYS = {
    "type", "members", "member", "key", "value", "required", "enum", "min", "max", "pattern",
    "payload", "streaming", "sensitive", "flattened", "locationName", "xmlNamespace",
    "timestampFormat", "exception", "error", "fault", "event", "eventstream", "union",
    "document", "box", "wrapper", "requiresLength",
}
MEMBER_KEYS = {
    "shape", "location", "locationName", "queryName", "xmlNamespace", "xmlAttribute",
    "flattened", "idempotencyToken", "hostLabel", "jsonvalue", "timestampFormat", "streaming",
    "eventpayload", "eventheader", "box", "deprecated",
}
PAGINATOR_KEYS = {"input_token", "output_token", "limit_key", "result_key", "more_results",
                  "non_aggregate_keys"}
WAITER_KEYS = {"delay", "maxAttempts", "operation", "acceptors"}


def pick(d, keys):
    return {k: v for k, v in d.items() if k in keys}


def strip_shape(shape):
    out = pick(shape, SHAPE_KEYS)
    if "members" in out:
        out["members"] = {n: pick(m, MEMBER_KEYS) for n, m in out["members"].items()}
    for k in ("member", "key", "value"):
        if k in out:
            out[k] = pick(out[k], MEMBER_KEYS)
    return out


def strip_operation(op):
    out = pick(op, OPERATION_KEYS)
    out["http"] = pick(op.get("http", {}), HTTP_KEYS)
    for k in ("input", "output"):
        if k in out:
            out[k] = pick(out[k], IO_KEYS)
    if "errors" in out:
        out["errors"] = sorted({e["shape"] for e in out["errors"]})
    if "endpoint" in out:
        out["endpoint"] = pick(out["endpoint"], {"hostPrefix"})
    return out


def latest_dir(service):
    base = os.path.join(DATA, service)
    versions = sorted(v for v in os.listdir(base) if os.path.isfile(os.path.join(base, v, "service-2.json")))
    if not versions:
        raise SystemExit(f"genmodels: no service-2.json for {service} under {base}")
    return os.path.join(base, versions[-1])


def load(path, default):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def build(service):
    d = latest_dir(service)
    svc = load(os.path.join(d, "service-2.json"), None)
    pag = load(os.path.join(d, "paginators-1.json"), {"pagination": {}})["pagination"]
    wait = load(os.path.join(d, "waiters-2.json"), {"waiters": {}})["waiters"]
    return {
        "metadata": pick(svc["metadata"], METADATA_KEYS),
        "operations": {n: strip_operation(o) for n, o in svc["operations"].items()},
        "shapes": {n: strip_shape(s) for n, s in svc["shapes"].items()},
        "paginators": {n: pick(p, PAGINATOR_KEYS) for n, p in pag.items()},
        "waiters": {n: pick(w, WAITER_KEYS) for n, w in wait.items()},
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    total = 0
    rows = []
    for service in SERVICES:
        model = build(service)
        text = json.dumps(model, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        path = os.path.join(OUT, service + ".json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        total += len(text.encode())
        rows.append((service, model["metadata"]["apiVersion"], model["metadata"]["protocol"],
                     len(model["operations"]), len(text.encode())))
    keep = {s + ".json" for s in SERVICES}
    for name in os.listdir(OUT):
        if name.endswith(".json") and name not in keep:
            os.remove(os.path.join(OUT, name))
    write_readme(rows, total)
    print(f"genmodels: {len(SERVICES)} services, {total} bytes in {OUT}", file=sys.stderr)


def write_readme(rows, total):
    import botocore
    lines = [
        "# vendor/models",
        "",
        "Generated by `scripts/genmodels.py` (`make models`) from Debian's python3-botocore "
        f"{botocore.__version__} data files: the latest API version of each service, with "
        "documentation, examples and endpoint rules stripped. Do not edit by hand; add a "
        "service to the list at the top of the script and regenerate.",
        "",
        "| service | apiVersion | protocol | operations | bytes |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| %s | %s | %s | %d | %d |" % r)
    lines += ["", f"Total: {total} bytes.", ""]
    with open(os.path.join(OUT, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()

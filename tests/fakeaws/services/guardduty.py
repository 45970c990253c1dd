"""guardduty: detectors and findings. ListFindings understands FindingCriteria on
dotted camelCase paths (`resource.instanceDetails.instanceId`, `type`,
`service.archived`), matched against the stored PascalCase finding."""
from .. import state as st
from ..errors import AwsError

SERVICE = "guardduty"


def _detector(ctx, did):
    d = ctx.state.setdefault("detectors", {}).get(did)
    if d is None:
        raise AwsError("BadRequestException", "The request is rejected because the input detectorId is not owned "
                       "by the current account.", status=400)
    return d


def list_detectors(ctx, p):
    ids, nxt = st.page(sorted(ctx.state.setdefault("detectors", {})), p)
    return {"DetectorIds": ids, "NextToken": nxt}


def get_detector(ctx, p):
    d = _detector(ctx, p["DetectorId"])
    return {k: v for k, v in d.items() if k != "findings"}


def _values(node, parts):
    if isinstance(node, list):
        return [v for x in node for v in _values(x, parts)]
    if not parts:
        return [node]
    if not isinstance(node, dict):
        return []
    key = parts[0][:1].upper() + parts[0][1:]
    return _values(node.get(key), parts[1:]) if key in node else []


def _number(text):
    """A criterion's operand: a number, or a time as GuardDuty compares it (epoch ms)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return st.parse_time(text).timestamp() * 1000
    except ValueError:
        return None


def _matches(finding, criterion):
    for field, cond in criterion.items():
        have = [str(v).lower() if isinstance(v, bool) else str(v) for v in _values(finding, field.split("."))]
        eq = cond.get("Eq") or cond.get("Equals")
        neq = cond.get("Neq") or cond.get("NotEquals")
        if eq and not any(h in eq for h in have):
            return False
        if neq and any(h in neq for h in have):
            return False
        for key, op in (("Gt", float.__gt__), ("Gte", float.__ge__), ("Lt", float.__lt__), ("Lte", float.__le__),
                        ("GreaterThan", float.__gt__), ("GreaterThanOrEqual", float.__ge__),
                        ("LessThan", float.__lt__), ("LessThanOrEqual", float.__le__)):
            if key in cond:
                nums = [n for n in map(_number, have) if n is not None]
                if not any(op(n, float(cond[key])) for n in nums):
                    return False
    return True


def list_findings(ctx, p):
    d = _detector(ctx, p["DetectorId"])
    crit = (p.get("FindingCriteria") or {}).get("Criterion") or {}
    found = [f for f in d.get("findings", {}).values() if _matches(f, crit)]
    found.sort(key=lambda f: f.get("UpdatedAt", ""), reverse=True)
    ids, nxt = st.page([f["Id"] for f in found], p, default=50)
    return {"FindingIds": ids, "NextToken": nxt}


def get_findings(ctx, p):
    d = _detector(ctx, p["DetectorId"])
    return {"Findings": [d["findings"][i] for i in p["FindingIds"] if i in d.get("findings", {})]}


def archive_findings(ctx, p):
    d = _detector(ctx, p["DetectorId"])
    for i in p["FindingIds"]:
        if i in d.get("findings", {}):
            d["findings"][i].setdefault("Service", {})["Archived"] = True
    return {}


def normalize(world):
    for region, s in world.doc.get("guardduty", {}).items():
        for d in s.get("detectors", {}).values():
            for f in d.get("findings", {}).values():
                _resolve_times(f)


# The finding's time members, at any depth (CreatedAt, Service.EventFirstSeen,
# Service.Action...FirstSeen/LastSeen, runtime details' times).
_TIME_SUFFIXES = ("At", "Seen", "Time")


def _resolve_times(node):
    """World files may give relative times ("-26h") anywhere in a finding: resolved at load."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        if isinstance(v, (dict, list)):
            _resolve_times(v)
        elif isinstance(v, str) and isinstance(k, str) and k.endswith(_TIME_SUFFIXES):
            node[k] = st.resolve_time(v)


OPERATIONS = {"ListDetectors": list_detectors, "GetDetector": get_detector, "ListFindings": list_findings,
              "GetFindings": get_findings, "ArchiveFindings": archive_findings}


# Run by test_faithful.py through botocore on the demo world: (operation, params, check).
FAITHFUL_CASES = [
    ("ListDetectors", {}, lambda r: r["DetectorIds"] == ["0a1b2c3d4e5f60718293a4b5c6d7e8f9"]),
    ("GetDetector", {"DetectorId": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}, lambda r: r["Status"] == "ENABLED"),
    ("ListFindings", {"DetectorId": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "FindingCriteria": {"Criterion": {
        "resource.instanceDetails.instanceId": {"Eq": ["i-0a1b2c3d4e5f60001"]}}}}, lambda r: len(r["FindingIds"]) == 1),
    ("GetFindings", {"DetectorId": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "FindingIds": ["a1b2c3d4e5f60718293a4b5c6d7e8f05"]},
     lambda r: r["Findings"][0]["Resource"]["AccessKeyDetails"]["UserName"] == "ci-deploy"),
    ("ArchiveFindings", {"DetectorId": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "FindingIds": ["a1b2c3d4e5f60718293a4b5c6d7e8f06"]}, None),
]

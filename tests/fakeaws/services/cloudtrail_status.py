"""cloudtrail GetTrailStatus: whether a trail the runbooks read is logging (an
attacker's StopLogging shows here). A trail's status is its `_status` in the
world, logging by default. GetEventSelectors: what the trail records, from its
`_event_selectors` or `_advanced_event_selectors` (a trail has one or the other);
without either, AWS's default (all management events, no data events)."""
from ..errors import AwsError

SERVICE = "cloudtrail"


def _trail(ctx, name):
    for t in ctx.state.get("trails", []):
        if name in (t.get("Name"), t.get("TrailARN")):
            return t
    raise AwsError("TrailNotFoundException", f"Unknown trail: {name} for the user: {ctx.account}")


def get_trail_status(ctx, p):
    t = _trail(ctx, p["Name"])
    return dict({"IsLogging": True, "LatestDeliveryTime": "2026-01-01T00:00:00Z"}, **t.get("_status", {}))


DEFAULT_SELECTORS = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                      "ExcludeManagementEventSources": []}]


def get_event_selectors(ctx, p):
    t = _trail(ctx, p["TrailName"])
    out = {"TrailARN": t.get("TrailARN")}
    if t.get("_advanced_event_selectors"):
        out["AdvancedEventSelectors"] = t["_advanced_event_selectors"]
    else:
        out["EventSelectors"] = t.get("_event_selectors") or DEFAULT_SELECTORS
    return out


def normalize(world):
    for s in world.doc.get("cloudtrail", {}).values():
        for t in s.get("trails", []):
            t["HasCustomEventSelectors"] = bool(t.get("_event_selectors") or t.get("_advanced_event_selectors"))


OPERATIONS = {"GetTrailStatus": get_trail_status, "GetEventSelectors": get_event_selectors}

"""cloudtrail GetTrailStatus: whether a trail the runbooks read is logging (an
attacker's StopLogging shows here). A trail's status is its `_status` in the
world, logging by default."""
from ..errors import AwsError

SERVICE = "cloudtrail"


def get_trail_status(ctx, p):
    for t in ctx.state.get("trails", []):
        if p["Name"] in (t.get("Name"), t.get("TrailARN")):
            return dict({"IsLogging": True, "LatestDeliveryTime": "2026-01-01T00:00:00Z"}, **t.get("_status", {}))
    raise AwsError("TrailNotFoundException", f"Unknown trail: {p['Name']} for the user: {ctx.account}")


OPERATIONS = {"GetTrailStatus": get_trail_status}

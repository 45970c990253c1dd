"""cloudtrail: LookupEvents over the world's events (newest first), DescribeTrails."""
import json

from .. import state as st
from ..errors import AwsError

SERVICE = "cloudtrail"
ATTRS = {"EventId": "EventId", "EventName": "EventName", "ReadOnly": "ReadOnly", "Username": "Username",
         "EventSource": "EventSource", "AccessKeyId": "AccessKeyId"}


def lookup_events(ctx, p):
    events = list(ctx.state.get("events", []))
    attrs = p.get("LookupAttributes") or []
    if len(attrs) > 1:
        raise AwsError("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    for a in attrs:
        key, val = a["AttributeKey"], a["AttributeValue"]
        if key in ATTRS:
            events = [e for e in events if str(e.get(ATTRS[key])) == val]
        elif key in ("ResourceType", "ResourceName"):
            events = [e for e in events if any(r.get(key) == val for r in e.get("Resources", []))]
        else:
            raise AwsError("InvalidLookupAttributesException", f"Invalid attribute key: {key}")
    if p.get("StartTime"):
        events = [e for e in events if st.parse_time(e["EventTime"]) >= st.parse_time(p["StartTime"])]
    if p.get("EndTime"):
        events = [e for e in events if st.parse_time(e["EventTime"]) <= st.parse_time(p["EndTime"])]
    events.sort(key=lambda e: st.parse_time(e["EventTime"]), reverse=True)
    if p.get("MaxResults") and not 1 <= p["MaxResults"] <= 50:
        raise AwsError("InvalidMaxResultsException", "MaxResults must be between 1 and 50")
    page, nxt = st.page(events, p, default=50)
    return {"Events": page, "NextToken": nxt}


def describe_trails(ctx, p):
    trails = list(ctx.state.get("trails", []))
    names = p.get("trailNameList")
    if names:
        trails = [t for t in trails if t.get("Name") in names or t.get("TrailARN") in names]
    return {"trailList": trails}


def normalize(world):
    for region, s in world.doc.get("cloudtrail", {}).items():
        for e in s.get("events", []):
            e["EventTime"] = st.resolve_time(e["EventTime"])
            if "CloudTrailEvent" in e:
                doc = json.loads(e["CloudTrailEvent"])
                doc["eventTime"] = e["EventTime"]
                e["CloudTrailEvent"] = json.dumps(doc)


OPERATIONS = {"LookupEvents": lookup_events, "DescribeTrails": describe_trails}


# Run by test_faithful.py through botocore on the demo world: (operation, params, check).
FAITHFUL_CASES = [
    ("LookupEvents", {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "ci-deploy"}]},
     lambda r: len(r["Events"]) == 5 and r["Events"][0]["EventName"] == "PutBucketPolicy"),
    ("DescribeTrails", {}, lambda r: r["trailList"][0]["Name"] == "org-trail"),
]

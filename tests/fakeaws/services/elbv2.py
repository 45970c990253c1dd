"""elbv2 (application/network load balancers): load balancers, target groups,
target health, deregistration. A target group's registered targets are kept in
its `Targets` list (not part of the TargetGroup shape)."""
from .. import state as st
from ..errors import AwsError
from . import _lb

SERVICE = "elbv2"


def describe_load_balancers(ctx, p):
    lbs = _lb.elbv2_state(ctx)["load_balancers"]
    items = list(lbs.values())
    if p.get("LoadBalancerArns"):
        for a in p["LoadBalancerArns"]:
            if a not in lbs:
                raise AwsError("LoadBalancerNotFound", "One or more load balancers not found")
        items = [lbs[a] for a in p["LoadBalancerArns"]]
    if p.get("Names"):
        items = [lb for lb in items if lb["LoadBalancerName"] in p["Names"]]
        if len(items) != len(p["Names"]):
            raise AwsError("LoadBalancerNotFound", "One or more load balancers not found")
    items, nxt = st.page(items, p, max_key="PageSize", token_key="Marker")
    return {"LoadBalancers": items, "NextMarker": nxt}


def _tg(ctx, arn):
    tg = _lb.elbv2_state(ctx)["target_groups"].get(arn)
    if tg is None:
        raise AwsError("TargetGroupNotFound", f"Target groups '{arn}' not found")
    return tg


def describe_target_groups(ctx, p):
    tgs = _lb.elbv2_state(ctx)["target_groups"]
    items = list(tgs.values())
    if p.get("TargetGroupArns"):
        items = [_tg(ctx, a) for a in p["TargetGroupArns"]]
    if p.get("Names"):
        items = [t for t in items if t["TargetGroupName"] in p["Names"]]
        if len(items) != len(p["Names"]):
            raise AwsError("TargetGroupNotFound", "One or more target groups not found")
    if p.get("LoadBalancerArn"):
        if p["LoadBalancerArn"] not in _lb.elbv2_state(ctx)["load_balancers"]:
            raise AwsError("LoadBalancerNotFound", "One or more load balancers not found")
        items = [t for t in items if p["LoadBalancerArn"] in t.get("LoadBalancerArns", [])]
    items, nxt = st.page(items, p, max_key="PageSize", token_key="Marker")
    return {"TargetGroups": items, "NextMarker": nxt}


def describe_target_health(ctx, p):
    tg = _tg(ctx, p["TargetGroupArn"])
    targets = {t["Id"]: t for t in tg.get("Targets", [])}
    wanted = p.get("Targets") or [{"Id": t["Id"], "Port": t.get("Port")} for t in tg.get("Targets", [])]
    out = []
    for w in wanted:
        t = targets.get(w["Id"])
        if t is None:
            health = {"State": "unused", "Reason": "Target.NotRegistered",
                      "Description": "Target is not registered to the target group"}
        else:
            health = {"State": t.get("State", "healthy")}
        out.append({"Target": {"Id": w["Id"], "Port": w.get("Port") or (t or {}).get("Port") or tg.get("Port")},
                    "HealthCheckPort": str(tg.get("Port", "traffic-port")), "TargetHealth": health})
    return {"TargetHealthDescriptions": out}


def deregister_targets(ctx, p):
    tg = _tg(ctx, p["TargetGroupArn"])
    registered = {t["Id"] for t in tg.get("Targets", [])}
    for t in p["Targets"]:
        if t["Id"] not in registered:
            raise AwsError("InvalidTarget", f"The following targets are not registered in target group: '{t['Id']}'")
    for t in p["Targets"]:
        _lb.tg_deregister(ctx, p["TargetGroupArn"], t["Id"])
    return {}


OPERATIONS = {
    "DescribeLoadBalancers": describe_load_balancers,
    "DescribeTargetGroups": describe_target_groups,
    "DescribeTargetHealth": describe_target_health,
    "DeregisterTargets": deregister_targets,
}

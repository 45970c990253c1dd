"""elb (classic load balancers): describe, instance health, deregistration."""
from .. import state as st
from ..errors import AwsError
from . import _lb

SERVICE = "elb"


def _lb_named(ctx, name):
    lb = _lb.elb_state(ctx)["load_balancers"].get(name)
    if lb is None:
        raise AwsError("LoadBalancerNotFound", f"There is no ACTIVE Load Balancer named '{name}'")
    return lb


def describe_load_balancers(ctx, p):
    names = p.get("LoadBalancerNames") or list(_lb.elb_state(ctx)["load_balancers"])
    items = [_lb_named(ctx, n) for n in names]
    items, nxt = st.page(items, p, max_key="PageSize", token_key="Marker")
    return {"LoadBalancerDescriptions": items, "NextMarker": nxt}


def describe_instance_health(ctx, p):
    lb = _lb_named(ctx, p["LoadBalancerName"])
    registered = [i["InstanceId"] for i in lb.get("Instances", [])]
    wanted = [i["InstanceId"] for i in p.get("Instances") or []] or registered
    out = []
    for iid in wanted:
        if iid not in registered:
            raise AwsError("InvalidInstance", f"Could not find EC2 instance {iid}.")
        health = lb.get("_health", {}).get(iid, "InService")
        out.append({"InstanceId": iid, "State": health, "ReasonCode": "N/A",
                    "Description": "N/A" if health == "InService" else "Instance has failed at least the "
                                                                        "UnhealthyThreshold number of health checks."})
    return {"InstanceStates": out}


def deregister_instances(ctx, p):
    lb = _lb_named(ctx, p["LoadBalancerName"])
    registered = {i["InstanceId"] for i in lb.get("Instances", [])}
    for i in p.get("Instances") or []:
        if i["InstanceId"] not in registered:
            raise AwsError("InvalidInstance", f"The requested instance(s) {i['InstanceId']} is not registered "
                           f"with load balancer {p['LoadBalancerName']}.")
    for i in p.get("Instances") or []:
        _lb.elb_deregister(ctx, p["LoadBalancerName"], i["InstanceId"])
    return {"Instances": [dict(i) for i in lb.get("Instances", [])]}


OPERATIONS = {
    "DescribeLoadBalancers": describe_load_balancers,
    "DescribeInstanceHealth": describe_instance_health,
    "DeregisterInstancesFromLoadBalancer": deregister_instances,
}

"""Load balancer membership shared by elb, elbv2 and autoscaling (an instance
leaving its Auto Scaling group leaves the group's load balancers too)."""


def elb_state(ctx):
    s = ctx.regional("elb")
    s.setdefault("load_balancers", {})
    return s


def elbv2_state(ctx):
    s = ctx.regional("elbv2")
    s.setdefault("load_balancers", {})
    s.setdefault("target_groups", {})
    return s


def elb_deregister(ctx, lb_name, instance_id):
    lb = elb_state(ctx)["load_balancers"].get(lb_name)
    if lb:
        lb["Instances"] = [i for i in lb.get("Instances", []) if i["InstanceId"] != instance_id]


def elb_register(ctx, lb_name, instance_id):
    lb = elb_state(ctx)["load_balancers"].get(lb_name)
    if lb and not any(i["InstanceId"] == instance_id for i in lb.get("Instances", [])):
        lb.setdefault("Instances", []).append({"InstanceId": instance_id})


def tg_deregister(ctx, tg_arn, instance_id):
    tg = elbv2_state(ctx)["target_groups"].get(tg_arn)
    if tg:
        tg["Targets"] = [t for t in tg.get("Targets", []) if t["Id"] != instance_id]


def tg_register(ctx, tg_arn, instance_id):
    tg = elbv2_state(ctx)["target_groups"].get(tg_arn)
    if tg and not any(t["Id"] == instance_id for t in tg.get("Targets", [])):
        tg.setdefault("Targets", []).append({"Id": instance_id, "Port": tg.get("Port"), "State": "healthy"})

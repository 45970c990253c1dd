"""autoscaling: groups, their instances, process suspension, detach and standby.

The fake never launches instances: detaching without decrementing the desired
capacity leaves the group short, which it records in `_replacements_wanted`."""
from .. import state as st
from ..errors import AwsError
from . import _lb

SERVICE = "autoscaling"
PROCESSES = ("Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance", "HealthCheck",
             "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions")


def _groups(ctx):
    return ctx.state.setdefault("groups", {})


def _group(ctx, name):
    g = _groups(ctx).get(name)
    if g is None:
        raise AwsError("ValidationError", f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return g


def describe_auto_scaling_groups(ctx, p):
    names = p.get("AutoScalingGroupNames")
    items = [g for n, g in _groups(ctx).items() if not names or n in names]
    for f in p.get("Filters") or []:
        key, vals = f.get("Name", ""), f.get("Values", [])
        if key.startswith("tag:"):
            items = [g for g in items if st.tags_of(g).get(key[4:]) in vals]
        elif key == "tag-key":
            items = [g for g in items if set(st.tags_of(g)) & set(vals)]
        else:
            raise AwsError("ValidationError", f"Filter name '{key}' is invalid")
    items, nxt = st.page(items, p, max_key="MaxRecords")
    return {"AutoScalingGroups": items, "NextToken": nxt}


def describe_auto_scaling_instances(ctx, p):
    ids = p.get("InstanceIds")
    out = []
    for g in _groups(ctx).values():
        for i in g.get("Instances", []):
            if not ids or i["InstanceId"] in ids:
                out.append(dict(i, AutoScalingGroupName=g["AutoScalingGroupName"]))
    out, nxt = st.page(out, p, max_key="MaxRecords")
    return {"AutoScalingInstances": out, "NextToken": nxt}


def _processes(p):
    procs = p.get("ScalingProcesses") or list(PROCESSES)
    for x in procs:
        if x not in PROCESSES:
            raise AwsError("ValidationError", f"Process '{x}' is not a valid scaling process.")
    return procs


def suspend_processes(ctx, p):
    g = _group(ctx, p["AutoScalingGroupName"])
    cur = {s["ProcessName"] for s in g.setdefault("SuspendedProcesses", [])}
    for x in _processes(p):
        if x not in cur:
            g["SuspendedProcesses"].append({"ProcessName": x, "SuspensionReason": "User suspended at " + ctx.now()})
    return {}


def resume_processes(ctx, p):
    g = _group(ctx, p["AutoScalingGroupName"])
    procs = set(_processes(p))
    g["SuspendedProcesses"] = [s for s in g.get("SuspendedProcesses", []) if s["ProcessName"] not in procs]
    return {}


def _members(g, ids, states=None):
    by_id = {i["InstanceId"]: i for i in g.get("Instances", [])}
    for iid in ids:
        if iid not in by_id:
            raise AwsError("ValidationError",
                           f"The instance {iid} is not part of Auto Scaling group {g['AutoScalingGroupName']}.")
        if states and by_id[iid]["LifecycleState"] not in states:
            raise AwsError("ValidationError", f"The instance {iid} is not in {' or '.join(states)}.")
    return [by_id[i] for i in ids]


def _activity(ctx, g, what, iid, cause):
    a = {"ActivityId": f"{ctx.new_id('', 8)}-fa4e-4000-8000-{ctx.new_id('', 12)}", "AutoScalingGroupName":
         g["AutoScalingGroupName"], "Description": f"{what} EC2 instance: {iid}",
         "Cause": f"At {ctx.now()} {cause}", "StartTime": ctx.now(), "StatusCode": "InProgress", "Progress": 50,
         "Details": "{}"}
    ctx.state.setdefault("activities", []).append(a)
    return a


def _leave_load_balancers(ctx, g, iid):
    for lb in g.get("LoadBalancerNames", []):
        _lb.elb_deregister(ctx, lb, iid)
    for tg in g.get("TargetGroupARNs", []):
        _lb.tg_deregister(ctx, tg, iid)


def _decrement(g, n, decrement, verb):
    if decrement:
        if g["DesiredCapacity"] - n < g["MinSize"]:
            raise AwsError("ValidationError", f"Cannot {verb} instances: the new desired capacity "
                           f"({g['DesiredCapacity'] - n}) is less than the group's minimum size ({g['MinSize']}).")
        g["DesiredCapacity"] -= n


def detach_instances(ctx, p):
    g = _group(ctx, p["AutoScalingGroupName"])
    ids = p.get("InstanceIds") or []
    members = _members(g, ids)
    _decrement(g, len(ids), p["ShouldDecrementDesiredCapacity"], "detach")
    if not p["ShouldDecrementDesiredCapacity"]:
        g["_replacements_wanted"] = g.get("_replacements_wanted", 0) + len(ids)
    out = []
    for m in members:
        g["Instances"].remove(m)
        _leave_load_balancers(ctx, g, m["InstanceId"])
        out.append(_activity(ctx, g, "Detaching", m["InstanceId"], "an instance was detached from the group."))
    return {"Activities": out}


def enter_standby(ctx, p):
    g = _group(ctx, p["AutoScalingGroupName"])
    members = _members(g, p.get("InstanceIds") or [], ("InService",))
    _decrement(g, len(members), p["ShouldDecrementDesiredCapacity"], "move")
    out = []
    for m in members:
        m["LifecycleState"] = "Standby"
        m["_decremented"] = bool(p["ShouldDecrementDesiredCapacity"])
        _leave_load_balancers(ctx, g, m["InstanceId"])
        out.append(_activity(ctx, g, "Moving", m["InstanceId"], "an instance was moved to standby."))
    return {"Activities": out}


def exit_standby(ctx, p):
    g = _group(ctx, p["AutoScalingGroupName"])
    members = _members(g, p.get("InstanceIds") or [], ("Standby",))
    out = []
    for m in members:
        m["LifecycleState"] = "InService"
        if m.pop("_decremented", False):
            g["DesiredCapacity"] += 1
        for lb in g.get("LoadBalancerNames", []):
            _lb.elb_register(ctx, lb, m["InstanceId"])
        for tg in g.get("TargetGroupARNs", []):
            _lb.tg_register(ctx, tg, m["InstanceId"])
        out.append(_activity(ctx, g, "Moving", m["InstanceId"], "an instance was moved out of standby."))
    return {"Activities": out}


def normalize(world):
    for region, s in world.doc.get("autoscaling", {}).items():
        for name, g in s.get("groups", {}).items():
            g.setdefault("AutoScalingGroupName", name)
            g.setdefault("AutoScalingGroupARN", f"arn:aws:autoscaling:{region}:{world.account}:autoScalingGroup:"
                         f"00000000-0000-4000-8000-000000000000:autoScalingGroupName/{name}")
            g.setdefault("DefaultCooldown", 300)
            g.setdefault("HealthCheckType", "EC2")
            g.setdefault("CreatedTime", "2026-11-01T00:00:00.000Z")
            g.setdefault("SuspendedProcesses", [])
            g.setdefault("LoadBalancerNames", [])
            g.setdefault("TargetGroupARNs", [])
            g.setdefault("Tags", [])
            for i in g.get("Instances", []):
                i.setdefault("LifecycleState", "InService")
                i.setdefault("HealthStatus", "Healthy")
                i.setdefault("ProtectedFromScaleIn", False)


OPERATIONS = {
    "DescribeAutoScalingGroups": describe_auto_scaling_groups,
    "DescribeAutoScalingInstances": describe_auto_scaling_instances,
    "SuspendProcesses": suspend_processes,
    "ResumeProcesses": resume_processes,
    "DetachInstances": detach_instances,
    "EnterStandby": enter_standby,
    "ExitStandby": exit_standby,
}

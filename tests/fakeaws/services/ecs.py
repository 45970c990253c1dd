"""ecs: clusters, services, tasks (with their awsvpc ENIs, which live in ec2
state), task definitions, container instances, task protection, stop."""
import datetime

from .. import state as st
from ..errors import AwsError

SERVICE = "ecs"


def _coll(ctx, name):
    return ctx.state.setdefault(name, {})


def _cluster(ctx, ref):
    ref = ref or "default"
    for arn, c in _coll(ctx, "clusters").items():
        if ref in (arn, c.get("clusterName")):
            return c
    raise AwsError("ClusterNotFoundException", "Cluster not found.")


def _find(ctx, coll, cluster, ref, kind):
    for arn, x in _coll(ctx, coll).items():
        if x.get("clusterArn") != cluster["clusterArn"]:
            continue
        if ref in (arn, arn.rsplit("/", 1)[-1], x.get("serviceName")):
            return x
    return None


def list_clusters(ctx, p):
    arns, nxt = st.page(sorted(_coll(ctx, "clusters")), p, max_key="maxResults", token_key="nextToken")
    return {"clusterArns": arns, "nextToken": nxt}


def describe_clusters(ctx, p):
    out, failures = [], []
    for ref in p.get("clusters") or ["default"]:
        try:
            out.append(_cluster(ctx, ref))
        except AwsError:
            failures.append({"arn": ref, "reason": "MISSING"})
    return {"clusters": out, "failures": failures}


def list_services(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    arns = [a for a, s in _coll(ctx, "services").items() if s["clusterArn"] == c["clusterArn"]]
    arns, nxt = st.page(arns, p, max_key="maxResults", token_key="nextToken")
    return {"serviceArns": arns, "nextToken": nxt}


def describe_services(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    out, failures = [], []
    for ref in p["services"]:
        s = _find(ctx, "services", c, ref, "service")
        (out.append(s) if s else failures.append({"arn": ref, "reason": "MISSING"}))
    return {"services": out, "failures": failures}


def list_tasks(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    tasks = [t for t in _coll(ctx, "tasks").values() if t["clusterArn"] == c["clusterArn"]]
    if p.get("serviceName"):
        if not _find(ctx, "services", c, p["serviceName"], "service"):
            raise AwsError("ServiceNotFoundException", "Service not found.")
        tasks = [t for t in tasks if t.get("group") == "service:" + p["serviceName"].rsplit("/", 1)[-1]]
    if p.get("family"):
        tasks = [t for t in tasks if t["taskDefinitionArn"].rsplit("/", 1)[-1].split(":")[0] == p["family"]]
    if p.get("containerInstance"):
        tasks = [t for t in tasks if p["containerInstance"] in (t.get("containerInstanceArn"),
                                                                 (t.get("containerInstanceArn") or "").rsplit("/", 1)[-1])]
    want = p.get("desiredStatus", "RUNNING")
    tasks = [t for t in tasks if t.get("desiredStatus", "RUNNING") == want]
    arns, nxt = st.page([t["taskArn"] for t in tasks], p, max_key="maxResults", token_key="nextToken")
    return {"taskArns": arns, "nextToken": nxt}


def describe_tasks(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    out, failures = [], []
    for ref in p["tasks"]:
        t = _find(ctx, "tasks", c, ref, "task")
        (out.append(t) if t else failures.append({"arn": ref, "reason": "MISSING"}))
    return {"tasks": out, "failures": failures}


def describe_task_definition(ctx, p):
    ref = p["taskDefinition"]
    for arn, td in _coll(ctx, "task_definitions").items():
        if ref in (arn, arn.rsplit("/", 1)[-1]):
            return {"taskDefinition": td, "tags": []}
    raise AwsError("ClientException", "Unable to describe task definition.")


def list_container_instances(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    arns = [a for a, ci in _coll(ctx, "container_instances").items() if ci.get("clusterArn", c["clusterArn"]) ==
            c["clusterArn"] and (not p.get("status") or ci.get("status") == p["status"])]
    arns, nxt = st.page(arns, p, max_key="maxResults", token_key="nextToken")
    return {"containerInstanceArns": arns, "nextToken": nxt}


def describe_container_instances(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    out, failures = [], []
    for ref in p["containerInstances"]:
        ci = next((x for a, x in _coll(ctx, "container_instances").items()
                   if ref in (a, a.rsplit("/", 1)[-1]) and x.get("clusterArn", c["clusterArn"]) == c["clusterArn"]),
                  None)
        (out.append(ci) if ci else failures.append({"arn": ref, "reason": "MISSING"}))
    return {"containerInstances": out, "failures": failures}


def update_service(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    s = _find(ctx, "services", c, p["service"], "service")
    if s is None:
        raise AwsError("ServiceNotFoundException", "Service not found.")
    if "desiredCount" in p:
        s["desiredCount"] = p["desiredCount"]
    if p.get("networkConfiguration"):
        s["networkConfiguration"] = p["networkConfiguration"]
    if p.get("taskDefinition"):
        s["taskDefinition"] = p["taskDefinition"]
    return {"service": s}


def stop_task(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    t = _find(ctx, "tasks", c, p["task"], "task")
    if t is None:
        raise AwsError("InvalidParameterException", "The referenced task was not found.")
    t["desiredStatus"] = "STOPPED"
    t["lastStatus"] = "STOPPED"
    t["stoppedReason"] = p.get("reason", "Task stopped by user")
    t["stoppedAt"] = ctx.now()
    return {"task": t}


def update_task_protection(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    out, failures = [], []
    for ref in p["tasks"]:
        t = _find(ctx, "tasks", c, ref, "task")
        if t is None:
            failures.append({"arn": ref, "reason": "TASK_NOT_VALID"})
            continue
        t["_protection"] = {"taskArn": t["taskArn"], "protectionEnabled": p["protectionEnabled"]}
        if p["protectionEnabled"]:
            until = st.parse_time(ctx.now()) + datetime.timedelta(minutes=p.get("expiresInMinutes", 120))
            t["_protection"]["expirationDate"] = until.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(t["_protection"])
    return {"protectedTasks": out, "failures": failures}


def get_task_protection(ctx, p):
    c = _cluster(ctx, p.get("cluster"))
    out, failures = [], []
    for ref in p.get("tasks") or []:
        t = _find(ctx, "tasks", c, ref, "task")
        if t is None:
            failures.append({"arn": ref, "reason": "TASK_NOT_VALID"})
        else:
            out.append(t.get("_protection") or {"taskArn": t["taskArn"], "protectionEnabled": False})
    return {"protectedTasks": out, "failures": failures}


def tag_resource(ctx, p):
    arn = p["resourceArn"]
    for coll in ("clusters", "services", "tasks", "container_instances", "task_definitions"):
        r = _coll(ctx, coll).get(arn)
        if r is not None:
            tags = {t["key"]: t.get("value", "") for t in r.get("tags", [])}
            tags.update({t["key"]: t.get("value", "") for t in p["tags"]})
            r["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
            return {}
    raise AwsError("InvalidParameterException", "The specified resource could not be found.")


OPERATIONS = {
    "ListClusters": list_clusters, "DescribeClusters": describe_clusters, "ListServices": list_services,
    "DescribeServices": describe_services, "ListTasks": list_tasks, "DescribeTasks": describe_tasks,
    "DescribeTaskDefinition": describe_task_definition, "ListContainerInstances": list_container_instances,
    "DescribeContainerInstances": describe_container_instances, "UpdateService": update_service,
    "StopTask": stop_task, "UpdateTaskProtection": update_task_protection,
    "GetTaskProtection": get_task_protection, "TagResource": tag_resource,
}


_TASK = "arn:aws:ecs:us-east-1:111122223333:task/prod-cluster/0a1b2c3d4e5f4a0b9c8d7e6f5a4b3c21"
_CI = "arn:aws:ecs:us-east-1:111122223333:container-instance/prod-cluster/0a1b2c3d4e5f40000000000000000001"
# Run by test_faithful.py through botocore on the demo world: (operation, params, check).
FAITHFUL_CASES = [
    ("ListClusters", {}, lambda r: r["clusterArns"] == ["arn:aws:ecs:us-east-1:111122223333:cluster/prod-cluster"]),
    ("DescribeClusters", {"clusters": ["prod-cluster"]}, lambda r: r["clusters"][0]["status"] == "ACTIVE"),
    ("ListServices", {"cluster": "prod-cluster"}, lambda r: len(r["serviceArns"]) == 1),
    ("DescribeServices", {"cluster": "prod-cluster", "services": ["api"]},
     lambda r: r["services"][0]["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"),
    ("ListTasks", {"cluster": "prod-cluster", "serviceName": "api"}, lambda r: len(r["taskArns"]) == 2),
    ("DescribeTasks", {"cluster": "prod-cluster", "tasks": [_TASK, "nope"]},
     lambda r: r["tasks"][0]["containers"][0]["imageDigest"].startswith("sha256:") and
     r["failures"][0]["reason"] == "MISSING"),
    ("DescribeTaskDefinition", {"taskDefinition": "api:7"},
     lambda r: r["taskDefinition"]["networkMode"] == "awsvpc"),
    ("ListContainerInstances", {"cluster": "prod-cluster"}, lambda r: len(r["containerInstanceArns"]) == 1),
    ("DescribeContainerInstances", {"cluster": "prod-cluster", "containerInstances": [_CI]},
     lambda r: r["containerInstances"][0]["ec2InstanceId"] == "i-0a1b2c3d4e5f60007"),
    ("UpdateTaskProtection", {"cluster": "prod-cluster", "tasks": [_TASK], "protectionEnabled": True,
                                     "expiresInMinutes": 60}, lambda r: r["protectedTasks"][0]["protectionEnabled"]),
    ("GetTaskProtection", {"cluster": "prod-cluster", "tasks": [_TASK]},
     lambda r: r["protectedTasks"][0]["protectionEnabled"] is True),
    ("UpdateService", {"cluster": "prod-cluster", "service": "api", "desiredCount": 2},
     lambda r: r["service"]["desiredCount"] == 2),
    ("TagResource", {"resourceArn": _TASK, "tags": [{"key": "irhost:ticket", "value": "IR-42"}]}, None),
    ("StopTask", {"cluster": "prod-cluster", "task": _TASK, "reason": "IR-42"},
     lambda r: r["task"]["desiredStatus"] == "STOPPED"),
]

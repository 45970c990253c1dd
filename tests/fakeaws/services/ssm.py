"""ssm: managed instances and Run Command. Commands are recorded exactly as sent
(state: ssm.<region>.commands.<id>.Parameters); an invocation reports InProgress
for `ssm_polls` GetCommandInvocation calls, then Success with the instance's
`_command_output` (world) or a line naming what ran."""
from .. import state as st
from ..errors import AwsError

SERVICE = "ssm"
DOCUMENTS = ("AWS-RunShellScript", "AWS-RunPowerShellScript")


def _instances(ctx):
    return ctx.state.setdefault("instances", {})


def _commands(ctx):
    return ctx.state.setdefault("commands", {})


def describe_instance_information(ctx, p):
    items = list(_instances(ctx).values())
    for f in p.get("InstanceInformationFilterList") or []:
        key, vals = f["key"], f["valueSet"]
        field = {"InstanceIds": "InstanceId", "PingStatus": "PingStatus", "PlatformTypes": "PlatformType",
                 "ResourceType": "ResourceType", "AgentVersion": "AgentVersion"}.get(key)
        if field is None:
            raise AwsError("InvalidInstanceInformationFilterValue", f"{key} is not a valid filter key")
        items = [i for i in items if i.get(field) in vals]
    for f in p.get("Filters") or []:
        key, vals = f["Key"], f["Values"]
        if key.startswith("tag:"):
            items = [i for i in items if st.tags_of(i).get(key[4:]) in vals]
            continue
        field = {"InstanceIds": "InstanceId", "PingStatus": "PingStatus", "PlatformTypes": "PlatformType",
                 "ResourceType": "ResourceType", "AgentVersion": "AgentVersion"}.get(key)
        if field is None:
            raise AwsError("InvalidFilterKey", f"{key} is not a valid filter key")
        items = [i for i in items if i.get(field) in vals]
    items, nxt = st.page(items, p)
    return {"InstanceInformationList": items, "NextToken": nxt}


def send_command(ctx, p):
    if p["DocumentName"] not in DOCUMENTS:
        raise AwsError("InvalidDocument", f"Document with name {p['DocumentName']} does not exist.")
    ids = p.get("InstanceIds") or []
    if not ids:
        raise AwsError("ValidationException", "InstanceIds or Targets must be specified")
    managed = _instances(ctx)
    bad = [i for i in ids if i not in managed or managed[i].get("PingStatus") != "Online"]
    if bad:
        raise AwsError("InvalidInstanceId", f"Instances [[{', '.join(bad)}]] not in a valid state for account "
                       f"{ctx.account}")
    cid = f"{ctx.new_id('', 8)}-fa4e-4000-8000-{ctx.new_id('', 12)}"
    cmd = {"CommandId": cid, "DocumentName": p["DocumentName"], "DocumentVersion": "$DEFAULT",
           "Comment": p.get("Comment", ""), "Parameters": p.get("Parameters", {}), "InstanceIds": ids,
           "Targets": [], "RequestedDateTime": ctx.now(), "Status": "Pending", "StatusDetails": "Pending",
           "OutputS3Region": ctx.region, "OutputS3BucketName": p.get("OutputS3BucketName", ""),
           "OutputS3KeyPrefix": p.get("OutputS3KeyPrefix", ""), "MaxConcurrency": "50", "MaxErrors": "0",
           "TargetCount": len(ids), "CompletedCount": 0, "ErrorCount": 0, "DeliveryTimedOutCount": 0,
           "TimeoutSeconds": p.get("TimeoutSeconds", 3600),
           "_invocations": {i: {"Status": "Pending", "_polls": 0} for i in ids}}
    _commands(ctx)[cid] = cmd
    return {"Command": {k: v for k, v in cmd.items() if not k.startswith("_")}}


def _command(ctx, cid):
    cmd = _commands(ctx).get(cid)
    if cmd is None:
        raise AwsError("InvalidCommandId", "")
    return cmd


def _progress(ctx, cmd, iid):
    inv = cmd["_invocations"][iid]
    if inv["Status"] in ("Pending", "InProgress"):
        inv["_polls"] += 1
        if inv["_polls"] > ctx.settings("ssm_polls"):
            inv["Status"] = "Success"
            lines = "\n".join(cmd["Parameters"].get("commands", []))
            inv["Output"] = _instances(ctx)[iid].get("_command_output") or f"fakeaws ran:\n{lines}\n"
            inv["End"] = ctx.now()
        else:
            inv["Status"] = "InProgress"
            inv.setdefault("Start", ctx.now())
    done = [i for i in cmd["_invocations"].values() if i["Status"] == "Success"]
    cmd["CompletedCount"] = len(done)
    cmd["Status"] = cmd["StatusDetails"] = "Success" if len(done) == len(cmd["_invocations"]) else "InProgress"
    return inv


def get_command_invocation(ctx, p):
    cmd = _command(ctx, p["CommandId"])
    if p["InstanceId"] not in cmd["_invocations"]:
        raise AwsError("InvocationDoesNotExist", "")
    inv = _progress(ctx, cmd, p["InstanceId"])
    plugin = p.get("PluginName") or "aws:runShellScript"
    return {"CommandId": cmd["CommandId"], "InstanceId": p["InstanceId"], "Comment": cmd["Comment"],
            "DocumentName": cmd["DocumentName"], "DocumentVersion": "1", "PluginName": plugin,
            "ResponseCode": 0 if inv["Status"] == "Success" else -1,
            "ExecutionStartDateTime": inv.get("Start", ""), "ExecutionEndDateTime": inv.get("End", ""),
            "ExecutionElapsedTime": "PT1.0S" if inv["Status"] == "Success" else "",
            "Status": inv["Status"], "StatusDetails": inv["Status"],
            "StandardOutputContent": inv.get("Output", ""), "StandardErrorContent": "",
            "StandardOutputUrl": "", "StandardErrorUrl": ""}


def list_command_invocations(ctx, p):
    cmds = [_command(ctx, p["CommandId"])] if p.get("CommandId") else list(_commands(ctx).values())
    out = []
    for cmd in cmds:
        for iid in cmd["_invocations"]:
            if p.get("InstanceId") and iid != p["InstanceId"]:
                continue
            inv = _progress(ctx, cmd, iid)
            row = {"CommandId": cmd["CommandId"], "InstanceId": iid, "Comment": cmd["Comment"],
                   "DocumentName": cmd["DocumentName"], "DocumentVersion": "1", "RequestedDateTime":
                   cmd["RequestedDateTime"], "Status": inv["Status"], "StatusDetails": inv["Status"],
                   "StandardOutputUrl": "", "StandardErrorUrl": ""}
            if p.get("Details"):
                row["CommandPlugins"] = [{"Name": "aws:runShellScript", "Status": inv["Status"],
                                          "StatusDetails": inv["Status"],
                                          "ResponseCode": 0 if inv["Status"] == "Success" else -1,
                                          "Output": inv.get("Output", "")}]
            out.append(row)
    out, nxt = st.page(out, p)
    return {"CommandInvocations": out, "NextToken": nxt}


OPERATIONS = {
    "DescribeInstanceInformation": describe_instance_information,
    "SendCommand": send_command,
    "GetCommandInvocation": get_command_invocation,
    "ListCommandInvocations": list_command_invocations,
}

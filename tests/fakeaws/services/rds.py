"""rds: DB instances (network exposure, passwords, hardening settings), their
parameter groups, events, log files (downloaded in Marker-paged portions, as
the RDS runbook's evidence step does) and snapshots.

Log files are `_log_files` on the instance: name -> text, or name -> {"Data",
"LastWritten", "Size"}. A master password set by ModifyDBInstance is kept as
`_master_password` so tests can prove no output ever carries it."""
import datetime
import re

from .. import state as st
from ..errors import AwsError

SERVICE = "rds"

# ModifyDBInstance members copied onto the instance as they are.
_SIMPLE = ("PubliclyAccessible", "DeletionProtection", "BackupRetentionPeriod", "MultiAZ", "CopyTagsToSnapshot",
           "DBInstanceClass", "AutoMinorVersionUpgrade", "PreferredBackupWindow", "PreferredMaintenanceWindow",
           "CACertificateIdentifier", "MonitoringInterval", "MaxAllocatedStorage")


def _public(d):
    return {k: v for k, v in d.items() if not k.startswith("_")}


def _instances(ctx):
    return ctx.state.setdefault("db_instances", {})


def _instance(ctx, ident):
    db = _instances(ctx).get(ident) or next(
        (d for d in _instances(ctx).values() if d.get("DBInstanceArn") == ident), None)
    if db is None:
        raise AwsError("DBInstanceNotFound", f"DBInstance {ident} not found.", status=404)
    return db


def _page(ctx, items, p):
    return st.page(items, p, max_key="MaxRecords", token_key="Marker")


def _filtered(items, filters, getters):
    for f in filters or []:
        get = getters.get(f["Name"])
        if get is None:
            raise AwsError("InvalidParameterValue", f"Unrecognized filter name: {f['Name']}")
        items = [i for i in items if get(i) in f.get("Values", [])]
    return items


def describe_db_instances(ctx, p):
    if p.get("DBInstanceIdentifier"):
        dbs = [_instance(ctx, p["DBInstanceIdentifier"])]
    else:
        dbs = [d for _, d in sorted(_instances(ctx).items())]
    dbs = _filtered(dbs, p.get("Filters"), {"db-instance-id": lambda d: d["DBInstanceIdentifier"],
                                            "db-cluster-id": lambda d: d.get("DBClusterIdentifier"),
                                            "engine": lambda d: d.get("Engine")})
    items, nxt = _page(ctx, [_public(d) for d in dbs], p)
    return {"DBInstances": items, "Marker": nxt}


def _check_groups(ctx, db, ids):
    groups = ctx.world.regional("ec2", ctx.region).get("security_groups")
    if not groups:
        return
    vpc = (db.get("DBSubnetGroup") or {}).get("VpcId")
    for gid in ids:
        g = groups.get(gid)
        if g is None:
            raise AwsError("InvalidParameterValue", f"Invalid security group , groupId= {gid}, groupName=.")
        if vpc and g.get("VpcId") != vpc:
            raise AwsError("InvalidVPCNetworkStateFault",
                           f"The DB instance and EC2 security group {gid} are in different VPCs.")


def modify_db_instance(ctx, p):
    db = _instance(ctx, p["DBInstanceIdentifier"])
    if db.get("DBInstanceStatus") not in ("available", "storage-optimization"):
        raise AwsError("InvalidDBInstanceState", "Database instance is not in available state.")
    if "VpcSecurityGroupIds" in p:
        _check_groups(ctx, db, p["VpcSecurityGroupIds"])
        db["VpcSecurityGroups"] = [{"VpcSecurityGroupId": g, "Status": "active"} for g in p["VpcSecurityGroupIds"]]
    if p.get("DBParameterGroupName"):
        if p["DBParameterGroupName"] not in ctx.state.setdefault("parameter_groups", {}):
            raise AwsError("DBParameterGroupNotFound",
                           f"DBParameterGroup not found: {p['DBParameterGroupName']}", status=404)
        db["DBParameterGroups"] = [{"DBParameterGroupName": p["DBParameterGroupName"],
                                    "ParameterApplyStatus": "pending-reboot"}]
    for k in _SIMPLE:
        if k in p:
            db[k] = p[k]
    if "EnableIAMDatabaseAuthentication" in p:
        db["IAMDatabaseAuthenticationEnabled"] = p["EnableIAMDatabaseAuthentication"]
    out = _public(db)
    if p.get("MasterUserPassword"):
        db["_master_password"] = p["MasterUserPassword"]
        db["_master_password_changed"] = ctx.now()
        # RDS masks a pending password change in its answer; it never echoes it.
        out["PendingModifiedValues"] = dict(out.get("PendingModifiedValues") or {}, MasterUserPassword="****")
    db.setdefault("_modifications", []).append(
        {"time": ctx.now(), "fields": sorted(k for k in p if k != "DBInstanceIdentifier")})
    ctx.state.setdefault("events", []).append({
        "SourceIdentifier": db["DBInstanceIdentifier"], "SourceType": "db-instance", "Date": ctx.now(),
        "Message": "Finished updating DB instance settings" if not p.get("MasterUserPassword")
        else "Reset master credentials", "EventCategories": ["configuration change"],
        "SourceArn": db.get("DBInstanceArn")})
    return {"DBInstance": out}


def _last_written_ms(name, f):
    when = f.get("LastWritten") if isinstance(f, dict) else None
    if isinstance(when, (int, float)):
        return int(when)
    if when:
        return int(st.parse_time(st.resolve_time(when)).timestamp() * 1000)
    m = re.search(r"(\d{4}-\d{2}-\d{2})-(\d{2})(\d{2})?$", name)
    if m:
        dt = datetime.datetime.strptime(m.group(1) + m.group(2), "%Y-%m-%d%H").replace(tzinfo=datetime.timezone.utc)
        return int((dt.timestamp() + 3599) * 1000)
    return 0


def _log_data(f):
    return f.get("Data", "") if isinstance(f, dict) else f


def describe_db_log_files(ctx, p):
    db = _instance(ctx, p["DBInstanceIdentifier"])
    rows = []
    for name, f in sorted(db.get("_log_files", {}).items()):
        data = _log_data(f)
        row = {"LogFileName": name, "LastWritten": _last_written_ms(name, f),
               "Size": f.get("Size", len(data.encode())) if isinstance(f, dict) else len(data.encode())}
        if p.get("FilenameContains") and p["FilenameContains"] not in name:
            continue
        if p.get("FileLastWritten") and row["LastWritten"] < p["FileLastWritten"]:
            continue
        if p.get("FileSize") and row["Size"] < p["FileSize"]:
            continue
        rows.append(row)
    items, nxt = _page(ctx, rows, p)
    return {"DescribeDBLogFiles": items, "Marker": nxt}


def download_db_log_file_portion(ctx, p):
    db = _instance(ctx, p["DBInstanceIdentifier"])
    f = db.get("_log_files", {}).get(p["LogFileName"])
    if f is None:
        raise AwsError("DBLogFileNotFoundFault", f"DBLog File: {p['LogFileName']}, is not found on the DB instance",
                       status=404)
    lines = _log_data(f).splitlines(keepends=True)
    marker = p.get("Marker") or "0"
    try:
        start = int(marker.split(":", 1)[-1])
    except ValueError:
        raise AwsError("InvalidParameterValue", f"Invalid marker: {marker}") from None
    count = p.get("NumberOfLines") or ctx.world.settings.get("rds_log_lines", 100)
    chunk = lines[start:start + count]
    end = start + len(chunk)
    return {"LogFileData": "".join(chunk), "Marker": f"0:{end}", "AdditionalDataPending": end < len(lines)}


def describe_db_parameter_groups(ctx, p):
    groups = ctx.state.setdefault("parameter_groups", {})
    if p.get("DBParameterGroupName"):
        if p["DBParameterGroupName"] not in groups:
            raise AwsError("DBParameterGroupNotFound", f"DBParameterGroup not found: {p['DBParameterGroupName']}",
                           status=404)
        rows = [groups[p["DBParameterGroupName"]]]
    else:
        rows = [g for _, g in sorted(groups.items())]
    items, nxt = _page(ctx, [{k: v for k, v in g.items() if k != "Parameters"} for g in rows], p)
    return {"DBParameterGroups": items, "Marker": nxt}


def describe_db_parameters(ctx, p):
    g = ctx.state.setdefault("parameter_groups", {}).get(p["DBParameterGroupName"])
    if g is None:
        raise AwsError("DBParameterGroupNotFound", f"DBParameterGroup not found: {p['DBParameterGroupName']}",
                       status=404)
    params = [x for x in g.get("Parameters", []) if not p.get("Source") or x.get("Source") == p["Source"]]
    items, nxt = _page(ctx, params, p)
    return {"Parameters": items, "Marker": nxt}


def describe_events(ctx, p):
    now = datetime.datetime.now(datetime.timezone.utc)
    end = st.parse_time(p["EndTime"]) if p.get("EndTime") else now
    # As RDS: without StartTime the window is the Duration (default 60) minutes before
    # its end, so a call with no window at all sees only the past hour.
    if p.get("StartTime"):
        start = st.parse_time(p["StartTime"])
    else:
        minutes = p.get("Duration")
        start = end - datetime.timedelta(minutes=60 if minutes is None else minutes)
    rows = []
    for e in ctx.state.get("events", []):
        when = st.parse_time(e["Date"])
        if not start <= when <= end:
            continue
        if p.get("SourceIdentifier") and e.get("SourceIdentifier") != p["SourceIdentifier"]:
            continue
        if p.get("SourceType") and e.get("SourceType") != p["SourceType"]:
            continue
        if p.get("EventCategories") and not set(p["EventCategories"]) & set(e.get("EventCategories", [])):
            continue
        rows.append(e)
    rows.sort(key=lambda e: st.parse_time(e["Date"]))
    items, nxt = _page(ctx, rows, p)
    return {"Events": items, "Marker": nxt}


def _snapshots(ctx):
    return ctx.state.setdefault("snapshots", {})


def create_db_snapshot(ctx, p):
    db = _instance(ctx, p["DBInstanceIdentifier"])
    sid = p["DBSnapshotIdentifier"]
    if sid in _snapshots(ctx):
        raise AwsError("DBSnapshotAlreadyExists", f"Cannot create the snapshot because a snapshot with the "
                       f"identifier {sid} already exists.")
    vpc = (db.get("DBSubnetGroup") or {}).get("VpcId")
    snap = {"DBSnapshotIdentifier": sid, "DBInstanceIdentifier": db["DBInstanceIdentifier"],
            "SnapshotCreateTime": ctx.now(), "Engine": db.get("Engine"), "EngineVersion": db.get("EngineVersion"),
            "AllocatedStorage": db.get("AllocatedStorage"), "Status": "creating", "PercentProgress": 0,
            "Port": (db.get("Endpoint") or {}).get("Port"), "VpcId": vpc, "MasterUsername": db.get("MasterUsername"),
            "InstanceCreateTime": db.get("InstanceCreateTime"), "SnapshotType": "manual",
            "Encrypted": db.get("StorageEncrypted", False), "KmsKeyId": db.get("KmsKeyId"),
            "DBSnapshotArn": f"arn:aws:rds:{ctx.region}:{ctx.account}:snapshot:{sid}",
            "IAMDatabaseAuthenticationEnabled": db.get("IAMDatabaseAuthenticationEnabled", False),
            "TagList": p.get("Tags") or [], "_polls": 0}
    _snapshots(ctx)[sid] = snap
    return {"DBSnapshot": _public(snap)}


def describe_db_snapshots(ctx, p):
    snaps = _snapshots(ctx)
    if p.get("DBSnapshotIdentifier"):
        if p["DBSnapshotIdentifier"] not in snaps:
            raise AwsError("DBSnapshotNotFound", f"DBSnapshot {p['DBSnapshotIdentifier']} not found.", status=404)
        rows = [snaps[p["DBSnapshotIdentifier"]]]
    else:
        rows = [s for _, s in sorted(snaps.items())]
    rows = [s for s in rows if (not p.get("DBInstanceIdentifier") or s["DBInstanceIdentifier"] ==
                                p["DBInstanceIdentifier"]) and (not p.get("SnapshotType") or
                                                                s.get("SnapshotType") == p["SnapshotType"])]
    for s in rows:   # a new snapshot completes after `snapshot_polls` looks, like the EC2 ones
        if s.get("Status") == "creating":
            s["_polls"] = s.get("_polls", 0) + 1
            if s["_polls"] >= ctx.settings("snapshot_polls"):
                s.update(Status="available", PercentProgress=100)
    items, nxt = _page(ctx, [_public(s) for s in rows], p)
    return {"DBSnapshots": items, "Marker": nxt}


def describe_db_clusters(ctx, p):
    clusters = ctx.state.setdefault("db_clusters", {})
    if p.get("DBClusterIdentifier"):
        if p["DBClusterIdentifier"] not in clusters:
            raise AwsError("DBClusterNotFoundFault", f"DBCluster {p['DBClusterIdentifier']} not found.", status=404)
        rows = [clusters[p["DBClusterIdentifier"]]]
    else:
        rows = [c for _, c in sorted(clusters.items())]
    items, nxt = _page(ctx, [_public(c) for c in rows], p)
    return {"DBClusters": items, "Marker": nxt}


def _tagged(ctx, arn):
    for d in list(_instances(ctx).values()) + list(_snapshots(ctx).values()) + \
            list(ctx.state.get("db_clusters", {}).values()):
        if arn in (d.get("DBInstanceArn"), d.get("DBSnapshotArn"), d.get("DBClusterArn")):
            return d
    raise AwsError("DBInstanceNotFound", f"Resource {arn} not found.", status=404)


def add_tags_to_resource(ctx, p):
    d = _tagged(ctx, p["ResourceName"])
    tags = {t["Key"]: t.get("Value", "") for t in d.get("TagList", [])}
    tags.update({t["Key"]: t.get("Value", "") for t in p["Tags"]})
    d["TagList"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return {}


def list_tags_for_resource(ctx, p):
    return {"TagList": list(_tagged(ctx, p["ResourceName"]).get("TagList", []))}


def normalize(world):
    acct = world.account
    for region, s in world.doc.get("rds", {}).items():
        for ident, db in s.get("db_instances", {}).items():
            db.setdefault("DBInstanceIdentifier", ident)
            db.setdefault("DBInstanceArn", f"arn:aws:rds:{region}:{acct}:db:{ident}")
            db.setdefault("DBInstanceStatus", "available")
            db.setdefault("PubliclyAccessible", False)
            db.setdefault("DeletionProtection", False)
            db.setdefault("IAMDatabaseAuthenticationEnabled", False)
            db.setdefault("VpcSecurityGroups", [])
            db.setdefault("TagList", [])
        for e in s.get("events", []):
            e["Date"] = st.resolve_time(e["Date"])
        for name, g in s.get("parameter_groups", {}).items():
            g.setdefault("DBParameterGroupName", name)
            g.setdefault("DBParameterGroupArn", f"arn:aws:rds:{region}:{acct}:pg:{name}")
            g.setdefault("Description", name)


OPERATIONS = {
    "DescribeDBInstances": describe_db_instances, "ModifyDBInstance": modify_db_instance,
    "DescribeDBLogFiles": describe_db_log_files, "DownloadDBLogFilePortion": download_db_log_file_portion,
    "DescribeDBParameterGroups": describe_db_parameter_groups, "DescribeDBParameters": describe_db_parameters,
    "DescribeEvents": describe_events, "CreateDBSnapshot": create_db_snapshot,
    "DescribeDBSnapshots": describe_db_snapshots, "DescribeDBClusters": describe_db_clusters,
    "AddTagsToResource": add_tags_to_resource, "ListTagsForResource": list_tags_for_resource,
}

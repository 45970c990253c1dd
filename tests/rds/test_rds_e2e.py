"""End to end: the real irhost binary runs runbooks/rds.lua against tests/fakeaws (world
data.json, and a variant with an instance in the Aurora cluster for the Data API path).
Assertions read the fake's state, the calls it received (the SQL sent through the Data
API) and the run directory; the generated master password must appear nowhere but in the
fake's own state."""
import copy
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import e2e  # noqa: E402
import tap  # noqa: E402
from e2e import ROOT, steps, strip  # noqa: E402

R = "us-east-1"
DB, AURORA_DB = "prod-db", "reports-aurora-1"
DETECTOR = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
RDS_FINDING = "b7e1c2d3a4f5061728394a5b6c7d8e03"
S3_FINDING = "b7e1c2d3a4f5061728394a5b6c7d8e02"
ATTACKER = "203.0.113.50"
LOCK_SQL = ['ALTER ROLE "app" NOLOGIN',
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app' AND pid <> pg_backend_pid()"]

suite = e2e.Suite("rds", "rds.lua", world="data", region=R, irhost=e2e.binary("IRHOST", "IRHOST_REL", default="rel"),
                  extra_args=("--poll-interval", "1"))
TMP, fake, run = suite.tmp, suite.fake, suite.run
WORLD_FILE = os.path.join(ROOT, "tests", "fakeaws", "worlds", "data.json")


def aurora_world():
    """data.json plus one instance of the Aurora cluster reports-aurora (Data API on)."""
    with open(WORLD_FILE) as f:
        w = json.load(f)
    rds = w["rds"][R]
    inst = copy.deepcopy(rds["db_instances"][DB])
    inst.update(DBInstanceIdentifier=AURORA_DB, DBInstanceArn=f"arn:aws:rds:{R}:111122223333:db:{AURORA_DB}",
                Engine="aurora-postgresql", DBClusterIdentifier="reports-aurora", MasterUsername="reports_admin",
                DBParameterGroups=[], _log_files={}, TagList=[])
    rds["db_instances"][AURORA_DB] = inst
    rds["db_clusters"]["reports-aurora"]["DBClusterMembers"] = [{"DBInstanceIdentifier": AURORA_DB, "IsClusterWriter": True}]
    # The fake's RotateSecret wants a rotation function even for RDS-managed secrets
    # (AWS rotates those itself); give it one so the runbook's call can be asserted.
    for s in w["secretsmanager"][R]["secrets"].values():
        if s.get("OwningService") == "rds":
            s["RotationLambdaARN"] = f"arn:aws:lambda:{R}:111122223333:function:rds-managed-stand-in"
    return w


def fresh(world="data"):
    fake.reset(world)
    fake.clear_faults()
    fake.clear_calls()
    return fake.state()


def db_of(state, ident=DB):
    return state["rds"][R]["db_instances"][ident]


def tags(obj):
    return {t["Key"]: t["Value"] for t in obj.get("TagList") or obj.get("Tags") or []}


def secrets(state):
    return state["secretsmanager"][R]["secrets"]


def current_value(secret):
    for v in secret.get("_versions", {}).values():
        if "AWSCURRENT" in v["stages"]:
            return v.get("SecretString")
    return None


def mutating(service=None):
    ops = ("Modify", "Create", "Add", "Put", "Rotate", "Execute", "Authorize", "Revoke", "Delete")
    return [c for c in fake.calls(service=service) if c["operation"].startswith(ops)]


def finding_file(fid, name):
    gd = fake.state()["guardduty"][R]["detectors"][DETECTOR]["findings"]
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        json.dump({"Findings": [gd[fid]]}, f)
    return path


try:
    # --- the instance from a GuardDuty finding: contain, rotate, collect, harden
    before = fresh()
    out = os.path.join(TMP, "full")
    path = finding_file(RDS_FINDING, "rds-finding.json")
    p, rep = run(["--finding", path, "--db-user", "app", "--isolation-nacl", "--block-ip", ATTACKER, "--harden",
                  "--user-secret", "ci/deploy-token", "--since", "44h", "--ticket", "IR-R1"], out)
    after = fake.state()
    db = db_of(after)
    ec2 = after["ec2"][R]
    tap.check("full: exit 0", p.returncode == 0, p.stderr)
    iso = [g for g in ec2["security_groups"].values() if g["GroupName"] == "irhost-isolation" and g["VpcId"] == "vpc-0a1b2c3d4e5f60001"]
    tap.check("full: one isolation group in the DB's VPC", len(iso) == 1, iso)
    gid = iso[0]["GroupId"] if iso else None
    tap.check("full: the isolation group has no rule",
              gid and not [r for r in ec2.get("security_group_rules", {}).values() if r["GroupId"] == gid])
    tap.check("full: the isolation group is the instance's only VPC group",
              [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [gid], db["VpcSecurityGroups"])
    tap.check("full: not publicly accessible", db["PubliclyAccessible"] is False)
    tap.check("full: original groups kept in a tag", tags(db).get("irhost:original-groups") == "sg-0a1b2c3d4e5f60105", tags(db))
    acls = [a for a in ec2["network_acls"].values()
            if {x["SubnetId"] for x in a.get("Associations", [])} & {"subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"}]
    denies = [e for a in acls for e in a["Entries"] if e["RuleAction"] == "deny" and e.get("CidrBlock") == ATTACKER + "/32"]
    tap.check("full: ACL deny entries for the attacker, in and out", {e["Egress"] for e in denies} == {False, True}, denies)
    tap.check("full: the ACL entries recorded on the instance", ATTACKER not in tags(db).get("irhost:nacl-entries", "x") and
              tags(db).get("irhost:nacl-entries", "").count(":") == 4, tags(db))
    lock = open(os.path.join(out, "evidence", "db-user-lock.sql")).read() if os.path.exists(os.path.join(out, "evidence", "db-user-lock.sql")) else ""
    tap.check("full: engine-specific lock SQL for the suspect user saved", all(s + ";" in lock for s in LOCK_SQL), lock)
    md = open(os.path.join(out, "report.md")).read()
    tap.check("full: without the Data API the lock is a manual step in the report",
              "db-user-lock.sql" in md and "no --secret-arn given" in md, md[-1500:])
    tap.check("full: the master user (from the finding) is not locked out", "dbadmin is the master user" in md)
    ours = secrets(after).get("irhost/prod-db/master")
    stored = json.loads(current_value(ours) or "{}") if ours else {}
    pw = db.get("_master_password")
    tap.check("full: a new master password set on the instance", bool(pw) and pw != "fakeaws-db-pass-not-real")
    tap.check("full: the same password stored in Secrets Manager with the user",
              stored.get("password") == pw and stored.get("username") == "dbadmin", sorted(stored))
    tap.check("full: the secret is tagged with the instance", tags(ours or {}).get("irhost:db") == db["DBInstanceArn"])
    mods = fake.calls(service="rds", operation="ModifyDBInstance")
    made = fake.calls(service="secretsmanager", operation="CreateSecret")
    pwmod = [c for c in mods if "MasterUserPassword" in (c.get("params") or {})]
    tap.check("full: the password is stored before it is applied", made and pwmod and made[0]["seq"] < pwmod[0]["seq"])
    tap.check("full: the generated password appears in no output, report, audit or evidence",
              pw and not e2e.leaks(p, out, [pw]))
    tap.check("full: no AWS secret key in any output", e2e.no_secret(p, out))
    dt = secrets(after)["ci/deploy-token"]
    tap.check("full: --user-secret rotated with RotateSecret", current_value(dt) != "fakeaws-deploy-token-not-real", dt.get("_versions"))
    idx = json.load(open(os.path.join(out, "evidence", "db-logs-index.json")))
    names = [f["file"] for f in idx["files"]]
    tap.check("full: the window's log files downloaded (not the older one)",
              "error/postgresql.log.2026-12-02-00" in names and "error/postgresql.log.2026-12-01-22" not in names, names)
    logs = db_of(before)["_log_files"]
    whole = all(open(os.path.join(out, "evidence", f["evidence"])).read() == logs[f["file"]]["Data"] for f in idx["files"])
    tap.check("full: every log downloaded whole (all portions)", whole)
    sums = {}
    for line in open(os.path.join(out, "SHA256SUMS")):
        h, f = line.split(None, 1)
        sums[f.strip().lstrip("*")] = h
    tap.check("full: log hashes in SHA256SUMS and the index", all(
        sums.get("evidence/" + f["evidence"]) == f["sha256"] == hashlib.sha256(logs[f["file"]]["Data"].encode()).hexdigest()
        for f in idx["files"]), (sums, idx["files"]))
    for name in ("db-instance.json", "parameter-groups.json", "security-groups.json", "db-events.json", "guardduty-findings.json"):
        tap.check(f"full: {name} saved", os.path.exists(os.path.join(out, "evidence", name)))
    tap.check("full: --harden: deletion protection and IAM authentication on",
              db["DeletionProtection"] is True and db["IAMDatabaseAuthenticationEnabled"] is True)
    snaps = [s for s in after["rds"][R]["snapshots"].values() if tags(s).get("irhost:ticket") == "IR-R1"]
    tap.check("full: --harden: one forensic snapshot tagged with the ticket", len(snaps) == 1 and snaps[0]["Status"] == "available", snaps)
    recs = (steps(rep).get("Report recommended settings") or {}).get("outputs", {}).get("recommendations") or []
    tap.check("full: recommended settings reported with the current state",
              {r["setting"] for r in recs} >= {"Secrets Manager rotation of the master password", "IAM database authentication",
                                               "Deletion protection", "Forensic snapshot"}, recs)

    # --- a second run: the same secret and snapshot reused, no duplicate ACL entry
    p, _ = run(["--db", DB, "--isolation-nacl", "--block-ip", ATTACKER, "--harden", "--ticket", "IR-R1"], os.path.join(TMP, "again"))
    again = fake.state()
    tap.check("rerun: exit 0", p.returncode == 0, p.stderr)
    mine = [n for n in secrets(again) if n.startswith("irhost/")]
    tap.check("rerun: the irhost secret reused", mine == ["irhost/prod-db/master"], mine)
    tap.check("rerun: the stored password still matches the instance's",
              json.loads(current_value(secrets(again)["irhost/prod-db/master"]))["password"] == db_of(again)["_master_password"])
    denies = [e for a in again["ec2"][R]["network_acls"].values() for e in a["Entries"] if e.get("CidrBlock") == ATTACKER + "/32"]
    tap.check("rerun: no duplicate ACL entry", len(denies) == 2, denies)
    tap.check("rerun: no second snapshot",
              len([s for s in again["rds"][R]["snapshots"].values() if tags(s).get("irhost:ticket") == "IR-R1"]) == 1)

    # --- Aurora with the Data API: the user locked through ExecuteStatement; managed secret rotated
    fresh(aurora_world())
    managed = [s for s in secrets(fake.state()).values() if s.get("OwningService") == "rds"][0]["ARN"]
    admin = secrets(fake.state())["prod/db/master"]["ARN"]   # an admin user's secret (the rds-data model caps its ARN at 100)
    out = os.path.join(TMP, "aurora")
    p, rep = run(["--db", AURORA_DB, "--db-user", "app", "--secret-arn", admin, "--ticket", "IR-R2"], out)
    st = fake.state()
    tap.check("data api: exit 0", p.returncode == 0, p.stderr)
    sent = [s["sql"] for s in st["rds-data"][R].get("statements", [])] if "rds-data" in st else []
    tap.check("data api: exactly the lock statements sent", sent == LOCK_SQL, sent)
    ex = fake.calls(service="rds-data", operation="ExecuteStatement")
    tap.check("data api: against the cluster with the given secret and its database",
              ex and all(c["params"]["resourceArn"].endswith(":cluster:reports-aurora") and c["params"]["secretArn"] == admin
                         and c["params"].get("database") == "reports" for c in ex), ex)
    rot = fake.calls(service="secretsmanager", operation="RotateSecret")
    tap.check("data api: the RDS-managed master secret rotated", [c["params"]["SecretId"] for c in rot] == [managed], rot)
    tap.check("data api: no master password set by irhost",
              not [c for c in fake.calls(service="rds", operation="ModifyDBInstance") if "MasterUserPassword" in c["params"]]
              and not fake.calls(service="secretsmanager", operation="CreateSecret"))

    # --- dry run: nothing changes, the plan lists the mutating calls
    before = fresh()
    out = os.path.join(TMP, "dry")
    p, rep = run(["--db", DB, "--db-user", "app", "--isolation-nacl", "--block-ip", ATTACKER, "--harden",
                  "--ticket", "IR-R3", "--dry-run"], out, yes=False)
    after = fake.state()
    tap.check("dry run: exit 0 without --yes", p.returncode == 0, p.stderr)
    for svc in ("rds", "ec2", "secretsmanager"):
        tap.check(f"dry run: {svc} state unchanged", strip(before[svc]) == strip(after[svc]))
    tap.check("dry run: no mutating call reached AWS", mutating() == [], [c["operation"] for c in mutating()][:5])
    planned = {pc["operation"] for e in steps(rep).values() for pc in e.get("planned", [])}
    want = {"CreateSecurityGroup", "ModifyDBInstance", "AddTagsToResource", "CreateNetworkAclEntry", "CreateSecret", "CreateDBSnapshot"}
    tap.check("dry run: the plan lists every mutating call", want <= planned, sorted(want - planned))

    # --- a failure injected while storing the password, then --resume
    fresh()
    out = os.path.join(TMP, "resume")
    fake.fault(service="secretsmanager", operation="CreateSecret", kind="error", status=400, code="InternalServiceError",
               message="injected", count=-1)
    p, rep = run(["--db", DB, "--ticket", "IR-R4"], out)
    st = {n: e["status"] for n, e in steps(rep).items()}
    mid = fake.state()
    tap.check("resume: the failing run exits 1", p.returncode == 1, p.stderr)
    tap.check("resume: the rotation step failed, later steps not run",
              st.get("Rotate passwords") == "failed" and "Review the audit logs" not in st, st)
    tap.check("resume: no password applied that was not stored", "_master_password" not in db_of(mid))
    fake.clear_faults()
    fake.clear_calls()
    p, _ = run(["--db", DB, "--ticket", "IR-R4", "--resume", out], None)
    with open(os.path.join(out, "report.json")) as f:
        st = {n: e["status"] for n, e in steps(json.load(f)).items()}
    fin = fake.state()
    tap.check("resume: the resumed run exits 0", p.returncode == 0, p.stderr)
    tap.check("resume: done steps not repeated", all(st.get(n) == "done (resumed)" for n in (
        "Identify the instance and user", "Restrict network access", "Restrict the database user")), st)
    tap.check("resume: the network step not redone", not fake.calls(service="ec2", operation="CreateSecurityGroup")
              and not [c for c in fake.calls(service="rds", operation="ModifyDBInstance") if "VpcSecurityGroupIds" in c["params"]])
    tap.check("resume: password stored and applied after the resume",
              json.loads(current_value(secrets(fin)["irhost/prod-db/master"]))["password"] == db_of(fin).get("_master_password"))

    # --- legitimate activity: no containment
    fresh()
    p, rep = run(["--db", DB, "--legitimate", "--ticket", "IR-R5"], os.path.join(TMP, "legit"))
    st = {n: e["status"] for n, e in steps(rep).items()}
    tap.check("legitimate: exit 0, containment skipped, nothing changed", p.returncode == 0 and st.get("Restrict network access") == "skipped"
              and st.get("Rotate passwords") == "skipped" and mutating() == [], (st, p.stderr))

    # --- wrong identifiers
    fresh()
    p, _ = run(["--db", "no-such-db", "--ticket", "IR-R6"], os.path.join(TMP, "wrong"))
    tap.check("wrong db: exit 1, DBInstanceNotFound explained", p.returncode == 1 and "DBInstanceNotFound" in p.stderr
              and "was not found" in p.stderr and "--region" in p.stderr, p.stderr)
    tap.check("wrong db: nothing changed", mutating() == [])
    p, _ = run(["--db", "bad_id!", "--ticket", "IR-R6"], os.path.join(TMP, "bad"))
    tap.check("malformed --db: exit 2", p.returncode == 2 and "--db" in p.stderr, p.stderr)
    p, _ = run(["--db", DB, "--db-user", "x;DROP", "--ticket", "IR-R6"], os.path.join(TMP, "inj"))
    tap.check("a --db-user that is not an identifier: exit 2", p.returncode == 2 and "--db-user" in p.stderr, p.stderr)
    p, _ = run(["--db", DB, "--user-secret", "no/such/secret", "--ticket", "IR-R6"], os.path.join(TMP, "nosecret"))
    tap.check("wrong --user-secret: exit 1, explained", p.returncode == 1 and "no/such/secret" in p.stderr
              and "ResourceNotFoundException" in p.stderr, p.stderr)
    p, _ = run(["--finding", finding_file(S3_FINDING, "s3-finding.json"), "--ticket", "IR-R6"], os.path.join(TMP, "s3f"))
    tap.check("a finding without an instance: exit 1, names the kind", p.returncode == 1 and "names no RDS instance" in p.stderr
              and "S3" in p.stderr, p.stderr)
finally:
    suite.close()
tap.done()

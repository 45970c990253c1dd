-- Respond to a compromised RDS database instance.
--
--   irhost runbooks/rds.lua --db prod --ticket IR-42
--   irhost runbooks/rds.lua --finding finding.json --isolation-nacl --ticket IR-42
--   irhost runbooks/rds.lua --db reports-1 --db-user app --secret-arn arn:...:secret:admin --ticket IR-42
--   irhost runbooks/rds.lua --db prod --legitimate --harden --ticket IR-42   (review and harden only)
--
-- Each step reads the instance again before it changes it and records what it did in tags
-- on the instance, so a rerun or --resume finishes the job instead of repeating it.
local isolation = require("lib.isolation")
local marks = require("lib.marks")
local sql = require("lib.rds_sql")
local logs = require("lib.rds_logs")
local secrets = require("lib.rds_secrets")
local window = require("lib.identity_window")

local function rds() return aws.client("rds") end

local function not_found(id, region)
  return string.format("DB instance %s was not found in %s (DBInstanceNotFound): check --db and --region; " ..
    "for an Aurora cluster give one of its instances (aws rds describe-db-clusters lists them)", id,
    region and ("region " .. region) or "the run's region (--region, AWS_REGION or the profile's)")
end

-- The DescribeDBInstances record; raises a clear message when the instance does not exist.
local function describe(ctx, id)
  local ok, r = pcall(rds().DescribeDBInstances, rds(), { DBInstanceIdentifier = id })
  if not ok then
    if aws.is_error(r, "DBInstanceNotFound") or aws.is_error(r, "DBInstanceNotFoundFault") then error(not_found(id, ctx.region), 0) end
    error(r, 0)
  end
  local db = r.DBInstances and r.DBInstances[1]
  if not db then error(not_found(id, ctx.region), 0) end
  return db
end

local function db_id(ctx) return ctx.state.db or ctx.params.db end

-- RDS refuses a modification while an earlier one is being applied (InvalidDBInstanceState):
-- wait until the instance is available again, then read it afresh.
local function ready(ctx, db)
  if db.DBInstanceStatus == "available" or ctx.dry_run then return db end
  ctx.log("%s is %s: waiting until it is available", db.DBInstanceIdentifier, tostring(db.DBInstanceStatus))
  rds():wait("DBInstanceAvailable", { DBInstanceIdentifier = db.DBInstanceIdentifier },
    { timeout = 3600, delay = ctx.params.poll_interval })
  return describe(ctx, db.DBInstanceIdentifier)
end

local function group_ids(db)
  local out = {}
  for _, g in ipairs(db.VpcSecurityGroups or {}) do out[#out + 1] = g.VpcSecurityGroupId end
  return out
end

local function tag_db(db, map)
  rds():AddTagsToResource{ ResourceName = db.DBInstanceArn, Tags = marks.list(map) }
end

local function containing(ctx) return not ctx.params.legitimate, "--legitimate: the activity was judged legitimate" end

local function rds_finding_ip(f)
  local a = f.raw and f.raw.service and f.raw.service.action or {}
  local la = a.rdsLoginAttemptAction or {}
  return la.remoteIpDetails and la.remoteIpDetails.ipAddressV4
end

---------------------------------------------------------------------------- steps

local function identify(ctx)
  local id = ctx.params.db
  local users, ips, seen = json.array(), json.array(), {}
  local function add(list, v) if v and not seen[v] then seen[v] = true; list[#list + 1] = v end end
  if ctx.params.finding then
    local f, err = ir.finding.parse(ctx.params.finding)
    if not f then error("--finding: " .. err, 0) end
    if not f.rds or not f.rds.db_instance_identifier then
      error("--finding: the " .. tostring(f.type) .. " finding names no RDS instance; use the runbook for its resource kind (" .. tostring(f.kind) .. ")", 0)
    end
    id = id or f.rds.db_instance_identifier
    add(users, f.rds.user)
    add(ips, rds_finding_ip(f))
    ctx.evidence:save("finding.json", f.raw)
    ctx.info("instance %s from finding %s (%s, severity %s)", id, tostring(f.id), tostring(f.type), tostring(f.severity))
  end
  local db = describe(ctx, id)
  ctx.output("db", db.DBInstanceIdentifier)
  ctx.evidence:save("db-instance.json", db)

  -- Findings about this instance name the users and addresses the response is about.
  local gd = aws.client("guardduty")
  local ok, det = pcall(gd.ListDetectors, gd, {})
  local found = {}
  if ok then
    for _, did in ipairs(det.DetectorIds or {}) do
      local fids = {}
      for fid in gd:paginate("ListFindings", { DetectorId = did, FindingCriteria = { Criterion = {
        ["resource.rdsDbInstanceDetails.dbInstanceIdentifier"] = { Eq = { id } } } } }, { items = true }) do fids[#fids + 1] = fid end
      for i = 1, #fids, 50 do
        local chunk = {}
        for j = i, math.min(i + 49, #fids) do chunk[#chunk + 1] = fids[j] end
        for _, f in ipairs(gd:GetFindings{ DetectorId = did, FindingIds = chunk }.Findings or {}) do found[#found + 1] = f end
      end
    end
  else
    ctx.warn("GuardDuty findings not read: %s", tostring(det))
  end
  ctx.evidence:save("guardduty-findings.json", found)
  local parsed = #found > 0 and ir.finding.parse_all({ Findings = found }) or {}
  local userless = 0
  for _, f in ipairs(parsed) do
    ctx.info("finding %s: %s (severity %s)%s", tostring(f.id), tostring(f.type), tostring(f.severity),
      f.rds and f.rds.user and (", user " .. f.rds.user) or "")
    if f.rds and f.rds.user then add(users, f.rds.user) else userless = userless + 1 end
    add(ips, rds_finding_ip(f))
  end
  if userless > 0 then
    -- botocore 1.29's GuardDuty model predates RDS Protection: GetFindings results lose the DB user details.
    ctx.info("%d finding(s) read through the API carry no database user (irhost's embedded GuardDuty model predates " ..
      "RDS login details): give --db-user, or --finding with the finding's JSON", userless)
  end
  for _, u in ipairs(ctx.params.db_user or {}) do add(users, u) end
  for _, ip in ipairs(ctx.params.block_ip or {}) do add(ips, ip) end

  local pgs = {}
  for _, pg in ipairs(db.DBParameterGroups or {}) do
    local params = {}
    for p in rds():paginate("DescribeDBParameters", { DBParameterGroupName = pg.DBParameterGroupName }, { items = true }) do
      params[#params + 1] = p
    end
    pgs[#pgs + 1] = { name = pg.DBParameterGroupName, status = pg.ParameterApplyStatus, parameters = params }
  end
  ctx.evidence:save("parameter-groups.json", pgs)
  local gids = group_ids(db)
  if #gids > 0 then
    ctx.evidence:save("security-groups.json", aws.client("ec2"):DescribeSecurityGroups{ GroupIds = gids }.SecurityGroups or {})
  end
  local win = window.window(ctx.params.since)
  local events = {}
  for e in rds():paginate("DescribeEvents", { SourceIdentifier = db.DBInstanceIdentifier, SourceType = "db-instance",
      StartTime = win.start_iso, EndTime = win.end_iso }, { items = true }) do events[#events + 1] = e end
  ctx.evidence:save("db-events.json", events)

  local subnets = {}
  for _, s in ipairs((db.DBSubnetGroup or {}).Subnets or {}) do subnets[#subnets + 1] = s.SubnetIdentifier end
  ctx.output("instance", { id = db.DBInstanceIdentifier, arn = db.DBInstanceArn, engine = db.Engine,
    engine_version = db.EngineVersion, master_user = db.MasterUsername, cluster = db.DBClusterIdentifier or json.null,
    vpc_id = (db.DBSubnetGroup or {}).VpcId, subnets = subnets, security_groups = gids,
    publicly_accessible = db.PubliclyAccessible and true or false })
  ctx.output("users", users)
  ctx.output("remote_ips", ips)
  ctx.info("%s (%s %s) in %s; groups %s; %s; %d event(s) since %s", db.DBInstanceIdentifier, tostring(db.Engine),
    tostring(db.EngineVersion), tostring((db.DBSubnetGroup or {}).VpcId), table.concat(gids, ", "),
    db.PubliclyAccessible and "PUBLICLY ACCESSIBLE" or "not publicly accessible", #events, win.start_iso)
  if #users == 0 then ctx.info("no database user named by a finding or --db-user: step 3 locks nobody") end
end

local function restrict_network(ctx)
  local ec2 = aws.client("ec2")
  local db = ready(ctx, describe(ctx, db_id(ctx)))
  local vpc = (db.DBSubnetGroup or {}).VpcId
  if not vpc then error(db.DBInstanceIdentifier .. " is not in a VPC: restrict it with its DB security groups by hand", 0) end
  local tags = marks.map(db.TagList)
  local iso = isolation.ensure_group(ec2, ctx, vpc, "isolation")
  ctx.output("isolation_group", iso)
  local cur = group_ids(db)
  if not tags[marks.ORIGINAL_GROUPS] and not isolation.same_set(cur, { iso }) then
    ctx.evidence:save("original-security-groups.json", { db = db.DBInstanceIdentifier, groups = cur, publicly_accessible = db.PubliclyAccessible })
    tag_db(db, marks.base(ctx, { [marks.ORIGINAL_GROUPS] = marks.join(cur),
      ["irhost:original-public"] = tostring(db.PubliclyAccessible and true or false) }))
  end
  if isolation.same_set(cur, { iso }) and not db.PubliclyAccessible then
    ctx.info("%s already has only the isolation group and is not publicly accessible", db.DBInstanceIdentifier)
  else
    rds():ModifyDBInstance{ DBInstanceIdentifier = db.DBInstanceIdentifier, VpcSecurityGroupIds = { iso },
      PubliclyAccessible = false, ApplyImmediately = true }
    ctx.changed{ resource = db.DBInstanceIdentifier, action = "ModifyDBInstance VpcSecurityGroupIds", before = cur, after = { iso },
      detail = "original groups kept in the " .. marks.ORIGINAL_GROUPS .. " tag" }
    if db.PubliclyAccessible then
      ctx.changed{ resource = db.DBInstanceIdentifier, action = "ModifyDBInstance PubliclyAccessible", before = true, after = false }
    end
  end
  ctx.info("a security group change does not end sessions already open: step 3 ends the user's sessions")
  if ctx.params.isolation_nacl then
    local ips = ctx.state.remote_ips or {}
    if #ips == 0 then error("--isolation-nacl: no source address to deny (none in the findings; give --block-ip)", 0) end
    local subnets = (ctx.state.instance or {}).subnets or {}
    -- Subnets often share one ACL: the second look finds the first one's entries again.
    local records, seen = {}, {}
    for _, r in ipairs(isolation.nacl_deny(ec2, ctx, subnets, ips, {})) do
      if not seen[r] then seen[r] = true; records[#records + 1] = r end
    end
    if #records > 0 then tag_db(db, { [marks.NACL_ENTRIES] = marks.join(records) }) end
    ctx.output("nacl_entries", records)
    ctx.info("network ACL deny entries for %s on the DB subnets: %s", table.concat(ips, ", "), table.concat(records, ", "))
  end
  ctx.followup("To restore " .. db.DBInstanceIdentifier .. "'s network access: ModifyDBInstance VpcSecurityGroupIds back to the " ..
    marks.ORIGINAL_GROUPS .. " tag's groups (and remove the ACL entries in " .. marks.NACL_ENTRIES .. ")")
end

local function restrict_user(ctx)
  local inst = ctx.state.instance or {}
  local users = ctx.state.users or {}
  if #users == 0 then ctx.info("no database user to lock (give --db-user)"); return end
  local db = describe(ctx, db_id(ctx))
  local cluster
  if db.DBClusterIdentifier then
    local ok, r = pcall(rds().DescribeDBClusters, rds(), { DBClusterIdentifier = db.DBClusterIdentifier })
    cluster = ok and r.DBClusters and r.DBClusters[1] or nil
  end
  local data_api = ctx.params.secret_arn and cluster and cluster.HttpEndpointEnabled
  local scripts, manual = {}, {}
  for _, user in ipairs(users) do
    if user == inst.master_user then
      ctx.warn("%s is the master user: not locked (that would lock the responders out); step 4 rotates its password", user)
    else
      local stmts, err = sql.lock_statements(db.Engine, user)
      if not stmts then
        -- One user irhost cannot lock must not hold up the others or the password rotation.
        ctx.warn("%s", err)
        ctx.followup("Lock database user " .. string.format("%q", user):sub(1, 80) .. " on " .. db.DBInstanceIdentifier .. " by hand: " .. err)
        goto continue
      end
      local script = sql.script(db.DBInstanceIdentifier, db.Engine, user, stmts)
      scripts[#scripts + 1] = script
      if data_api then
        local rd = aws.client("rds-data")
        for _, s in ipairs(stmts) do
          rd:ExecuteStatement{ resourceArn = cluster.DBClusterArn, secretArn = ctx.params.secret_arn, sql = s,
            database = ctx.params.database or cluster.DatabaseName }
        end
        ctx.changed{ resource = db.DBInstanceIdentifier .. " user " .. user, action = "rds-data ExecuteStatement",
          before = "can log in", after = "locked, sessions ended", detail = table.concat(stmts, "; ") }
      else
        manual[#manual + 1] = user
      end
    end
    ::continue::
  end
  if #scripts > 0 then ctx.evidence:save("db-user-lock.sql", table.concat(scripts, "\n"), "application/sql") end
  if #manual > 0 then
    local why = not ctx.params.secret_arn and "no --secret-arn given" or
      (not cluster and (db.DBInstanceIdentifier .. " is not in an Aurora cluster (the RDS Data API serves Aurora only)") or
        ("the Data API (HTTP endpoint) is off on cluster " .. tostring(cluster.DBClusterIdentifier)))
    ctx.warn("user(s) %s NOT locked by irhost: %s", table.concat(manual, ", "), why)
    ctx.followup("Lock database user(s) " .. table.concat(manual, ", ") .. " on " .. db.DBInstanceIdentifier ..
      ": run evidence/db-user-lock.sql as the master user (" .. why .. ")")
  end
end

local function rotate(ctx)
  local db = ready(ctx, describe(ctx, db_id(ctx)))
  local sm = aws.client("secretsmanager")
  local cluster_arn
  if db.DBClusterIdentifier then
    local ok, r = pcall(rds().DescribeDBClusters, rds(), { DBClusterIdentifier = db.DBClusterIdentifier })
    cluster_arn = ok and r.DBClusters and r.DBClusters[1] and r.DBClusters[1].DBClusterArn or nil
  end
  local managed = secrets.managed(sm, db.DBInstanceArn, cluster_arn)
  if managed then
    sm:RotateSecret{ SecretId = managed.ARN, RotateImmediately = true }
    ctx.changed{ resource = managed.Name, action = "RotateSecret", before = "current master password", after = "rotated by RDS",
      detail = "RDS-managed master secret of " .. db.DBInstanceIdentifier }
  else
    local target = ctx.params.master_secret and secrets.describe(sm, ctx.params.master_secret, "--master-secret")
      or secrets.ours(sm, db.DBInstanceArn)
    local pw = aws.secret.generate{ length = secrets.LENGTH, charset = secrets.CHARSET }
    local value = secrets.value(db, pw)
    -- Stored first: a password that never reached Secrets Manager would be lost for good.
    if target then
      sm:PutSecretValue{ SecretId = target.ARN, SecretString = value }
      ctx.changed{ resource = target.Name, action = "PutSecretValue", before = "previous version (kept as AWSPREVIOUS)",
        after = "new master password (generated by irhost, never shown)" }
    else
      local name = "irhost/" .. db.DBInstanceIdentifier .. "/master"
      local c = sm:CreateSecret{ Name = name, Description = "master password of " .. db.DBInstanceIdentifier .. " set by irhost",
        SecretString = value, Tags = marks.list(marks.base(ctx, { [secrets.TAG_DB] = db.DBInstanceArn })) }
      ctx.changed{ resource = name, action = "CreateSecret", before = "absent", after = "holds the new master password (never shown)" }
      if c and c.ARN then ctx.output("master_secret", c.ARN) end
    end
    rds():ModifyDBInstance{ DBInstanceIdentifier = db.DBInstanceIdentifier, MasterUserPassword = pw, ApplyImmediately = true }
    ctx.changed{ resource = db.DBInstanceIdentifier, action = "ModifyDBInstance MasterUserPassword", before = "old password",
      after = "new password (in Secrets Manager)", detail = "master user " .. tostring(db.MasterUsername) }
    ctx.info("RDS-managed master password (ManageMasterUserPassword) is not used: irhost's embedded RDS model predates it; " ..
      "the new password is in Secrets Manager")
    ctx.followup("Update the applications that log in as " .. tostring(db.MasterUsername) .. " on " .. db.DBInstanceIdentifier ..
      " with the new password from Secrets Manager, then consider ManageMasterUserPassword (RDS-managed rotation)")
  end
  for _, id in ipairs(ctx.params.user_secret or {}) do
    local s = secrets.describe(sm, id, "--user-secret")
    local ok, err = pcall(sm.RotateSecret, sm, { SecretId = s.ARN, RotateImmediately = true })
    if ok then
      ctx.changed{ resource = s.Name, action = "RotateSecret", before = "current version", after = "rotated" }
    elseif aws.is_error(err, "InvalidRequestException") then
      error("--user-secret " .. s.Name .. ": cannot rotate: " .. tostring(err.message) ..
        " (give it a rotation function, or change that user's password with ALTER USER/ROLE)", 0)
    else
      error(err, 0)
    end
  end
end

local function review_logs(ctx)
  local id = db_id(ctx)
  local win = window.window(ctx.params.since)
  local files = logs.list(rds(), id, win.start)
  local needles = {}
  for _, u in ipairs(ctx.state.users or {}) do needles[#needles + 1] = "user=" .. u; needles[#needles + 1] = u .. "@" end
  for _, ip in ipairs(ctx.state.remote_ips or {}) do needles[#needles + 1] = ip end
  local index = {}
  for _, f in ipairs(files) do
    local text, truncated = logs.download(rds(), id, f.name)
    local name = logs.evidence_name(f.name)
    local sha = ctx.evidence:save(name, text, "text/plain")
    local hits, first = logs.mentions(text, needles, 5)
    index[#index + 1] = { file = f.name, evidence = name, sha256 = sha, bytes = #text, last_written = f.last_written,
      truncated = truncated or nil, suspect_lines = hits, first_suspect_lines = first }
    if truncated then ctx.warn("%s: stopped at %d bytes", f.name, logs.MAX_BYTES) end
    ctx.info("%s: %d bytes, sha256 %s%s", f.name, #text, sha, hits > 0 and (", " .. hits .. " line(s) naming the suspect user or address") or "")
  end
  ctx.evidence:save("db-logs-index.json", { window = { start = win.start_iso, finish = win.end_iso }, files = index })
  ctx.output("log_files", #index)
  if #files == 0 then ctx.info("no log file written since %s", win.start_iso) end
  local inst = ctx.state.instance or {}
  if inst.engine and tostring(inst.engine):match("postgres") then
    ctx.info("connection and statement logging depend on log_connections and pgaudit (see parameter-groups.json)")
  end
end

local function recommend(ctx)
  local db = describe(ctx, db_id(ctx))
  local sm = aws.client("secretsmanager")
  local managed = secrets.managed(sm, db.DBInstanceArn, nil)
  local ours = not managed and secrets.ours(sm, db.DBInstanceArn) or nil
  local secret = managed or ours
  local snaps = {}
  for s in rds():paginate("DescribeDBSnapshots", { DBInstanceIdentifier = db.DBInstanceIdentifier, SnapshotType = "manual" }, { items = true }) do
    if ctx.ticket and marks.map(s.TagList)[marks.TICKET] == ctx.ticket then snaps[#snaps + 1] = s end
  end
  local rows = {
    { setting = "Secrets Manager rotation of the master password", recommended = "on",
      current = secret and (secret.RotationEnabled and "on" or "off") .. " (" .. secret.Name .. ")" or "no secret holds it" },
    { setting = "IAM database authentication", recommended = "on", current = db.IAMDatabaseAuthenticationEnabled and "on" or "off" },
    { setting = "Deletion protection", recommended = "on", current = db.DeletionProtection and "on" or "off" },
    { setting = "Forensic snapshot", recommended = "a manual snapshot tagged with the ticket",
      current = #snaps > 0 and snaps[1].DBSnapshotIdentifier or "none" },
    { setting = "Publicly accessible", recommended = "off", current = db.PubliclyAccessible and "ON" or "off" },
    { setting = "Backup retention", recommended = ">= 7 days", current = tostring(db.BackupRetentionPeriod or 0) .. " days" },
    { setting = "Log exports to CloudWatch", recommended = "on", current = #(db.EnabledCloudwatchLogsExports or {}) > 0 and table.concat(db.EnabledCloudwatchLogsExports, ", ") or "none" },
  }
  for _, r in ipairs(rows) do ctx.info("%s: %s (recommended: %s)", r.setting, r.current, r.recommended) end
  ctx.output("recommendations", rows)
  if not ctx.params.harden then
    ctx.info("--harden applies IAM authentication, deletion protection and the forensic snapshot")
    return
  end
  db = ready(ctx, db)
  local mod = {}
  if not db.IAMDatabaseAuthenticationEnabled then mod.EnableIAMDatabaseAuthentication = true end
  if not db.DeletionProtection then mod.DeletionProtection = true end
  if next(mod) then
    mod.DBInstanceIdentifier, mod.ApplyImmediately = db.DBInstanceIdentifier, true
    rds():ModifyDBInstance(mod)
    if mod.EnableIAMDatabaseAuthentication then
      ctx.changed{ resource = db.DBInstanceIdentifier, action = "ModifyDBInstance EnableIAMDatabaseAuthentication", before = false, after = true }
    end
    if mod.DeletionProtection then
      ctx.changed{ resource = db.DBInstanceIdentifier, action = "ModifyDBInstance DeletionProtection", before = false, after = true }
    end
  end
  if #snaps == 0 then
    local sid = ("irhost-" .. db.DBInstanceIdentifier .. "-" .. (ctx.ticket or "no-ticket") .. "-" .. os.date("!%Y%m%d%H%M%S"))
      :gsub("[^%w-]", "-"):gsub("%-%-+", "-"):sub(1, 255):gsub("%-$", "")
    local r = rds():CreateDBSnapshot{ DBInstanceIdentifier = db.DBInstanceIdentifier, DBSnapshotIdentifier = sid,
      Tags = marks.list(marks.base(ctx, { [marks.INSTANCE] = db.DBInstanceIdentifier })) }
    ctx.changed{ resource = sid, action = "CreateDBSnapshot", before = "absent", after = "forensic snapshot of " .. db.DBInstanceIdentifier }
    ctx.output("snapshot", sid)
    if not r.dry_run and not ctx.params.no_wait then
      rds():wait("DBSnapshotAvailable", { DBSnapshotIdentifier = sid }, { timeout = 7200, delay = ctx.params.poll_interval })
      ctx.info("snapshot %s available", sid)
    end
  end
  if secret and not secret.RotationEnabled then
    ctx.followup("Turn on Secrets Manager rotation for " .. secret.Name .. " (it needs a rotation function for " .. tostring(db.Engine) .. ")")
  end
end

---------------------------------------------------------------------------- declaration

return ir.runbook {
  name = "rds-compromise",
  description = "Respond to a compromised RDS instance: capture its description, parameter groups, security groups and " ..
    "events; restrict its network and the suspect database user; rotate the passwords (never shown); collect the logs " ..
    "of the window with hashes; report (and with --harden apply) the recommended settings",
  params = {
    db = { pattern = "^[%a][%w-]*$", metavar = "ID", help = "the DB instance identifier (or give --finding)" },
    finding = { type = "file", help = "a GuardDuty RDS finding (raw, EventBridge, SNS, GetFindings or ASFF) naming the instance and user" },
    db_user = { type = "list", pattern = "^[%a_][%w_$]*$", metavar = "USER", help = "a suspect database user to lock (findings add theirs)" },
    block_ip = { type = "list", pattern = "^%d+%.%d+%.%d+%.%d+$", metavar = "IPV4", help = "a source address to deny with --isolation-nacl (findings add theirs)" },
    isolation_nacl = { type = "boolean", help = "also add deny entries for the suspect source addresses to the DB subnets' network ACLs" },
    secret_arn = { pattern = "^arn:aws[%w-]*:secretsmanager:", metavar = "ARN",
      help = "a Secrets Manager secret of an admin user: lock the suspect user through the RDS Data API (Aurora with the HTTP endpoint on)" },
    database = { pattern = "^[%w_$-]+$", metavar = "NAME", help = "the database the Data API connects to (default: the cluster's)" },
    master_secret = { metavar = "NAME|ARN", help = "the Secrets Manager secret to store the new master password in (default: irhost/<db>/master)" },
    user_secret = { type = "list", metavar = "NAME|ARN", help = "a Secrets Manager secret of another suspect user to rotate with RotateSecret" },
    since = { default = "24h", metavar = "WHEN", help = "start of the window for events and logs: a duration (90m, 36h, 7d) or an ISO-8601 UTC time" },
    legitimate = { type = "boolean", help = "the activity was legitimate: only capture, review logs and report (no containment)" },
    harden = { type = "boolean", help = "apply the recommended settings: IAM database authentication, deletion protection, a forensic snapshot" },
    no_wait = { type = "boolean", help = "do not wait for the forensic snapshot to complete" },
    poll_interval = { type = "integer", default = 15, min = 1, max = 300, metavar = "SECONDS", help = "seconds between snapshot status polls" },
  },
  validate = function(p)
    if not p.db and not p.finding then return "give --db ID or --finding FILE" end
    local _, err = window.start(p.since)
    if err then return err end
    if p.database and not p.secret_arn then return "--database needs --secret-arn" end
  end,
  permissions = {
    "rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribeDBParameters", "rds:DescribeEvents",
    "rds:DescribeDBLogFiles", "rds:DownloadDBLogFilePortion", "rds:DescribeDBSnapshots",
    "rds:ModifyDBInstance", "rds:AddTagsToResource", "rds:CreateDBSnapshot",
    "rds-data:ExecuteStatement",
    "secretsmanager:ListSecrets", "secretsmanager:DescribeSecret", "secretsmanager:CreateSecret",
    "secretsmanager:PutSecretValue", "secretsmanager:RotateSecret",
    "guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:CreateSecurityGroup", "ec2:DescribeVpcs",
    "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeNetworkAcls", "ec2:CreateNetworkAclEntry",
  },
  steps = {
    { name = "Identify the instance and user", run = identify },
    { name = "Restrict network access", run = restrict_network, destructive = true, when = containing,
      confirm = "Replace the instance's security groups with an isolation group and turn public access off?" },
    { name = "Restrict the database user", run = restrict_user, destructive = true, when = containing,
      confirm = "Lock the suspect database user(s) and end their sessions?" },
    { name = "Rotate passwords", run = rotate, destructive = true, when = containing,
      confirm = "Rotate the master password (and the given user secrets)? Applications using them must be updated." },
    { name = "Review the audit logs", run = review_logs },
    { name = "Report recommended settings", run = recommend },
  },
  followups = {
    function(ctx)
      local id = ctx.state.db or ctx.params.db
      if not id then return nil end
      return "Review evidence/db-logs/ for what the suspect user did on " .. id .. " and hand the evidence to the investigation under ticket " .. (ctx.ticket or "(none)")
    end,
  },
}

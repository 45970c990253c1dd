-- Tests for runbooks/rds.lua with stubbed AWS (no network):  irhost test runbooks/tests/rds_test.lua
-- One publicly accessible PostgreSQL instance (not Aurora, so the suspect user is locked by
-- a script a DBA runs), its default parameter group, one security group, one log file that
-- shows the suspect user, no RDS-managed secret and no GuardDuty finding. The end-to-end
-- tests in tests/rds/ run the same runbook against the local AWS endpoint.
local RB = "../rds.lua"
local DB = "prod-db"
local DB_ARN = "arn:aws:rds:us-east-1:111122223333:db:" .. DB
local VPC, SUBNET, APP_SG = "vpc-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788", "sg-0123456789abcdef0"
local ISO_SG = "sg-0fedcba9876543210"
local DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"
local LOG = "error/postgresql.log.2026-12-03-09"
local LOG_TEXT =
  "2026-12-03 09:12:01 UTC:203.0.113.7(51544):app_rw@orders:[2211]:LOG:  connection authorized: user=app_rw " ..
  "database=orders\n" ..
  "2026-12-03 09:12:05 UTC:10.0.1.20(40100):report@orders:[2215]:LOG:  connection authorized: user=report " ..
  "database=orders\n"

-- Stubs for the instance; `state` is what AWS holds, changed by the run.
local function postgres_instance()
  local state = { groups = { APP_SG }, public = true, tags = {}, secrets = {}, modified = {} }
  local function instance()
    local groups = {}
    for _, g in ipairs(state.groups) do groups[#groups + 1] = { VpcSecurityGroupId = g, Status = "active" } end
    return { DBInstanceIdentifier = DB, DBInstanceArn = DB_ARN, DBInstanceClass = "db.t3.medium", Engine = "postgres",
      EngineVersion = "15.4", MasterUsername = "postgres", DBInstanceStatus = "available",
      Endpoint = { Address = DB .. ".c9akciq32xyz.us-east-1.rds.amazonaws.com", Port = 5432 },
      DBSubnetGroup = { DBSubnetGroupName = "prod-db-subnets", VpcId = VPC,
        Subnets = { { SubnetIdentifier = SUBNET, SubnetStatus = "Active" } } },
      VpcSecurityGroups = groups, PubliclyAccessible = state.public,
      DBParameterGroups = { { DBParameterGroupName = "default.postgres15", ParameterApplyStatus = "in-sync" } },
      BackupRetentionPeriod = 7, DeletionProtection = false, IAMDatabaseAuthenticationEnabled = false,
      TagList = state.tags }
  end
  stub("rds", "DescribeDBInstances", function() return { DBInstances = { instance() } } end,
    { expect = { DBInstanceIdentifier = DB } })
  stub("guardduty", "ListDetectors", { DetectorIds = { DETECTOR } })
  stub("guardduty", "ListFindings", { FindingIds = {} })
  stub("rds", "DescribeDBParameters", { Parameters = { { ParameterName = "log_connections", ParameterValue = "1",
    Source = "user", ApplyType = "dynamic", DataType = "boolean", IsModifiable = true } } },
    { expect = { DBParameterGroupName = "default.postgres15" } })
  stub("ec2", "DescribeSecurityGroups", function(p)
    if p.GroupIds then
      return { SecurityGroups = { { GroupId = APP_SG, GroupName = "prod-db", VpcId = VPC, OwnerId = "111122223333",
        Description = "orders database", IpPermissions = { { IpProtocol = "tcp", FromPort = 5432, ToPort = 5432,
          IpRanges = { { CidrIp = "0.0.0.0/0" } } } } } } }
    end
    return { SecurityGroups = {} }   -- the isolation group does not exist yet
  end)
  stub("rds", "DescribeEvents", { Events = {} })
  -- The isolation group: created, its default egress rule revoked.
  stub("ec2", "CreateSecurityGroup", { GroupId = ISO_SG }, { expect = { GroupName = "irhost-isolation", VpcId = VPC } })
  stub("ec2", "DescribeVpcs", { Vpcs = { { VpcId = VPC } } })   -- a dry run plans the new group's rules
  stub("ec2", "DescribeSecurityGroupRules", { SecurityGroupRules = { { SecurityGroupRuleId = "sgr-0abc1234def567890",
    GroupId = ISO_SG, IsEgress = true, IpProtocol = "-1", FromPort = -1, ToPort = -1, CidrIpv4 = "0.0.0.0/0" } } })
  stub("ec2", "RevokeSecurityGroupEgress", { Return = true },
    { expect = { GroupId = ISO_SG, SecurityGroupRuleIds = { "sgr-0abc1234def567890" } } })
  stub("rds", "AddTagsToResource", function(p)
    for _, t in ipairs(p.Tags) do state.tags[#state.tags + 1] = t end
    return {}
  end)
  stub("rds", "ModifyDBInstance", function(p)
    state.modified[#state.modified + 1] = p
    if p.VpcSecurityGroupIds then state.groups = p.VpcSecurityGroupIds end
    if p.PubliclyAccessible ~= nil then state.public = p.PubliclyAccessible end
    return { DBInstance = instance() }
  end)
  stub("secretsmanager", "ListSecrets", function()
    local list = {}
    for _, s in ipairs(state.secrets) do list[#list + 1] = { ARN = s.ARN, Name = s.Name, Tags = s.Tags } end
    return { SecretList = list }
  end)
  stub("secretsmanager", "CreateSecret", function(p)
    local arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:" .. p.Name .. "-AbCdEf"
    state.secrets[#state.secrets + 1] = { ARN = arn, Name = p.Name, Tags = p.Tags, value = p.SecretString }
    return { ARN = arn, Name = p.Name, VersionId = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111" }
  end)
  stub("rds", "DescribeDBLogFiles", { DescribeDBLogFiles = { { LogFileName = LOG, LastWritten = 1764752400000,
    Size = #LOG_TEXT } } })
  stub("rds", "DownloadDBLogFilePortion", { LogFileData = LOG_TEXT, AdditionalDataPending = false,
    Marker = "1:" .. #LOG_TEXT },
    { expect = { DBInstanceIdentifier = DB, LogFileName = LOG } })
  stub("rds", "DescribeDBSnapshots", { DBSnapshots = {} })
  return state
end

local ARGS = { "--db", DB, "--db-user", "app_rw", "--block-ip", "203.0.113.7", "--ticket", "IR-42" }
local function args(extra)
  local out = {}
  for _, a in ipairs(ARGS) do out[#out + 1] = a end
  out[#out + 1] = extra
  return out
end

test("a public PostgreSQL instance: isolated, master password rotated, user lock scripted, logs kept", function()
  local state = postgres_instance()
  local r = run(RB, args("--yes"))
  expect_eq(r.exit, 0, "exit")
  local s = r.statuses
  for _, name in ipairs({ "Identify the instance and user", "Restrict network access", "Restrict the database user",
      "Rotate passwords", "Review the audit logs", "Report recommended settings" }) do
    expect_eq(s[name], "done", name)
  end
  expect_calls(r, {
    "rds:DescribeDBInstances", "guardduty:ListDetectors", "guardduty:ListFindings", "rds:DescribeDBParameters",
    "ec2:DescribeSecurityGroups", "rds:DescribeEvents",
    "rds:DescribeDBInstances", "ec2:DescribeSecurityGroups", "ec2:CreateSecurityGroup",
      "ec2:DescribeSecurityGroupRules",
    "ec2:RevokeSecurityGroupEgress", "rds:AddTagsToResource", "rds:ModifyDBInstance",
    "rds:DescribeDBInstances",
    "rds:DescribeDBInstances", "secretsmanager:ListSecrets", "secretsmanager:ListSecrets",
      "secretsmanager:CreateSecret",
    "rds:ModifyDBInstance",
    "rds:DescribeDBLogFiles", "rds:DownloadDBLogFilePortion",
    "rds:DescribeDBInstances", "secretsmanager:ListSecrets", "secretsmanager:ListSecrets", "rds:DescribeDBSnapshots",
  })
  -- Network: only the isolation group, no public address; the original groups kept in a tag first.
  expect_call(r, "rds:ModifyDBInstance", { DBInstanceIdentifier = DB, VpcSecurityGroupIds = { ISO_SG },
    PubliclyAccessible = false, ApplyImmediately = true })
  expect_eq(state.groups, { ISO_SG }, "security groups")
  expect_eq(state.public, false, "publicly accessible")
  local tags = {}
  for _, t in ipairs(state.tags) do tags[t.Key] = t.Value end
  expect_eq(tags["irhost:original-groups"], APP_SG, "original groups tag")
  expect_eq(tags["irhost:original-public"], "true", "original public tag")
  expect_eq(tags["irhost:ticket"], "IR-42", "ticket tag")
  -- Password: stored in Secrets Manager before RDS gets it, as a broker handle both times.
  expect_eq(#state.secrets, 1, "one secret created")
  expect_eq(state.secrets[1].Name, "irhost/" .. DB .. "/master", "secret name")
  local value = json.decode(state.secrets[1].value)
  expect_eq(value.username, "postgres", "secret user")
  expect_match(value.password, "^irhost%-secret%-%x+$")
  local pw = state.modified[2] and state.modified[2].MasterUserPassword
  expect_eq(pw, value.password, "the password RDS got is the one stored")
  expect_no_call(r, "secretsmanager:PutSecretValue")
  expect_no_call(r, "rds-data:ExecuteStatement")
  expect_no_call(r, "rds:CreateDBSnapshot")
  -- The user: no Data API here, so the lock is a script for a DBA and a follow-up.
  expect_match(r.evidence["db-user-lock.sql"], 'ALTER ROLE "app_rw" NOLOGIN;')
  expect_said(r, "user(s) app_rw NOT locked by irhost: no --secret-arn given")
  -- The log: saved with its hash, the suspect's lines counted.
  expect_eq(r.evidence["db-logs/" .. LOG], LOG_TEXT, "log file saved whole")
  local index = json.decode(r.evidence["db-logs-index.json"])
  expect_eq(index.files[1].suspect_lines, 1, "lines naming app_rw or 203.0.113.7")
  expect_eq(r.steps["Identify the instance and user"].outputs.users, { "app_rw" }, "users")
  local recs = {}
  for _, row in ipairs(r.steps["Report recommended settings"].outputs.recommendations) do
    recs[row.setting] = row.current
  end
  expect_eq(recs["Publicly accessible"], "off", "publicly accessible after the run")
  expect_eq(recs["Secrets Manager rotation of the master password"], "off (irhost/" .. DB .. "/master)",
    "secret rotation")
  expect_match(r.report, "ModifyDBInstance MasterUserPassword")
  expect(not r.report:find("irhost-secret-", 1, true), "the report shows no password handle")
end)

test("a dry run reads the instance, sends no change and plans each one", function()
  local state = postgres_instance()
  local r = run(RB, args("--dry-run"))
  expect_eq(r.exit, 0, "exit")
  local planned = {}
  for _, c in ipairs(r.calls) do
    expect(not aws.is_mutating(c.service, c.operation) or c.planned, c.name .. " was sent in a dry run")
    if c.planned then planned[#planned + 1] = c.name end
  end
  expect_eq(planned, { "ec2:CreateSecurityGroup", "ec2:RevokeSecurityGroupEgress", "rds:AddTagsToResource", "rds:ModifyDBInstance",
    "secretsmanager:CreateSecret", "rds:ModifyDBInstance" }, "planned changes")
  local s = r.statuses
  expect_eq(s["Restrict network access"], "dry-run", "network step")
  expect_eq(s["Rotate passwords"], "dry-run", "password step")
  expect_eq(s["Identify the instance and user"], "done", "identify step")
  expect_eq(state.groups, { APP_SG }, "security groups unchanged")
  expect_eq(state.public, true, "still publicly accessible")
  expect_eq(#state.secrets, 0, "no secret created")
  expect_eq(#state.modified, 0, "no modification sent")
  expect_match(r.report, "CreateSecret")
end)

test("a wrong instance identifier fails the first step with the AWS error explained", function()
  -- Only DescribeDBInstances is stubbed: any later call fails the test as not stubbed.
  stub("rds", "DescribeDBInstances", { error = { code = "DBInstanceNotFound", status = 404,
    message = "DBInstance prod-dbx not found." } }, { expect = { DBInstanceIdentifier = "prod-dbx" } })
  local r = run(RB, { "--db", "prod-dbx", "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 1, "exit")
  expect_calls(r, { "rds:DescribeDBInstances" })
  local s = r.statuses
  expect_eq(s["Identify the instance and user"], "failed", "first step")
  expect_eq(s["Restrict network access"], nil, "no later step ran")
  expect_match(r.steps["Identify the instance and user"].error,
    "DB instance prod%-dbx was not found in region us%-east%-1 %(DBInstanceNotFound%): check %-%-db and %-%-region")
  expect_match(r.message, '^step 1 "Identify the instance and user" failed: DB instance prod%-dbx was not found')
  expect_match(r.report, "Outcome | %*%*failed%*%* %(exit 1%)")
end)

-- ir.finding over every sample in ../shared/guardduty-findings, and the other forms built
-- from them (EventBridge, SNS, GetFindings with PascalCase keys).
local ROOT = os.getenv("IRHOST_ROOT") or "."
local T = dofile(ROOT .. "/tests/ir/tap.lua")
local finding = require("ir.finding")
local json = require("irhost.json")
local util = require("ir.util")

local shared = os.getenv("IRHOST_SHARED") or (ROOT .. "/../shared")
local dir = shared .. "/guardduty-findings/"
local function read(name)
  local f = io.open(dir .. name, "rb")
  if not f then return nil end
  local s = f:read("a"); f:close(); return s
end

if not read("README.md") then
  print("ok 1 - guardduty findings # SKIP " .. dir .. " is absent (a plain clone): nothing to read")
  return 0
end

local function pascal(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if type(k) == "string" then k = k:sub(1, 1):upper() .. k:sub(2) end
    out[k] = pascal(x)
  end
  return out
end

-- file -> expectations
local expect = {
  ["ec2-c2activity-b.json"] = function(f)
    T.eq(f.kind, "EC2", "c2: kind from the type")
    T.eq(f.type, "Backdoor:EC2/C&CActivity.B", "c2: type")
    T.eq(f.instance and f.instance.id, "i-99999999", "c2: instance id (an EC2 finding keeps its instance)")
    T.eq(f.instance.network_interfaces[1].id, "eni-bfcffe88", "c2: ENI")
    T.ok(#f.instance.security_groups >= 1, "c2: security groups")
    T.eq(f.account, "111122223333", "c2: account")
    T.eq(f.region, "us-east-2", "c2: region")
    T.eq(f.severity, 8, "c2: severity")
    T.eq(f.created_at, "2022-01-12T19:22:44Z", "c2: timestamp normalized")
    T.eq(f.count, 4, "c2: count")
  end,
  ["iam-instance-cred-exfil-outsideaws.json"] = function(f)
    T.eq(f.kind, "IAMUser", "exfil: kind")
    T.eq(f.instance, nil, "exfil: placeholder instanceDetails ignored")
    T.eq(f.access_key.user_name, "GeneratedFindingUserName", "exfil: user name (the role)")
    T.eq(f.access_key.access_key_id, "GeneratedFindingAccessKeyId", "exfil: access key id")
    T.eq(f.access_key.user_type, "IAMUser", "exfil: user type")
  end,
  ["s3-bucket-bpa-disabled.json"] = function(f)
    T.eq(f.kind, "S3", "s3: routed by type, not by resourceType AccessKey")
    T.eq(f.resource_type, "AccessKey", "s3: resourceType kept as given")
    T.ok(type(f.buckets) == "table" and #f.buckets >= 1 and type(f.buckets[1]) == "string", "s3: bucket names list")
    T.eq(f.instance, nil, "s3: no instance")
  end,
  ["rds-anomalous-successful-login.json"] = function(f)
    T.eq(f.kind, "RDS", "rds: kind")
    T.eq(f.rds.db_instance_identifier, "GeneratedFindingDBInstanceId", "rds: db instance")
    T.eq(f.rds.user, "GeneratedFindingUserName", "rds: db user")
    T.eq(f.instance, nil, "rds: no instance")
  end,
  ["runtime-container-docker-socket.json"] = function(f)
    T.eq(f.kind, "Runtime", "runtime: kind")
    T.eq(f.instance and f.instance.id, "i-abcd1234", "runtime: the host instance")
    T.eq(f.container.id, "abcd1234", "runtime: container id")
    T.ok(type(f.container.image) == "string", "runtime: container image")
    T.eq(f.severity, 5, "runtime: severity")
  end,
  ["asff-sshbruteforce-securityhub.json"] = function(f)
    T.eq(f.form, "asff", "asff: form")
    T.eq(f.type, "UnauthorizedAccess:EC2/SSHBruteForce", "asff: type with '/' restored")
    T.eq(f.kind, "EC2", "asff: kind")
    T.eq(f.instance and f.instance.id, "i-0c10c2c7863d1a356", "asff: instance from the resource ARN")
    T.eq(f.instance.vpc_id, "vpc-a0c2d7c7", "asff: vpc")
    T.eq(f.account, "111122223333", "asff: account")
    T.eq(f.region, "us-east-1", "asff: region")
    T.eq(f.severity, 2, "asff: severity")
    T.eq(f.count, 74, "asff: count from ProductFields")
    T.eq(f.id, "46ba0ac2845071e23ccdeb2ae03bfdea", "asff: finding id")
  end,
}

local names = {}
for name in pairs(expect) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local text = read(name)
  if not text then
    T.ok(false, name .. " readable")
  else
    local f, err = finding.parse(text)
    if T.ok(f ~= nil, name .. ": parsed", err) then
      expect[name](f)
      local raw = json.decode(text)
      if not raw.Types then
        T.eq(f.form, "raw", name .. ": raw form")
        local eb = { version = "0", ["detail-type"] = "GuardDuty Finding", source = "aws.guardduty",
          account = raw.accountId, region = raw.region, detail = raw }
        local g = assert(finding.parse(util.json(eb)))
        T.eq(g.form, "eventbridge", name .. ": EventBridge form")
        T.eq(g.type, f.type, name .. ": EventBridge same type")
        local sns = { Records = { { EventSource = "aws:sns", Sns = { Type = "Notification", Message = util.json(eb) } } } }
        local s = assert(finding.parse(util.json(sns)))
        T.eq(s.form, "sns", name .. ": SNS form")
        T.eq(s.kind, f.kind, name .. ": SNS same kind")
        T.eq((s.instance or {}).id, (f.instance or {}).id, name .. ": SNS same instance")
        local gf = { Findings = { pascal(raw) } }
        local p = assert(finding.parse(util.json(gf)))
        T.eq(p.form, "get-findings", name .. ": GetFindings form")
        T.eq(p.type, f.type, name .. ": GetFindings same type")
        T.eq((p.instance or {}).id, (f.instance or {}).id, name .. ": GetFindings same instance")
        T.eq(p.severity, f.severity, name .. ": GetFindings same severity")
      end
    end
  end
end

T.case("the negative sample is not a finding", function()
  local f, err = finding.parse(read("negative-guardduty-cloudtrail-api-call.json"))
  T.eq(f, nil, "negative: rejected")
  T.has(err, "not a GuardDuty finding", "negative: says so")
  T.has(err, "AWS API Call via CloudTrail", "negative: names the event type")
end)

T.case("bad input", function()
  local f, err = finding.parse("{not json")
  T.ok(f == nil and err:find("not valid JSON", 1, true), "invalid JSON", err)
  f, err = finding.parse("[]")
  T.ok(f == nil, "empty list", err)
  f, err = finding.parse('{"hello": 1}')
  T.ok(f == nil and err:find("not a GuardDuty finding", 1, true), "unrelated JSON", err)
  f = finding.parse({ path = "x.json", content = read("ec2-c2activity-b.json") })
  T.eq(f and f.kind, "EC2", "a file param is accepted")
end)

T.case("timestamps", function()
  T.eq(finding.timestamp("2022-01-12T19:22:44.457Z"), "2022-01-12T19:22:44Z", "ISO with ms")
  T.eq(finding.timestamp(1513612691.551), "2017-12-18T15:58:11Z", "epoch seconds float")
  T.eq(finding.timestamp(1513612691551), "2017-12-18T15:58:11Z", "epoch ms")
  T.eq(finding.timestamp("1513612691"), "2017-12-18T15:58:11Z", "epoch seconds as text")
  T.eq(finding.timestamp("2022-01-12T21:22:44+02:00"), "2022-01-12T19:22:44Z", "offset")
  T.eq(finding.timestamp("yesterday"), nil, "unparseable is unknown")
  T.eq(finding.timestamp("2022-13-40T99:00:00Z"), nil, "invalid date is unknown")
  T.eq(finding.timestamp({}), nil, "table is unknown")
end)

return T.done()

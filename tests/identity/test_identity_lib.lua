-- Unit tests of the identity runbooks' helpers (runbooks/lib/identity_*.lua), run by
-- irhost-lua: the review window, the revocation policy, trust policy analysis, the CloudTrail
-- summary and resource extraction, the --delete-unauthorized list, evidence renaming.
local root = os.getenv("IRHOST_ROOT") or "."
local t = dofile(root .. "/tests/aws/helper.lua")
local cjson = require("irhost.json")

-- The runbook sandbox's json, as far as these helpers use it.
local json = {
  encode = cjson.encode, decode = cjson.decode, null = cjson.null,
  array = function(x) return setmetatable(x or {}, cjson.array_mt) end,
}

local loaded = {}
local env = setmetatable({ json = json }, { __index = _G })
function env.require(name)
  if loaded[name] then return loaded[name] end
  local file = name:match("^lib%.(identity_[%w_]+)$")
  assert(file, "unexpected require " .. name)
  local chunk = assert(loadfile(root .. "/runbooks/lib/" .. file .. ".lua", "t", env))
  loaded[name] = chunk()
  return loaded[name]
end

local window = env.require("lib.identity_window")
local revoke = env.require("lib.identity_revoke")
local trust = env.require("lib.identity_trust")
local trail = env.require("lib.identity_trail")
local cleanup = env.require("lib.identity_cleanup")
local evidence = env.require("lib.identity_evidence")

---------------------------------------------------------------------------- window

local now = window.epoch("2026-12-03T12:00:00Z")
t.eq(now, 1796299200, "epoch of an ISO-8601 UTC time")
t.eq(window.epoch("2026-12-03T14:00:00+02:00"), now, "offsets are applied")
t.eq(window.epoch("2026-12-03T12:00:00.123Z"), now, "fractions are ignored")
t.eq(window.epoch("2026-13-01T00:00:00Z"), nil, "month 13 is not a time")
t.eq(window.iso(now), "2026-12-03T12:00:00Z", "iso round trip")
t.eq(window.start("36h", now), now - 36 * 3600, "--since 36h")
t.eq(window.start("2w", now), now - 14 * 86400, "--since 2w")
t.eq(window.start("2026-12-01T00:00:00Z", now), window.epoch("2026-12-01T00:00:00Z"), "--since as a time")
local s, err = window.start("yesterday", now)
t.ok(s == nil and err:find("neither a duration", 1, true), "a bad --since is explained", err)
s, err = window.start("2027-01-01T00:00:00Z", now)
t.ok(s == nil and err:find("not in the past", 1, true), "a future --since is refused", err)
local w = window.window("200d", now)
t.ok(w.clipped and w.start == now - 90 * 86400, "the window is cut at CloudTrail's 90 days")
t.ok(window.within(w, "2026-12-01T00:00:00Z") and not window.within(w, "2020-01-01T00:00:00Z"), "within the window")
t.ok(not window.within(w, nil), "no date is not within")

---------------------------------------------------------------------------- revoke

local doc = json.decode(revoke.document("2026-12-03T12:00:00Z"))
local st = doc.Statement[1]
t.ok(st.Effect == "Deny" and st.Action[1] == "*" and st.Resource[1] == "*"
  and st.Condition.DateLessThan["aws:TokenIssueTime"] == "2026-12-03T12:00:00Z", "the deny-older-sessions document")
t.eq(revoke.POLICY_NAME, "AWSRevokeOlderSessions", "named as AWS names it")
t.ok(revoke.now():match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$") ~= nil, "now is ISO-8601 UTC with Z")
local q = revoke.quarantine_policies({ { PolicyName = "AWSCompromisedKeyQuarantineV3", PolicyArn = "arn:q" },
  { PolicyName = "ReadOnlyAccess", PolicyArn = "arn:r" } })
t.ok(#q == 1 and q[1] == "arn:q", "AWS's quarantine policies are recognised")
local d = revoke.decode_document("%7B%22Version%22%3A%222012-10-17%22%2C%22a%2Bb%22%3A1%7D")
t.ok(d and d.Version == "2012-10-17" and d["a+b"] == 1, "URL-encoded policy documents decode (%2B stays +)")
t.eq(revoke.decode_document("not json"), nil, "a document that is not JSON gives nil")

---------------------------------------------------------------------------- trust

local policy = { Version = "2012-10-17", Statement = {
  { Effect = "Allow", Principal = { Federated = "arn:aws:iam::111122223333:saml-provider/Corp" }, Action = "sts:AssumeRoleWithSAML" },
  { Effect = "Allow", Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
    AWS = "arn:aws:iam::444455556666:root" }, Action = { "sts:AssumeRoleWithWebIdentity", "sts:TagSession" } },
  { Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" },
} }
local a = trust.analyse(policy, "111122223333")
t.ok(#a.providers == 2 and a.providers[1].kind == "saml" and a.providers[1].name == "Corp"
  and a.providers[2].kind == "oidc", "SAML and OIDC providers found")
t.ok(#a.accounts == 1 and a.accounts[1] == "444455556666" and a.services[1] == "ec2.amazonaws.com" and not a.anyone,
  "other accounts and services found")
t.ok(trust.analyse({ Statement = { Effect = "Allow", Principal = "*", Action = "sts:AssumeRole" } }, "1").anyone,
  "a single-statement policy trusting * is flagged")
local r = trust.restricted(policy, a.providers)
local deny = r.Statement[#r.Statement]
t.ok(deny.Effect == "Deny" and #deny.Principal.Federated == 2, "the restricted policy denies both providers")
local kept_fed = false
for _, x in ipairs(r.Statement) do
  if x.Effect == "Allow" and x.Principal.Federated then kept_fed = true end
end
t.ok(not kept_fed and #r.Statement == 3, "no Allow for a federated principal is left; the others stay")
t.ok(r.Statement[1].Principal.AWS == "arn:aws:iam::444455556666:root" and r.Statement[1].Action[1] == "sts:TagSession",
  "a mixed statement keeps its other principal and non-federation actions")
t.ok(trust.followup("admins", a.providers[1]):find("SAML identity provider Corp", 1, true) ~= nil, "the SAML follow-up names the IdP")

---------------------------------------------------------------------------- trail

local function ev(id, name, time, extra)
  local e = { EventId = id, EventName = name, EventTime = time, EventSource = extra.source or "iam.amazonaws.com",
    ReadOnly = extra.ro and "true" or "false", AccessKeyId = "AKIAX", Username = "bob", Resources = extra.resources or {},
    CloudTrailEvent = json.encode({ awsRegion = extra.region or "us-east-1", sourceIPAddress = extra.ip or "192.0.2.1",
      userAgent = "cli", requestParameters = extra.request, responseElements = extra.response, errorCode = extra.error,
      userIdentity = { arn = "arn:aws:iam::1:user/bob" } }) }
  return e
end
local flat = {}
local raw = {
  ev("1", "RunInstances", "2026-12-03T10:00:00Z", { source = "ec2.amazonaws.com", region = "eu-west-1",
    response = { instancesSet = { items = { { instanceId = "i-1" }, { instanceId = "i-2" } } } } }),
  ev("2", "CreateAccessKey", "2026-12-03T09:00:00Z", { resources = { { ResourceType = "AWS::IAM::AccessKey", ResourceName = "AKIANEW" } } }),
  ev("3", "CreateUser", "2026-12-03T11:00:00Z", { request = { userName = "backdoor" }, ip = "203.0.113.9" }),
  ev("4", "ListUsers", "2026-12-03T08:00:00Z", { ro = true }),
  ev("5", "CreateRole", "2026-12-03T08:30:00Z", { request = { roleName = "x" }, error = "AccessDenied" }),
}
-- What trail.lookup does to each page item, through the real client-less path: the same flatten.
local fake_pages = raw
aws = { client = function() return { paginate = function() local i = 0
  return function() i = i + 1; return fake_pages[i] end end } end,
  parallel = function(fns) local out = {}; for i, f in ipairs(fns) do out[i] = f() end; return out end,
  is_error = function() return false end }
env.aws = aws
local events, notes, failed, total = trail.lookup({ "us-east-1" }, { { "Username", "bob" } }, window.window("7d", now + 86400))
t.ok(#events == 5 and failed == 0 and total == 1 and #notes == 0, "lookup flattens every event", #events)
t.eq(events[1].name, "CreateUser", "events newest first")
local sm = trail.summary(events)
t.ok(sm.total == 5 and sm.writes == 4 and sm.errors == 1 and sm.first_seen == "2026-12-03T08:00:00Z"
  and sm.last_seen == "2026-12-03T11:00:00Z", "summary counts and first/last seen")
t.ok(sm.source_ips[1].value == "192.0.2.1" and sm.source_ips[1].count == 4, "source IPs ranked")
local rows = trail.resources(events)
local keys = {}
for _, x in ipairs(rows) do keys[#keys + 1] = x.key end
t.eq(table.concat(keys, "|"), "AWS::EC2::Instance i-1 eu-west-1|AWS::EC2::Instance i-2 eu-west-1|" ..
  "AWS::IAM::AccessKey bob/AKIANEW global|AWS::IAM::User backdoor global",
  "resources: instances by region, keys named USER/KEY, reads and failed calls left out")
local lines = trail.summary_lines(sm)
t.ok(lines[2]:find("iam:CreateUser x1", 1, true) ~= nil, "summary lines name service:action", lines[2])
local text = trail.candidates_text(rows)
local marked, n = cleanup.parse(text)
t.ok(n == 4 and marked["AWS::IAM::User backdoor global"], "the candidates file parses back")
local bad, berr = cleanup.parse("AWS::IAM::User backdoor\n")
t.ok(bad == nil and berr:find("TYPE NAME REGION", 1, true), "a malformed line is refused", berr)
local empty, zero = cleanup.parse("# nothing marked\n\n")
t.ok(empty and zero == 0, "comments and blank lines are ignored")
fake_pages = {}
aws.client = function() error({ code = "AccessDenied", message = "no" }) end
aws.parallel = function() error("one failed") end
aws.is_error = function(e) return type(e) == "table" and e.code ~= nil end
events, notes, failed, total = trail.lookup({ "us-east-1", "eu-west-1" }, { { "Username", "bob" } }, window.window("7d", now))
t.ok(#events == 0 and failed == 2 and total == 2 and #notes == 2, "failed lookups are counted and noted per region")

---------------------------------------------------------------------------- evidence

local saved = {}
local ctx = { evidence = { save = function(_, name)
  if saved[name] then error("evidence/" .. name .. " already exists (evidence is never overwritten)") end
  saved[name] = true
  return "sha-" .. name
end } }
local _, n1 = evidence.save(ctx, "account-information.json", {})
local _, n2 = evidence.save(ctx, "account-information.json", {})
local _, n3 = evidence.save(ctx, "account-information.json", {})
t.ok(n1 == "account-information.json" and n2 == "account-information.2.json" and n3 == "account-information.3.json",
  "a rerun's evidence gets the next free name", n2)
ctx.evidence.save = function() error("disk full") end
t.raises(function() evidence.save(ctx, "x.json", {}) end, "disk full", "other evidence errors are raised")

t.done()

-- Unit tests of the S3 and RDS runbooks' pure helpers, run by irhost-lua: bucket policy and
-- ACL classification and rewriting (runbooks/lib/s3_policy.lua), the engine-specific lock
-- SQL and its refusal of unsafe user names (rds_sql.lua), log helpers (rds_logs.lua).
local root = os.getenv("IRHOST_ROOT") or "."
local t = dofile(root .. "/tests/aws/helper.lua")
local cjson = require("irhost.json")

local json = {
  encode = cjson.encode, decode = cjson.decode, null = cjson.null,
  array = function(x) return setmetatable(x or {}, cjson.array_mt) end,
}
local env = setmetatable({ json = json }, { __index = _G })
local loaded = {}
local function load_lib(file)
  if not loaded[file] then loaded[file] = assert(loadfile(root .. "/runbooks/lib/" .. file .. ".lua", "t", env))() end
  return loaded[file]
end
function env.require(name)
  local file = assert(name:match("^lib%.([%w_]+)$"), "unexpected require " .. name)
  return load_lib(file)
end

local policy = load_lib("s3_policy")
local sql = load_lib("rds_sql")
local logs = load_lib("rds_logs")
local activity = load_lib("s3_activity")
local authz = load_lib("s3_authz")

local OWNER = "111122223333"

---------------------------------------------------------------------------- classify

local function st(principal, extra)
  local s = { Effect = "Allow", Principal = principal, Action = "s3:GetObject", Resource = "arn:aws:s3:::b/*" }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

t.eq(policy.classify(st("*"), OWNER), "public", "Principal * is public")
t.eq(policy.classify(st({ AWS = "*" }), OWNER), "public", "Principal AWS * is public")
t.eq(policy.classify(st({ AWS = { "*" } }), OWNER), "public", "Principal AWS [*] is public")
t.eq(policy.classify(st("*", { Condition = { IpAddress = { ["aws:SourceIp"] = "192.0.2.0/24" } } }), OWNER), "restricted",
  "a source IP condition pins an open statement")
t.eq(policy.classify(st("*", { Condition = { StringEquals = { ["AWS:SourceVpce"] = "vpce-1" } } }), OWNER), "restricted",
  "condition keys are case-insensitive")
t.eq(policy.classify(st("*", { Condition = { StringLike = { ["s3:prefix"] = "public/" } } }), OWNER), "public",
  "a condition that pins nothing leaves it public")
t.eq(policy.classify(st({ AWS = "arn:aws:iam::444455556666:root" }), OWNER), "cross-account", "another account's root")
t.eq(policy.classify(st({ AWS = "444455556666" }), OWNER), "cross-account", "a bare account id")
t.eq(policy.classify(st({ AWS = "arn:aws:iam::444455556666:role/x" }), OWNER, { ["444455556666"] = true }), "own",
  "a kept account counts as own")
t.eq(policy.classify(st({ AWS = "arn:aws:iam::111122223333:role/app" }), OWNER), "own", "own account role")
t.eq(policy.classify(st({ AWS = { "arn:aws:iam::111122223333:role/app", "arn:aws:iam::444455556666:root" } }), OWNER),
  "cross-account", "one foreign principal makes the statement cross-account")
t.eq(policy.classify(st({ CanonicalUser = "79a59df9" }), OWNER), "cross-account", "a canonical user")
t.eq(policy.classify(st({ Service = "logging.s3.amazonaws.com" }), OWNER), "service", "a service principal")
t.eq(policy.classify({ Effect = "Deny", Principal = "*" }, OWNER), "deny", "a deny is never a grant")

---------------------------------------------------------------------------- strip

local doc = { Version = "2012-10-17", Id = "keep-me", Statement = {
  st("*", { Sid = "Public" }),
  st({ AWS = "arn:aws:iam::444455556666:root" }, { Sid = "Partner" }),
  st("*", { Sid = "Office", Condition = { IpAddress = { ["aws:SourceIp"] = "192.0.2.0/24" } } }),
  st({ AWS = "arn:aws:iam::111122223333:role/app" }, { Sid = "App" }),
  { Sid = "irhostDenySuspects", Effect = "Deny", Principal = { AWS = { "arn:aws:iam::111122223333:user/x" } }, Action = "s3:*" },
} }
local split = policy.strip(doc, OWNER)
local sids = {}
for _, s in ipairs(split.doc.Statement) do sids[#sids + 1] = s.Sid end
t.eq(table.concat(sids, ","), "Office,App", "public, cross-account and earlier irhost statements go; the rest stays in order")
t.eq(#split.removed, 2, "two statements removed")
t.eq(split.removed[1].class .. "," .. split.removed[2].class, "public,cross-account", "each removal says why")
t.eq(split.doc.Id, "keep-me", "other policy fields are kept")
t.eq(#split.restricted, 1, "the condition-pinned statement is reported")
t.eq(#policy.strip(nil, OWNER).doc.Statement, 0, "no policy: an empty statement list")
local single = policy.strip({ Statement = st("*", { Sid = "Only" }) }, OWNER)
t.eq(#single.removed, 1, "a single statement object (not a list) is read too")

local d = policy.deny_statement("Suspects", "b", { "arn:aws:iam::111122223333:user/x" }, { "arn:aws:iam::111122223333:role/ir" })
t.eq(d.Effect .. " " .. d.Action, "Deny s3:*", "deny statement denies every S3 action")
t.eq(d.Resource[1] .. " " .. d.Resource[2], "arn:aws:s3:::b arn:aws:s3:::b/*", "on the bucket and its objects")
t.eq(d.Condition.ArnNotLike["aws:PrincipalArn"][1], "arn:aws:iam::111122223333:role/ir", "the responders are exempt")
t.eq(d.Sid, "irhostDenySuspects", "its Sid marks it as irhost's")
t.eq(policy.deny_statement("All", "b", "*", {}).Principal, "*", "a lockdown denies everyone")
t.eq(split.ours.irhostDenySuspects.Effect, "Deny", "an earlier run's deny statement is handed back")
local dp, de = policy.deny_parts(d)
t.ok(dp[1] == "arn:aws:iam::111122223333:user/x" and de[1] == "arn:aws:iam::111122223333:role/ir", "a deny's principals and exemptions")
local lp, le = policy.deny_parts(policy.deny_statement("All", "b", "*", { "arn:aws:iam::1:role/r" }))
t.ok(#lp == 0 and le[1] == "arn:aws:iam::1:role/r", "a lockdown names no principal")

t.ok(policy.canonical({ a = { 1 }, b = "x" }) == policy.canonical({ b = "x", a = 1 }),
  "canonical form ignores key order and one-item lists")
t.ok(policy.canonical({ a = { 1, 2 } }) ~= policy.canonical({ a = { 2, 1 } }), "canonical form keeps list order")

---------------------------------------------------------------------------- ACL

local kept, removed = policy.split_acl({
  { Grantee = { Type = "CanonicalUser", ID = "owner" }, Permission = "FULL_CONTROL" },
  { Grantee = { Type = "Group", URI = policy.ALL_USERS }, Permission = "READ" },
  { Grantee = { URI = policy.AUTH_USERS }, Permission = "READ" },
  { Grantee = { ID = "other" }, Permission = "WRITE" },
  { Grantee = { Type = "Group", URI = policy.LOG_DELIVERY }, Permission = "WRITE" },
}, "owner")
t.eq(#kept, 2, "the owner and the log delivery group stay")
t.eq(#removed, 3, "AllUsers, AuthenticatedUsers and another account go")
t.eq(removed[2].grant.Grantee.Type, "Group", "a grantee without its type gets it back (PutBucketAcl needs it)")
t.eq(removed[3].class, "cross-account", "another canonical user is cross-account")

---------------------------------------------------------------------------- IAM matching

local pol = { Statement = {
  { Effect = "Allow", Action = { "s3:Get*", "s3:ListBucket" }, Resource = "arn:aws:s3:::b*" },
  { Effect = "Allow", Action = "s3:PutObject", Resource = "*", Condition = { Bool = { ["aws:SecureTransport"] = "true" } } },
  { Effect = "Deny", Action = "s3:GetObjectAcl", Resource = "*" },
} }
local res = { "arn:aws:s3:::b", "arn:aws:s3:::b/*" }
t.eq(policy.evaluate(pol, "s3:GetObject", res), "allow", "a wildcard action allows")
t.eq(policy.evaluate(pol, "s3:PutBucketPolicy", res), nil, "an action no statement names is not allowed")
t.eq(policy.evaluate(pol, "s3:GetObjectAcl", res), "deny", "an explicit deny wins")
local r, cond = policy.evaluate(pol, "s3:PutObject", res)
t.ok(r == "allow" and cond == true, "a conditional allow is an allow, flagged")
t.eq(policy.evaluate(pol, "s3:getobject", res), "allow", "actions match case-insensitively")
t.eq(policy.evaluate({ Statement = { { Effect = "Allow", NotAction = "iam:*", Resource = "*" } } }, "s3:PutBucketAcl", res),
  "allow", "NotAction allows everything else")
t.ok(policy.bucket_policy_grants({ Statement = { st({ AWS = "arn:aws:iam::444455556666:root" }) } },
  "arn:aws:iam::444455556666:user/u", "s3:GetObject", "b"), "an account grant covers its users")
t.ok(not policy.bucket_policy_grants({ Statement = { st({ AWS = "arn:aws:iam::444455556666:root" }) } },
  "arn:aws:iam::777788889999:user/u", "s3:GetObject", "b"), "another account's grant does not")
t.eq(policy.action_for("DeletePublicAccessBlock"), "s3:PutBucketPublicAccessBlock", "IAM names the PAB action differently")
t.eq(policy.action_for("PutBucketPolicy"), "s3:PutBucketPolicy", "most events are their action")
t.eq(policy.account_of("arn:aws:sts::444455556666:assumed-role/r/s"), "444455556666", "account of an STS ARN")

---------------------------------------------------------------------------- lock SQL

local pg = sql.lock_statements("postgres", "app")
t.eq(pg[1], 'ALTER ROLE "app" NOLOGIN', "postgres: NOLOGIN")
t.ok(pg[2]:find("pg_terminate_backend", 1, true) and pg[2]:find("usename = 'app'", 1, true), "postgres: sessions ended")
t.eq(sql.lock_statements("aurora-postgresql", "app")[1], 'ALTER ROLE "app" NOLOGIN', "aurora-postgresql is postgres")
t.eq(sql.lock_statements("aurora-mysql", "app")[1], "ALTER USER 'app'@'%' ACCOUNT LOCK", "mysql: ACCOUNT LOCK")
t.ok(sql.lock_statements("mariadb", "app")[2]:find("mysql.rds_kill", 1, true), "mysql: sessions through rds_kill")
t.eq(sql.lock_statements("sqlserver-se", "app")[1], "ALTER LOGIN [app] DISABLE", "sqlserver: DISABLE")
t.eq(sql.lock_statements("oracle-ee", "app")[1], 'ALTER USER "APP" ACCOUNT LOCK', "oracle: upper-case user locked")
for _, bad in ipairs({ "x'; DROP TABLE t; --", 'a"b', "a b", "", string.rep("a", 64), "1abc" }) do
  local s, err = sql.lock_statements("postgres", bad)
  t.ok(s == nil and err:find("not a plain identifier", 1, true), "unsafe user name refused: " .. bad:sub(1, 20))
end
local none, why = sql.lock_statements("neptune", "app")
t.ok(none == nil and why:find("by hand", 1, true), "unknown engine: lock by hand")
t.ok(sql.script("db", "postgres", "app", pg):find('ALTER ROLE "app" NOLOGIN;', 1, true), "the script ends statements with ;")

---------------------------------------------------------------------------- logs

local n, first = logs.mentions("a user=app x\nb user=bob\nc 203.0.113.50\n", { "user=app", "203.0.113.50" }, 1)
t.eq(n, 2, "lines naming the user or the address are counted")
t.eq(first[1], "a user=app x", "and the first ones kept")
t.eq(logs.evidence_name("error/postgresql.log.2026-12-02-00"), "db-logs/error/postgresql.log.2026-12-02-00", "log evidence name")
t.eq(logs.evidence_name("a/../b c"), "db-logs/a/_/b_c", "no .. and no space in an evidence name")

---------------------------------------------------------------------------- activity

local sel = { EventSelectors = { { DataResources = { { Type = "AWS::S3::Object", Values = { "arn:aws:s3:::b/" } } } } } }
t.ok(activity.selects(sel, "b"), "a classic selector for the bucket records its data events")
t.ok(not activity.selects(sel, "bb"), "not for another bucket sharing the prefix")
t.ok(activity.selects({ EventSelectors = { { DataResources = { { Type = "AWS::S3::Object", Values = { "arn:aws:s3" } } } } } }, "x"),
  "arn:aws:s3 selects every bucket")
t.ok(not activity.selects({ EventSelectors = { { DataResources = { { Type = "AWS::Lambda::Function", Values = { "arn:aws:lambda" } } } } } }, "b"),
  "a Lambda selector records no S3 events")
local adv = { AdvancedEventSelectors = { { FieldSelectors = {
  { Field = "eventCategory", Equals = { "Data" } }, { Field = "resources.type", Equals = { "AWS::S3::Object" } },
  { Field = "resources.ARN", StartsWith = { "arn:aws:s3:::b/" } } } } } }
t.ok(activity.selects(adv, "b"), "an advanced selector scoped to the bucket")
t.ok(not activity.selects(adv, "c"), "an advanced selector scoped elsewhere")

local events = {
  { time = "2026-12-02T10:00:00Z", name = "GetObject", principal = "arn:aws:sts::111122223333:assumed-role/app/i-1", ip = "10.0.0.1", read_only = true },
  { time = "2026-12-02T09:00:00Z", name = "GetObject", principal = "arn:aws:sts::111122223333:assumed-role/app/i-2", ip = "10.0.0.2", read_only = true },
  { time = "2026-12-02T11:00:00Z", name = "PutBucketPolicy", username = "ci-deploy", ip = "203.0.113.50", read_only = false },
  { time = "2026-12-02T12:00:00Z", name = "GetObject", ip = "198.51.100.7", read_only = true },
}
local rows = activity.by_principal(events)
t.eq(#rows, 3, "events grouped by principal (role sessions of one role together)")
local byp = {}
for _, r in ipairs(rows) do byp[r.principal] = r end
local app = byp["arn:aws:iam::111122223333:role/app"]
t.ok(app and app.total == 2 and #app.ips == 2 and app.first_seen == "2026-12-02T09:00:00Z" and app.last_seen == "2026-12-02T10:00:00Z",
  "a role's calls, addresses, first and last seen")
t.ok(byp["user:ci-deploy"] and byp["user:ci-deploy"].writes == 1, "a user without an ARN is kept by name")
t.ok(byp.anonymous and byp.anonymous.calls[1].value == "GetObject", "an event without identity is anonymous")
t.ok(activity.markdown(rows, "b", { start_iso = "s", end_iso = "e" }):find("| user:ci-deploy | PutBucketPolicy x1 | 203.0.113.50 x1 |", 1, true),
  "the markdown table row")

-- Data-event log objects read from a stubbed S3 client: JSON ones parsed, gzip ones listed.
local record = { Records = {
  { eventID = "e1", eventTime = "2026-12-02T10:00:00Z", eventName = "GetObject", eventSource = "s3.amazonaws.com",
    userIdentity = { arn = "arn:aws:iam::444455556666:user/x" }, sourceIPAddress = "203.0.113.9",
    resources = { { ARN = "arn:aws:s3:::b/secret.csv", type = "AWS::S3::Object" } } },
  { eventID = "e2", eventTime = "2026-12-02T10:01:00Z", eventName = "GetObject", eventSource = "s3.amazonaws.com",
    userIdentity = {}, resources = { { ARN = "arn:aws:s3:::other/x" } } },
} }
local listed = {}
local s3stub = {
  paginate = function(_, op, params)
    listed[#listed + 1] = params.Prefix
    local objs = {}
    if params.Prefix:find("2026/12/02/", 1, true) then
      objs = { { Key = params.Prefix .. "a.json", Size = 10 }, { Key = params.Prefix .. "b.json.gz", Size = 20 } }
    end
    local i = 0
    t.eq(op, "ListObjectsV2", "log objects are listed with ListObjectsV2")
    return function() i = i + 1; return objs[i] end
  end,
  GetObject = function(_, params)
    if params.Key:match("%.gz$") then return { Body = "\31\139\8\0rest" } end
    return { Body = cjson.encode(record) }
  end,
}
local win = { start = 1796169600, finish = 1796169600 + 86400 + 3600 }   -- 2026-12-02T00:00Z to 2026-12-03T01:00Z
local got, files, notes = activity.data_events(s3stub, { bucket = "trail-bucket", prefix = "org" }, "111122223333", "us-east-1", "b", win)
t.eq(listed[1], "org/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/02/", "one day prefix at a time, under the trail prefix")
t.eq(#listed, 2, "every day of the window")
t.eq(#files, 2, "both log files listed")
t.eq(#got, 1, "only the bucket's events kept")
t.ok(got[1] and got[1].principal == "arn:aws:iam::444455556666:user/x" and got[1].data_event, "a data event in the shared shape")
t.ok(files[2].compressed and notes[1]:find("gzip", 1, true), "compressed files are reported, not read")

---------------------------------------------------------------------------- authorization

env.aws = { is_error = function(e, code) return type(e) == "table" and (code == nil or e.code == code) end }
local function iam_stub(user_policies, fail)
  return {
    ListUserPolicies = function() if fail then error({ code = "AccessDenied" }) end return { PolicyNames = { "p" } } end,
    GetUserPolicy = function() return { PolicyDocument = user_policies } end,
    ListAttachedUserPolicies = function() return { AttachedPolicies = {} } end,
    ListGroupsForUser = function() return { Groups = {} } end,
  }
end
local facts = { bucket = "b", owner = OWNER, public = true, declared = {},
  policy = { Statement = { st({ AWS = "arn:aws:iam::444455556666:root" }, { Sid = "Partner", Action = "s3:GetObject" }) } } }
local allow_get = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGet%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"
local v = authz.verdict(iam_stub(allow_get), { arn = "arn:aws:iam::111122223333:user/u", actions = { "s3:GetObject" } }, facts)
t.eq(v.verdict, "authorized", "an own user whose (URL-encoded) inline policy allows the action")
v = authz.verdict(iam_stub(allow_get), { arn = "arn:aws:iam::111122223333:user/u", actions = { "s3:GetObject", "s3:PutBucketPolicy" } }, facts)
t.ok(v.verdict == "not authorized" and table.concat(v.reasons, " "):find("s3:PutBucketPolicy", 1, true), "an action its policies do not grant")
v = authz.verdict(iam_stub(nil, true), { arn = "arn:aws:iam::111122223333:user/u", actions = { "s3:GetObject" } }, facts)
t.eq(v.verdict, "unknown", "its policies unreadable: unknown")
v = authz.verdict(iam_stub(), { arn = "arn:aws:iam::444455556666:user/p", actions = { "s3:GetObject" } }, facts)
t.eq(v.verdict, "authorized", "another account granted by the bucket policy")
v = authz.verdict(iam_stub(), { arn = "arn:aws:iam::777788889999:user/p", actions = { "s3:GetObject" } }, facts)
t.eq(v.verdict, "not authorized", "another account the bucket policy does not name")
v = authz.verdict(iam_stub(), { label = "anonymous", anonymous = true, actions = { "s3:GetObject" } }, facts)
t.eq(v.verdict, "not authorized", "anonymous access through a public grant")
local declared = { bucket = "b", owner = OWNER, declared = { ["arn:aws:iam::777788889999:user/p"] = true } }
t.eq(authz.verdict(iam_stub(), { arn = "arn:aws:iam::777788889999:user/p", actions = { "s3:GetObject" } }, declared).verdict,
  "authorized", "--authorized-principal wins")
t.eq(authz.verdict(iam_stub(), { label = "key:AKIA", actions = {} }, facts).verdict, "unknown", "no ARN: unknown")

os.exit(t.done())

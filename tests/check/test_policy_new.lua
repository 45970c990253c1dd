-- `irhost policy` (bindings/lua/ir/policy.lua) and `irhost new` (bindings/lua/ir/scaffold.lua):
-- the policy is valid IAM JSON, one statement per service, actions sorted and equal to the
-- calls the runbook can make; --resources narrows; the skeleton passes check --strict.
-- Run by irhost-lua: tests/run.sh check
local check = require("ir.check")
local policy = require("ir.policy")
local scaffold = require("ir.scaffold")
local iam = require("ir.check.iam")
local models = require("ir.check.models")
local json = require("irhost.json")

local T = require("checktest")

local root = T.root
local ok, module_loader, read = T.ok, T.module_loader, T.read
local function run_policy(path, source, opts)
  local out = { stdout = {}, stderr = {} }
  opts = opts or {}
  opts.path, opts.source = path, source
  opts.write = function(stream, text) table.insert(out[stream], text) end
  local code = policy.run(opts)
  return code, table.concat(out.stdout), table.concat(out.stderr)
end
local function same_set(a, b)
  for k in pairs(a) do if not b[k] then return false end end
  for k in pairs(b) do if not a[k] then return false end end
  return true
end
local function keys(s)
  local out = {}
  for k in pairs(s) do out[#out + 1] = k end
  table.sort(out)
  return table.concat(out, " ")
end

-- Structural validity of an IAM policy document; returns nil or the problem.
local function invalid(doc)
  if doc.Version ~= "2012-10-17" then return "Version" end
  if type(doc.Statement) ~= "table" or #doc.Statement == 0 then return "Statement" end
  local sids = {}
  for i, s in ipairs(doc.Statement) do
    if type(s.Sid) ~= "string" or not s.Sid:match("^[%w]+$") or sids[s.Sid] then return "Sid " .. i end
    sids[s.Sid] = true
    if s.Effect ~= "Allow" then return "Effect " .. i end
    if type(s.Action) ~= "table" or #s.Action == 0 then return "Action " .. i end
    for j, a in ipairs(s.Action) do
      if not iam.valid_syntax(a) then return "action syntax " .. a end
      if j > 1 and s.Action[j - 1] >= a then return "actions not sorted in " .. s.Sid end
    end
    if type(s.Resource) ~= "string" or not (s.Resource == "*" or s.Resource:match("^arn:aws:")) then
      return "Resource " .. i
    end
  end
end

-- What a runbook can call: every literal call (as IAM actions) plus the framework's own
-- (who the caller is), which only a runbook that calls AWS at all makes.
local function expected_actions(path, source, extra)
  local a = check.analyze(path, source, { load_module = module_loader })
  local want = {}
  for _, c in ipairs(a.calls.calls) do want[iam.iam_action(c.service, c.operation)] = true end
  for _, x in ipairs(extra or {}) do want[x] = true end
  if next(want) then want["sts:GetCallerIdentity"] = true end
  return want
end
local function actions_of(doc)
  local got = {}
  for _, s in ipairs(doc.Statement) do for _, a in ipairs(s.Action) do got[a] = true end end
  return got
end

-- The clean runbook.
local clean_path = root .. "/tests/check/clean/contain.lua"
local clean = read(clean_path)
local code, out, err = run_policy("contain.lua", clean)
ok(code == 0 and err == "", "policy for the clean runbook exits 0", err)
local doc = json.decode(out)
ok(invalid(doc) == nil, "the policy is a valid IAM policy document", invalid(doc))
ok(out:find('^{\n  "Version": "2012%-10%-17",\n  "Statement": %['), "Version comes first, as IAM writes it", out)
local prefixes = {}
local one_per_service = true
for _, s in ipairs(doc.Statement) do
  local p = s.Action[1]:match("^([^:]+):")
  if prefixes[p] then one_per_service = false end
  prefixes[p] = true
  for _, a in ipairs(s.Action) do if a:match("^([^:]+):") ~= p then one_per_service = false end end
end
ok(one_per_service, "one statement per service without --resources")
local want = expected_actions("contain.lua", clean)
ok(same_set(actions_of(doc), want), "the policy's actions equal the calls the runbook can make",
  keys(actions_of(doc)) .. " vs " .. keys(want))

-- --resources: actions whose every call names a param's resource get that resource only.
code, out = run_policy("contain.lua", clean, { resources = true,
  args = { "--instance", "i-0abc1234", "--evidence-bucket", "ir-evidence" }, region = "eu-west-1", account = "111122223333" })
doc = json.decode(out)
local by_action = {}
for _, s in ipairs(doc.Statement) do for _, a in ipairs(s.Action) do by_action[a] = s.Resource end end
ok(code == 0 and invalid(doc) == nil, "the narrowed policy is valid", out)
ok(by_action["ec2:StopInstances"] == "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc1234",
  "StopInstances is narrowed to the instance", by_action["ec2:StopInstances"])
ok(by_action["s3:PutObject"] == "arn:aws:s3:::ir-evidence/*", "evidence uploads are narrowed to the bucket",
  by_action["s3:PutObject"])
ok(by_action["ec2:DescribeInstances"] == "*", "Describe calls keep Resource *")
ok(by_action["ec2:CreateTags"] == "*", "an action called with a computed resource is not narrowed")
ok(same_set(actions_of(doc), expected_actions("contain.lua", clean, { "s3:PutObject" })),
  "narrowing keeps the same actions (plus evidence uploads)")
code, out, err = run_policy("contain.lua", clean, { resources = true, args = { "--instance", "bad" } })
ok(code == 2 and err:find("instance", 1, true), "a param value that fails validation is refused", err)

-- IAM names that differ from operation names; elb/elbv2 share one prefix.
local s3rb = [[
local s3 = aws.client("s3")
local elbv2 = aws.client("elbv2")
return ir.runbook {
  name = "s3-names", description = "IAM names",
  params = { bucket = { required = true, help = "bucket" } },
  permissions = { "s3:ListObjectsV2", "s3:HeadObject", "elasticloadbalancing:DescribeTargetGroups" },
  steps = { { name = "List", run = function(ctx)
    s3:ListObjectsV2{ Bucket = ctx.params.bucket }
    s3:HeadObject{ Bucket = ctx.params.bucket, Key = "k" }
    elbv2:DescribeTargetGroups{}
  end } },
}
]]
ok(#check.check_source("s3.lua", s3rb) == 0, "the s3/elbv2 runbook is clean", "")
code, out = run_policy("s3.lua", s3rb, { resources = true, args = { "--bucket", "logs" } })
doc = json.decode(out)
by_action = {}
for _, s in ipairs(doc.Statement) do for _, a in ipairs(s.Action) do by_action[a] = s.Resource end end
ok(by_action["s3:ListBucket"] == "arn:aws:s3:::logs", "ListObjectsV2 needs s3:ListBucket on the bucket", out)
ok(by_action["s3:GetObject"] == "arn:aws:s3:::logs/*", "HeadObject needs s3:GetObject on its objects", out)
ok(by_action["elasticloadbalancing:DescribeTargetGroups"] == "*", "elbv2 actions use the elasticloadbalancing prefix")
ok(not by_action["s3:ListObjectsV2"] and not by_action["s3:HeadObject"], "no operation name leaks in as an IAM action")

-- A runbook whose declaration cannot be read gives exit 2 and points at check.
code, out, err = run_policy("broken.lua", read(root .. "/tests/check/corpus/03-param-bad-type.lua"))
ok(code == 2 and out == "" and err:find("broken.lua:9:15:", 1, true) and err:find("irhost check", 1, true),
  "policy on an invalid runbook: exit 2, the first problem, and a pointer to check", err)

-- Literal permissions but another field taken from a module (a pattern): the source alone
-- is not enough, the declaration the sandbox evaluated fills it in.
local partly = [[
local names = require("lib.names")
local ec2 = aws.client("ec2")
return ir.runbook {
  name = "partly-literal", description = "a pattern from a module",
  params = { id = { required = true, pattern = names.INSTANCE, help = "instance" } },
  permissions = { "ec2:DescribeInstances" },
  steps = { { name = "Describe", run = function(ctx) ec2:DescribeInstances{ InstanceIds = { ctx.params.id } } end } },
}
]]
local partly_decl = { name = "partly-literal", description = "a pattern from a module",
  params = { id = { required = true, pattern = "^i%-%x+$", help = "instance" } },
  permissions = { "ec2:DescribeInstances" },
  steps = { { name = "Describe", run = function() end } } }
local partly_loader = function(name)
  if name == "lib.names" then return 'return { INSTANCE = "^i%-%x+$" }', "lib/names.lua" end
end
code, out, err = run_policy("partly.lua", partly, { load_module = partly_loader })
ok(code == 2 and err:find("not literal enough", 1, true), "without the sandbox's declaration a field from a module is not readable", err)
code, out, err = run_policy("partly.lua", partly, { load_module = partly_loader, declaration = partly_decl })
doc = code == 0 and json.decode(out)
ok(doc and invalid(doc) == nil and doc.Statement[1].Action[1] == "ec2:DescribeInstances",
  "literal permissions + a pattern from a module: the sandbox's declaration completes it", err)
code, out, err = run_policy("partly.lua", partly, { load_module = partly_loader, declaration = partly_decl,
  resources = true, args = { "--id", "nope" } })
ok(code == 2 and err:find("id", 1, true), "the pattern from the sandbox's declaration validates --resources values", err)

-- Dependent actions: what AWS checks besides the action a call names.
local dep_sids = {}
for _, rules in pairs(policy.dependent_actions) do for _, r in ipairs(rules) do dep_sids[r.sid] = true end end
-- The policy of src: {doc, by_sid = {Sid = statement}, own = the runbook's own actions, text}.
local function statements(src, opts)
  local c, o, e = run_policy("dep.lua", src, opts)
  local d = c == 0 and json.decode(o)
  local by_sid, own = {}, {}
  for _, st in ipairs(d and d.Statement or {}) do
    by_sid[st.Sid] = st
    if not dep_sids[st.Sid] then for _, a in ipairs(st.Action) do own[a] = true end end
  end
  return { doc = d, by_sid = by_sid, own = own, text = c == 0 and o or e }
end
local function has(st, action)
  for _, a in ipairs(st and st.Action or {}) do if a == action then return true end end
  return false
end
local function runbook(perms, params, body)
  return "local ec2 = aws.client(\"ec2\")\nlocal rd = aws.client(\"rds-data\")\nlocal rds = aws.client(\"rds\")\n" ..
    "local lam = aws.client(\"lambda\")\nlocal ecs = aws.client(\"ecs\")\n" ..
    "return ir.runbook {\n  name = \"dep\", description = \"dependent actions\",\n  params = { " .. params .. " },\n" ..
    "  permissions = { \"" .. table.concat(perms, "\", \"") .. "\" },\n" ..
    "  steps = { { name = \"Act\", run = function(ctx)\n" .. body .. "\n  end } },\n}\n"
end
do
  local SECRET_PARAM = 'secret_arn = { required = true, pattern = "^arn:aws[%w-]*:secretsmanager:", help = "secret" }'
  local EXECUTE = '    rd:ExecuteStatement{ resourceArn = "arn:aws:rds:eu-west-1:1:cluster:c", ' ..
    'secretArn = ctx.params.secret_arn, sql = "select 1" }'
  local data_api = runbook({ "rds-data:ExecuteStatement" }, SECRET_PARAM, EXECUTE)
  local r = statements(data_api)
  local st = r.by_sid.DataApiReadsTheDatabaseSecret
  ok(r.doc and invalid(r.doc) == nil and has(st, "secretsmanager:GetSecretValue") and st.Resource == "*" and #st.Action == 1,
    "rds-data:ExecuteStatement with a secretArn also grants secretsmanager:GetSecretValue, Sid saying why", r.text)
  ok(not r.own["secretsmanager:GetSecretValue"]
    and same_set(r.own, { ["rds-data:ExecuteStatement"] = true, ["sts:GetCallerIdentity"] = true }),
    "the runbook's own statements stay exactly its calls", keys(r.own))
  local arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-admin-AbCdEf"
  r = statements(data_api, { resources = true, args = { "--secret-arn", arn } })
  st = r.by_sid.DataApiReadsTheDatabaseSecret
  ok(r.doc and invalid(r.doc) == nil and st and st.Resource == arn,
    "--resources narrows the Data API's secret to the --secret-arn given", r.text)
  local own_secret = runbook({ "rds-data:ExecuteStatement", "secretsmanager:GetSecretValue" },
    SECRET_PARAM .. ', other = { required = true, help = "another secret" }',
    EXECUTE .. '\n    aws.client("secretsmanager"):GetSecretValue{ SecretId = ctx.params.other }')
  r = statements(own_secret)
  ok(r.doc and invalid(r.doc) == nil and not r.by_sid.DataApiReadsTheDatabaseSecret,
    "an action the runbook already holds on * gets no second statement")
  r = statements(own_secret, { resources = true, args = { "--secret-arn", arn, "--other", "app" },
    region = "eu-west-1", account = "111122223333" })
  local mine, dep = r.by_sid.SecretsmanagerSecret, r.by_sid.DataApiReadsTheDatabaseSecret
  ok(r.doc and mine and mine.Resource:find(":secret:app*", 1, true) and dep and dep.Resource == arn,
    "narrowed to another secret, the runbook's own grant does not cover the Data API's", r.text)
end
do
  local tagged = runbook({ "ec2:CreateSnapshot", "ec2:CreateSecurityGroup" }, "",
    '    ec2:CreateSnapshot{ VolumeId = "vol-1", TagSpecifications = { { ResourceType = "snapshot",\n' ..
    '      Tags = { { Key = "k", Value = "v" } } } } }\n' ..
    '    ec2:CreateSecurityGroup{ GroupName = "g", Description = "d",\n' ..
    '      TagSpecifications = { { ResourceType = "security-group" } } }')
  local r = statements(tagged)
  ok(r.doc and invalid(r.doc) == nil and has(r.by_sid.TagsGivenWhenCreating, "ec2:CreateTags") and not r.own["ec2:CreateTags"],
    "CreateSnapshot/CreateSecurityGroup with TagSpecifications also grant ec2:CreateTags", r.text)
  r = statements(runbook({ "ec2:CreateSnapshot" }, "", '    ec2:CreateSnapshot{ VolumeId = "vol-1" }'))
  ok(r.doc and not r.by_sid.TagsGivenWhenCreating, "CreateSnapshot without TagSpecifications needs no ec2:CreateTags")
  r = statements(runbook({ "ec2:CreateSnapshot" }, "", '    local p = { VolumeId = "vol-1" }\n    ec2:CreateSnapshot(p)'))
  ok(r.doc and has(r.by_sid.TagsGivenWhenCreating, "ec2:CreateTags"),
    "params check cannot read might carry TagSpecifications: ec2:CreateTags is granted")
  r = statements(runbook({ "ec2:CreateSnapshot", "ec2:CreateTags" }, "",
    '    ec2:CreateSnapshot{ VolumeId = "vol-1", TagSpecifications = { { ResourceType = "snapshot" } } }\n' ..
    '    ec2:CreateTags{ Resources = { "vol-1" }, Tags = { { Key = "k", Value = "v" } } }'))
  ok(r.doc and invalid(r.doc) == nil and not r.by_sid.TagsGivenWhenCreating,
    "a runbook that calls CreateTags itself gets no extra statement")
end
do
  local r = statements(runbook({ "lambda:UpdateFunctionConfiguration", "ecs:RunTask" }, "",
    '    lam:UpdateFunctionConfiguration{ FunctionName = "f", Role = "arn:aws:iam::1:role/r" }\n' ..
    '    ecs:RunTask{ taskDefinition = "td:1" }'))
  ok(r.doc and invalid(r.doc) == nil and has(r.by_sid.PassesARoleToTheService, "iam:PassRole"),
    "an operation that passes a role also grants iam:PassRole", r.text)
  r = statements(runbook({ "lambda:UpdateFunctionConfiguration" }, "",
    '    lam:UpdateFunctionConfiguration{ FunctionName = "f", Timeout = 1 }'))
  ok(r.doc and not r.by_sid.PassesARoleToTheService, "UpdateFunctionConfiguration without a Role passes none")
  r = statements(runbook({ "ec2:CopySnapshot", "rds:CopyDBSnapshot" }, "",
    '    ec2:CopySnapshot{ SourceRegion = "eu-west-1", SourceSnapshotId = "snap-1" }\n' ..
    '    rds:CopyDBSnapshot{ SourceDBSnapshotIdentifier = "a", TargetDBSnapshotIdentifier = "b" }'))
  local st = r.by_sid.EncryptedSnapshotCopyUsesKms
  ok(r.doc and invalid(r.doc) == nil and has(st, "kms:CreateGrant") and has(st, "kms:Decrypt") and has(st, "kms:DescribeKey"),
    "snapshot copies (maybe encrypted) also grant kms:CreateGrant and kms:Decrypt", r.text)
end

-- The table itself: every key an operation of an embedded model, every member it names
-- in that operation's input, every action valid and every Sid IAM-legal.
local function operation_of(action)
  local prefix, op = action:match("^([^:]+):(.+)$")
  for _, svc in ipairs(iam.prefixes()[prefix] or {}) do
    local m = models.load(svc)
    if m and m.operations[op] and iam.iam_action(svc, op) == action then return m, op end
  end
end
local table_ok, problems = true, {}
for action, rules in pairs(policy.dependent_actions) do
  local m, op = operation_of(action)
  if not m then table_ok = false; problems[#problems + 1] = action .. ": no such operation" end
  local input = m and models.input(m, op)
  for _, r in ipairs(rules) do
    for _, member in ipairs(r.when or {}) do
      if not (input and input.members[member]) then table_ok = false; problems[#problems + 1] = action .. ": no member " .. member end
    end
    if r.arn and not (input and input.members[r.arn]) then table_ok = false; problems[#problems + 1] = action .. ": no member " .. r.arn end
    if not r.sid:match("^%w+$") then table_ok = false; problems[#problems + 1] = action .. ": Sid " .. r.sid end
    for _, a in ipairs(r.actions) do
      if not iam.valid_syntax(a) or a:find("*", 1, true) then table_ok = false; problems[#problems + 1] = action .. ": " .. a end
    end
  end
end
ok(table_ok, "the dependent-actions table names real operations, members, actions and Sids", table.concat(problems, "\n"))

-- irhost new.
local files = scaffold.files("web-compromise")
ok(files and #files == 2 and files[1].path == "web-compromise.lua" and files[2].path == "tests/web-compromise_test.lua",
  "new writes the runbook and its test")
local diags = check.check_source(files[1].path, files[1].content)
local text = {}
for _, d in ipairs(diags) do text[#text + 1] = d.line .. ":" .. d.col .. ": " .. d.message end
ok(#diags == 0, "the new runbook passes check --strict", table.concat(text, "\n"))
ok(files[1].content:find('name = "web-compromise"', 1, true), "the declaration carries the name")
ok(load(files[2].content, "=test", "t") ~= nil, "the new test compiles")
code, out = run_policy(files[1].path, files[1].content)
doc = json.decode(out)
ok(code == 0 and invalid(doc) == nil, "the new runbook has a valid policy")
if os.execute("command -v luacheck >/dev/null 2>&1") then
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p '" .. dir .. "/tests'"))
  for _, f in ipairs(files) do
    local h = assert(io.open(dir .. "/" .. f.path, "w"))
    h:write(f.content)
    h:close()
  end
  local rc = root .. "/.luacheckrc"
  local lp = io.popen("cd '" .. dir .. "' && luacheck --no-color --config '" .. rc .. "' web-compromise.lua && " ..
    "luacheck --no-color --config '" .. rc .. "' --std irhost+irhost_test tests/web-compromise_test.lua 2>&1")
  local lout = lp:read("a")
  local lok = lp:close()
  os.execute("rm -rf '" .. dir .. "'")
  ok(lok, "luacheck with .luacheckrc passes the new runbook and its test", lout)
else
  T.skip("luacheck on the skeleton", "luacheck (Debian lua-check) is not installed")
end
for _, bad in ipairs({ "", "../evil", "has space", "1st", "a/b", string.rep("x", 65) }) do
  local f, e = scaffold.files(bad)
  ok(f == nil and e:find("is not a runbook name", 1, true), "new refuses the name '" .. bad:sub(1, 12) .. "'")
end

-- The shipped runbooks that need dependent actions get them.
code, out = run_policy("runbooks/rds.lua", read(root .. "/runbooks/rds.lua"), { load_module = module_loader,
  declaration = require("ir.testing").load_declaration("runbooks/rds.lua", T.disk) })
local rds_sids = {}
for _, s in ipairs(code == 0 and json.decode(out).Statement or {}) do rds_sids[s.Sid] = s end
ok(has(rds_sids.DataApiReadsTheDatabaseSecret, "secretsmanager:GetSecretValue") and has(rds_sids.TagsGivenWhenCreating, "ec2:CreateTags"),
  "runbooks/rds.lua: the Data API's secret and the isolation group's tags are granted", out)

-- Every shipped runbook: valid policy whose actions equal the calls it can make.
local shipped = T.shipped()
if #shipped == 0 then T.skip("shipped runbook policies", "no runbooks/*.lua yet") end
for _, path in ipairs(shipped) do
  local src = read(root .. "/" .. path)
  local decl = require("ir.testing").load_declaration(path, T.disk)
  code, out, err = run_policy(path, src, { load_module = module_loader, declaration = decl })
  if next(expected_actions(path, src)) == nil then
    -- No AWS call: no policy (IAM refuses one without statements), and it says so.
    ok(code == 0 and out == "" and err:find("makes no AWS call"), path .. ": no policy for a runbook without AWS calls", err)
    goto continue
  end
  local pdoc = code == 0 and json.decode(out)
  ok(pdoc and invalid(pdoc) == nil, path .. ": policy is a valid IAM policy", err .. (pdoc and tostring((invalid(pdoc))) or ""))
  if pdoc then
    local own, deps = {}, {}
    for _, s in ipairs(pdoc.Statement) do
      for _, a in ipairs(s.Action) do if dep_sids[s.Sid] then deps[a] = s.Sid else own[a] = true end end
    end
    local w = expected_actions(path, src)
    ok(same_set(own, w), path .. ": policy actions equal the calls it can make", keys(own) .. " vs " .. keys(w))
    local allowed = {}
    for a in pairs(w) do
      for _, r in ipairs(policy.dependent_actions[a] or {}) do
        for _, x in ipairs(r.actions) do allowed[x .. " " .. r.sid] = true end
      end
    end
    local stray = {}
    for a, sid in pairs(deps) do if not allowed[a .. " " .. sid] or own[a] then stray[#stray + 1] = a end end
    ok(#stray == 0, path .. ": every other action is one its calls depend on", table.concat(stray, " "))
  end
  ::continue::
end

return T.done()

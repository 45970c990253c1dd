-- `irhost policy` (bindings/lua/ir/policy.lua) and `irhost new` (bindings/lua/ir/scaffold.lua):
-- the policy is valid IAM JSON, one statement per service, actions sorted and equal to the
-- calls the runbook can make; --resources narrows; the skeleton passes check --strict.
-- Run by irhost-lua: tests/run.sh check
local check = require("ir.check")
local policy = require("ir.policy")
local scaffold = require("ir.scaffold")
local iam = require("ir.check.iam")
local json = require("irhost.json")

local root = os.getenv("IRHOST_ROOT") or "."
local n, failed = 0, 0
local function ok(cond, name, detail)
  n = n + 1
  if cond then print("ok " .. n .. " - " .. name)
  else
    failed = failed + 1
    print("not ok " .. n .. " - " .. name)
    if detail then print("# " .. tostring(detail):gsub("\n", "\n# ")) end
  end
end
-- Modules a runbook requires, read the way the broker resolves them (next to the runbook).
local function module_loader(name, from)
  local rel = (from:match("^(.*)/[^/]*$") or ".") .. "/" .. name:gsub("%.", "/") .. ".lua"
  local f = io.open(root .. "/" .. rel, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s, rel
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end
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

-- What a runbook can call: every literal call (as IAM actions) plus the framework's own.
local function expected_actions(path, source, extra)
  local a = check.analyze(path, source, { load_module = module_loader })
  local want = { ["sts:GetCallerIdentity"] = true }
  for _, c in ipairs(a.calls.calls) do want[iam.iam_action(c.service, c.operation)] = true end
  for _, x in ipairs(extra or {}) do want[x] = true end
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
  n = n + 1
  print("ok " .. n .. " - luacheck on the skeleton # SKIP luacheck (Debian lua-check) is not installed")
end
for _, bad in ipairs({ "", "../evil", "has space", "1st", "a/b", string.rep("x", 65) }) do
  local f, e = scaffold.files(bad)
  ok(f == nil and e:find("is not a runbook name", 1, true), "new refuses the name '" .. bad:sub(1, 12) .. "'")
end

-- Every shipped runbook: valid policy whose actions equal the calls it can make.
local shipped = {}
for _, dir in ipairs({ "runbooks", "runbooks/examples" }) do
  local p = io.popen('ls -1 "' .. root .. "/" .. dir .. '" 2>/dev/null')
  local names = {}
  for name in p:lines() do if name:match("%.lua$") then names[#names + 1] = name end end
  p:close()
  table.sort(names)
  for _, name in ipairs(names) do shipped[#shipped + 1] = dir .. "/" .. name end
end
if #shipped == 0 then n = n + 1; print("ok " .. n .. " - shipped runbook policies # SKIP no runbooks/*.lua yet") end
local disk = function(p)
  local f = io.open(root .. "/" .. p, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
for _, path in ipairs(shipped) do
  local src = read(root .. "/" .. path)
  local decl = require("ir.testing").load_declaration(path, disk)
  code, out, err = run_policy(path, src, { load_module = module_loader, declaration = decl })
  local pdoc = code == 0 and json.decode(out)
  ok(pdoc and invalid(pdoc) == nil, path .. ": policy is a valid IAM policy", err .. (pdoc and tostring((invalid(pdoc))) or ""))
  if pdoc then
    local w, g = expected_actions(path, src), actions_of(pdoc)
    ok(same_set(g, w), path .. ": policy actions equal the calls it can make", keys(g) .. " vs " .. keys(w))
  end
end

print("1.." .. n)
return failed == 0

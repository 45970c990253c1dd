-- `irhost check` (bindings/lua/ir/check): the corpus of broken runbooks (one fault each,
-- the exact expected diagnostic beside each file), a clean runbook, the output formats,
-- exit codes, the parser against Lua's own compiler, and .luacheckrc against the sandbox.
-- Run by irhost-lua: tests/run.sh check
local check = require("ir.check")
local json = require("irhost.json")

local T = require("checktest")

local root = T.root
local ok, skip = T.ok, T.skip
local module_loader, read, exists, list = T.module_loader, T.read, T.exists, T.list
local function text_of(diags)
  local out = {}
  for _, d in ipairs(diags) do
    out[#out + 1] = string.format("%s:%d:%d: %s: %s\n", d.file, d.line, d.col, d.severity, d.message)
  end
  return table.concat(out)
end
local function run(files, opts)
  local out = { stdout = {}, stderr = {} }
  opts = opts or {}
  opts.files = files
  opts.write = function(stream, text) table.insert(out[stream], text) end
  local code = check.run(opts)
  return code, table.concat(out.stdout), table.concat(out.stderr)
end

-- The corpus: every file has exactly the diagnostic its .expected file holds.
local corpus = root .. "/tests/check/corpus"
local cases = list(corpus, ".lua")
ok(#cases >= 20, "the corpus holds at least 20 broken runbooks (" .. #cases .. ")")
local rules_seen = {}
for _, name in ipairs(cases) do
  local base = name:sub(1, -5)
  local exp_path = corpus .. "/" .. base .. ".expected"
  if not exists(exp_path) then
    ok(false, name .. ": has its .expected file")
  else
    local diags = check.check_source(name, read(corpus .. "/" .. name))
    local got, want = text_of(diags), read(exp_path)
    ok(got == want, name .. ": " .. want:gsub("\n$", ""), "got:\n" .. got)
    ok(#diags == 1, name .. ": one fault, one diagnostic (" .. #diags .. ")")
    for _, d in ipairs(diags) do rules_seen[d.rule] = true end
  end
end
for _, rule in ipairs({ "syntax", "declaration", "unknown-global", "unknown-field", "aws-call",
    "aws-service", "permission", "permission-missing", "permission-unused", "unused-local",
    "shadowed-local", "global-set" }) do
  ok(rules_seen[rule], "the corpus covers rule " .. rule)
end

-- A clean runbook: nothing to report, exit 0 even under --strict.
local clean_path = root .. "/tests/check/clean/contain.lua"
local clean = read(clean_path)
local clean_diags = check.check_source("contain.lua", clean)
ok(#clean_diags == 0, "the clean runbook has no diagnostic", text_of(clean_diags))
local code = run({ { path = "contain.lua", source = clean } }, { strict = true })
ok(code == 0, "check --strict on the clean runbook exits 0 (" .. tostring(code) .. ")")

-- The clean runbook's analysis is live: each edit below must produce its diagnostic.
local function edited(from, to)
  local s, count = clean:gsub(from:gsub("%p", "%%%0"), (to:gsub("%%", "%%%%")), 1)
  assert(count == 1, "edit not applied: " .. from)
  return text_of(check.check_source("contain.lua", s))
end
local out = edited('"ec2:StopInstances", ', "")
ok(out:find('call ec2:StopInstances needs "ec2:StopInstances" in the declared permissions', 1, true),
  "removing a permission is reported at the call", out)
out = edited('"sts:GetCallerIdentity",', '"sts:GetCallerIdentity", "ec2:RebootInstances",')
ok(out:find("declared permission 'ec2:RebootInstances' is not used", 1, true),
  "an extra permission is reported unused", out)
out = edited("ec2:wait(\"SnapshotCompleted\"", "ec2:wait(\"SnapshotComplete\"")
ok(out:find("unknown waiter 'SnapshotComplete' for ec2 (did you mean 'SnapshotCompleted'?)", 1, true),
  "a waiter typo is reported", out)
out = edited('Tags = { { Key = "irhost:ticket"', 'Tags = { { Kye = "irhost:ticket"')
ok(out:find("ec2:CreateTags.Tags[1]: unknown parameter 'Kye' (did you mean 'Key'?)", 1, true),
  "a typo inside a list of structures is reported with its path", out)
out = edited("asg:DescribeAutoScalingInstances", "asg:describe_auto_scaling_instance")
ok(out:find("did you mean 'describe_auto_scaling_instances'?", 1, true), "snake_case typo suggests snake_case", out)
out = edited("pcall(ec2.CreateSnapshot, ec2, { VolumeId = vol })", "pcall(ec2.CreateSnapshot, ec2, { VolumeID = vol })")
ok(out:find("ec2:CreateSnapshot: unknown parameter 'VolumeID' (did you mean 'VolumeId'?)", 1, true),
  "pcall(client.Op, client, params) is checked like client:Op(params)", out)
out = edited('"ec2:CreateSnapshot", ', "")
ok(out:find('call ec2:CreateSnapshot needs "ec2:CreateSnapshot"', 1, true), "the pcall form needs its permission", out)
out = edited("local volumes = {}", "local volumes = {}\n        local unused_here = 1")
ok(out:find("unused local 'unused_here'", 1, true), "an unused local is reported", out)

-- A client passed to code check cannot see: no guessing about unused permissions.
local escaped = [[
local lib = require("lib.isolate")
local ec2 = aws.client("ec2")
return ir.runbook {
  name = "escape", description = "client handed to a helper",
  permissions = { "ec2:DescribeInstances", "ec2:ModifyNetworkInterfaceAttribute" },
  steps = { { name = "Isolate", run = function(ctx)
    ec2:DescribeInstances{}
    lib.isolate(ec2, ctx.params)
  end } },
}
]]
ok(text_of(check.check_source("escape.lua", escaped)) == "", "an escaped client silences unused-permission warnings")

-- Clients passed to local functions are followed into them.
local followed = [[
local function stop(client, id)
  client:StopInstances{ InstanceIds = { id } }
end
return ir.runbook {
  name = "follow", description = "client handed to a local function",
  params = { instance = { required = true } },
  permissions = { "ec2:DescribeInstances" },
  steps = { { name = "Stop", run = function(ctx)
    local ec2 = aws.client("ec2")
    ec2:DescribeInstances{}
    stop(ec2, ctx.params.instance)
  end } },
}
]]
local fd = text_of(check.check_source("follow.lua", followed))
ok(fd == 'follow.lua:2:10: error: call ec2:StopInstances needs "ec2:StopInstances" in the declared permissions\n',
  "a call inside a local function that receives the client is found", fd)
local mixed = followed:gsub("    stop%(ec2, ctx.params.instance%)", "    stop(ec2, ctx.params.instance)\n    stop(nil, 1)")
  :gsub('"ec2:DescribeInstances" }', '"ec2:DescribeInstances", "ec2:StopInstances", "ec2:RebootInstances" }')
fd = text_of(check.check_source("mixed.lua", mixed))
ok(fd == "", "a parameter that also receives other values is not followed: no unused-permission guess", fd)

-- Syntax errors: Lua's message and line, the parser's column.
local d = check.check_source("s.lua", "local x = \nreturn ir.runbook{ name = 1 ")
ok(#d == 1 and d[1].rule == "syntax" and d[1].line == 2, "a syntax error is one diagnostic at Lua's line", text_of(d))

-- Exit codes and --strict.
local warn_src = read(corpus .. "/27-unused-local.lua")
local err_src = read(corpus .. "/13-unknown-parameter.lua")
ok(run({ { path = "w.lua", source = warn_src } }) == 0, "warnings alone exit 0")
ok(run({ { path = "w.lua", source = warn_src } }, { strict = true }) == 1, "warnings exit 1 under --strict")
local c, so, se = run({ { path = "e.lua", source = err_src }, { path = "w.lua", source = warn_src } })
ok(c == 1, "an error exits 1")
ok(so:find("^e%.lua:15:42: error: ") and so:find("\nw%.lua:16:15: warning: unused local 'count'\n$"),
  "text format: file:line:col: severity: message, one per line", so)
ok(se == "irhost check: 1 error, 1 warning in 2 files\n", "text format ends with a summary on stderr", se)
ok(run({ { path = "e.lua", source = err_src } }, { format = "yaml" }) == 2, "an unknown format is a usage error")
c, so = run({ { path = "x.lua", source = "return ir.runbook{", runtime_error = "x.lua:1: boom" } })
ok(c == 1 and so:find("x.lua:1:1: error: boom", 1, true), "a runtime error from the sandbox is reported", so)

-- JSON.
c, so = run({ { path = "e.lua", source = err_src }, { path = "w.lua", source = warn_src } }, { format = "json" })
local doc = json.decode(so)
ok(c == 1 and doc.errors == 1 and doc.warnings == 1 and doc.files == 2 and #doc.diagnostics == 2,
  "json: counts and diagnostics", so)
local d1 = doc.diagnostics[1]
ok(d1.file == "e.lua" and d1.line == 15 and d1.column == 42 and d1.severity == "error"
  and d1.rule == "aws-call" and d1.message:find("unknown parameter 'InstanceId'"), "json: one diagnostic's fields", so)
c, so = run({ { path = "contain.lua", source = clean } }, { format = "json" })
doc = json.decode(so)
ok(c == 0 and #doc.diagnostics == 0 and so:find('"diagnostics": %[%]'), "json: a clean run has an empty array", so)

-- SARIF 2.1.0.
c, so = run({ { path = "e.lua", source = err_src }, { path = "w.lua", source = warn_src } }, { format = "sarif" })
doc = json.decode(so)
local r = doc.runs and doc.runs[1]
ok(doc.version == "2.1.0" and doc["$schema"]:find("sarif%-2%.1%.0") and r and r.tool.driver.name == "irhost check",
  "sarif: version, schema and driver", so)
ok(c == 1 and r and #r.results == 2 and r.results[1].level == "error" and r.results[2].level == "warning", "sarif: results and levels")
local loc = r and r.results[1].locations[1].physicalLocation
ok(loc and loc.artifactLocation.uri == "e.lua" and loc.region.startLine == 15 and loc.region.startColumn == 42,
  "sarif: physical location")
local rule_ok = r ~= nil
for _, res in ipairs(r and r.results or {}) do
  local rule = r.tool.driver.rules[res.ruleIndex + 1]
  if not rule or rule.id ~= res.ruleId or not rule.shortDescription.text then rule_ok = false end
end
ok(rule_ok, "sarif: every result's ruleIndex points at its rule")

-- The parser agrees with Lua's compiler on what compiles, over mutated real sources.
local sources = {}
for _, f in ipairs(list(root .. "/bindings/lua/ir/check", ".lua")) do
  sources[#sources + 1] = read(root .. "/bindings/lua/ir/check/" .. f)
end
local parser = require("ir.check.parser")
local inserts = { "", "(", "end", "=", "'", "[[", "..", "local", "--[=[", "\\", "0x", "3e", "}", "::", "<const>", "//" }
local semantic = { "goto", "label", "break", "const variable", "multiple to%-be%-closed" }
local seed, disagree, first = 12345, 0, nil
local function rand(k) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k + 1 end
for _, src in ipairs(sources) do
  for _ = 1, 40 do
    local p = rand(#src)
    local mut = src:sub(1, p - 1) .. inserts[rand(#inserts)] .. src:sub(p + rand(4) - 1)
    local fn, lerr = load(mut, "=m", "t")
    local pok, perr = pcall(parser.parse, mut)
    local excused = false
    for _, s in ipairs(semantic) do if lerr and lerr:find(s) then excused = true end end
    if (fn ~= nil) ~= pok and not excused then
      disagree = disagree + 1
      first = first or (tostring(lerr) .. " / " .. (type(perr) == "table" and perr.message or tostring(perr)))
    elseif not pok and type(perr) ~= "table" then
      disagree = disagree + 1
      first = first or ("internal error: " .. tostring(perr))
    end
  end
end
ok(disagree == 0, "parser and Lua agree on " .. (#sources * 40) .. " mutated sources", first)

-- .luacheckrc describes exactly the sandbox's globals.
local sandbox = require("ir.check.sandbox")
local rc_env = { stds = {}, files = {} }
local rc = load(read(root .. "/.luacheckrc"), "=.luacheckrc", "t", rc_env)
rc()
local std = rc_env.stds.irhost
local rc_globals = {}
for k, v in pairs(std.read_globals) do
  if type(k) == "number" then rc_globals[v] = true else rc_globals[k] = v end
end
local mismatch = {}
for _, g in ipairs(sandbox.global_names()) do
  if g ~= "_ENV" and not rc_globals[g] then mismatch[#mismatch + 1] = "missing " .. g end
end
for g in pairs(rc_globals) do
  if not sandbox.is_global(g) then mismatch[#mismatch + 1] = "extra " .. g end
end
for g, def in pairs(rc_globals) do
  local members = sandbox.members(g)
  if type(def) == "table" and members then
    local fields = {}
    for k, v in pairs(def.fields or {}) do fields[type(k) == "number" and v or k] = true end
    for m in pairs(members) do
      if not fields[m] then mismatch[#mismatch + 1] = "missing " .. g .. "." .. m end
    end
  end
end
table.sort(mismatch)
ok(#mismatch == 0, ".luacheckrc globals and fields match ir/check/sandbox.lua", table.concat(mismatch, ", "))
ok(rc_env.std == "irhost", ".luacheckrc makes the sandbox the default std")

-- Debian's luacheck agrees with check on the clean runbook and on sandbox faults.
if os.execute("command -v luacheck >/dev/null 2>&1") then
  local cmd = "cd '" .. root .. "' && luacheck --no-color --codes tests/check/clean/contain.lua "
  local p = io.popen(cmd .. "2>&1")
  local lc = p:read("a")
  local lc_ok = p:close()
  ok(lc_ok, "luacheck with .luacheckrc passes the clean runbook", lc)
  p = io.popen("cd '" .. root .. "' && luacheck --no-color --codes tests/check/corpus/23-sandbox-io.lua " ..
    "tests/check/corpus/24-aws-field-typo.lua tests/check/corpus/25-os-execute.lua 2>&1")
  lc = p:read("a")
  p:close()
  ok(lc:find("undefined variable 'io'", 1, true) and lc:find("undefined field 'clinet'", 1, true)
    and lc:find("undefined field 'execute'", 1, true), "luacheck flags the sandbox faults check flags", lc)
else
  skip("luacheck with .luacheckrc", "luacheck (Debian lua-check) is not installed")
end

-- The runbooks docs/authoring.md shows pass check --strict.
local doc_path = root .. "/docs/authoring.md"
if exists(doc_path) then
  local k = 0
  for block in read(doc_path):gmatch("```lua\n(.-)```") do
    if block:find("ir.runbook", 1, true) then
      k = k + 1
      local diags = check.check_source("authoring.md example " .. k, block)
      ok(#diags == 0, "docs/authoring.md example " .. k .. " passes check --strict", text_of(diags))
    end
  end
end

-- Every shipped runbook passes check --strict.
local shipped = T.shipped()
if #shipped == 0 then skip("shipped runbooks pass check --strict", "no runbooks/*.lua yet") end
for _, path in ipairs(shipped) do
  local d = require("ir.testing").load_declaration(path, T.disk)
  local a = check.analyze(path, read(root .. "/" .. path), { load_module = module_loader, declaration = d })
  local diags = check.check_source(path, read(root .. "/" .. path), { load_module = module_loader, declaration = d })
  ok(#diags == 0, path .. " passes check --strict", text_of(diags))
  ok(a.requires_followed and a.complete, path .. ": check follows every module and client it uses")
end

return T.done()

-- ir.testing: `irhost test FILE...`, runbook tests with no network. A test file (Lua, in a
-- sandbox-like environment) stubs AWS operations, runs a runbook through the real `ir`
-- framework and `aws` clients (parameter validation included), and asserts on the calls
-- made, the steps' results and the report. Stubbed responses are checked against the
-- operation's output shape, so a stub cannot drift from the real API; stubbed errors go
-- through the clients' own error parsers, in the service's wire format.
--
--   run{files = {{path=, source=}...}, load = fn(path) -> source | nil, err,
--       write = fn(stream, text)?} -> exit code (0 all passed, 1 otherwise)
--
-- In a test file: test(name, fn), stub(service, operation, response, {expect = params,
-- times = n}) (response = a result table, {error = {code=, message=, status=}} or a
-- function(params) returning either), run(path, args, {dry_run=, yes=, confirm=}) ->
-- result {exit, message, steps = {[name] = step_end event}, calls (made by the steps, in
-- order: {name = "svc:Op", params, planned}), all_calls, events, evidence, output,
-- stderr, logs, report (markdown), statuses ({[step name] = status}), said (step notes, errors
-- and follow-ups as one text)}, and
-- expect(cond, msg), expect_eq(got, want, what), expect_match(s, pattern), expect_said(r, text),
-- expect_calls(result, {"svc:Op"...}), expect_call(result, "svc:Op", params),
-- expect_no_call(result, "svc:Op"), expect_error(fn, pattern).

local json = require("irhost.json")
local crypto = require("irhost.crypto")
local util = require("ir.util")
local models = require("ir.check.models")
local sandbox = require("ir.check.sandbox")

local M = {}

---------------------------------------------------------------- output shapes

local function hint(word, set)
  local names = {}
  for k in pairs(set or {}) do names[#names + 1] = k end
  table.sort(names)
  local h = util.did_you_mean(word, names)
  return h and (" (did you mean '" .. h .. "'?)") or ""
end

-- nil when value fits shape, else "path: problem".
local function check_shape(m, shape, value, path)
  local t = shape.type
  if t == "structure" then
    if type(value) ~= "table" then return path .. ": expected a table (structure " .. ")" end
    for k, v in pairs(value) do
      local ref = type(k) == "string" and (shape.members or {})[k]
      if not ref then return path .. ": unknown member '" .. tostring(k) .. "'" .. hint(tostring(k), shape.members) end
      local err = check_shape(m, m.shapes[ref.shape], v, path .. "." .. k)
      if err then return err end
    end
  elseif t == "list" then
    if type(value) ~= "table" then return path .. ": expected a list" end
    local n = #value
    for k in pairs(value) do
      if math.type(k) ~= "integer" or k < 1 or k > n then return path .. ": expected a list (sequence)" end
    end
    for i = 1, n do
      local err = check_shape(m, m.shapes[shape.member.shape], value[i], path .. "[" .. i .. "]")
      if err then return err end
    end
  elseif t == "map" then
    if type(value) ~= "table" then return path .. ": expected a map" end
    for k, v in pairs(value) do
      local err = check_shape(m, m.shapes[shape.value.shape], v, path .. "." .. tostring(k))
      if err then return err end
    end
  elseif t == "string" then
    if type(value) ~= "string" then return path .. ": expected a string" end
    if shape.enum then
      local ok = false
      for _, e in ipairs(shape.enum) do if e == value then ok = true end end
      if not ok then return path .. ": '" .. value .. "' is not one of " .. table.concat(shape.enum, ", ") end
    end
  elseif t == "integer" or t == "long" then
    if math.type(value) ~= "integer" then return path .. ": expected an integer" end
  elseif t == "float" or t == "double" then
    if type(value) ~= "number" then return path .. ": expected a number" end
  elseif t == "boolean" then
    if type(value) ~= "boolean" then return path .. ": expected a boolean" end
  elseif t == "timestamp" then
    if type(value) ~= "string" and type(value) ~= "number" then return path .. ": expected a timestamp" end
  elseif t == "blob" then
    if type(value) ~= "string" then return path .. ": expected a string (blob)" end
  end
end
M.check_shape = check_shape

---------------------------------------------------------------- error bodies

local function xml_escape(s)
  return (tostring(s):gsub("[<>&\"]", { ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;", ['"'] = "&quot;" }))
end

-- The error response a service would send, in its protocol's format.
local function error_response(m, e)
  local code, msg, status = e.code or "Error", e.message or "", tostring(e.status or 400)
  local proto = m.metadata.protocol
  if proto == "ec2" then
    return { status = status, headers = {}, body = "<Response><Errors><Error><Code>" .. xml_escape(code) ..
      "</Code><Message>" .. xml_escape(msg) .. "</Message></Error></Errors><RequestID>test</RequestID></Response>" }
  elseif proto == "query" then
    return { status = status, headers = {}, body = "<ErrorResponse><Error><Type>Sender</Type><Code>" ..
      xml_escape(code) .. "</Code><Message>" .. xml_escape(msg) ..
      "</Message></Error><RequestId>test</RequestId></ErrorResponse>" }
  elseif proto == "rest-xml" then
    return { status = status, headers = {}, body = "<Error><Code>" .. xml_escape(code) .. "</Code><Message>" ..
      xml_escape(msg) .. "</Message><RequestId>test</RequestId></Error>" }
  elseif proto == "rest-json" then
    return { status = status, headers = { ["x-amzn-errortype"] = code, ["content-type"] = "application/json" },
      body = json.encode({ message = msg }) }
  end
  return { status = status, headers = { ["content-type"] = "application/x-amz-json-1.1" },
    body = json.encode({ __type = code, message = msg }) }
end

---------------------------------------------------------------- comparisons

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return util.json(v) end
  return tostring(v)
end

-- nil when got equals want (deeply), else where they differ.
local function diff(got, want, path, subset)
  if type(want) ~= "table" or type(got) ~= "table" then
    if got == want then return nil end
    return path .. ": expected " .. describe(want) .. ", got " .. describe(got)
  end
  for k, w in pairs(want) do
    local d = diff(got[k], w, path .. (math.type(k) == "integer" and ("[" .. k .. "]") or ("." .. tostring(k))), subset)
    if d then return d end
  end
  if not subset or util.is_array(want) then
    for k in pairs(got) do
      if want[k] == nil then return path .. ": unexpected " .. tostring(k) .. " = " .. describe(got[k]) end
    end
  end
  return nil
end

---------------------------------------------------------------- paths

local function dirname(p) return p:match("^(.*)/[^/]*$") or "." end
local function join(dir, rel)
  if rel:sub(1, 1) == "/" then return rel end
  local parts = {}
  for seg in (dir .. "/" .. rel):gmatch("[^/]+") do
    if seg == ".." and #parts > 0 and parts[#parts] ~= ".." then parts[#parts] = nil
    elseif seg ~= "." then parts[#parts + 1] = seg end
  end
  return table.concat(parts, "/")
end

---------------------------------------------------------------- environments

local function readonly(t, name)
  return setmetatable({}, { __index = t, __newindex = function()
    error(name .. " is read-only", 2) end, __metatable = false })
end

-- The runner's own sandbox (host/luaenv.c) builds environments with the guards Lua 5.4.4
-- needs (setmetatable without __gc/__mode, getmetatable, collectgarbage, nested
-- coroutine.close); irhost-lua, a trusted test interpreter, has no such module.
local has_sandbox, host_sandbox = pcall(require, "irhost.sandbox")
local guarded = { "setmetatable", "getmetatable", "collectgarbage", "coroutine" }

-- A fresh environment like the runner's sandbox (host/luaenv.c): the allow-listed globals,
-- copies of the libraries, read-only ir/aws/json, require of modules next to `file`.
local function new_env(file, load_file, on_print)
  local env = {}
  for _, k in ipairs(sandbox.values) do
    if k ~= "_ENV" and k ~= "_G" and k ~= "require" and k ~= "print" and k ~= "load" then env[k] = _G[k] end
  end
  for _, lib in ipairs({ "string", "table", "math", "utf8", "coroutine" }) do
    local copy = {}
    for k, v in pairs(_G[lib]) do copy[k] = v end
    copy.dump = nil
    env[lib] = copy
  end
  if has_sandbox then
    local real = host_sandbox.env()
    for _, k in ipairs(guarded) do env[k] = real[k] end
  end
  env.os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime }
  env.ir = readonly(require("ir"), "ir")
  env.aws = readonly(require("aws"), "aws")
  env.json = readonly(json, "json")
  env._G = env
  env.print = function(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    on_print(table.concat(parts, "\t", 1, parts.n))
  end
  env.load = function(chunk, name, mode, e)
    if mode ~= nil and mode ~= "t" then return nil, "load: binary chunks are not allowed (text only)" end
    return load(chunk, name, "t", e or env)
  end
  local modules = {}
  env.require = function(name)
    if name == "ir" or name == "aws" or name == "json" then return env[name] end
    if type(name) ~= "string" or not name:match("^[%w_]+[%w_.]*$") or name:find("..", 1, true) then
      error("require: '" .. tostring(name) .. "' is not a module name", 2)
    end
    if modules[name] ~= nil then return modules[name] end
    -- The broker's rule (host/modpath.h): next to the runbook, then in its lib/.
    local rel = (name:gsub("%.", "/")) .. ".lua"
    local path = join(dirname(file), rel)
    local src, err = load_file(path)
    if not src then
      path = join(dirname(file), "lib/" .. rel)
      src = load_file(path)
    end
    if not src then error("require '" .. name .. "': " .. tostring(err or "not found"), 2) end
    local fn, lerr = load(src, "@" .. path, "t", env)
    if not fn then error(lerr, 0) end
    local v = fn(name)
    if v == nil then v = true end
    modules[name] = v
    return v
  end
  return env
end

---------------------------------------------------------------- one test file

local FAIL = setmetatable({}, { __name = "test failure" })

-- What the framework itself calls, answered unless a test stubs it.
local framework_answers = {
  ["sts:GetCallerIdentity"] = { Account = "111122223333", UserId = "AIDAIRHOSTTEST",
    Arn = "arn:aws:iam::111122223333:user/irhost-test" },
}

local function run_file(file, source, load_file, out)
  local results = { passed = 0, failed = 0 }
  local tests = {}
  local current  -- the running test: {stubs, failures}

  local api = {}
  -- Raises a test failure naming the test file's line (the first frame of that chunk
  -- above us; error() with a level is the one way to learn it without the debug library).
  local function failure(msg)
    local where
    for level = 3, 20 do
      local _, w = pcall(error, "", level)
      if type(w) == "string" and w:find(file, 1, true) then where = w:match("^(.-):%s*$"); break end
    end
    error(setmetatable({ msg = msg, where = where }, FAIL), 0)
  end

  function api.test(name, fn)
    if type(name) ~= "string" or type(fn) ~= "function" then error("test(name, function) expected", 2) end
    tests[#tests + 1] = { name = name, fn = fn }
  end

  function api.stub(service, operation, response, opts)
    if not current then error("stub() belongs inside test(...)", 2) end
    local m = models.load(service)
    if not m then error("stub: unknown service '" .. tostring(service) .. "'", 2) end
    local op = models.operation(m, operation)
    if not op then
      error("stub: unknown operation " .. service .. ":" .. tostring(operation) ..
        hint(tostring(operation), m.operations), 2)
    end
    opts = opts or {}
    if type(response) == "table" and not response.error then
      local shape = m.operations[op].output and m.shapes[m.operations[op].output.shape]
      local err = shape and check_shape(m, shape, response, service .. ":" .. op)
      if err then error("stub " .. err .. " (the response must match the operation's output shape)", 2) end
    end
    local key = service .. ":" .. op
    local list = current.stubs[key] or {}
    list[#list + 1] = { response = response, expect = opts.expect, times = opts.times, used = 0, model = m, op = op }
    current.stubs[key] = list
  end

  -- The fake broker: answers CALLs from the stubs, records everything.
  local function fake_host(result, opts)
    local clock = 1700000000000
    local h = {}
    local options = {
      mode = "run", dry_run = opts.dry_run or false, yes = opts.yes or false, interactive = false,
      region = opts.region or "us-east-1", run_id = "test-run", run_dir = "test", runbook_file = opts.file,
      args = opts.args, resume = { done = {} }, verbose = false, quiet = true, json = false,
    }
    function h.options() return options end
    function h.now_ms() return clock end
    function h.sleep_ms(ms) clock = clock + (tonumber(ms) or 0) end
    local in_step = false
    function h.send(kind, fields)
      if kind == "event" then
        local ev = json.decode(fields.json)
        result.events[#result.events + 1] = ev
        if ev.type == "step_start" then in_step = true elseif ev.type == "step_end" then in_step = false end
      elseif kind == "output" then
        local s = fields.stream == "stderr" and "stderr" or "output"
        result[s] = result[s] .. (fields.text or "")
      elseif kind == "log" then result.logs[#result.logs + 1] = fields.text end
    end
    function h.request(kind, fields)
      if kind == "declare" then result.declared = json.decode(fields.json); return { ok = "1" } end
      if kind == "confirm" then return { answer = opts.confirm or "notty" } end
      if kind == "evidence" then
        result.evidence[fields.name] = fields.content
        return { sha256 = crypto.hex(crypto.sha256(fields.content)), path = "evidence/" .. fields.name,
          size = tostring(#fields.content) }
      end
      if kind == "read_file" then
        local src, err = load_file(join(dirname(file), fields.path))
        if src then return { content = src } end
        return { error = "refused", message = err or "not found" }
      end
      if kind == "secret_gen" then return { handle = "irhost-secret-" .. crypto.hex(crypto.random_bytes(16)) } end
      return { error = "unsupported", message = "irhost test does not support " .. tostring(kind) }
    end
    function h.call(req)
      local key = req.service .. ":" .. req.operation
      local params = req.params and json.decode(req.params) or {}
      local call = { service = req.service, operation = req.operation, name = key, params = params }
      -- What the steps call is the runbook's; the rest (the caller identity) the framework's.
      result.all_calls[#result.all_calls + 1] = call
      if in_step then result.calls[#result.calls + 1] = call end
      local aws = require("aws")
      if options.dry_run and aws.is_mutating(req.service, req.operation) then
        call.planned = true
        return { error = "dryrun", message = "dry run: not sent" }
      end
      local list = current.stubs[key]
      local s
      for _, c in ipairs(list or {}) do
        if not c.times or c.used < c.times then s = c; break end
      end
      if not s and framework_answers[key] then
        return { status = "200", headers = {}, result_json = json.encode(framework_answers[key]) }
      end
      if not s then
        current.failures[#current.failures + 1] = "call " .. key .. " was not stubbed"
        return { error = "NotStubbed", message = "irhost test: no stub for " .. key }
      end
      s.used = s.used + 1
      -- The last stub of a key answers every later call unless it has `times`.
      if s.expect then
        local d = diff(params, s.expect, key, true)
        if d then current.failures[#current.failures + 1] = "unexpected params: " .. d end
      end
      local resp = s.response
      if type(resp) == "function" then
        resp = resp(params)
        if type(resp) == "table" and not resp.error then
          local shape = s.model.operations[s.op].output and s.model.shapes[s.model.operations[s.op].output.shape]
          local err = shape and check_shape(s.model, shape, resp, key)
          if err then current.failures[#current.failures + 1] = "stub " .. err end
        end
      end
      if type(resp) == "table" and type(resp.error) == "table" then return error_response(s.model, resp.error) end
      return { status = "200", headers = {}, result_json = json.encode(resp or {}) }
    end
    return h
  end

  function api.run(path, args, opts)
    if not current then error("run() belongs inside test(...)", 2) end
    opts = opts or {}
    local rb = join(dirname(file), path)
    local src, err = load_file(rb)
    if not src then error("run: cannot read " .. rb .. ": " .. tostring(err), 2) end
    local runbook_args = {}
    for _, a in ipairs(args or {}) do
      if a == "--yes" then opts.yes = true
      elseif a == "--dry-run" then opts.dry_run = true
      else runbook_args[#runbook_args + 1] = a end
    end
    local result = { calls = {}, all_calls = {}, events = {}, logs = {}, evidence = {}, output = "",
      stderr = "", steps = {} }
    opts.args, opts.file = runbook_args, rb
    local host = fake_host(result, opts)
    local env = new_env(rb, load_file, function(text) result.logs[#result.logs + 1] = text end)
    local transport = require("aws.transport")
    local saved = transport.host
    transport.host = function() return host end
    local ok, code, msg = pcall(function()
      local fn, lerr = load(src, "@" .. rb, "t", env)
      if not fn then error(lerr, 0) end
      local d = fn()
      return require("ir").main(d, { host = host })
    end)
    transport.host = saved
    if not ok then
      result.exit, result.message = 1, tostring(code)
      result.error = code
    else
      result.exit, result.message = code, msg
    end
    -- What the run told the responder, in order: step notes, errors and follow-ups.
    local said = {}
    result.statuses = {}
    for _, e in ipairs(result.events) do
      if e.type == "step_end" then result.steps[e.name] = e; result.statuses[e.name] = e.status end
      for _, n in ipairs(e.notes or {}) do said[#said + 1] = n end
      if e.error then said[#said + 1] = e.error end
      if e.type == "followup" then said[#said + 1] = e.text end
    end
    result.said = table.concat(said, "\n")
    local okr, md = pcall(function()
      return require("ir.report").markdown({ version = 1, events = result.events, evidence = {},
        calls = { calls = #result.calls }, exit = result.exit, runner = { status = "exited" } })
    end)
    result.report = okr and md or nil
    return result
  end

  function api.expect(cond, msg) if not cond then failure(msg or "expectation failed") end end
  function api.expect_eq(got, want, what)
    local d = diff(got, want, what or "value", false)
    if d then failure(d) end
  end
  function api.expect_said(r, text)
    if not r.said:find(text, 1, true) then failure("the run does not say: " .. text) end
  end
  function api.expect_match(s, pattern)
    if type(s) ~= "string" or not s:find(pattern) then
      failure(describe(s) .. " does not match " .. describe(pattern))
    end
  end
  local function names(r)
    local list = {}
    for _, c in ipairs(r.calls) do list[#list + 1] = c.name end
    return list
  end
  function api.expect_calls(r, want)
    local got = names(r)
    if diff(got, want, "calls", false) then
      failure("calls: expected " .. table.concat(want, ", ") .. "; made " .. table.concat(got, ", "))
    end
  end
  function api.expect_call(r, name, params)
    for _, c in ipairs(r.calls) do
      if c.name == name and (params == nil or not diff(c.params, params, name, true)) then return c end
    end
    failure("no call " .. name .. (params and (" with " .. util.json(params)) or "") ..
      "; made " .. table.concat(names(r), ", "))
  end
  function api.expect_no_call(r, name)
    for _, c in ipairs(r.calls) do
      if c.name == name then failure("unexpected call " .. name .. " " .. util.json(c.params)) end
    end
  end
  function api.expect_error(fn, pattern)
    local ok, e = pcall(fn)
    if ok then failure("expected an error") end
    if pattern and not tostring(e):find(pattern) then
      failure("error " .. describe(tostring(e)) .. " does not match " .. describe(pattern))
    end
    return e
  end

  local env = new_env(file, load_file, function(text) out("stdout", "# " .. text .. "\n") end)
  for k, v in pairs(api) do env[k] = v end
  local fn, lerr = load(source, "@" .. file, "t", env)
  if not fn then
    out("stdout", "not ok - " .. file .. ": " .. tostring(lerr) .. "\n")
    results.failed = 1
    return results
  end
  local ok, err = pcall(fn)
  if not ok then
    out("stdout", "not ok - " .. file .. ": " .. util.one_line(tostring(err)) .. "\n")
    results.failed = 1
    return results
  end
  for _, t in ipairs(tests) do
    current = { stubs = {}, failures = {} }
    local tok, terr = pcall(t.fn)
    local problems = {}
    if not tok then
      if getmetatable(terr) == FAIL then
        problems[#problems + 1] = (terr.where and (terr.where .. ": ") or "") .. terr.msg
      else
        problems[#problems + 1] = util.one_line(util.error_text(terr))
      end
    end
    for _, f in ipairs(current.failures) do problems[#problems + 1] = f end
    if #problems == 0 then
      results.passed = results.passed + 1
      out("stdout", "ok - " .. file .. ": " .. t.name .. "\n")
    else
      results.failed = results.failed + 1
      out("stdout", "not ok - " .. file .. ": " .. t.name .. "\n")
      for _, p in ipairs(problems) do out("stdout", "    " .. p .. "\n") end
    end
    current = nil
  end
  if #tests == 0 then
    out("stdout", "not ok - " .. file .. ": no test(...) in the file\n")
    results.failed = results.failed + 1
  end
  return results
end

local function default_write(stream, text)
  require("irhost.host").send("output", { stream = stream, text = text })
end

-- Runs a runbook's main chunk (not its steps) in a sandbox-like environment and returns
-- the declaration it returns, or nil, message: for check and policy in tests, where a
-- declaration is assembled at run time.
function M.load_declaration(path, load_file)
  local src, err = load_file(path)
  if not src then return nil, err end
  local env = new_env(path, load_file, function() end)
  local fn, lerr = load(src, "@" .. path, "t", env)
  if not fn then return nil, lerr end
  local ok, d = pcall(fn)
  if not ok then return nil, tostring(d) end
  return d
end

function M.run(opts)
  local write = opts.write or default_write
  local load_file = opts.load or function() return nil, "no file access" end
  local passed, failed = 0, 0
  for _, f in ipairs(opts.files or {}) do
    local r = run_file(f.path, f.source, load_file, write)
    passed, failed = passed + r.passed, failed + r.failed
  end
  write("stdout", passed .. " passed, " .. failed .. " failed\n")
  return failed == 0 and 0 or 1
end

return M

-- Protocol compliance runner: irhost-lua tests/protocol/run.lua SUITE.json...
-- Each file is an AWS SDK protocol suite (input/<protocol>.json: params -> request;
-- output/<protocol>.json: response -> result or error). Prints one TAP line per case and
-- counts per protocol; honours protocol-tests-ignore-list.json next to the suites' folder
-- (IRHOST_PROTOCOL_ALL=1 runs the ignored cases too, to see where irhost stands on them).
local json = require "irhost.json"
local xml = require "irhost.xml"
local modelmod = require "aws.model"
local request = require "aws.request"
local util = require "aws.util"

-- Cases the runner skips beyond the upstream ignore list, with the reason.
local SKIP = {
  -- (none)
}

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function ignore_list(dir)
  local f = io.open(dir .. "/protocol-tests-ignore-list.json", "rb")
  if not f then return { general = {}, protocols = {} } end
  local doc = json.decode(f:read("a"))
  f:close()
  return doc
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

local function ignored(ig, protocol, direction, suite, case)
  local g = ig.general and ig.general[direction]
  if g and set_of(g.suites)[suite] then return true end
  local p = ig.protocols and ig.protocols[protocol] and ig.protocols[protocol][direction]
  if p and (set_of(p.cases)[case] or set_of(p.suites)[suite]) then return true end
  return false
end

-- Deep comparison; returns nil or "path: why".
local SPECIAL = { NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge }
local function equal(a, b, path)
  path = path or ""
  if type(a) == "string" and type(b) == "number" and SPECIAL[a] then a = SPECIAL[a] end
  if type(a) == "number" and type(b) == "string" then
    local t = util.parse_time(b)
    if t and math.abs(t - a) < 0.001 then return nil end
    return string.format("%s: expected %s, got %q", path, tostring(a), b)
  end
  if type(a) == "number" and type(b) == "number" then
    if a == b or (a ~= a and b ~= b) or math.abs(a - b) < 1e-9 * math.max(1, math.abs(a)) then return nil end
    return string.format("%s: expected %s, got %s", path, tostring(a), tostring(b))
  end
  if type(a) ~= "table" or type(b) ~= "table" then
    if a == b then return nil end
    return string.format("%s: expected %s, got %s", path, tostring(a), tostring(b))
  end
  for k, v in pairs(a) do
    if v ~= json.null then
      local e = equal(v, b[k], path .. "." .. tostring(k))
      if e then return e end
    end
  end
  for k, v in pairs(b) do
    if a[k] == nil and not (type(v) == "table" and next(v) == nil and false) then
      return string.format("%s.%s: unexpected value %s", path, tostring(k), tostring(v))
    end
  end
  return nil
end

local function form_pairs(s)
  local out = {}
  for item in (s or ""):gmatch("[^&]+") do
    local k, v = item:match("^([^=]*)=?(.*)$")
    out[#out + 1] = util.urldecode(k) .. "=" .. util.urldecode(v)
  end
  table.sort(out)
  return table.concat(out, "\n")
end

-- Canonical text of an XML value (see bindings/lxml.c for the tree shape).
local function xml_canon(name, v)
  if v == nil then return "" end
  local parts = { "<" .. name }
  if type(v) == "table" and v.attrs then
    for _, k in ipairs(util.sorted_keys(v.attrs)) do parts[#parts + 1] = " " .. k .. "=" .. v.attrs[k] end
  end
  parts[#parts + 1] = ">"
  if type(v) == "string" then
    parts[#parts + 1] = v
  else
    if #v == 0 then parts[#parts + 1] = v.text or "" end
    -- Sibling order is not compared: Lua tables keep no member or map-key order, so params
    -- decoded from the suite's JSON cannot reproduce it (list order is checked by the
    -- query, ec2 and JSON suites, which serialize lists the same way).
    local kids = {}
    for i = 1, #v, 2 do kids[#kids + 1] = { v[i], xml_canon(v[i], v[i + 1]) } end
    table.sort(kids, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[2] < b[2] end)
    for _, k in ipairs(kids) do parts[#parts + 1] = k[2] end
  end
  parts[#parts + 1] = "</" .. name .. ">"
  return table.concat(parts)
end

local function xml_doc_canon(text)
  local doc = xml.parse(text)
  if not doc then return "(not XML)" end
  return xml_canon(doc[1], doc[2])
end

local function compare_body(protocol, expected, actual, ctype)
  actual = actual or ""
  if protocol == "query" or protocol == "ec2" then
    if form_pairs(expected) ~= form_pairs(actual) then
      return "body: expected " .. expected .. "\n#   got      " .. actual
    end
    return nil
  end
  if (protocol == "json" or protocol == "rest-json") and (expected:match("^%s*[{%[]")) then
    local ok, ea = pcall(json.decode, expected)
    local ok2, aa = pcall(json.decode, actual)
    if ok and ok2 then
      local e = equal(ea, aa, "body")
      if e then return e .. "\n#   got " .. actual end
      return nil
    end
    return "body: not JSON: " .. actual
  end
  if protocol == "rest-xml" and expected:match("^%s*<") then
    if xml_doc_canon(expected) ~= xml_doc_canon(actual) then return "body: expected " .. expected .. "\n#   got      " .. actual end
    return nil
  end
  if expected ~= actual then return string.format("body: expected %q, got %q", expected, actual) end
  return nil
end

local function build_model(suite, case)
  local op = case.given
  local doc = { metadata = suite.metadata, shapes = suite.shapes, operations = { [op.name] = op } }
  return modelmod.new(doc, suite.metadata.protocol), op
end

-- JSON null in a case's params means "not given" (botocore's tests read it as None).
local function strip_nulls(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if x ~= json.null then out[k] = strip_nulls(x) end
  end
  return out
end

local function run_input(protocol, suite, case)
  local model, op = build_model(suite, case)
  local req = request.build(model, op, strip_nulls(case.params or {}))
  local exp = case.serialized
  if exp.method and exp.method ~= req.method then
    return "method: expected " .. exp.method .. ", got " .. req.method
  end
  local epath, equery = (exp.uri or "/"):match("^([^?]*)%??(.*)$")
  if epath ~= req.path then return "path: expected " .. epath .. ", got " .. req.path end
  if form_pairs(equery) ~= form_pairs(req.query) then
    return "query: expected " .. equery .. ", got " .. req.query
  end
  for k, v in pairs(exp.headers or {}) do
    local got = req.headers[k:lower()]
    if got ~= v then return string.format("header %s: expected %q, got %q", k, v, tostring(got)) end
  end
  for _, k in ipairs(exp.forbidHeaders or {}) do
    if req.headers[k:lower()] then return "header " .. k .. " must be absent" end
  end
  if exp.host then
    local host = (req.host_prefix or "") .. "example.com"
    if host ~= exp.host then return "host: expected " .. exp.host .. ", got " .. host end
  end
  if exp.body ~= nil then
    return compare_body(suite.metadata.protocol, exp.body, req.body, req.headers["content-type"])
  end
  return nil
end

local function run_output(protocol, suite, case)
  local model, op = build_model(suite, case)
  local resp = case.response
  local headers = {}
  for k, v in pairs(resp.headers or {}) do headers[k:lower()] = v end
  local result, info = request.parse(model, op, resp.status_code, headers, resp.body or "")
  if case.error or case.errorCode then
    if result then return "expected an error, got a result" end
    if case.errorCode and info.code ~= case.errorCode then
      return "error code: expected " .. case.errorCode .. ", got " .. tostring(info.code)
    end
    if case.errorMessage and info.message ~= case.errorMessage then
      return "error message: expected " .. case.errorMessage .. ", got " .. tostring(info.message)
    end
    for k, v in pairs(case.error or {}) do
      if k ~= "Message" and k ~= "message" then
        local e = equal(v, (info.fields or {})[k], "error." .. k)
        if e then return e end
      end
    end
    return nil
  end
  if not result then return "unexpected error: " .. tostring(info.code) .. ": " .. tostring(info.message) end
  return equal(case.result or {}, result, "result")
end

local counts, order = {}, {}
local failures = 0
for _, file in ipairs(arg) do
  local direction = file:match("/(input)/") or file:match("/(output)/") or (file:match("input") and "input" or "output")
  local protocol = file:match("([^/]+)%.json$")
  local proto_key = protocol
  local dir = file:match("^(.*)/[^/]+/[^/]+$") or "."
  local ig = ignore_list(dir)
  local suites = json.decode(read(file))
  local label = protocol .. " " .. direction
  if not counts[label] then counts[label] = { pass = 0, fail = 0, skip = 0 }; order[#order + 1] = label end
  local c = counts[label]
  for _, suite in ipairs(suites) do
    for _, case in ipairs(suite.cases) do
      local id = case.id or case.description or "?"
      local name = string.format("%s %s %s", protocol, direction, id)
      if ignored(ig, proto_key, direction, suite.description, id) and not os.getenv("IRHOST_PROTOCOL_ALL") then
        print("ok - " .. name .. " # SKIP upstream ignore list")
        c.skip = c.skip + 1
      elseif SKIP[id] then
        print("ok - " .. name .. " # SKIP " .. SKIP[id])
        c.skip = c.skip + 1
      else
        local ok, err = pcall(direction == "input" and run_input or run_output, protocol, suite, case)
        if ok and err == nil then
          print("ok - " .. name)
          c.pass = c.pass + 1
        else
          print("not ok - " .. name)
          print("#   " .. tostring(err))
          c.fail = c.fail + 1
          failures = failures + 1
        end
      end
    end
  end
end
for _, label in ipairs(order) do
  local c = counts[label]
  print(string.format("# %-20s %3d passed %3d failed %3d skipped", label, c.pass, c.fail, c.skip))
end
return failures == 0 and 0 or 1

-- Runs in the BROKER's trusted Lua state (host/awsbroker.c), never in the runner:
--   derive(req)                 -> service, operation, mutating | nil, err
--   redact(service, op, json)   -> params JSON with secrets as "***"
--   protect(service, op, status, headers, body) -> result_json, {handle = value} | nil
--   rebuild(service, op, params_json) -> {method, path, query, headers, body, host_prefix}
--                                        | nil, err (a handle outside a sensitive member)
-- The broker trusts none of what the runner claims: it re-derives the operation from the
-- serialized request itself, and keeps secrets in the output out of the runner's reach.
local json = require "irhost.json"
local crypto = require "irhost.crypto"
local util = require "aws.util"
local modelmod = require "aws.model"
local request = require "aws.request"

local M = {}

---------------------------------------------------------------------------------------------
-- derive

local function form_field(s, name)
  for item in (s or ""):gmatch("[^&]+") do
    local k, v = item:match("^([^=]*)=?(.*)$")
    if util.urldecode(k) == name then return util.urldecode(v) end
  end
  return nil
end

local function query_keys(q)
  local keys = {}
  for item in (q or ""):gmatch("[^&]+") do
    local k, v = item:match("^([^=]*)=?(.*)$")
    keys[util.urldecode(k)] = util.urldecode(v)
  end
  return keys
end

-- Lua pattern and what else a request must carry to be this REST operation: the static
-- query of its requestUri ("?acl", "?x-id=GetObject"), and its required query-string and
-- header members (an uploadId makes DeleteObject an AbortMultipartUpload, a copy source
-- makes PutObject a CopyObject).
local templates = setmetatable({}, { __mode = "k" })
local function template(model, op)
  local t = templates[op]
  if t then return t end
  local uri = op.http.requestUri or "/"
  local path, q = uri:match("^([^?]*)%??(.*)$")
  local literal = 0
  local pat = path:gsub("([^{}]*)({?[^}]*}?)", function(lit, label)
    literal = literal + #lit
    local p = lit:gsub("%p", "%%%0")
    if label == "" then return p end
    if label:sub(-2) == "+}" then return p .. ".+" end
    return p .. "[^/]+"
  end)
  local statics, headers = {}, {}
  for item in q:gmatch("[^&]+") do
    local k, v = item:match("^([^=]*)=?(.*)$")
    statics[#statics + 1] = { k, v ~= "" and v or nil }
  end
  local input = op.input and model.shapes[op.input.shape]
  for _, name in ipairs(input and input.required or {}) do
    local ref = input.members[name]
    if ref.location == "querystring" then statics[#statics + 1] = { ref.locationName or name }
    elseif ref.location == "header" then headers[#headers + 1] = (ref.locationName or name):lower() end
  end
  t = { pattern = "^" .. pat .. "/?$", literal = literal, statics = statics, headers = headers }
  templates[op] = t
  return t
end

local function derive_rest(model, req)
  local path = (req.path or "/"):gsub("%%2[Ff]", "/")
  local qkeys = query_keys(req.query)
  local headers = req.headers or {}
  local best, best_score, best_rank
  for name, op in pairs(model.operations) do
    if op.http and op.http.method == req.method then
      local t = template(model, op)
      if path:match(t.pattern) then
        local ok = true
        for _, s in ipairs(t.statics) do
          local v = qkeys[s[1]]
          if v == nil or (s[2] and v ~= s[2]) then ok = false break end
        end
        for _, h in ipairs(t.headers) do
          if headers[h] == nil then ok = false break end
        end
        if ok then
          -- Most specific wins. Wire-identical ones (GetBucketLifecycle and
          -- GetBucketLifecycleConfiguration) tie: the claimed one if it is among them,
          -- else the one not deprecated.
          local score = (#t.statics + #t.headers) * 1000 + t.literal
          local rank = op.deprecated and 0 or 1
          if name == req.operation then rank = 2 end
          if not best_score or score > best_score or (score == best_score and (rank > best_rank or (rank == best_rank and name < best))) then
            best, best_score, best_rank = name, score, rank
          end
        end
      end
    end
  end
  return best
end

-- Which operation a serialized CALL request is, from the request itself.
function M.derive(req)
  if type(req) ~= "table" then return nil, "derive: expected a request table" end
  local service = req.service
  local model, err = modelmod.load(service or "")
  if not model then return nil, "derive: " .. tostring(err) end
  local headers = req.headers or {}
  local protocol = model.metadata.protocol
  local operation
  if protocol == "json" then
    local target = headers["x-amz-target"] or ""
    local prefix, op = target:match("^(.*)%.([^.]+)$")
    if prefix ~= model.metadata.targetPrefix then
      return nil, string.format("derive: X-Amz-Target %q is not a %s operation", target, service)
    end
    operation = op
  elseif protocol == "query" or protocol == "ec2" then
    operation = form_field(req.body, "Action") or form_field(req.query, "Action")
    local version = form_field(req.body, "Version") or form_field(req.query, "Version")
    if version ~= model.metadata.apiVersion then
      return nil, string.format("derive: Version %s is not %s's %s", tostring(version), service, model.metadata.apiVersion)
    end
  else
    operation = derive_rest(model, req)
  end
  if not operation or not model.operations[operation] then
    return nil, string.format("derive: the request matches no %s operation", service)
  end
  return service, operation, modelmod.is_mutating(service, operation)
end

---------------------------------------------------------------------------------------------
-- redact / protect

-- Member names that hold secrets whatever the model says (normalised: lowercase, no _ or -).
local SECRET_NAMES = {
  "password", "passphrase", "secretaccesskey", "secretkey", "secretstring", "secretbinary",
  "privatekey", "sessiontoken", "accesstoken", "refreshtoken", "authtoken", "idtoken",
  "clientsecret", "apikey", "plaintext", "authorizationtoken", "certificatebody",
}

local function secret_name(name)
  if type(name) ~= "string" then return false end
  local n = name:lower():gsub("[_%-]", "")
  for _, s in ipairs(SECRET_NAMES) do
    if n:find(s, 1, true) then return true end
  end
  return false
end
M.secret_name = secret_name

-- Walks a value shaped by ref, calling f(v) for each sensitive string and replacing it by
-- what f returns. Without a model (ref nil), only member names decide.
local function scrub(model, ref, v, f, sensitive, depth)
  if depth > 64 then return v end
  local shape = model and ref and model.shapes[ref.shape]
  if shape and shape.sensitive then sensitive = true end
  if type(v) == "string" then return sensitive and f(v) or v end
  if type(v) ~= "table" then return v end
  local out = {}
  if shape and shape.type == "structure" then
    for k, x in pairs(v) do
      local mref = shape.members and shape.members[k]
      out[k] = scrub(model, mref, x, f, sensitive or secret_name(k), depth + 1)
    end
  elseif shape and shape.type == "list" then
    for i, x in ipairs(v) do out[i] = scrub(model, shape.member, x, f, sensitive, depth + 1) end
    if #out == 0 then out = json.array() end
  elseif shape and shape.type == "map" then
    for k, x in pairs(v) do out[k] = scrub(model, shape.value, x, f, sensitive or secret_name(k), depth + 1) end
  else
    for k, x in pairs(v) do out[k] = scrub(nil, nil, x, f, sensitive or secret_name(k), depth + 1) end
    if next(out) == nil and next(v) == nil then return v end
  end
  return out
end

local function op_of(service, operation)
  local model = modelmod.load(service or "")
  if not model then return nil end
  local op = model:operation(operation or "")
  return model, op
end

-- The params JSON with every sensitive member replaced by "***".
function M.redact(service, operation, params_json)
  local ok, params = pcall(json.decode, params_json or "{}")
  if not ok then return json.encode({ ["***"] = "unreadable params" }) end
  local model, op = op_of(service, operation)
  local out = scrub(model, op and op.input, params, function() return "***" end, false, 0)
  local ok2, text = pcall(json.encode, out)
  return ok2 and text or "{}"
end

-- Does anything reachable from the shape carry a secret (by trait or by member name)?
local sensitive_cache = setmetatable({}, { __mode = "k" })
local function has_sensitive(model, shape_name, seen)
  local shape = model.shapes[shape_name]
  if not shape then return false end
  if shape.sensitive then return true end
  if seen[shape_name] then return false end
  seen[shape_name] = true
  if shape.type == "structure" then
    for k, ref in pairs(shape.members or {}) do
      local t = model.shapes[ref.shape]
      if (secret_name(k) and t and t.type ~= "boolean" and t.type ~= "timestamp") or has_sensitive(model, ref.shape, seen) then return true end
    end
  elseif shape.type == "list" then
    return has_sensitive(model, shape.member.shape, seen)
  elseif shape.type == "map" then
    return has_sensitive(model, shape.value.shape, seen)
  end
  return false
end

local function output_sensitive(model, op)
  local c = sensitive_cache[model] or {}
  sensitive_cache[model] = c
  if c[op] == nil then c[op] = op.output and has_sensitive(model, op.output.shape, {}) or false end
  return c[op]
end

local function new_handle()
  return "irhost-secret-" .. crypto.hex(crypto.random_bytes(16))
end

-- For operations whose output carries secrets: the shaped result as JSON with each secret
-- string replaced by a fresh handle, and the handle -> value map. nil otherwise (and for
-- error responses, which the runner parses itself).
function M.protect(service, operation, status, headers, body)
  local model, op = op_of(service, operation)
  if not op or not output_sensitive(model, op) then return nil end
  local lower = {}
  for k, v in pairs(headers or {}) do lower[k:lower()] = v end
  local result = request.parse(model, op, tonumber(status) or 0, lower, body or "")
  if not result then return nil end
  local secrets = {}
  local out = scrub(model, op.output, result, function(v)
    local h = new_handle()
    secrets[h] = v
    return h
  end, false, 0)
  return json.encode(out), secrets
end

---------------------------------------------------------------------------------------------
-- rebuild: a request that carries secret handles is serialized here, from its params

local HANDLE = "irhost%-secret%-"

-- The first place in params (a dotted member path) where a handle stands outside a member
-- the model marks sensitive (or the redaction list names), or nil. Map keys never qualify.
local function misplaced_handle(model, ref, v, sensitive, path, depth)
  if depth > 64 then return path end
  local shape = ref and model.shapes[ref.shape]
  if shape and shape.sensitive then sensitive = true end
  if type(v) == "string" then
    if v:find(HANDLE) and not sensitive then return path end
    return nil
  end
  if type(v) ~= "table" then return nil end
  local function sub(p) return path == "" and p or path .. "." .. p end
  if shape and shape.type == "structure" then
    for k, x in pairs(v) do
      local key = tostring(k)
      local mref = shape.members and shape.members[k]
      if not mref then
        if key:find(HANDLE) or (type(x) == "string" and x:find(HANDLE)) or type(x) == "table" then
          local bad = misplaced_handle(model, nil, x, false, sub(key), depth + 1)
          if bad or key:find(HANDLE) then return bad or sub(key) end
        end
      else
        local bad = misplaced_handle(model, mref, x, sensitive or secret_name(k), sub(key), depth + 1)
        if bad then return bad end
      end
    end
  elseif shape and shape.type == "list" then
    for i, x in ipairs(v) do
      local bad = misplaced_handle(model, shape.member, x, sensitive, path .. "[" .. i .. "]", depth + 1)
      if bad then return bad end
    end
  elseif shape and shape.type == "map" then
    for k, x in pairs(v) do
      local key = tostring(k)
      if key:find(HANDLE) then return sub(key) end
      local bad = misplaced_handle(model, shape.value, x, sensitive or secret_name(k), sub(key), depth + 1)
      if bad then return bad end
    end
  else
    for k, x in pairs(v) do
      local key = tostring(k)
      if key:find(HANDLE) then return sub(key) end
      local bad = misplaced_handle(model, nil, x, sensitive, sub(key), depth + 1)
      if bad then return bad end
    end
  end
  return nil
end

-- The serialized request for params, built by the broker itself: what the runner sent on
-- the wire is not trusted to put each handle where its params say. nil, err when a handle
-- stands in a member that is not sensitive (AWS may echo such a member back: a tag value,
-- an ID in an error message) or the params do not validate.
function M.rebuild(service, operation, params_json)
  local model, op = op_of(service, operation)
  if not op then return nil, string.format("%s.%s is not an operation of the embedded models", tostring(service), tostring(operation)) end
  local ok, params = pcall(json.decode, params_json or "")
  if not ok or type(params) ~= "table" then return nil, "the request's params are not a JSON object" end
  local bad = misplaced_handle(model, op.input, params, false, "", 0)
  if bad then
    return nil, string.format("a secret handle can only go into a sensitive member (a password, a secret " ..
      "string); %s.%s member %s is not one", service, op.name or operation, bad == "" and "(top level)" or bad)
  end
  local problem = require("aws.validate").params(model, op, params)
  if problem then return nil, string.format("%s.%s: %s", service, op.name or operation, problem) end
  local req = request.build(model, op, params)
  return req
end

return M

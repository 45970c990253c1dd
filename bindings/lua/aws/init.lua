-- The `aws` module runbooks see: clients, errors, pagination and waiters (on clients),
-- parallel calls, model introspection and the broker-side helpers (sign, presign,
-- assume_role, secret generation). docs/aws-api.md is the reference.
local modelmod = require "aws.model"
local client = require "aws.client"
local errors = require "aws.errors"
local transport = require "aws.transport"

local M = {}

-- aws.client("ec2", {region=..., endpoint=..., credentials=handle})
function M.client(service, opts) return client.new(service, opts) end

-- Is e an AWS error object (with that code, when given)?
function M.is_error(e, code) return errors.is_error(e, code) end

-- Runs each function as a coroutine; their AWS calls go out concurrently. Returns the list
-- of results (first return value of each), in order; raises the first error after all end.
function M.parallel(fns)
  if type(fns) ~= "table" then error("aws.parallel: expected a list of functions", 2) end
  local host = transport.host()
  local results, errs, pending, live = {}, {}, {}, 0
  local cos = {}
  local function step(i, ...)
    local co = cos[i]
    local ok, a, b = coroutine.resume(co, ...)
    if not ok then errs[i] = a; live = live - 1; return end
    if coroutine.status(co) == "dead" then results[i] = a; live = live - 1; return end
    if a == "irhost.call" then pending[b] = i
    else errs[i] = "aws.parallel: a task yielded something other than an AWS call"; live = live - 1 end
  end
  for i, f in ipairs(fns) do
    if type(f) ~= "function" then error("aws.parallel: item " .. i .. " is not a function", 2) end
    local co = coroutine.create(f)
    transport.mark_task(co)
    cos[i] = co
    live = live + 1
  end
  for i = 1, #cos do step(i) end
  while live > 0 do
    local ids = {}
    for id in pairs(pending) do ids[#ids + 1] = id end
    if #ids == 0 then break end
    local id, res = host.wait_any(ids)
    local i = pending[id]
    pending[id] = nil
    if i then step(i, res) end
  end
  for i = 1, #cos do
    if errs[i] ~= nil then error(errs[i], 0) end
  end
  return results
end

-- Sorted operation names of a service.
function M.operations(service)
  local m, err = modelmod.load(service)
  if not m then error("aws.operations: " .. err, 2) end
  local out = {}
  for name in pairs(m.operations) do out[#out + 1] = name end
  table.sort(out)
  return out
end

local function copy(v, depth)
  if type(v) ~= "table" or depth > 8 then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x, depth + 1) end
  return out
end

-- A copy of a shape of the service model (or, given an operation name, that operation:
-- {name, http, input, output, errors, mutating, paginated, ...}).
function M.shape(service, name)
  local m, err = modelmod.load(service)
  if not m then error("aws.shape: " .. err, 2) end
  local s = m.shapes[name]
  if s then return copy(s, 0) end
  local op, real = m:operation(name)
  if op then
    local o = copy(op, 0)
    o.mutating = modelmod.is_mutating(service, real)
    o.paginated = m.paginators[real] ~= nil
    return o
  end
  return nil
end

function M.is_mutating(service, operation)
  local m = modelmod.load(service)
  if m then
    local _, real = m:operation(operation)
    operation = real or operation
  end
  return modelmod.is_mutating(service, operation)
end

-- Names of a service's waiters, sorted.
function M.waiters(service)
  local m, err = modelmod.load(service)
  if not m then error("aws.waiters: " .. err, 2) end
  local out = {}
  for n in pairs(m.waiters) do out[#out + 1] = n end
  table.sort(out)
  return out
end

M.services = modelmod.services

local function broker_request(kind, fields)
  local reply = transport.host().request(kind, fields)
  if type(reply) ~= "table" then error("aws." .. kind .. ": no reply from the broker", 3) end
  if reply.error then error("aws." .. kind .. ": " .. tostring(reply.message or reply.error), 3) end
  return reply
end

-- The run's region.
function M.region()
  local o = transport.host().options()
  return o and o.region
end

-- A presigned S3 URL: {method="GET", bucket=, key=, expires=seconds, region=}. The URL carries
-- the session token, so the broker keeps it: this returns its handle (for ctx.handoff) and
-- {expires = ISO time, what = "GET s3://bucket/key"}.
function M.presign(t)
  if type(t) ~= "table" or not t.bucket or not t.key then error("aws.presign: expected {bucket=, key=, [method=, expires=, region=]}", 2) end
  local r = broker_request("presign", { method = t.method or "GET", bucket = t.bucket, key = t.key,
    expires = tostring(t.expires or 3600), region = t.region or "" })
  return r.handle, { expires = r.expires, what = r.what }
end

-- Signs a request the runbook sends elsewhere: returns {url=, headers={...}}; authorization
-- and x-amz-security-token are secret handles (the broker keeps the session token).
function M.sign(t)
  if type(t) ~= "table" then error("aws.sign: expected a request table", 2) end
  local r = broker_request("sign", t)
  return { url = r.url, headers = r.headers or {} }
end

-- Assumes a role in the broker; returns a credentials handle for aws.client{credentials=}.
function M.assume_role(t)
  if type(t) ~= "table" or type(t.role_arn) ~= "string" then error("aws.assume_role: expected {role_arn=, [session_name=, external_id=, duration=]}", 2) end
  local r = broker_request("assume_role", { role_arn = t.role_arn, session_name = t.session_name or "irhost",
    external_id = t.external_id, duration = t.duration and tostring(t.duration) or nil })
  return r.handle, { arn = r.arn, expiration = r.expiration }
end

M.secret = {}
-- A password generated and kept by the broker; returns its handle.
function M.secret.generate(t)
  t = t or {}
  local r = broker_request("secret_gen", { length = tostring(t.length or 32), charset = t.charset or "alnumsym" })
  return r.handle
end

setmetatable(M, { __index = function(_, k)
  if k == "broker" then return require "aws.broker" end
  if k == "derive" then return require("aws.broker").derive end
end })

return M

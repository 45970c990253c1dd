-- Service clients: ec2:DescribeInstances{...} / ec2:describe_instances{...}, validated,
-- serialized for the model's protocol, sent through the broker, shaped on the way back.
local json = require "irhost.json"
local modelmod = require "aws.model"
local validate = require "aws.validate"
local request = require "aws.request"
local errors = require "aws.errors"
local transport = require "aws.transport"

local M = {}

local Client = {}

-- Services signed in us-east-1 on one global endpoint in the aws partition.
local GLOBAL = { iam = true, organizations = true }

local function refuse(code, message, service, operation, retryable)
  return errors.new({ code = code, message = message, retryable = retryable or false }, service, operation)
end

local function unknown_operation(self, name)
  local s = validate.suggest(name, self._model.operations) or validate.suggest(name, self._model.by_snake)
  return string.format("%s: no operation %s%s", self._service, tostring(name),
    s and (" (did you mean " .. s .. "?)") or "")
end

-- The params as the audit log and the run report see them: top-level blobs (an S3 object
-- body, a Lambda payload) as "<N bytes>" rather than megabytes of escaped bytes.
local function audit_params(model, op, params)
  local input = op.input and model.shapes[op.input.shape]
  if not input or not input.members then return params end
  local out = params
  for name, ref in pairs(input.members) do
    local v = params[name]
    local shape = model.shapes[ref.shape]
    if type(v) == "string" and (shape.type == "blob" or (input.payload == name and shape.streaming)) then
      if out == params then
        out = {}
        for k, x in pairs(params) do out[k] = x end
      end
      out[name] = string.format("<%d bytes>", #v)
    end
  end
  return out
end

-- The CALL request table for an operation (raises on bad params, at `level`).
function Client:_request(opname, params, level)
  local op, name = self._model:operation(opname)
  if not op then error(unknown_operation(self, opname), level + 1) end
  local problem = validate.params(self._model, op, params)
  if problem then error(string.format("%s:%s: %s", self._service, name, problem), level + 1) end
  local req, filled = request.build(self._model, op, params)
  local md = self._model.metadata
  req.service = self._service
  req.operation = name
  req.signing_name = md.signingName or md.endpointPrefix
  req.endpoint_prefix = md.endpointPrefix
  req.global = (GLOBAL[self._service] or (md.globalEndpoint and self._service ~= "s3" and self._service ~= "sts")) and "1" or "0"
  req.region = self._opts.region or ""
  req.endpoint = self._opts.endpoint
  req.credentials = self._opts.credentials
  -- A request with secret handles is serialized again by the broker from its params (so
  -- that a handle goes only into a sensitive member): then the params must be complete.
  local handles = (req.body or ""):find("irhost-secret-", 1, true) or (req.query or ""):find("irhost-secret-", 1, true)
  for _, v in pairs(req.headers or {}) do
    if type(v) == "string" and v:find("irhost-secret-", 1, true) then handles = true end
  end
  local ok, pj = pcall(json.encode, handles and (filled or {}) or audit_params(self._model, op, filled or {}))
  req.params = ok and pj or "{}"
  return req, op, name
end

-- Turns a CALL_RESULT into the shaped result, or raises an error object at `level`.
function Client:_result(op, name, res, level)
  if type(res) ~= "table" then
    error(refuse("TransportError", "no result from the broker", self._service, name, true), level + 1)
  end
  if res.error then
    if res.error == "dryrun" then return { dry_run = true } end
    local e = refuse(res.error == "denied" and "PermissionNotDeclared" or
      res.error == "cap" and "CallCapReached" or res.error == "credentials" and "CredentialsError" or
      res.error == "transport" and "TransportError" or tostring(res.error),
      res.message or res.error, self._service, name, res.error == "transport")
    error(e, level + 1)
  end
  if res.result_json then
    local ok, v = pcall(json.decode, res.result_json)
    if ok then return v end
    error(refuse("MalformedResponse", "result_json is not JSON", self._service, name), level + 1)
  end
  local status = tonumber(res.status) or 0
  local result, err = request.result(self._model, op, self._service, status, res.headers or {}, res.body or "")
  if result then return result end
  if not err.request_id then err.request_id = res.request_id end
  error(err, level + 1)
end

-- Calls an operation by name; raises on invalid params or an AWS error.
function Client:call(opname, params)
  local req, op, name = self:_request(opname, params, 2)
  local res = transport.call(req)
  return self:_result(op, name, res, 2)
end

-- pcall-free form: result or nil, error object (validation problems still raise).
function Client:try(opname, params)
  local req, op, name = self:_request(opname, params, 2)
  local res = transport.call(req)
  local ok, r = pcall(self._result, self, op, name, res, 1)
  if ok then return r end
  return nil, r
end

function Client:paginate(opname, params, opts)
  return require("aws.paginate").iterate(self, opname, params, opts)
end

function Client:wait(waiter, params, opts)
  return require("aws.wait").wait(self, waiter, params, opts)
end

function Client:operations()
  local out = {}
  for name in pairs(self._model.operations) do out[#out + 1] = name end
  table.sort(out)
  return out
end

local methods = {}
for k, v in pairs(Client) do methods[k] = v end

local ClientMT = {
  __name = "aws.client",
  __index = function(self, key)
    local m = methods[key]
    if m then return m end
    if type(key) ~= "string" then return nil end
    local op, name = self._model:operation(key)
    if not op then
      if key:sub(1, 1) == "_" then return nil end
      error(unknown_operation(self, key), 2)
    end
    local f = function(client, params)
      if client ~= self then error(string.format("%s:%s: call it as %s:%s{...} (with a colon)", self._service, name, self._service, key), 2) end
      local req, o, n = self:_request(name, params, 2)
      local res = transport.call(req)
      return self:_result(o, n, res, 2)
    end
    rawset(self, key, f)
    return f
  end,
  __tostring = function(self) return "aws.client(" .. self._service .. ")" end,
}

local cache = {}

-- aws.client(service, {region, endpoint, credentials}): cached per service and options.
function M.new(service, opts)
  if type(service) ~= "string" then error("aws.client: service must be a string, e.g. \"ec2\"", 3) end
  if opts ~= nil and type(opts) ~= "table" then error("aws.client: options must be a table", 3) end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "region" and k ~= "endpoint" and k ~= "credentials" then
      error("aws.client: unknown option " .. tostring(k) .. " (region, endpoint, credentials)", 3)
    end
  end
  local key = table.concat({ service, opts.region or "", opts.endpoint or "", opts.credentials or "" }, "\0")
  if cache[key] then return cache[key] end
  local model, err = modelmod.load(service)
  if not model then
    local s = validate.suggest(service, (function() local t = {} for _, n in ipairs(modelmod.services()) do t[n] = true end return t end)())
    error(string.format("aws.client: %s%s", err, s and (" (did you mean " .. s .. "?)") or ""), 3)
  end
  local c = setmetatable({
    _service = service, _model = model,
    _opts = { region = opts.region, endpoint = opts.endpoint, credentials = opts.credentials },
  }, ClientMT)
  cache[key] = c
  return c
end

M.Client = methods
return M

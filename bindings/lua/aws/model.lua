-- AWS API models: loading the embedded ones, looking up operations and shapes, and the
-- one rule for which operations are read-only.
local json = require "irhost.json"
local util = require "aws.util"

local M = {}
local Model = {}
Model.__index = Model

local cache = {}

-- Wraps a decoded model document {metadata, operations, shapes, paginators, waiters}.
function M.new(doc, id)
  local m = setmetatable({
    id = id or (doc.metadata and doc.metadata.endpointPrefix) or "?",
    metadata = doc.metadata or {},
    operations = doc.operations or {},
    shapes = doc.shapes or {},
    paginators = doc.paginators or {},
    waiters = doc.waiters or {},
    by_snake = {},
  }, Model)
  for name in pairs(m.operations) do m.by_snake[util.snake(name)] = name end
  return m
end

-- The embedded model of a service ("ec2"), cached; nil, err if irhost has none.
function M.load(service)
  local m = cache[service]
  if m then return m end
  if type(service) ~= "string" then return nil, "service name must be a string" end
  local doc, err = json.model(service)
  if not doc then return nil, err end
  m = M.new(doc, service)
  cache[service] = m
  return m
end

-- Service ids irhost embeds models for (sorted). Kept in step with scripts/genmodels.py.
local SERVICES = {
  "account", "autoscaling", "cloudtrail", "detective", "ec2", "ecs", "elb", "elbv2",
  "guardduty", "iam", "kms", "lambda", "organizations", "rds", "rds-data", "s3", "s3control",
  "secretsmanager", "sns", "ssm", "sts",
}
function M.services()
  local out = {}
  for i, s in ipairs(SERVICES) do out[i] = s end
  return out
end

-- Operation by model name or snake_case name, or nil.
function Model:operation(name)
  local op = self.operations[name]
  if op then return op, name end
  local real = self.by_snake[name]
  if real then return self.operations[real], real end
  return nil
end

-- The shape a member reference or operation input/output points at.
function Model:shape(ref)
  if ref == nil then return nil end
  local s = self.shapes[ref.shape]
  if not s then error("model " .. self.id .. ": unknown shape " .. tostring(ref.shape), 2) end
  return s
end

-- A trait of a member reference, falling back to the shape it targets (botocore merges both).
function Model:trait(ref, key)
  local v = ref[key]
  if v ~= nil then return v end
  local s = self.shapes[ref.shape]
  return s and s[key]
end

function Model:protocol() return self.metadata.protocol end

-- Read-only verbs. An operation is mutating unless its name starts with one of these
-- (followed by a capital letter or nothing). This is the only place irhost decides it; when
-- in doubt a verb stays mutating (a dry run skips it), e.g. Scan, Verify (SES sends mail),
-- Test (API Gateway's TestInvokeMethod runs code), Generate, Export.
local READ_PREFIXES = {
  "Describe", "List", "Get", "Lookup", "Search", "Head", "BatchGet", "Check", "Query",
  "Select", "Validate", "Estimate", "Preview", "Simulate", "Decode", "Download",
}
-- Operations whose verb reads like a read but that mint credentials: treated as mutating.
local WRITE_OPERATIONS = {
  ["sts:GetSessionToken"] = true,
  ["sts:GetFederationToken"] = true,
}

-- Is service:operation a call that changes something (what dry runs skip and caps count)?
function M.is_mutating(service, operation)
  local key = service .. ":" .. operation
  if WRITE_OPERATIONS[key] then return true end
  for _, p in ipairs(READ_PREFIXES) do
    if operation:sub(1, #p) == p then
      local nxt = operation:sub(#p + 1, #p + 1)
      if nxt == "" or nxt:match("%u") then return false end
    end
  end
  return true
end

return M

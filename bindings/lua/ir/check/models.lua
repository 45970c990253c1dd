-- The embedded AWS models as `irhost check` and `irhost policy` see them: a thin view over
-- aws.model (the clients' loader) so both read exactly what the clients will send.

local model = require("aws.model")

local M = {}

-- Services whose models irhost embeds. aws.model.services() is the truth when the clients
-- provide it; otherwise the services issue 4 lists, those that load.
local fallback_services = {
  "account", "autoscaling", "cloudtrail", "detective", "ec2", "ecs", "elb", "elbv2",
  "guardduty", "iam", "kms", "lambda", "organizations", "rds", "rds-data", "s3", "s3control",
  "secretsmanager", "sns", "ssm", "sts",
}

local services_cache
-- Sorted list of embedded service ids.
function M.services()
  if services_cache then return services_cache end
  local list = {}
  if type(model.services) == "function" then
    list = model.services()
  else
    for _, s in ipairs(fallback_services) do
      if model.load(s) then list[#list + 1] = s end
    end
  end
  table.sort(list)
  services_cache = list
  return list
end

-- The model of service id (aws.model object), or nil.
function M.load(service)
  if type(service) ~= "string" then return nil end
  return (model.load(service))
end

-- Canonical operation name for name (model name or snake_case), or nil.
function M.operation(m, name)
  local op, real = m:operation(name)
  return op and real or nil
end

-- Sorted operation names of a model.
function M.operation_names(m)
  if m._sorted_ops then return m._sorted_ops end
  local out = {}
  for name in pairs(m.operations) do out[#out + 1] = name end
  table.sort(out)
  m._sorted_ops = out
  return out
end

-- Sorted snake_case operation names of a model (describe_instances).
function M.snake_names(m)
  if m._sorted_snake then return m._sorted_snake end
  local out = {}
  for name in pairs(m.by_snake) do out[#out + 1] = name end
  table.sort(out)
  m._sorted_snake = out
  return out
end

-- The input structure shape of an operation (nil when it takes no input).
function M.input(m, operation)
  local op = m.operations[operation]
  return op and op.input and m.shapes[op.input.shape] or nil
end

-- Resolves a member reference {shape = name} to its shape.
function M.shape(m, ref)
  return ref and m.shapes[ref.shape] or nil
end

M.is_mutating = model.is_mutating

return M

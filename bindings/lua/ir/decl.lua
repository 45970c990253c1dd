-- ir.decl: validates a runbook declaration (ir.runbook{...}) and normalizes it. Every
-- message names the field, so a typo in a runbook is found by `irhost check`, not mid-incident.
local util = require("ir.util")
local params = require("ir.params")

local M = {}

local top_fields = {
  name = true, description = true, params = true, permissions = true, steps = true,
  rates = true, followups = true, version = true, validate = true,
}
local step_fields = {
  name = true, run = true, destructive = true, continue_on_error = true, when = true,
  description = true, confirm = true,
}

local function unknown(where, k, known)
  local hint = type(k) == "string" and util.did_you_mean(k, util.sorted_keys(known))
  return where .. "unknown field " .. tostring(k) .. (hint and (" (did you mean " .. hint .. "?)") or "")
end

-- Returns the normalized declaration {name, description, specs, param_names, permissions,
-- steps, rates, followups} or nil, message.
-- Whether a run calls AWS at all: the runbook declares an action, or evidence goes to S3.
function M.uses_aws(n, values)
  return #n.permissions > 0 or (values ~= nil and values.evidence_bucket ~= nil)
end

function M.validate(d)
  if type(d) ~= "table" then return nil, "ir.runbook expects a table" end
  for k in pairs(d) do
    if not top_fields[k] then return nil, unknown("", k, top_fields) end
  end
  if type(d.name) ~= "string" or not d.name:match("^[%w][%w._-]*$") then
    return nil, "name must be a string of letters, digits, '.', '_' or '-' (e.g. \"ec2-compromise\")"
  end
  if type(d.description) ~= "string" or d.description == "" then
    return nil, "description must be a non-empty string"
  end
  local specs, names = params.declare(d.params)
  if not specs then return nil, names end

  if type(d.permissions) ~= "table" then return nil, "permissions must be a list of IAM actions (\"ec2:DescribeInstances\")" end
  local perms, seen = {}, {}
  for i, p in ipairs(d.permissions) do
    if type(p) ~= "string" or not p:match("^[%w-]+:[%w*]+$") then
      return nil, "permissions[" .. i .. "]: '" .. tostring(p) .. "' is not an IAM action like \"ec2:DescribeInstances\""
    end
    if not seen[p] then perms[#perms + 1] = p; seen[p] = true end
  end
  for k in pairs(d.permissions) do
    if math.type(k) ~= "integer" or k < 1 or k > #d.permissions then
      return nil, "permissions must be a list (found key " .. tostring(k) .. ")"
    end
  end

  if type(d.steps) ~= "table" or #d.steps == 0 then return nil, "steps must be a non-empty list of steps" end
  local steps, names_seen = {}, {}
  for i, s in ipairs(d.steps) do
    local where = "steps[" .. i .. "]"
    if type(s) ~= "table" then return nil, where .. " must be a table" end
    for k in pairs(s) do
      if not step_fields[k] then return nil, unknown(where .. ": ", k, step_fields) end
    end
    if type(s.name) ~= "string" or s.name == "" then return nil, where .. ".name must be a non-empty string" end
    where = where .. " (" .. s.name .. ")"
    if names_seen[s.name] then return nil, where .. ": the name is used by another step" end
    names_seen[s.name] = true
    if type(s.run) ~= "function" then return nil, where .. ".run must be a function(ctx)" end
    if s.when ~= nil and type(s.when) ~= "function" then return nil, where .. ".when must be a function(ctx)" end
    if s.confirm ~= nil and type(s.confirm) ~= "string" then return nil, where .. ".confirm must be a string (the prompt)" end
    if s.description ~= nil and type(s.description) ~= "string" then return nil, where .. ".description must be a string" end
    steps[i] = {
      index = i, name = s.name, run = s.run, when = s.when, description = s.description,
      destructive = s.destructive and true or false,
      continue_on_error = s.continue_on_error and true or false,
      confirm = s.confirm,
    }
  end

  local rates = {}
  if d.rates ~= nil then
    if type(d.rates) ~= "table" then return nil, "rates must be a table {service = calls per second}" end
    for k, v in pairs(d.rates) do
      if type(k) ~= "string" or type(v) ~= "number" or v <= 0 then
        return nil, "rates." .. tostring(k) .. " must be a positive number (calls per second)"
      end
      rates[k] = v
    end
  end

  local followups = {}
  if d.followups ~= nil then
    if type(d.followups) ~= "table" then return nil, "followups must be a list of strings or functions(ctx)" end
    for i, f in ipairs(d.followups) do
      if type(f) ~= "string" and type(f) ~= "function" then
        return nil, "followups[" .. i .. "] must be a string or a function(ctx)"
      end
      followups[i] = f
    end
  end

  if d.validate ~= nil and type(d.validate) ~= "function" then
    return nil, "validate must be a function(params) returning nil or an error message"
  end

  return {
    validate = d.validate,
    name = d.name, description = d.description, specs = specs, param_names = names,
    permissions = perms, steps = steps, rates = rates, followups = followups,
  }
end

return M

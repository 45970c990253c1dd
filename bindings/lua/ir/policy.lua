-- ir.policy: `irhost policy RUNBOOK`, the least-privilege IAM policy for a runbook's
-- responder role. Read statically (no runbook code runs): the declared permissions plus
-- what the framework itself calls (ir.permissions), each mapped to the IAM action that
-- authorizes it (ir.check.iam), one statement per service with actions sorted, then the
-- actions AWS requires for those calls although the runbook never makes them (dependent
-- actions: tags given at creation, the Data API's secret, iam:PassRole, KMS for snapshot
-- copies), one statement per reason, its Sid saying which.
--
-- With `resources = true` and the param values the user gives (`--instance i-0abc`,
-- `--evidence-bucket b`), an action whose every call passes one param as the resource it
-- acts on gets its own statement limited to that resource's ARN. Only actions AWS
-- authorizes at that resource level are narrowed (the table below); the rest keep "*".
--
--   run{path, source, resources = bool, args = {"--instance", "i-1"...} or values = {...},
--       region = "*", account = "*", partition = "aws", write = fn(stream, text)?,
--       load_module = ?, declaration = ? (as ir.check.run)} -> exit code
--   document(actions, narrowed, dependents) -> policy table;  text(policy) -> JSON text

local check = require("ir.check")
local iam = require("ir.check.iam")
local models = require("ir.check.models")
local util = require("ir.util")

local M = {}

-- IAM action -> the request member that names its resource, the ARN it becomes (AWS
-- Service Authorization Reference; ${v} is the param value) and the statement's Sid suffix.
local INSTANCE = "arn:${partition}:ec2:${region}:${account}:instance/${v}"
local ROLE = "arn:${partition}:iam::${account}:role/${v}"
local USER = "arn:${partition}:iam::${account}:user/${v}"
local BUCKET, OBJECTS = "arn:${partition}:s3:::${v}", "arn:${partition}:s3:::${v}/*"
local FUNCTION = "arn:${partition}:lambda:${region}:${account}:function:${v}"
local SECRET = "arn:${partition}:secretsmanager:${region}:${account}:secret:${v}*"
M.resource_arns = {
  ["ec2:StopInstances"] = { "InstanceIds", INSTANCE, "Instance" },
  ["ec2:StartInstances"] = { "InstanceIds", INSTANCE, "Instance" },
  ["ec2:RebootInstances"] = { "InstanceIds", INSTANCE, "Instance" },
  ["ec2:TerminateInstances"] = { "InstanceIds", INSTANCE, "Instance" },
  ["ec2:MonitorInstances"] = { "InstanceIds", INSTANCE, "Instance" },
  ["ec2:ModifyInstanceAttribute"] = { "InstanceId", INSTANCE, "Instance" },
  ["ec2:GetConsoleOutput"] = { "InstanceId", INSTANCE, "Instance" },
  ["ec2:GetConsoleScreenshot"] = { "InstanceId", INSTANCE, "Instance" },
  ["iam:GetRole"] = { "RoleName", ROLE, "Role" },
  ["iam:PutRolePolicy"] = { "RoleName", ROLE, "Role" },
  ["iam:DeleteRolePolicy"] = { "RoleName", ROLE, "Role" },
  ["iam:ListRolePolicies"] = { "RoleName", ROLE, "Role" },
  ["iam:ListAttachedRolePolicies"] = { "RoleName", ROLE, "Role" },
  ["iam:AttachRolePolicy"] = { "RoleName", ROLE, "Role" },
  ["iam:DetachRolePolicy"] = { "RoleName", ROLE, "Role" },
  ["iam:UpdateAssumeRolePolicy"] = { "RoleName", ROLE, "Role" },
  ["iam:ListAccessKeys"] = { "UserName", USER, "User" },
  ["iam:UpdateAccessKey"] = { "UserName", USER, "User" },
  ["iam:DeleteLoginProfile"] = { "UserName", USER, "User" },
  ["iam:PutUserPolicy"] = { "UserName", USER, "User" },
  ["s3:PutObject"] = { "Bucket", OBJECTS, "Object" },
  ["s3:GetObject"] = { "Bucket", OBJECTS, "Object" },
  ["s3:ListBucket"] = { "Bucket", BUCKET, "Bucket" },
  ["s3:GetBucketPolicy"] = { "Bucket", BUCKET, "Bucket" },
  ["s3:PutBucketPolicy"] = { "Bucket", BUCKET, "Bucket" },
  ["s3:PutBucketPublicAccessBlock"] = { "Bucket", BUCKET, "Bucket" },
  ["lambda:GetFunction"] = { "FunctionName", FUNCTION, "Function" },
  ["lambda:PutFunctionConcurrency"] = { "FunctionName", FUNCTION, "Function" },
  ["lambda:UpdateFunctionConfiguration"] = { "FunctionName", FUNCTION, "Function" },
  ["secretsmanager:GetSecretValue"] = { "SecretId", SECRET, "Secret" },
  ["secretsmanager:RotateSecret"] = { "SecretId", SECRET, "Secret" },
  ["secretsmanager:PutSecretValue"] = { "SecretId", SECRET, "Secret" },
}

-- Actions AWS checks besides the one a call names (the "Dependent actions" of the Service
-- Authorization Reference): a runbook never calls them, yet without them the call is denied
-- mid-incident. IAM action of the call -> rules, each {actions, sid = why (the statement's
-- Sid), when = request members any of which triggers it (nil: every call), arn = member
-- naming the dependent resource as a full ARN (narrowed with --resources)}.
local TAGS = { actions = { "ec2:CreateTags" }, sid = "TagsGivenWhenCreating", when = { "TagSpecifications" } }
local DATA_API = { actions = { "secretsmanager:GetSecretValue" }, sid = "DataApiReadsTheDatabaseSecret",
  arn = "secretArn" }
local function pass_role(members)
  return { actions = { "iam:PassRole" }, sid = "PassesARoleToTheService", when = members }
end
local KMS_COPY = "EncryptedSnapshotCopyUsesKms"
M.dependent_actions = {
  ["rds-data:ExecuteStatement"] = { DATA_API },
  ["rds-data:BatchExecuteStatement"] = { DATA_API },
  ["rds-data:BeginTransaction"] = { DATA_API },
  ["rds-data:CommitTransaction"] = { DATA_API },
  ["rds-data:RollbackTransaction"] = { DATA_API },
  ["ec2:CreateSecurityGroup"] = { TAGS },
  ["ec2:CreateSnapshot"] = { TAGS },
  ["ec2:CreateSnapshots"] = { TAGS },
  ["ec2:CreateVolume"] = { TAGS },
  ["ec2:CreateNetworkAcl"] = { TAGS },
  ["ec2:RunInstances"] = { TAGS, pass_role({ "IamInstanceProfile" }) },
  -- Whether the source snapshot is encrypted is unknown before the run: always grant.
  ["ec2:CopySnapshot"] = { TAGS, { actions = { "kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo" }, sid = KMS_COPY } },
  ["rds:CopyDBSnapshot"] = { { actions = { "kms:CreateGrant", "kms:DescribeKey" }, sid = KMS_COPY } },
  ["ec2:AssociateIamInstanceProfile"] = { pass_role() },
  ["ec2:ReplaceIamInstanceProfileAssociation"] = { pass_role() },
  ["ecs:RegisterTaskDefinition"] = { pass_role({ "taskRoleArn", "executionRoleArn" }) },
  -- The task definition's task and execution roles are passed on every run.
  ["ecs:RunTask"] = { pass_role() },
  ["ecs:StartTask"] = { pass_role() },
  ["lambda:CreateFunction"] = { pass_role() },
  ["lambda:UpdateFunctionConfiguration"] = { pass_role({ "Role" }) },
  ["rds:ModifyDBInstance"] = { pass_role({ "MonitoringRoleArn", "DomainIAMRoleName" }) },
  ["ssm:SendCommand"] = { pass_role({ "ServiceRoleArn" }) },
}

-- The framework's own s3:PutObject goes to the --evidence-bucket (ir.permissions).
local framework_resources = { ["s3:PutObject"] = "evidence_bucket" }

-- The IAM action authorizing a declared permission "prefix:Operation" (wildcards kept).
function M.iam_action(perm)
  if perm == "*" or perm:find("[*?]") then return perm end
  local prefix, op = perm:match("^([^:]+):(.+)$")
  for _, s in ipairs(iam.prefixes()[prefix] or {}) do
    local m = models.load(s)
    if m and m.operations[op] then return iam.iam_action(s, op) end
  end
  return perm
end

-- The IAM actions authorizing a declared permission "prefix:Operation" (wildcards kept): one
-- for each service under the prefix that has the operation, as the broker allows them all
-- (s3:GetPublicAccessBlock is s3:GetBucketPublicAccessBlock for s3 and
-- s3:GetAccountPublicAccessBlock for s3control). calls (every call, when check saw them
-- all): only the services whose calls use it, when any does.
function M.iam_actions(perm, calls)
  if perm == "*" or perm:find("[*?]") then return { perm } end
  local prefix, op = perm:match("^([^:]+):(.+)$")
  local used = {}
  for _, c in ipairs(calls or {}) do
    if c.operation == op and iam.prefix(c.service) == prefix then used[c.service] = true end
  end
  local out, seen = {}, {}
  for _, s in ipairs(iam.prefixes()[prefix] or {}) do
    local m = models.load(s)
    if m and m.operations[op] and (not next(used) or used[s]) then
      local a = iam.iam_action(s, op)
      if not seen[a] then seen[a] = true; out[#out + 1] = a end
    end
  end
  if #out == 0 then out[1] = perm end
  return out
end

-- The param a call passes for member: `ctx.params.NAME` or `{ ctx.params.NAME }`.
local function param_of(value)
  if value.tag == "Table" and #value.items == 1 and value.items[1].kind == "pos" then
    value = value.items[1].value
  end
  if value.tag == "Index" and value.key.tag == "String" and value.obj.tag == "Index"
      and value.obj.key.tag == "String" and value.obj.key.value == "params" then
    return value.key.value
  end
end

-- For each IAM action, the one param every call of it passes as its resource (or false).
local function resource_params(calls)
  local by_action = {}
  for _, c in ipairs(calls) do
    local action = iam.iam_action(c.service, c.operation)
    local spec = M.resource_arns[action]
    local p = false
    if spec and c.params then
      for _, it in ipairs(c.params.items) do
        if it.kind == "named" and it.key == spec[1] then p = param_of(it.value) or false end
      end
    end
    if by_action[action] == nil then by_action[action] = p
    elseif by_action[action] ~= p then by_action[action] = false end
  end
  return by_action
end

-- The literal members a call's params name ({} when its params are not a literal table).
local function members_of(c)
  local out = {}
  for _, it in ipairs(c.params and c.params.items or {}) do
    if it.kind == "named" then out[it.key] = it.value end
  end
  return out
end

-- Does call c trigger rule? A call whose params check cannot read might pass the member:
-- a missing grant fails mid-incident, so it counts.
local function triggers(rule, c)
  if not rule.when then return true end
  if not c.params then return true end
  local m = members_of(c)
  for _, name in ipairs(rule.when) do if m[name] then return true end end
  return false
end

-- The dependent grants for the policy's actions: {action, sid, param = the one param
-- every triggering call passes as the rule's resource, or false}. A rule without `when`
-- holds for a declared action even where check cannot see its calls.
function M.dependents(actions, calls)
  local declared, out, index = {}, {}, {}
  for _, a in ipairs(actions) do declared[a] = true end
  local function add(rule, param)
    for _, d in ipairs(rule.actions) do
      local key = d .. "\0" .. rule.sid
      local e = index[key]
      if not e then
        e = { action = d, sid = rule.sid, param = param, arn = rule.arn }
        index[key] = e
        out[#out + 1] = e
      elseif e.param ~= param then
        e.param = false
      end
    end
  end
  for _, c in ipairs(calls) do
    local action = iam.iam_action(c.service, c.operation)
    for _, rule in ipairs(declared[action] and M.dependent_actions[action] or {}) do
      if triggers(rule, c) then
        local v = rule.arn and members_of(c)[rule.arn]
        add(rule, v and param_of(v) or false)
      end
    end
  end
  for _, a in ipairs(actions) do
    for _, rule in ipairs(M.dependent_actions[a] or {}) do
      if not rule.when and not index[rule.actions[1] .. "\0" .. rule.sid] then add(rule, false) end
    end
  end
  return out
end

local function expand(template, vars)
  return (template:gsub("%${(%w+)}", function(k) return vars[k] or "*" end))
end

local function sid_of(prefix, suffix)
  local s = prefix:gsub("(%w)(%w*)", function(a, b) return a:upper() .. b end):gsub("[^%w]", "")
  return s .. (suffix or "")
end

-- Builds the policy: actions is a list of IAM actions, narrowed maps an action to
-- {arn, sid = suffix} for the ones limited to one resource; dependents lists {action, sid,
-- resource?} granted for another call (statements after the runbook's own, Sid = why),
-- left out where the runbook's own statements already grant the action on "*".
function M.document(actions, narrowed, dependents)
  narrowed = narrowed or {}
  local groups, order = {}, {}
  for _, a in ipairs(actions) do
    local prefix = a == "*" and "all" or a:match("^([^:]+):")
    local n = narrowed[a]
    local resource = n and n.arn or "*"
    local key = prefix .. "\0" .. resource
    local g = groups[key]
    if not g then
      g = { prefix = prefix, resource = resource, suffix = n and n.sid or "", actions = {}, seen = {} }
      groups[key] = g
      order[#order + 1] = g
    end
    if not g.seen[a] then g.seen[a] = true; g.actions[#g.actions + 1] = a end
  end
  table.sort(order, function(x, y)
    if x.prefix ~= y.prefix then return x.prefix < y.prefix end
    if (x.resource == "*") ~= (y.resource == "*") then return x.resource == "*" end
    return x.resource < y.resource
  end)
  local statements, used = {}, {}
  for _, g in ipairs(order) do
    table.sort(g.actions)
    local sid = sid_of(g.prefix, g.suffix)
    if used[sid] then
      local k = 2
      while used[sid .. k] do k = k + 1 end
      sid = sid .. k
    end
    used[sid] = true
    statements[#statements + 1] = { Sid = sid, Effect = "Allow", Action = g.actions, Resource = g.resource }
  end
  local everywhere = {}
  for _, a in ipairs(actions) do if not narrowed[a] then everywhere[a] = true end end
  local dgroups, dorder = {}, {}
  for _, d in ipairs(dependents or {}) do
    if not everywhere[d.action] then
      local resource = d.resource or "*"
      local key = d.sid .. "\0" .. resource
      local g = dgroups[key]
      if not g then
        g = { sid = d.sid, resource = resource, actions = {}, seen = {} }
        dgroups[key] = g
        dorder[#dorder + 1] = g
      end
      if not g.seen[d.action] then g.seen[d.action] = true; g.actions[#g.actions + 1] = d.action end
    end
  end
  table.sort(dorder, function(x, y)
    if x.sid ~= y.sid then return x.sid < y.sid end
    return x.resource < y.resource
  end)
  for _, g in ipairs(dorder) do
    table.sort(g.actions)
    local sid = g.sid
    if used[sid] then
      local k = 2
      while used[sid .. k] do k = k + 1 end
      sid = sid .. k
    end
    used[sid] = true
    statements[#statements + 1] = { Sid = sid, Effect = "Allow", Action = g.actions, Resource = g.resource }
  end
  return { Version = "2012-10-17", Statement = statements }
end

-- IAM's conventional key order (Version before Statement), two-space indent.
function M.text(policy)
  local q = util.quote
  local out = { "{\n", '  "Version": ', q(policy.Version), ",\n", '  "Statement": [' }
  for i, s in ipairs(policy.Statement) do
    out[#out + 1] = (i > 1 and "," or "") .. "\n    {\n"
    out[#out + 1] = '      "Sid": ' .. q(s.Sid) .. ",\n"
    out[#out + 1] = '      "Effect": ' .. q(s.Effect) .. ",\n"
    out[#out + 1] = '      "Action": ['
    for j, a in ipairs(s.Action) do
      out[#out + 1] = (j > 1 and "," or "") .. "\n        " .. q(a)
    end
    out[#out + 1] = "\n      ],\n"
    out[#out + 1] = '      "Resource": ' .. q(s.Resource) .. "\n    }"
  end
  out[#out + 1] = (#policy.Statement > 0 and "\n  " or "") .. "]\n}\n"
  return table.concat(out)
end

local function default_write(stream, text)
  require("irhost.host").send("output", { stream = stream, text = text })
end

-- Builds the policy for a runbook source; returns policy or nil, message.
function M.build(opts)
  local a = check.analyze(opts.path, opts.source, { load_module = opts.load_module,
    declaration = opts.declaration })
  local n = a.declaration and a.declaration.normalized
  if not n then
    local first = a.diagnostics[1]
    local why = first and string.format("%s:%d:%d: %s", first.file, first.line, first.col, first.message)
      or (opts.path .. ": the declaration is not literal enough to read without running it")
    return nil, why .. " (run irhost check " .. opts.path .. ")"
  end
  local values = opts.values or {}
  if opts.args and #opts.args > 0 then
    local params = require("ir.params")
    local v, err = params.parse(n.specs, opts.args, function() return "" end)
    if not v then return nil, err end
    values = v
  end
  local declared = require("ir").permissions(n, values)
  local actions, narrowed = {}, {}
  local listed = {}
  for _, p in ipairs(declared) do
    for _, x in ipairs(M.iam_actions(p, a.complete and a.calls.calls or nil)) do
      if not listed[x] then listed[x] = true; actions[#actions + 1] = x end
    end
  end
  local dependents = M.dependents(actions, a.calls.calls)
  if opts.resources then
    for _, d in ipairs(dependents) do
      local v = d.param and values[d.param]
      if type(v) == "string" and v:match("^arn:") then d.resource = v end
    end
    local vars = { partition = opts.partition or "aws", region = opts.region or "*", account = opts.account or "*" }
    local params_for = resource_params(a.calls.calls)
    for _, action in ipairs(actions) do
      local spec = M.resource_arns[action]
      local param = params_for[action]
      if param == nil then param = framework_resources[action] end
      local v = param and values[param]
      if spec and type(v) == "string" and v ~= "" then
        vars.v = v
        narrowed[action] = { arn = expand(spec[2], vars), sid = spec[3] }
      end
    end
  end
  return M.document(actions, narrowed, dependents)
end

-- `irhost policy`: prints the policy JSON; returns the exit code (2 when it cannot be built).
function M.run(opts)
  local write = opts.write or default_write
  local policy, err = M.build(opts)
  if not policy then
    write("stderr", "irhost policy: " .. err .. "\n")
    return 2
  end
  if #policy.Statement == 0 then
    -- IAM refuses a policy without statements; a runbook that calls no AWS API needs none.
    write("stderr", "irhost policy: " .. (opts.path or "the runbook") ..
      " makes no AWS call, so it needs no IAM policy\n")
    return 0
  end
  write("stdout", M.text(policy))
  return 0
end

return M

-- --delete-unauthorized: deletes the resources the operator marked in a list file, and only
-- those the CloudTrail review found (lines "TYPE NAME REGION" copied from
-- evidence/unauthorized-candidates.txt). Never anything by default; kinds that need more
-- than one call to remove safely are left to a human, with a follow-up each.
local M = {}

M.PERMISSIONS = { "ec2:TerminateInstances", "ec2:DeleteKeyPair", "ec2:DeleteSecurityGroup", "iam:DeleteAccessKey",
  "lambda:DeleteFunction" }

local DELETE = {
  ["AWS::EC2::Instance"] = function(r)
    aws.client("ec2", { region = r.region }):TerminateInstances{ InstanceIds = { r.name } }
    return "TerminateInstances"
  end,
  ["AWS::EC2::KeyPair"] = function(r)
    aws.client("ec2", { region = r.region }):DeleteKeyPair{ KeyName = r.name }
    return "DeleteKeyPair"
  end,
  ["AWS::EC2::SecurityGroup"] = function(r)
    aws.client("ec2", { region = r.region }):DeleteSecurityGroup{ GroupId = r.name }
    return "DeleteSecurityGroup"
  end,
  ["AWS::IAM::AccessKey"] = function(r)
    local user, key = r.name:match("^(.+)/(A[KS]IA[%w]+)$")
    if not user then error("the access key must be given as USER/KEYID", 0) end
    aws.client("iam"):DeleteAccessKey{ UserName = user, AccessKeyId = key }
    return "DeleteAccessKey"
  end,
  ["AWS::Lambda::Function"] = function(r)
    aws.client("lambda", { region = r.region }):DeleteFunction{ FunctionName = r.name }
    return "DeleteFunction"
  end,
}

-- The --delete-unauthorized param every identity runbook declares.
M.PARAM = { type = "file",
  help = "delete the resources listed in FILE (lines copied from evidence/unauthorized-candidates.txt of a review)" }

-- The step's `when`: it runs only when the operator gave the list.
function M.when(ctx) return ctx.params.delete_unauthorized ~= nil, "only with --delete-unauthorized FILE" end

-- The marked lines of a list file: {key = true}, or nil, message.
function M.parse(content)
  local marked, n = {}, 0
  for line in (content .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("#.*$", ""):match("^%s*(.-)%s*$")
    if line ~= "" then
      local typ, name, region = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
      if not typ then return nil, "line '" .. line .. "' is not 'TYPE NAME REGION'" end
      marked[typ .. " " .. name .. " " .. region] = true
      n = n + 1
    end
  end
  return marked, n
end

-- Deletes the marked candidates (rows from lib.identity_trail.resources); per-item failures
-- are reported and the rest go on. Returns the number of failures.
function M.run(ctx, rows, marked, protect)
  local by = {}
  for _, r in ipairs(rows) do by[r.key] = r end
  local failures = 0
  for key in pairs(marked) do
    if not by[key] then
      ctx.warn("%s: not among the resources this review found; not deleted", key)
    end
  end
  for _, r in ipairs(rows) do
    if marked[r.key] then
      local del = DELETE[r.type]
      local why = protect and protect(r)
      if why then
        ctx.warn("%s: not deleted: %s", r.key, why)
      elseif not del then
        ctx.warn("%s: irhost does not delete %s resources; delete it by hand", r.key, r.type)
        ctx.followup("Delete " .. r.type .. " " .. r.name .. " (" .. r.region .. ") by hand: marked unauthorized")
      else
        local ok, res = pcall(del, r)
        if ok then
          ctx.changed{ resource = r.name, action = res, before = "created/changed by the compromised principal", after = "deleted",
            detail = r.type .. " " .. r.region }
        else
          failures = failures + 1
          ctx.warn("%s: delete failed: %s", r.key, aws.is_error(res) and (res.code .. ": " .. tostring(res.message)) or tostring(res))
        end
      end
    end
  end
  return failures
end

-- For a runbook's validate: nil, or what is wrong with the --delete-unauthorized file.
function M.validate(p)
  if not p.delete_unauthorized then return nil end
  local m, err = M.parse(p.delete_unauthorized.content)
  if not m then return "--delete-unauthorized: " .. err end
end

-- The "Delete unauthorized resources" step: the --delete-unauthorized list against rows;
-- raises when a marked resource could not be deleted.
function M.step(ctx, rows, protect)
  local marked = assert(M.parse(ctx.params.delete_unauthorized.content))
  local failures = M.run(ctx, rows, marked, protect)
  if failures > 0 then error(failures .. " marked resource(s) not deleted (see the notes)", 0) end
end

return M

-- Shell scripts on a container host through SSM Run Command (AWS-RunShellScript): send,
-- wait, read the invocation. The scripts carry no credentials; only identifiers the
-- runbook validated (hex ids, names matching a strict pattern) are put in them, quoted.
local M = {}

-- SSM returns at most this many characters of stdout through the API; the rest only
-- reaches an S3 output bucket.
M.API_OUTPUT_LIMIT = 24000

-- Single-quotes s for sh.
function M.quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- The managed-instance record; raises a clear message when SSM does not manage it.
function M.managed(ssm, ctx, instance)
  local info = ssm:DescribeInstanceInformation{ Filters = { { Key = "InstanceIds", Values = { instance } } } }
  local m = info.InstanceInformationList and info.InstanceInformationList[1]
  if not m then
    error("instance " .. instance .. " is not SSM-managed (no SSM agent registered with Systems Manager): the container " ..
      "cannot be reached remotely; contain it from a shell on the host, or isolate the whole instance with runbooks/ec2.lua", 0)
  end
  if m.PingStatus ~= "Online" then
    error("the SSM agent of " .. instance .. " reports " .. tostring(m.PingStatus) .. " (last ping " ..
      tostring(m.LastPingDateTime) .. "): commands would not run; isolate the whole instance with runbooks/ec2.lua", 0)
  end
  if m.PlatformType and m.PlatformType ~= "Linux" then
    error("instance " .. instance .. " runs " .. tostring(m.PlatformType) .. ": this runbook drives Docker on Linux hosts", 0)
  end
  return m
end

-- Sends lines as one AWS-RunShellScript command. Returns the command id, or nil in a dry
-- run (the call is then planned, not sent).
function M.send(ssm, ctx, instance, lines, comment)
  local p = { InstanceIds = { instance }, DocumentName = "AWS-RunShellScript",
    Comment = ("irhost " .. (ctx.ticket or "") .. " " .. comment):sub(1, 100), TimeoutSeconds = 60,
    Parameters = { commands = lines, executionTimeout = { tostring(ctx.params.ssm_timeout) } } }
  if ctx.params.output_bucket then
    p.OutputS3BucketName = ctx.params.output_bucket
    p.OutputS3KeyPrefix = ((ctx.ticket or "no-ticket"):gsub("[^%w._-]", "_")) .. "/" .. (ctx.run_id or "run") .. "/ssm"
  end
  local r = ssm:SendCommand(p)
  if r.dry_run then return nil end
  return r.Command.CommandId
end

-- Waits for a command and returns {command_id, status, code, stdout, stderr, truncated}.
function M.wait(ssm, ctx, instance, cid)
  local ok, werr = pcall(ssm.wait, ssm, "CommandExecuted", { CommandId = cid, InstanceId = instance },
    { timeout = ctx.params.ssm_timeout + 60, delay = ctx.params.poll_interval })
  local inv = ssm:GetCommandInvocation{ CommandId = cid, InstanceId = instance }
  local out = { command_id = cid, status = inv.Status, code = inv.ResponseCode, stdout = inv.StandardOutputContent or "",
    stderr = inv.StandardErrorContent or "", wait_error = (not ok) and tostring(werr) or nil }
  out.truncated = #out.stdout >= M.API_OUTPUT_LIMIT
  return out
end

-- Sends and waits; raises with the script's own explanation when it did not succeed.
-- Returns the invocation, or nil in a dry run.
function M.run(ssm, ctx, instance, lines, comment)
  local cid = M.send(ssm, ctx, instance, lines, comment)
  if not cid then return nil end
  local inv = M.wait(ssm, ctx, instance, cid)
  if inv.status ~= "Success" then
    local why = (inv.stderr ~= "" and inv.stderr) or inv.stdout
    error(string.format("%s on %s: SSM command %s ended %s (exit %s)%s", comment, instance, cid, tostring(inv.status),
      tostring(inv.code), why ~= "" and (": " .. why:sub(1, 400):gsub("%s+$", "")) or ""), 0)
  end
  return inv
end

return M

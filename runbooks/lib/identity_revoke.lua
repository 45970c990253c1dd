-- Revoking the sessions issued before now: the inline deny-all policy AWS's "Revoke active
-- sessions" attaches to a role (AWSRevokeOlderSessions), conditioned on aws:TokenIssueTime.
-- Only temporary credentials carry a token issue time, so long-term access keys and
-- sessions issued after the policy keep working; that is the point.
local window = require("lib.identity_window")

local M = {}

M.POLICY_NAME = "AWSRevokeOlderSessions"
M.QUARANTINE_PREFIX = "AWSCompromisedKeyQuarantine"

M.LIMITS = "Sessions of the root user cannot be revoked this way (secure the root user by hand: " ..
  "password, MFA, root access keys). IAM policy changes take a few minutes to apply everywhere: " ..
  "a session may keep working for that long."

-- The policy document (JSON text) denying every session issued before now_iso.
function M.document(now_iso)
  return json.encode({
    Version = "2012-10-17",
    Statement = { {
      Effect = "Deny", Action = { "*" }, Resource = { "*" },
      Condition = { DateLessThan = { ["aws:TokenIssueTime"] = now_iso } },
    } },
  })
end

-- The current UTC time the policy uses.
function M.now() return window.now_iso() end

-- Managed policies named like AWS's automatic quarantine policy, from a list of
-- {PolicyName, PolicyArn} (ListAttached*Policies).
function M.quarantine_policies(attached)
  local out = {}
  for _, p in ipairs(attached or {}) do
    if type(p.PolicyName) == "string" and p.PolicyName:sub(1, #M.QUARANTINE_PREFIX) == M.QUARANTINE_PREFIX then
      out[#out + 1] = p.PolicyArn or p.PolicyName
    end
  end
  return out
end

-- IAM returns policy documents URL-encoded; this decodes one to a table (nil when it is not JSON).
function M.decode_document(text)
  if type(text) ~= "string" then return nil end
  local plain = text
  if text:find("%%") then
    plain = text:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  local ok, v = pcall(json.decode, plain)
  if ok and type(v) == "table" then return v end
  return nil
end

return M

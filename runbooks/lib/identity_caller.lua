-- Who is running the response, so the identity runbooks never lock that identity out:
-- the caller of sts:GetCallerIdentity, as an IAM user name or a role and session.
local M = {}

-- {arn, account, user_id, user = IAM user name | nil, role = role name | nil, session = name | nil}
function M.get()
  local r = aws.client("sts"):GetCallerIdentity({})
  local c = { arn = r.Arn, account = r.Account, user_id = r.UserId }
  local arn = r.Arn or ""
  local user = arn:match("^arn:[^:]+:iam::%d+:user/(.+)$")
  if user then c.user = user:match("([^/]+)$") end
  local role, session = arn:match("^arn:[^:]+:sts::%d+:assumed%-role/([^/]+)/(.+)$")
  if role then c.role, c.session = role, session end
  if arn:match(":root$") then c.root = true end
  return c
end

-- Is this IAM user the caller?
function M.is_user(c, name) return c.user ~= nil and c.user == name end

-- Is the caller a session of this role?
function M.is_role(c, name) return c.role ~= nil and c.role == name end

-- A one-line description for notes and refusals.
function M.describe(c)
  if c.user then return "IAM user " .. c.user .. " (" .. tostring(c.arn) .. ")" end
  if c.role then return "a session of role " .. c.role .. " (" .. tostring(c.arn) .. ")" end
  return tostring(c.arn)
end

return M

-- Reading a role's trust policy: who may assume it (AWS accounts and principals, services,
-- SAML and OIDC identity providers, web identity), and the restricted policy --restrict-trust
-- puts in its place: federation denied, everything else as it was.
local M = {}

-- IAM accepts one value or a list wherever a list goes (Statement, Action, Principal parts).
local function list(v)
  if v == nil then return {} end
  if type(v) == "table" and (v[1] ~= nil or next(v) == nil) then return v end
  return { v }
end
M.list = list

local WEB_IDENTITY = {
  ["cognito-identity.amazonaws.com"] = "Amazon Cognito", ["accounts.google.com"] = "Google",
  ["graph.facebook.com"] = "Facebook", ["www.amazon.com"] = "Login with Amazon",
}

-- Classifies a Federated principal: {kind = "saml"|"oidc"|"web", name, arn}.
function M.provider(value)
  local saml = value:match(":saml%-provider/(.+)$")
  if saml then return { kind = "saml", name = saml, arn = value } end
  local oidc = value:match(":oidc%-provider/(.+)$")
  if oidc then return { kind = "oidc", name = oidc, arn = value } end
  return { kind = "web", name = WEB_IDENTITY[value] or value, arn = value }
end

-- {providers = {...}, accounts = {...}, principals = {...}, services = {...}, anyone = bool}
-- from a decoded trust policy; own is the role's account id.
function M.analyse(doc, own)
  local out = { providers = {}, accounts = {}, principals = {}, services = {}, anyone = false }
  local seen = {}
  local function add(bucket, key, v)
    if seen[bucket .. key] then return end
    seen[bucket .. key] = true
    out[bucket][#out[bucket] + 1] = v
  end
  for _, s in ipairs(list(doc and doc.Statement)) do
    if s.Effect == "Allow" then
      local p = s.Principal
      if p == "*" then out.anyone = true
      elseif type(p) == "table" then
        for _, f in ipairs(list(p.Federated)) do add("providers", f, M.provider(f)) end
        for _, svc in ipairs(list(p.Service)) do add("services", svc, svc) end
        for _, a in ipairs(list(p.AWS)) do
          if a == "*" then out.anyone = true
          else
            local acct = a:match("^(%d%d%d%d%d%d%d%d%d%d%d%d)$") or a:match("^arn:[^:]+:iam::(%d+):")
            if acct and acct ~= own then add("accounts", acct, acct) end
            add("principals", a, a)
          end
        end
      end
    end
  end
  return out
end

-- The trust policy with every Federated principal removed from its Allow statements and a
-- statement denying the federation actions to them. Returns the new document (table).
function M.restricted(doc, providers)
  local statements = {}
  for _, s in ipairs(list(doc and doc.Statement)) do
    local keep = s
    if s.Effect == "Allow" and type(s.Principal) == "table" and s.Principal.Federated ~= nil then
      local p = {}
      for k, v in pairs(s.Principal) do if k ~= "Federated" then p[k] = v end end
      if next(p) then
        keep = {}
        for k, v in pairs(s) do keep[k] = v end
        keep.Principal = p
        local actions = {}
        for _, a in ipairs(list(s.Action)) do
          if a ~= "sts:AssumeRoleWithSAML" and a ~= "sts:AssumeRoleWithWebIdentity" then actions[#actions + 1] = a end
        end
        keep.Action = #actions > 0 and actions or "sts:AssumeRole"
      else
        keep = nil
      end
    end
    if keep then statements[#statements + 1] = keep end
  end
  local arns = {}
  for _, pr in ipairs(providers) do arns[#arns + 1] = pr.arn end
  statements[#statements + 1] = {
    Sid = "IrhostDenyFederation", Effect = "Deny", Principal = { Federated = arns },
    Action = { "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity" },
  }
  return { Version = doc and doc.Version or "2012-10-17", Statement = statements }
end

-- The report line asking a human to revoke access in the identity provider.
function M.followup(role, pr)
  if pr.kind == "saml" then
    return "In the SAML identity provider " .. pr.name .. " (" .. pr.arn .. "), remove the users and groups mapped to role " ..
      role .. " and end their IdP sessions: AWS cannot revoke the directory's access"
  elseif pr.kind == "oidc" then
    return "In the OIDC provider " .. pr.name .. ", revoke the identities or workloads allowed to assume role " .. role ..
      " (e.g. the repository or service account in the trust policy's conditions)"
  end
  return "In " .. pr.name .. ", revoke the identities allowed to assume role " .. role .. " through web identity federation"
end

return M

-- An IAM user's credentials and permissions as evidence: access keys (with last use),
-- groups, attached and inline policies, login profile, MFA devices, SSH public keys and
-- signing certificates. One failed read is recorded in the evidence, not fatal.
local revoke = require("lib.identity_revoke")

local M = {}

local function err_text(e)
  if aws.is_error(e) then return tostring(e.code) .. ": " .. tostring(e.message) end
  return tostring(e)
end

local function all(iam, op, params)
  local out = {}
  for item in iam:paginate(op, params, { items = true }) do out[#out + 1] = item end
  return out
end

-- Reads one item; returns value, or nil and records the error in errors[label].
local function read(errors, label, f)
  local ok, r = pcall(f)
  if ok then return r end
  errors[label] = err_text(r)
  return nil
end

-- The login profile, false when the user has none (no console password), nil on error.
function M.login_profile(iam, name)
  local ok, r = pcall(iam.GetLoginProfile, iam, { UserName = name })
  if ok then return r.LoginProfile end
  if aws.is_error(r, "NoSuchEntity") then return false end
  error(r, 0)
end

-- Everything above for user name; raises only when the user does not exist.
function M.capture(iam, name)
  local user = iam:GetUser{ UserName = name }.User
  local errors = {}
  local u = { user = user, errors = errors }
  u.access_keys = read(errors, "access_keys", function()
    local keys = all(iam, "ListAccessKeys", { UserName = name })
    for _, k in ipairs(keys) do
      local ok, lu = pcall(iam.GetAccessKeyLastUsed, iam, { AccessKeyId = k.AccessKeyId })
      k.LastUsed = ok and lu.AccessKeyLastUsed or { error = err_text(lu) }
    end
    return keys
  end) or {}
  u.groups = read(errors, "groups", function() return all(iam, "ListGroupsForUser", { UserName = name }) end) or {}
  u.attached_policies = read(errors, "attached_policies", function()
    return all(iam, "ListAttachedUserPolicies", { UserName = name })
  end) or {}
  u.inline_policies = read(errors, "inline_policies", function()
    local docs = {}
    for _, p in ipairs(all(iam, "ListUserPolicies", { UserName = name })) do
      local d = iam:GetUserPolicy{ UserName = name, PolicyName = p }
      docs[p] = revoke.decode_document(d.PolicyDocument) or d.PolicyDocument
    end
    return docs
  end) or {}
  local lp = read(errors, "login_profile", function() return M.login_profile(iam, name) end)
  u.login_profile = lp or json.null
  u.mfa_devices = read(errors, "mfa_devices", function() return all(iam, "ListMFADevices", { UserName = name }) end) or {}
  u.ssh_public_keys = read(errors, "ssh_public_keys", function()
    return all(iam, "ListSSHPublicKeys", { UserName = name })
  end) or {}
  u.signing_certificates = read(errors, "signing_certificates", function()
    return all(iam, "ListSigningCertificates", { UserName = name })
  end) or {}
  return u
end

return M

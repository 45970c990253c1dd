-- Respond to a compromised IAM role: deny its sessions issued before now, report who can
-- assume it (and, with --restrict-trust, shut federation out), review what its sessions did.
--
--   irhost runbooks/iam-role.lua --role web-server-role --ticket IR-42
--   irhost runbooks/iam-role.lua --role sso-admins --restrict-trust --since 3d --ticket IR-42
--
-- The deny policy is the one AWS's "Revoke active sessions" attaches (AWSRevokeOlderSessions,
-- DateLessThan aws:TokenIssueTime): every instance, function and person using the role must
-- get new credentials, which they do on their own within minutes for AWS services.
local caller = require("lib.identity_caller")
local window = require("lib.identity_window")
local revoke = require("lib.identity_revoke")
local trust = require("lib.identity_trust")
local trail = require("lib.identity_trail")
local account = require("lib.identity_account")
local cleanup = require("lib.identity_cleanup")
local evidence = require("lib.identity_evidence")

local MAX_SESSIONS = 50   -- sessions whose own events are looked up (one lookup per region each)

local function err_text(e)
  if aws.is_error(e) then return tostring(e.code) .. ": " .. tostring(e.message) end
  return tostring(e)
end

local win = window.of
local function role_name(ctx) return ctx.params.role end

local function read_role(iam, name)
  local r = iam:GetRole{ RoleName = name }.Role
  r.AssumeRolePolicyDocument = revoke.decode_document(r.AssumeRolePolicyDocument) or r.AssumeRolePolicyDocument
  return r
end

---------------------------------------------------------------------------- steps

local function capture(ctx)
  local iam = aws.client("iam")
  local me = caller.get()
  ctx.output("caller", { arn = me.arn, user = me.user, role = me.role })
  local name = role_name(ctx)
  if caller.is_role(me, name) then
    error("refusing to respond for role " .. name .. ": irhost is running as a session of that role " ..
      "and the deny policy would end its own session. Run it as another identity", 0)
  end
  local role = read_role(iam, name)
  local inline, attached, profiles, errors = {}, {}, {}, {}
  local ok, err = pcall(function()
    for p in iam:paginate("ListRolePolicies", { RoleName = name }, { items = true }) do
      local d = iam:GetRolePolicy{ RoleName = name, PolicyName = p }
      inline[p] = revoke.decode_document(d.PolicyDocument) or d.PolicyDocument
    end
  end)
  if not ok then errors.inline_policies = err_text(err) end
  ok, err = pcall(function()
    for p in iam:paginate("ListAttachedRolePolicies", { RoleName = name }, { items = true }) do attached[#attached + 1] = p end
  end)
  if not ok then errors.attached_policies = err_text(err) end
  ok, err = pcall(function()
    for p in iam:paginate("ListInstanceProfilesForRole", { RoleName = name }, { items = true }) do
      profiles[#profiles + 1] = p.InstanceProfileName
    end
  end)
  if not ok then errors.instance_profiles = err_text(err) end
  for k, e in pairs(errors) do ctx.warn("%s of %s not read: %s", k, name, e) end
  evidence.save(ctx, "iam-role.json", { role = role, inline_policies = inline, attached_policies = attached,
    instance_profiles = profiles, errors = errors })
  evidence.save(ctx, "trust-policy-original.json", role.AssumeRolePolicyDocument or json.null)
  ctx.output("role_arn", role.Arn)
  ctx.output("instance_profiles", json.array(profiles))
  local n = 0
  for _ in pairs(inline) do n = n + 1 end
  ctx.info("role %s: %d inline and %d attached polic(ies), %d instance profile(s), max session %s s", name, n, #attached,
    #profiles, tostring(role.MaxSessionDuration))
  if inline[revoke.POLICY_NAME] then
    ctx.info("the role already has an %s policy (an earlier revocation): it will be replaced by one dated now", revoke.POLICY_NAME)
  end
end

local function revoke_sessions(ctx)
  local iam = aws.client("iam")
  local name = role_name(ctx)
  local now = revoke.now()
  iam:PutRolePolicy{ RoleName = name, PolicyName = revoke.POLICY_NAME, PolicyDocument = revoke.document(now) }
  ctx.changed{ resource = ctx.state.role_arn or name, action = "PutRolePolicy " .. revoke.POLICY_NAME,
    before = "sessions valid", after = "sessions issued before " .. now .. " denied" }
  ctx.output("sessions_revoked_before", now)
  ctx.info("every session of %s issued before %s is denied; new sessions work", name, now)
  if #(ctx.state.instance_profiles or {}) > 0 then
    ctx.warn("instances using %s (instance profiles %s) get new credentials from their metadata service within minutes; " ..
      "the attacker does too if they still control one of those instances or the role's trust", name,
      table.concat(ctx.state.instance_profiles, ", "))
  end
  ctx.info("%s", revoke.LIMITS)
  if ctx.dry_run then return end
  ctx.followup("Keep the inline policy " .. revoke.POLICY_NAME .. " on role " .. name .. " until the sessions issued before it " ..
    "have expired (the role's maximum session duration, at most 12 hours), then remove it")
end

local function review_trust(ctx)
  local iam = aws.client("iam")
  local name = role_name(ctx)
  local role = read_role(iam, name)
  local doc = type(role.AssumeRolePolicyDocument) == "table" and role.AssumeRolePolicyDocument or nil
  if not doc then error("the trust policy of " .. name .. " is not readable JSON", 0) end
  local own = (role.Arn or ""):match("^arn:[^:]+:iam::(%d+):")
  local a = trust.analyse(doc, own)
  local providers = {}
  local ok, err = pcall(function()
    providers.saml = iam:ListSAMLProviders({}).SAMLProviderList or {}
    providers.oidc = iam:ListOpenIDConnectProviders({}).OpenIDConnectProviderList or {}
  end)
  if not ok then ctx.warn("identity providers not listed: %s", err_text(err)) end
  evidence.save(ctx, "identity-providers.json", { account = providers, trusted_by_role = a })
  if a.anyone then
    ctx.warn("the trust policy allows ANY principal (\"*\"): anyone who satisfies its conditions can assume %s", name)
    ctx.followup("Role " .. name .. " trusts \"*\": restrict its trust policy to the principals that need it")
  end
  for _, acct in ipairs(a.accounts) do
    ctx.warn("account %s (not this one) may assume %s", acct, name)
  end
  for _, svc in ipairs(a.services) do ctx.info("service %s may assume %s", svc, name) end
  for _, p in ipairs(a.principals) do ctx.info("principal %s may assume %s", p, name) end
  for _, pr in ipairs(a.providers) do
    ctx.warn("%s provider %s may assume %s", pr.kind:upper(), pr.name, name)
    ctx.followup(trust.followup(name, pr))
  end
  if #a.providers == 0 then ctx.info("no identity provider (SAML, OIDC, web identity) may assume %s", name) end
  ctx.output("federated", #a.providers)
  ctx.output("external_accounts", json.array(a.accounts))
end

local function restrict_trust(ctx)
  local iam = aws.client("iam")
  local name = role_name(ctx)
  local role = read_role(iam, name)
  local doc = role.AssumeRolePolicyDocument
  if type(doc) ~= "table" then error("the trust policy of " .. name .. " is not readable JSON", 0) end
  local a = trust.analyse(doc, nil)
  if #a.providers == 0 then ctx.info("no federation in the trust policy of %s: left unchanged", name); return end
  -- Saved again here, right before the change: this is what --restrict-trust replaces.
  local sha, saved_as = evidence.save(ctx, "trust-policy-before-restrict.json", doc)
  local new = trust.restricted(doc, a.providers)
  iam:UpdateAssumeRolePolicy{ RoleName = name, PolicyDocument = json.encode(new) }
  local names = {}
  for _, pr in ipairs(a.providers) do names[#names + 1] = pr.name end
  ctx.changed{ resource = ctx.state.role_arn or name, action = "UpdateAssumeRolePolicy",
    before = "federation allowed: " .. table.concat(names, ", "), after = "federation denied",
    detail = "original saved as evidence/" .. saved_as .. " (sha256 " .. tostring(sha) .. ")" }
  if ctx.dry_run then return end
  ctx.followup("Restore the trust policy of " .. name .. " from evidence/" .. saved_as .. " " ..
    "(aws iam update-assume-role-policy) once the identity provider is clean")
end

local function sessions_of(events)
  local keys, names = {}, {}
  for _, e in ipairs(events) do
    if type(e.name) == "string" and e.name:match("^AssumeRole") and not e.error_code then
      local cred = type(e.response) == "table" and e.response.credentials
      local key = type(cred) == "table" and cred.accessKeyId
      if type(key) == "string" and not keys[key] then
        keys[key] = true
        names[#names + 1] = { key = key, session = type(e.request) == "table" and e.request.roleSessionName or nil,
          time = e.time, ip = e.ip, by = e.principal }
      end
    end
  end
  return names
end

local function collect_events(ctx, regions)
  local w = win(ctx)
  local arn = ctx.state.role_arn
  local first = trail.lookup_or_fail(ctx, regions, { { "ResourceName", arn }, { "ResourceName", role_name(ctx) } }, w)
  local sessions = sessions_of(first)
  if #sessions > MAX_SESSIONS then
    ctx.warn("%d sessions of %s in the window: the events of the newest %d are reviewed", #sessions, role_name(ctx), MAX_SESSIONS)
  end
  local lookups = {}
  for i, s in ipairs(sessions) do
    if i > MAX_SESSIONS then break end
    lookups[#lookups + 1] = { "AccessKeyId", s.key }
  end
  local events = first
  if #lookups > 0 then
    local more, notes2 = trail.lookup(regions, lookups, w)
    for _, n in ipairs(notes2) do ctx.warn("%s", n) end
    local seen = {}
    for _, e in ipairs(first) do seen[e.id or ""] = true end
    for _, e in ipairs(more) do if not seen[e.id or ""] then events[#events + 1] = e end end
    table.sort(events, function(x, y) return tostring(x.time) > tostring(y.time) end)
  end
  return events, sessions
end

local function cloudtrail(ctx)
  local regions = trail.regions(ctx)
  ctx.output("regions", json.array(regions))
  local w = win(ctx)
  local events, sessions = collect_events(ctx, regions)
  ctx.state.trail_events = events
  evidence.save(ctx, "role-sessions.json", sessions)
  for i, s in ipairs(sessions) do
    if i > 20 then ctx.info("... %d more sessions in evidence/role-sessions.json", #sessions - 20); break end
    ctx.info("session %s (%s) issued %s to %s from %s", tostring(s.session), s.key, tostring(s.time), tostring(s.by), tostring(s.ip))
  end
  ctx.output("sessions", #sessions)
  trail.record(ctx, events, w, "role " .. role_name(ctx), { regions = regions, role = ctx.state.role_arn })
end

local function events_of(ctx)
  return trail.events(ctx, function() return (collect_events(ctx, ctx.state.regions or trail.regions(ctx))) end)
end

local function resources(ctx)
  trail.report_resources(ctx, trail.resources(events_of(ctx)), "by sessions of " .. role_name(ctx))
end

local function delete_unauthorized(ctx)
  cleanup.step(ctx, ctx.state.resource_rows or trail.resources(events_of(ctx)))
end

---------------------------------------------------------------------------- declaration

local permissions = account.permissions({
  "iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
  "iam:ListInstanceProfilesForRole", "iam:PutRolePolicy", "iam:ListSAMLProviders", "iam:ListOpenIDConnectProviders",
  "iam:UpdateAssumeRolePolicy", "ec2:DescribeRegions",
})

return ir.runbook {
  name = "iam-role-compromise",
  description = "Respond to a compromised IAM role: deny its sessions issued before now (AWSRevokeOlderSessions), " ..
    "report who may assume it and which identity providers must be cleaned by hand, review its sessions in CloudTrail " ..
    "and the resources they touched, and check the account's contacts and root MFA",
  params = {
    role = { required = true, pattern = "^[%w+=,.@_-]+$", metavar = "NAME", help = "the role's name" },
    since = window.PARAM,
    regions = { type = "list", metavar = "R1,R2", help = "regions to review (default: every enabled region)" },
    restrict_trust = { type = "boolean", help = "replace the trust policy by one that denies SAML and OIDC federation (the original is saved as evidence)" },
    delete_unauthorized = cleanup.PARAM,
  },
  validate = function(p) return window.validate(p) or cleanup.validate(p) end,
  permissions = permissions,
  rates = { iam = 10 },
  steps = {
    { name = "Capture the role", run = capture },
    { name = "Revoke active sessions", run = revoke_sessions, destructive = true,
      confirm = "Deny every session of the role issued before now (everything using the role must get new credentials)?" },
    { name = "Review trust and identity providers", run = review_trust, continue_on_error = true },
    { name = "Deny federation in the trust policy", run = restrict_trust, destructive = true,
      when = function(ctx) return ctx.params.restrict_trust, "only with --restrict-trust" end },
    { name = "Review CloudTrail", run = cloudtrail, continue_on_error = true },
    { name = "Review resources", run = resources, continue_on_error = true },
    { name = "Delete unauthorized resources", run = delete_unauthorized, destructive = true, continue_on_error = true,
      when = cleanup.when },
    { name = "Verify account information", run = account.step, continue_on_error = true },
  },
  followups = {
    function(ctx)
      return "Hand the evidence (run directory) to the investigation under ticket " .. (ctx.ticket or "(none)") ..
        "; CloudTrail may show activity up to 15 minutes late: rerun the review later"
    end,
  },
}

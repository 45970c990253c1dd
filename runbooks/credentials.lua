-- Respond to compromised AWS credentials of an IAM user.
--
--   irhost runbooks/credentials.lua --access-key-id AKIA... --ticket IR-42
--   irhost runbooks/credentials.lua --finding finding.json --ticket IR-42 --create-replacement
--   irhost runbooks/credentials.lua --user ci-deploy --since 3d --delete-key --ticket IR-42
--
-- The exposed key is deactivated, not deleted, until its evidence is saved (its id is what
-- CloudTrail is searched by); sessions issued before the response are denied by policy;
-- what an attacker adds to keep access is reported and, when confirmed, disabled. A
-- replacement key's secret never reaches Lua or any output: the broker hands back a handle,
-- which goes into Secrets Manager inside the secret's JSON.
local caller = require("lib.identity_caller")
local window = require("lib.identity_window")
local revoke = require("lib.identity_revoke")
local trail = require("lib.identity_trail")
local account = require("lib.identity_account")
local cleanup = require("lib.identity_cleanup")
local users = require("lib.identity_user")
local evidence = require("lib.identity_evidence")

local function err_text(e)
  if aws.is_error(e) then return tostring(e.code) .. ": " .. tostring(e.message) end
  return tostring(e)
end

local function user_of(ctx) return ctx.state.user end
local win = window.of

-- The finding's access key details, checked: returns {key, user, type} or nil, message
-- naming the field that is missing (a usage error: exit 2).
local function finding_principal(file)
  local f, err = ir.finding.parse(file)
  if not f then return nil, "--finding: " .. err end
  local k = f.access_key
  if not k then
    return nil, "--finding: the " .. tostring(f.type) .. " finding has no resource.accessKeyDetails " ..
      "(it names no IAM credentials; use the runbook for its resource kind: " .. tostring(f.kind) .. ")"
  end
  local ut = k.user_type
  if ut == "Root" then
    return nil, "--finding: resource.accessKeyDetails.userType is Root: the root user's credentials " ..
      "cannot be rotated by API; sign in as root, rotate its password and keys, and check its MFA"
  end
  if ut == "AssumedRole" or ut == "Role" or ut == "FederatedUser" then
    return nil, "--finding: resource.accessKeyDetails.userType is " .. ut .. ": these are temporary " ..
      "credentials of role " .. tostring(k.user_name) .. "; run runbooks/iam-role.lua --role " .. tostring(k.user_name)
  end
  if not k.user_name and not k.access_key_id then
    return nil, "--finding: resource.accessKeyDetails has neither accessKeyId nor userName"
  end
  if not k.user_name then
    return nil, "--finding: resource.accessKeyDetails.userName is missing"
  end
  return { key = k.access_key_id, user = k.user_name, type = ut, finding = f }
end

---------------------------------------------------------------------------- step 1

local function guardduty_findings(ctx, user, keys)
  local out, regions = {}, (ctx.params.regions and #ctx.params.regions > 0) and ctx.params.regions or { ctx.region }
  for _, region in ipairs(regions) do
    local gd = aws.client("guardduty", { region = region })
    local ok, err = pcall(function()
      local ids = gd:ListDetectors({}).DetectorIds or {}
      if #ids == 0 then ctx.info("GuardDuty is not enabled in %s", region) end
      for _, did in ipairs(ids) do
        local found = {}
        local criteria = { { ["resource.accessKeyDetails.userName"] = { Eq = { user } } } }
        for _, k in ipairs(keys) do criteria[#criteria + 1] = { ["resource.accessKeyDetails.accessKeyId"] = { Eq = { k } } } end
        local seen = {}
        for _, c in ipairs(criteria) do
          for id in gd:paginate("ListFindings", { DetectorId = did, FindingCriteria = { Criterion = c } }, { items = true }) do
            if not seen[id] then seen[id] = true; found[#found + 1] = id end
          end
        end
        for i = 1, #found, 50 do
          local batch = {}
          for j = i, math.min(i + 49, #found) do batch[#batch + 1] = found[j] end
          for _, f in ipairs(gd:GetFindings{ DetectorId = did, FindingIds = batch }.Findings or {}) do
            out[#out + 1] = f
            ctx.info("GuardDuty %s: %s (severity %s) %s", region, tostring(f.Type), tostring(f.Severity), tostring(f.Id))
          end
        end
      end
    end)
    if not ok then ctx.warn("GuardDuty findings in %s not read: %s", region, err_text(err)) end
  end
  evidence.save(ctx, "guardduty-findings.json", out)
  return out
end

local function identify(ctx)
  local iam = aws.client("iam")
  local me = caller.get()
  ctx.output("caller", { arn = me.arn, user = me.user, role = me.role })
  local user, key = ctx.params.user, ctx.params.access_key_id
  if ctx.params.finding then
    local p = assert(finding_principal(ctx.params.finding))
    evidence.save(ctx, "finding.json", p.finding.raw)
    ctx.info("finding %s (%s, severity %s): user %s, key %s", tostring(p.finding.id), tostring(p.finding.type),
      tostring(p.finding.severity), tostring(p.user), tostring(p.key))
    if p.finding.sample then ctx.warn("the finding is a GuardDuty sample finding") end
    if user and p.user and user ~= p.user then error("--user " .. user .. " but the finding names user " .. p.user, 0) end
    user = user or p.user
    key = key or p.key
  end
  if key then
    local ok, r = pcall(iam.GetAccessKeyLastUsed, iam, { AccessKeyId = key })
    if ok and r.UserName then
      if user and r.UserName ~= user then
        error("access key " .. key .. " belongs to user " .. r.UserName .. ", not " .. user, 0)
      end
      user = r.UserName
    elseif not user then
      error("access key " .. key .. ": " .. (ok and "no user" or err_text(r)) ..
        " (a key of another account, or no iam:GetAccessKeyLastUsed permission); give --user too", 0)
    end
  end
  if caller.is_user(me, user) then
    error("refusing to respond for user " .. user .. ": irhost is running with that user's own credentials " ..
      "and would lock itself out. Run it as another identity (a responder role or user)", 0)
  end
  local u = users.capture(iam, user)
  evidence.save(ctx, "iam-user.json", u)
  for label, e in pairs(u.errors) do ctx.warn("%s of %s not read: %s", label, user, e) end

  local exposed, found = {}, false
  if key then
    for _, k in ipairs(u.access_keys) do if k.AccessKeyId == key then found = true end end
    if not found then error("access key " .. key .. " is not a key of user " .. user .. " (it may be deleted already)", 0) end
    exposed[1] = key
  else
    for _, k in ipairs(u.access_keys) do
      if k.Status == "Active" then exposed[#exposed + 1] = k.AccessKeyId end
    end
    ctx.warn("no --access-key-id: every active key of %s is treated as exposed (%s)", user,
      #exposed > 0 and table.concat(exposed, ", ") or "none")
  end
  ctx.output("user", user)
  ctx.output("user_arn", u.user.Arn)
  ctx.output("exposed_keys", json.array(exposed))
  ctx.info("user %s: %d access key(s), %s, %d MFA device(s), %d SSH key(s), %d signing certificate(s), %d group(s), " ..
    "%d attached and %d inline polic(ies)", user, #u.access_keys, (u.login_profile and u.login_profile ~= json.null) and "console password" or "no console password",
    #u.mfa_devices, #u.ssh_public_keys, #u.signing_certificates, #u.groups, #u.attached_policies,
    (function() local n = 0; for _ in pairs(u.inline_policies) do n = n + 1 end; return n end)())
  guardduty_findings(ctx, user, exposed)
end

---------------------------------------------------------------------------- step 2

local function key_status(iam, user)
  local st = {}
  for _, k in ipairs(iam:ListAccessKeys{ UserName = user }.AccessKeyMetadata or {}) do st[k.AccessKeyId] = k end
  return st
end

local function deactivate(ctx)
  local iam = aws.client("iam")
  local user = user_of(ctx)
  local st = key_status(iam, user)
  for _, key in ipairs(ctx.state.exposed_keys or {}) do
    local k = st[key]
    if not k then ctx.warn("%s no longer exists", key)
    elseif k.Status == "Inactive" then ctx.info("%s is already inactive", key)
    else
      iam:UpdateAccessKey{ UserName = user, AccessKeyId = key, Status = "Inactive" }
      ctx.changed{ resource = key, action = "UpdateAccessKey", before = "Active", after = "Inactive", detail = "user " .. user }
    end
  end
  if ctx.dry_run then return end
  ctx.followup("Find every place the exposed key of " .. user .. " was used (CI, servers, laptops) and remove it there: " ..
    "it is inactive now, so whatever legitimately used it fails")
end

---------------------------------------------------------------------------- step 3

-- What an attacker adds to keep access, each {kind, id, created, recent, disable = function}.
local function persistence_items(ctx, iam, user, w)
  local items, exposed = {}, {}
  for _, k in ipairs(ctx.state.exposed_keys or {}) do exposed[k] = true end
  for _, k in pairs(key_status(iam, user)) do
    if not exposed[k.AccessKeyId] and k.Status == "Active" then
      items[#items + 1] = { kind = "access key", id = k.AccessKeyId, created = k.CreateDate, recent = window.within(w, k.CreateDate),
        action = "UpdateAccessKey", after = "Inactive",
        disable = function() iam:UpdateAccessKey{ UserName = user, AccessKeyId = k.AccessKeyId, Status = "Inactive" } end }
    end
  end
  local lp = users.login_profile(iam, user)
  if lp then
    items[#items + 1] = { kind = "console password (login profile)", id = user, created = lp.CreateDate,
      recent = window.within(w, lp.CreateDate), action = "DeleteLoginProfile", after = "deleted",
      disable = function() iam:DeleteLoginProfile{ UserName = user } end }
  end
  for d in iam:paginate("ListMFADevices", { UserName = user }, { items = true }) do
    items[#items + 1] = { kind = "MFA device", id = d.SerialNumber, created = d.EnableDate, recent = window.within(w, d.EnableDate),
      action = "DeactivateMFADevice", after = "deactivated",
      disable = function() iam:DeactivateMFADevice{ UserName = user, SerialNumber = d.SerialNumber } end }
  end
  for k in iam:paginate("ListSSHPublicKeys", { UserName = user }, { items = true }) do
    if k.Status == "Active" then
      items[#items + 1] = { kind = "SSH public key", id = k.SSHPublicKeyId, created = k.UploadDate, recent = window.within(w, k.UploadDate),
        action = "UpdateSSHPublicKey", after = "Inactive",
        disable = function() iam:UpdateSSHPublicKey{ UserName = user, SSHPublicKeyId = k.SSHPublicKeyId, Status = "Inactive" } end }
    end
  end
  for c in iam:paginate("ListSigningCertificates", { UserName = user }, { items = true }) do
    if c.Status == "Active" then
      items[#items + 1] = { kind = "signing certificate", id = c.CertificateId, created = c.UploadDate,
        recent = window.within(w, c.UploadDate), action = "UpdateSigningCertificate", after = "Inactive",
        disable = function() iam:UpdateSigningCertificate{ UserName = user, CertificateId = c.CertificateId, Status = "Inactive" } end }
    end
  end
  return items
end

local function persistence(ctx)
  local iam = aws.client("iam")
  local user = user_of(ctx)
  local w = win(ctx)
  local report, failures = json.array(), {}
  for _, it in ipairs(persistence_items(ctx, iam, user, w)) do
    -- What was added in the window is suspect; older credentials are reported, never disabled
    -- here (a legitimate second key must not die with --yes). No date at all is suspect too.
    local suspect = it.recent or it.created == nil
    local entry = { kind = it.kind, id = it.id, created = it.created or json.null, in_window = it.recent and true or false }
    if not suspect then
      entry.result = "kept: older than the window"
      ctx.info("%s %s of %s (since %s): older than the window, kept; review it", it.kind, it.id, user, tostring(it.created))
    else
      ctx.warn("%s %s of %s, created %s%s", it.kind, it.id, user, tostring(it.created),
        it.recent and " (in the review window)" or "")
      if ctx.confirm("Disable " .. it.kind .. " " .. it.id .. " of " .. user .. " (created " .. tostring(it.created) .. ")?") then
        local ok, err = pcall(it.disable)
        if ok then
          entry.result = it.after
          ctx.changed{ resource = it.id, action = it.action, before = "active", after = it.after, detail = it.kind .. " of " .. user }
        else
          entry.result = "failed: " .. err_text(err)
          failures[#failures + 1] = it.kind .. " " .. it.id .. ": " .. err_text(err)
          ctx.warn("%s %s NOT disabled: %s", it.kind, it.id, err_text(err))
        end
      else
        entry.result = "kept: not confirmed"
        ctx.followup("Review " .. it.kind .. " " .. it.id .. " of " .. user .. " (kept: not confirmed during the run)")
      end
    end
    report[#report + 1] = entry
  end
  if #report == 0 then ctx.info("no other credential on %s", user) end
  ctx.output("persistence", report)
  if #failures > 0 then error(#failures .. " credential(s) not disabled: " .. table.concat(failures, "; "), 0) end
end

---------------------------------------------------------------------------- steps 4, 5

local function delete_key(ctx)
  local iam = aws.client("iam")
  local user = user_of(ctx)
  local st = key_status(iam, user)
  for _, key in ipairs(ctx.state.exposed_keys or {}) do
    local k = st[key]
    if not k then ctx.info("%s is already deleted", key)
    elseif k.Status ~= "Inactive" and not ctx.dry_run then
      error("refusing to delete " .. key .. ": it is still " .. tostring(k.Status) .. " (deactivation did not happen)", 0)
    else
      iam:DeleteAccessKey{ UserName = user, AccessKeyId = key }
      ctx.changed{ resource = key, action = "DeleteAccessKey", before = "Inactive", after = "deleted", detail = "user " .. user }
    end
  end
end

local function secret_name(ctx, user)
  if ctx.params.secret_name then return ctx.params.secret_name end
  local label = (ctx.ticket or ctx.run_id or "irhost"):gsub("[^%w/_+=.@-]", "-")
  return "irhost/" .. label .. "/" .. user .. "/access-key"
end

local function replacement(ctx)
  local iam = aws.client("iam")
  local sm = aws.client("secretsmanager")
  local user = user_of(ctx)
  local n = 0
  for _ in pairs(key_status(iam, user)) do n = n + 1 end
  if n >= 2 and not ctx.dry_run then
    error(user .. " already has 2 access keys (the IAM limit): delete one first (--delete-key deletes the exposed one)", 0)
  end
  local name = secret_name(ctx, user)
  local r = iam:CreateAccessKey{ UserName = user }
  if r.dry_run then
    sm:CreateSecret{ Name = name, Description = "replacement access key for " .. user,
      SecretString = json.encode({ UserName = user, AccessKeyId = "(new key)", SecretAccessKey = "(its secret, as a handle)" }) }
    ctx.changed{ resource = user, action = "CreateAccessKey", before = n .. " key(s)", after = "new key stored in secret " .. name }
    return
  end
  local k = r.AccessKey
  ctx.changed{ resource = k.AccessKeyId, action = "CreateAccessKey", before = "none", after = "Active", detail = "user " .. user }
  -- The secret arrives as a broker handle; the broker puts the value back only when it sends CreateSecret.
  local ok, res = pcall(sm.CreateSecret, sm, {
    Name = name, Description = "irhost replacement access key for IAM user " .. user .. " (" .. (ctx.ticket or "no ticket") .. ")",
    SecretString = json.encode({ UserName = user, AccessKeyId = k.AccessKeyId, SecretAccessKey = k.SecretAccessKey }),
    Tags = { { Key = "irhost:ticket", Value = ctx.ticket or "none" }, { Key = "irhost:run-id", Value = ctx.run_id or "none" } },
  })
  if not ok then
    -- Its secret exists nowhere else: a key nobody can use must not stay behind.
    local dok, derr = pcall(iam.DeleteAccessKey, iam, { UserName = user, AccessKeyId = k.AccessKeyId })
    ctx.changed{ resource = k.AccessKeyId, action = "DeleteAccessKey", before = "Active", after = dok and "deleted" or "delete failed",
      detail = "its secret could not be stored" }
    error("the replacement key could not be stored in Secrets Manager (" .. err_text(res) .. "); " ..
      (dok and "the new key was deleted again" or ("the new key " .. k.AccessKeyId .. " could NOT be deleted: " .. err_text(derr) ..
      "; delete it by hand")), 0)
  end
  ctx.changed{ resource = res.ARN, action = "CreateSecret", before = "none", after = "holds the new key of " .. user }
  ctx.output("replacement_access_key_id", k.AccessKeyId)
  ctx.output("replacement_secret_arn", res.ARN)
  ctx.info("replacement key %s stored in secret %s (the secret value is not shown anywhere)", k.AccessKeyId, res.ARN)
  ctx.followup("Hand the new key of " .. user .. " to its owner through Secrets Manager secret " .. res.ARN ..
    ", then delete the secret once it is in place")
end

---------------------------------------------------------------------------- step 6

local function revoke_sessions(ctx)
  local iam = aws.client("iam")
  local user = user_of(ctx)
  local now = revoke.now()
  iam:PutUserPolicy{ UserName = user, PolicyName = revoke.POLICY_NAME, PolicyDocument = revoke.document(now) }
  ctx.changed{ resource = user, action = "PutUserPolicy " .. revoke.POLICY_NAME, before = "sessions valid",
    after = "sessions issued before " .. now .. " denied" }
  ctx.output("sessions_revoked_before", now)
  local attached = {}
  for p in iam:paginate("ListAttachedUserPolicies", { UserName = user }, { items = true }) do attached[#attached + 1] = p end
  local q = revoke.quarantine_policies(attached)
  if #q > 0 then
    ctx.info("AWS attached %s to %s: left in place (remove it only once the user's credentials are rotated)",
      table.concat(q, ", "), user)
  end
  ctx.info("temporary credentials (GetSessionToken, GetFederationToken, console sessions) issued to %s before %s are " ..
    "denied; new sessions work; long-term keys are handled by their deactivation", user, now)
  ctx.info("%s", revoke.LIMITS)
  if ctx.dry_run then return end
  ctx.followup("Remove the inline policy " .. revoke.POLICY_NAME .. " from user " .. user ..
    " after 36 hours (the longest a session issued before it can last)")
end

---------------------------------------------------------------------------- steps 7-10

local function lookups_of(ctx)
  local l = {}
  for _, k in ipairs(ctx.state.exposed_keys or {}) do l[#l + 1] = { "AccessKeyId", k } end
  l[#l + 1] = { "Username", user_of(ctx) }
  return l
end

local function cloudtrail(ctx)
  local regions = trail.regions(ctx)
  ctx.output("regions", json.array(regions))
  local events = trail.review(ctx, regions, lookups_of(ctx), win(ctx), "user " .. user_of(ctx))
  ctx.state.trail_events = events
end

local function events_of(ctx)
  return trail.events(ctx, function()
    return trail.lookup_or_fail(ctx, ctx.state.regions or trail.regions(ctx), lookups_of(ctx), win(ctx))
  end)
end

local function resources(ctx)
  trail.report_resources(ctx, trail.resources(events_of(ctx)), "by " .. user_of(ctx))
end

local function delete_unauthorized(ctx)
  cleanup.step(ctx, ctx.state.resource_rows or trail.resources(events_of(ctx)))
end

---------------------------------------------------------------------------- declaration

local function flag(name, why) return function(ctx) return ctx.params[name], why end end

local permissions = account.permissions({
  "iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListGroupsForUser",
  "iam:ListAttachedUserPolicies", "iam:ListUserPolicies", "iam:GetUserPolicy", "iam:GetLoginProfile",
  "iam:ListMFADevices", "iam:ListSSHPublicKeys", "iam:ListSigningCertificates",
  "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:CreateAccessKey", "iam:DeleteLoginProfile",
  "iam:DeactivateMFADevice", "iam:UpdateSSHPublicKey", "iam:UpdateSigningCertificate", "iam:PutUserPolicy",
  "guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings",
  "secretsmanager:CreateSecret", "ec2:DescribeRegions",
})

return ir.runbook {
  name = "credentials-compromise",
  description = "Respond to compromised IAM user credentials: capture the user, deactivate the exposed key, " ..
    "disable what an attacker added, deny older sessions, review CloudTrail and the resources it shows, " ..
    "and check the account's contacts and root MFA",
  params = {
    access_key_id = { pattern = "^[%w]+$", metavar = "KEYID", help = "the exposed access key (its user is looked up)" },
    user = { pattern = "^[%w+=,.@_-]+$", metavar = "NAME", help = "the IAM user (without --access-key-id every active key is treated as exposed)" },
    finding = { type = "file", help = "a GuardDuty IAMUser finding (raw, EventBridge, SNS, GetFindings or ASFF) naming the user and key" },
    since = window.PARAM,
    regions = { type = "list", metavar = "R1,R2", help = "regions to review (default: every enabled region)" },
    delete_key = { type = "boolean", help = "delete the exposed key once it is deactivated and its evidence saved" },
    create_replacement = { type = "boolean", help = "create a new access key and store it in Secrets Manager (only the secret's ARN is reported)" },
    secret_name = { pattern = "^[%w/_+=.@-]+$", metavar = "NAME", help = "the Secrets Manager name for the replacement key (default irhost/<ticket>/<user>/access-key)" },
    delete_unauthorized = cleanup.PARAM,
  },
  validate = function(p)
    if not p.access_key_id and not p.user and not p.finding then
      return "give --access-key-id KEYID, --user NAME or --finding FILE"
    end
    local err = window.validate(p)
    if err then return err end
    if p.finding then
      local f, ferr = finding_principal(p.finding)
      if not f then return ferr end
    end
    return cleanup.validate(p)
  end,
  permissions = permissions,
  rates = { iam = 10 },
  steps = {
    { name = "Identify the user and capture evidence", run = identify },
    { name = "Deactivate the exposed key", run = deactivate, destructive = true,
      confirm = "Deactivate the exposed access key (whatever uses it stops working)?" },
    { name = "Disable added credentials", run = persistence, destructive = true, continue_on_error = true,
      description = "other access keys, and console passwords, MFA devices, SSH keys, signing certificates added in the window" },
    { name = "Delete the exposed key", run = delete_key, destructive = true,
      when = flag("delete_key", "only with --delete-key (deactivated is enough to stop it)") },
    { name = "Create a replacement key", run = replacement, destructive = true,
      when = flag("create_replacement", "only with --create-replacement") },
    { name = "Revoke older sessions", run = revoke_sessions, destructive = true,
      confirm = "Attach a policy denying every session of the user issued before now?" },
    { name = "Review CloudTrail", run = cloudtrail, continue_on_error = true },
    { name = "Review resources", run = resources, continue_on_error = true },
    { name = "Delete unauthorized resources", run = delete_unauthorized, destructive = true, continue_on_error = true,
      when = cleanup.when },
    { name = "Verify account information", run = account.step, continue_on_error = true },
  },
  followups = {
    function(ctx)
      return "Hand the evidence (run directory) to the investigation under ticket " .. (ctx.ticket or "(none)") ..
        "; GuardDuty and CloudTrail may show activity up to 15 minutes late: rerun the review later"
    end,
  },
}

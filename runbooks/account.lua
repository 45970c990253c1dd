-- Respond to a compromised AWS account: take every long-term credential out of the
-- attacker's hands at once, then review what happened.
--
--   irhost runbooks/account.lua --exclude-user alice,bob --ticket IR-42
--   irhost runbooks/account.lua --regions us-east-1,eu-west-1 --delete-keys --disable-console --ticket IR-42
--
-- Every access key of every IAM user is deactivated (deleted with --delete-keys), every
-- console user must reset a password nobody knows (or loses console access with
-- --disable-console), EC2 key pairs are deleted after their metadata is saved. The identity
-- running irhost and the --exclude-user responders are never touched. Each user and each
-- region is handled on its own: one failure is reported and the rest go on.
local caller = require("lib.identity_caller")
local window = require("lib.identity_window")
local trail = require("lib.identity_trail")
local account = require("lib.identity_account")
local cleanup = require("lib.identity_cleanup")
local users = require("lib.identity_user")
local evidence = require("lib.identity_evidence")

local function err_text(e)
  if aws.is_error(e) then return tostring(e.code) .. ": " .. tostring(e.message) end
  return tostring(e)
end

local win = window.of

local function excluded(ctx)
  local set = {}
  for _, u in ipairs(ctx.params.exclude_user or {}) do set[u] = "--exclude-user" end
  local me = ctx.state.caller
  if me and me.user then set[me.user] = "the identity running irhost" end
  return set
end

-- The users this run acts on, re-read each time so a resumed run sees the account as it is.
local function targets(ctx, iam)
  local skip = excluded(ctx)
  local out = {}
  for u in iam:paginate("ListUsers", {}, { items = true }) do
    if not skip[u.UserName] then out[#out + 1] = u.UserName end
  end
  table.sort(out)
  return out
end

local function fail_if(failures, what)
  if #failures > 0 then
    error(#failures .. " " .. what .. " failed: " .. table.concat(failures, "; "), 0)
  end
end

---------------------------------------------------------------------------- steps

local function inventory(ctx)
  local iam = aws.client("iam")
  local me = caller.get()
  ctx.output("caller", { arn = me.arn, user = me.user, role = me.role })
  if me.root then
    ctx.warn("irhost runs as the ROOT user: prefer a responder role; root sessions cannot be revoked by policy")
  end
  local skip = excluded(ctx)
  local all, found = {}, {}
  local list = {}
  for u in iam:paginate("ListUsers", {}, { items = true }) do list[#list + 1] = u end
  table.sort(list, function(a, b) return a.UserName < b.UserName end)
  local keys_active, console = 0, 0
  for _, u in ipairs(list) do
    found[u.UserName] = true
    local rec = { user = u, excluded = skip[u.UserName] or json.null }
    local ok, err = pcall(function()
      rec.access_keys = iam:ListAccessKeys{ UserName = u.UserName }.AccessKeyMetadata or {}
      local lp = users.login_profile(iam, u.UserName)
      rec.login_profile = lp or json.null
      rec.mfa_devices = iam:ListMFADevices{ UserName = u.UserName }.MFADevices or {}
    end)
    if not ok then
      rec.error = err_text(err)
      ctx.warn("user %s not fully read: %s", u.UserName, rec.error)
    end
    for _, k in ipairs(rec.access_keys or {}) do if k.Status == "Active" then keys_active = keys_active + 1 end end
    if rec.login_profile and rec.login_profile ~= json.null then console = console + 1 end
    all[#all + 1] = rec
  end
  for name, why in pairs(skip) do
    if found[name] then ctx.info("excluded: %s (%s)", name, why)
    elseif why == "--exclude-user" then ctx.warn("--exclude-user %s: no such IAM user", name) end
  end
  if me.role then ctx.info("irhost runs as %s: no IAM user to exclude for it", caller.describe(me)) end
  evidence.save(ctx, "iam-users.json", all)
  ctx.output("users", #list)
  ctx.output("active_keys", keys_active)
  ctx.output("console_users", console)
  ctx.info("%d IAM user(s): %d active access key(s), %d with a console password", #list, keys_active, console)
end

local function deactivate_keys(ctx)
  local iam = aws.client("iam")
  local failures, touched = {}, json.array()
  for _, name in ipairs(targets(ctx, iam)) do
    local ok, err = pcall(function()
      for k in iam:paginate("ListAccessKeys", { UserName = name }, { items = true }) do
        if k.Status == "Active" then
          local kok, kerr = pcall(iam.UpdateAccessKey, iam, { UserName = name, AccessKeyId = k.AccessKeyId, Status = "Inactive" })
          if kok then
            touched[#touched + 1] = name .. "/" .. k.AccessKeyId
            ctx.changed{ resource = k.AccessKeyId, action = "UpdateAccessKey", before = "Active", after = "Inactive", detail = "user " .. name }
          else
            failures[#failures + 1] = name .. "/" .. k.AccessKeyId .. ": " .. err_text(kerr)
            ctx.warn("%s/%s NOT deactivated: %s", name, k.AccessKeyId, err_text(kerr))
          end
        end
      end
    end)
    if not ok then
      failures[#failures + 1] = name .. ": " .. err_text(err)
      ctx.warn("keys of %s not read: %s", name, err_text(err))
    end
  end
  ctx.output("keys_deactivated", touched)
  ctx.info("%d access key(s) deactivated", #touched)
  fail_if(failures, "key deactivation(s)")
end

local function delete_keys(ctx)
  local iam = aws.client("iam")
  local failures, touched = {}, json.array()
  for _, name in ipairs(targets(ctx, iam)) do
    local ok, err = pcall(function()
      local keys = iam:ListAccessKeys{ UserName = name }.AccessKeyMetadata or {}
      for _, k in ipairs(keys) do
        if k.Status ~= "Inactive" and not ctx.dry_run then
          failures[#failures + 1] = name .. "/" .. k.AccessKeyId .. ": still active, not deleted"
        else
          local kok, kerr = pcall(iam.DeleteAccessKey, iam, { UserName = name, AccessKeyId = k.AccessKeyId })
          if kok then
            touched[#touched + 1] = name .. "/" .. k.AccessKeyId
            ctx.changed{ resource = k.AccessKeyId, action = "DeleteAccessKey", before = "Inactive", after = "deleted", detail = "user " .. name }
          else
            failures[#failures + 1] = name .. "/" .. k.AccessKeyId .. ": " .. err_text(kerr)
          end
        end
      end
    end)
    if not ok then failures[#failures + 1] = name .. ": " .. err_text(err) end
  end
  ctx.output("keys_deleted", touched)
  fail_if(failures, "key deletion(s)")
end

local function reset_console(ctx)
  local iam = aws.client("iam")
  local failures, touched = {}, json.array()
  for _, name in ipairs(targets(ctx, iam)) do
    local ok, err = pcall(function()
      local lp = users.login_profile(iam, name)
      if not lp then return end
      if ctx.params.disable_console then
        iam:DeleteLoginProfile{ UserName = name }
        ctx.changed{ resource = name, action = "DeleteLoginProfile", before = "console password", after = "no console access" }
      else
        -- A password nobody knows: the broker generates and keeps it; only its handle is here.
        local pw = aws.secret.generate{ length = 32, charset = "alnumsym" }
        iam:UpdateLoginProfile{ UserName = name, Password = pw, PasswordResetRequired = true }
        ctx.changed{ resource = name, action = "UpdateLoginProfile", before = "console password",
          after = "random password never revealed, reset required" }
      end
      touched[#touched + 1] = name
    end)
    if not ok then
      failures[#failures + 1] = name .. ": " .. err_text(err)
      ctx.warn("console password of %s NOT reset: %s", name, err_text(err))
    end
  end
  ctx.output("console_users_touched", touched)
  if #touched > 0 and not ctx.dry_run then
    ctx.followup(ctx.params.disable_console and
      ("Console access was removed from " .. #touched .. " user(s); recreate login profiles for those who need it, with MFA") or
      ("The console passwords of " .. #touched .. " user(s) were set to random values nobody knows: an administrator sets a " ..
       "new password for each (aws iam update-login-profile) and hands it over out of band"))
  end
  fail_if(failures, "console password reset(s)")
end

local function key_pairs(ctx)
  local regions = trail.regions(ctx)
  ctx.output("regions", json.array(regions))
  local found, failures = {}, {}
  for _, region in ipairs(regions) do
    local ok, r = pcall(function() return aws.client("ec2", { region = region }):DescribeKeyPairs({}).KeyPairs or {} end)
    if ok then
      for _, k in ipairs(r) do k.Region = region; found[#found + 1] = k end
    else
      failures[#failures + 1] = region .. ": " .. err_text(r)
      ctx.warn("key pairs of %s not listed: %s", region, err_text(r))
    end
  end
  -- Saved before anything is deleted: the metadata (fingerprints) is what ties a key to a login.
  evidence.save(ctx, "ec2-key-pairs.json", found)
  local deleted = json.array()
  for _, k in ipairs(found) do
    local ec2 = aws.client("ec2", { region = k.Region })
    local params = k.KeyPairId and { KeyPairId = k.KeyPairId } or { KeyName = k.KeyName }
    local ok, err = pcall(ec2.DeleteKeyPair, ec2, params)
    if ok then
      deleted[#deleted + 1] = k.Region .. "/" .. tostring(k.KeyName)
      ctx.changed{ resource = tostring(k.KeyName), action = "DeleteKeyPair", before = tostring(k.KeyFingerprint), after = "deleted",
        detail = k.Region .. " " .. tostring(k.KeyPairId) }
    else
      failures[#failures + 1] = k.Region .. "/" .. tostring(k.KeyName) .. ": " .. err_text(err)
      ctx.warn("key pair %s in %s NOT deleted: %s", tostring(k.KeyName), k.Region, err_text(err))
    end
  end
  ctx.output("key_pairs_deleted", deleted)
  ctx.info("%d key pair(s) in %d region(s)", #found, #regions)
  if #found > 0 and not ctx.dry_run then
    ctx.followup("Deleting a key pair does not remove its public key from instances launched with it: " ..
      "replace ~/.ssh/authorized_keys on those instances (fingerprints in evidence/ec2-key-pairs.json)")
  end
  fail_if(failures, "key pair operation(s)")
end

local function cloudtrail(ctx)
  local regions = ctx.state.regions or trail.regions(ctx)
  local events = trail.review(ctx, regions, { { "ReadOnly", "false" } }, win(ctx), "write events in the account")
  ctx.state.trail_events = events
end

local function recent_resources(ctx, regions, w)
  local found, notes = {}, {}
  local function add(t, name, region, created, extra)
    found[#found + 1] = { type = t, name = name, region = region, created = created, detail = extra }
  end
  local iam = aws.client("iam")
  local ok, err = pcall(function()
    for u in iam:paginate("ListUsers", {}, { items = true }) do
      if window.within(w, u.CreateDate) then add("AWS::IAM::User", u.UserName, "global", u.CreateDate) end
      for k in iam:paginate("ListAccessKeys", { UserName = u.UserName }, { items = true }) do
        if window.within(w, k.CreateDate) then add("AWS::IAM::AccessKey", u.UserName .. "/" .. k.AccessKeyId, "global", k.CreateDate, k.Status) end
      end
    end
    for r in iam:paginate("ListRoles", {}, { items = true }) do
      if window.within(w, r.CreateDate) then add("AWS::IAM::Role", r.RoleName, "global", r.CreateDate) end
    end
  end)
  if not ok then notes[#notes + 1] = "IAM: " .. err_text(err) end
  for _, region in ipairs(regions) do
    local eok, eerr = pcall(function()
      for res in aws.client("ec2", { region = region }):paginate("DescribeInstances", {}, { items = true }) do
        for _, i in ipairs(res.Instances or {}) do
          if window.within(w, i.LaunchTime) then add("AWS::EC2::Instance", i.InstanceId, region, i.LaunchTime, i.State and i.State.Name) end
        end
      end
    end)
    if not eok then notes[#notes + 1] = "EC2 " .. region .. ": " .. err_text(eerr) end
    local lok, lerr = pcall(function()
      for f in aws.client("lambda", { region = region }):paginate("ListFunctions", {}, { items = true }) do
        if window.within(w, f.LastModified) then add("AWS::Lambda::Function", f.FunctionName, region, f.LastModified, f.Runtime) end
      end
    end)
    if not lok then notes[#notes + 1] = "Lambda " .. region .. ": " .. err_text(lerr) end
  end
  return found, notes
end

-- The resource rows: CloudTrail's writes plus what an inventory finds created in the window.
local function resource_rows(ctx)
  local w = win(ctx)
  local regions = ctx.state.regions or trail.regions(ctx)
  local events = ctx.state.trail_events
  if not events then events = trail.lookup_or_fail(ctx, regions, { { "ReadOnly", "false" } }, w) end
  local rows = trail.resources(events)
  local recent, notes = recent_resources(ctx, regions, w)
  for _, n in ipairs(notes) do ctx.warn("not inventoried: %s", n) end
  -- Resources found by inventory but absent from the events (CloudTrail lag, or trail gaps) join the table.
  local have = {}
  for _, r in ipairs(rows) do have[r.type .. " " .. r.name] = true end
  for _, r in ipairs(recent) do
    if not have[r.type .. " " .. r.name] then
      rows[#rows + 1] = { type = r.type, name = r.name, region = r.region, actions = { "created (inventory)" },
        first_time = r.created, last_time = r.created, key = r.type .. " " .. r.name .. " " .. r.region }
    end
  end
  table.sort(rows, function(a, b) return a.key < b.key end)
  return rows, recent
end

local function resources(ctx)
  local rows, recent = resource_rows(ctx)
  evidence.save(ctx, "recent-resources.json", recent)
  trail.report_resources(ctx, rows, "in the account")
end

local function delete_unauthorized(ctx)
  local skip = excluded(ctx)
  cleanup.step(ctx, ctx.state.resource_rows or resource_rows(ctx), function(r)
    local user = r.type == "AWS::IAM::AccessKey" and r.name:match("^(.+)/")
    if user and skip[user] then return "a key of " .. user .. " (" .. skip[user] .. ")" end
  end)
end

---------------------------------------------------------------------------- declaration

local permissions = account.permissions({
  "iam:ListUsers", "iam:ListAccessKeys", "iam:GetLoginProfile", "iam:ListMFADevices", "iam:ListRoles",
  "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:UpdateLoginProfile", "iam:DeleteLoginProfile",
  "ec2:DescribeRegions", "ec2:DescribeKeyPairs", "ec2:DeleteKeyPair", "ec2:DescribeInstances", "lambda:ListFunctions",
})

local function flag(name, why) return function(ctx) return ctx.params[name], why end end

return ir.runbook {
  name = "account-compromise",
  description = "Respond to a compromised AWS account: deactivate every IAM user's access keys, force console password " ..
    "resets, delete EC2 key pairs in every region, review CloudTrail and recent resources, and check the account's " ..
    "contacts and root MFA; the caller and --exclude-user responders are never touched",
  params = {
    exclude_user = { type = "list", pattern = "^[%w+=,.@_-]+$", metavar = "U1,U2",
      help = "responders' IAM users to leave alone (the identity running irhost is always excluded)" },
    regions = { type = "list", metavar = "R1,R2", help = "regions for key pairs and the reviews (default: every enabled region)" },
    since = window.PARAM,
    delete_keys = { type = "boolean", help = "delete the access keys after deactivating them" },
    disable_console = { type = "boolean", help = "delete console passwords (login profiles) instead of forcing a reset" },
    delete_unauthorized = cleanup.PARAM,
  },
  validate = function(p) return window.validate(p) or cleanup.validate(p) end,
  permissions = permissions,
  rates = { iam = 10 },
  steps = {
    { name = "Inventory IAM users and credentials", run = inventory },
    { name = "Deactivate access keys", run = deactivate_keys, destructive = true, continue_on_error = true,
      confirm = "Deactivate the access keys of every IAM user but the excluded ones (everything using them stops working)?" },
    { name = "Delete access keys", run = delete_keys, destructive = true, continue_on_error = true,
      when = flag("delete_keys", "only with --delete-keys") },
    { name = "Reset console passwords", run = reset_console, destructive = true, continue_on_error = true,
      confirm = "Set every console user's password to a random value nobody knows (or delete it with --disable-console)?" },
    { name = "Delete EC2 key pairs", run = key_pairs, destructive = true, continue_on_error = true,
      confirm = "Delete every EC2 key pair in the reviewed regions (their metadata is saved first)?" },
    { name = "Review CloudTrail", run = cloudtrail, continue_on_error = true },
    { name = "Review resources", run = resources, continue_on_error = true },
    { name = "Delete unauthorized resources", run = delete_unauthorized, destructive = true, continue_on_error = true,
      when = cleanup.when },
    { name = "Verify account information", run = account.step, continue_on_error = true },
  },
  followups = {
    "Revoke temporary credentials too: run runbooks/iam-role.lua for each role the attacker may have assumed",
    function(ctx)
      return "Hand the evidence (run directory) to the investigation under ticket " .. (ctx.ticket or "(none)")
    end,
  },
}

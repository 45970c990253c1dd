-- The account information check every identity runbook ends with: contact information,
-- alternate contacts, account aliases and the root user's MFA (the IAM account summary),
-- saved as evidence, and the CloudTrail events that changed any of them in the window.
local trail = require("lib.identity_trail")
local evidence = require("lib.identity_evidence")
local window = require("lib.identity_window")
local cleanup = require("lib.identity_cleanup")

local M = {}

local CONTACT_TYPES = { "BILLING", "OPERATIONS", "SECURITY" }

-- Events that change what this check reads (IAM and Account Management are global: us-east-1).
-- Contact changes come from account.amazonaws.com; the rest are IAM events, looked up by name
-- (LookupEvents takes one attribute, and CloudTrail answers 2 lookups a second per region).
M.CHANGE_LOOKUPS = {
  { "EventSource", "account.amazonaws.com" },
  { "EventName", "CreateAccountAlias" }, { "EventName", "DeleteAccountAlias" },
  { "EventName", "UpdateAccountPasswordPolicy" }, { "EventName", "DeleteAccountPasswordPolicy" },
  { "EventName", "DeactivateMFADevice" }, { "EventName", "DeleteVirtualMFADevice" },
}

M.PERMISSIONS = {
  "account:GetContactInformation", "account:GetAlternateContact", "iam:ListAccountAliases",
  "iam:GetAccountSummary", "cloudtrail:LookupEvents",
}

-- A runbook's own permissions plus what every identity runbook needs: this check and the
-- --delete-unauthorized cleanup.
function M.permissions(own)
  local out = {}
  for _, list in ipairs({ own, M.PERMISSIONS, cleanup.PERMISSIONS }) do
    for _, p in ipairs(list) do out[#out + 1] = p end
  end
  return out
end

local function try(f)
  local ok, r = pcall(f)
  if ok then return r end
  return nil, (aws.is_error(r) and (tostring(r.code) .. ": " .. tostring(r.message))) or tostring(r)
end

-- Runs the check in step ctx for window win. Root MFA off, root access keys, or a change in
-- the window are warnings and follow-ups, not failures: the responder decides.
-- caller (lib.identity_caller) is left out of the changes: this run's own work.
function M.verify(ctx, win, caller)
  local acct = aws.client("account")
  local iam = aws.client("iam")
  local info = { alternate_contacts = {} }
  local contact, cerr = try(function() return acct:GetContactInformation({}).ContactInformation end)
  info.contact_information = contact or { error = cerr }
  if not contact then ctx.warn("contact information not read: %s", cerr) end
  for _, t in ipairs(CONTACT_TYPES) do
    local ok, r = pcall(acct.GetAlternateContact, acct, { AlternateContactType = t })
    if ok then info.alternate_contacts[t] = r.AlternateContact
    elseif aws.is_error(r, "ResourceNotFoundException") then
      info.alternate_contacts[t] = "not set"
      if t == "SECURITY" then ctx.warn("no SECURITY alternate contact: AWS has nobody to reach about this incident") end
    else
      info.alternate_contacts[t] = { error = tostring(aws.is_error(r) and r.code or r) }
      ctx.warn("%s alternate contact not read: %s", t, tostring(aws.is_error(r) and r.message or r))
    end
  end
  local aliases, aerr = try(function() return iam:ListAccountAliases({}).AccountAliases end)
  info.account_aliases = aliases or { error = aerr }
  local summary, serr = try(function() return iam:GetAccountSummary({}).SummaryMap end)
  info.account_summary = summary or { error = serr }
  evidence.save(ctx, "account-information.json", info)

  if summary then
    local mfa = summary.AccountMFAEnabled
    ctx.output("root_mfa", mfa == 1)
    if mfa ~= 1 then
      ctx.warn("the root user has NO MFA device")
      ctx.followup("Enable MFA on the root user now (the account summary shows none)")
    else
      ctx.info("root user MFA enabled")
    end
    if summary.AccountAccessKeysPresent == 1 then
      ctx.warn("the root user has access keys")
      ctx.followup("Delete the root user's access keys (sign in as root: Security credentials)")
    end
  else
    ctx.warn("account summary not read: %s", serr)
  end
  ctx.info("account aliases: %s", aliases and (#aliases > 0 and table.concat(aliases, ", ") or "none") or "not read")

  local events, notes, failed, total = trail.lookup({ "us-east-1" }, M.CHANGE_LOOKUPS, win)
  for _, n in ipairs(notes) do ctx.warn("%s", n) end
  if failed == total then
    error("account information saved, but changes in the window not reviewed: no CloudTrail lookup succeeded (" ..
      tostring(notes[1]) .. ")", 0)
  end
  local changes = {}
  for _, e in ipairs(events) do
    if not e.error_code and not e.read_only and not (caller and caller.arn and e.principal == caller.arn) then
      changes[#changes + 1] = { time = e.time, event = e.name, by = e.principal or e.username, ip = e.ip,
        request = e.request }
    end
  end
  evidence.save(ctx, "account-changes.json", { window = { start = win.start_iso, finish = win.end_iso }, changes = changes })
  ctx.output("account_changes", #changes)
  if #changes == 0 then
    ctx.info("no change to contacts, aliases, password policy or MFA devices since %s%s", win.start_iso,
      failed > 0 and (" in the " .. (total - failed) .. " of " .. total .. " lookups that answered") or "")
  else
    for _, c in ipairs(changes) do
      ctx.warn("%s %s by %s from %s", tostring(c.time), c.event, tostring(c.by), tostring(c.ip))
    end
    ctx.followup(#changes .. " change(s) to account settings, contacts or MFA in the window (evidence/account-changes.json): " ..
      "confirm each with the account owner and restore what an attacker changed")
  end
  return info
end

-- The "Verify account information" step: the check over the run's window, leaving out
-- the caller the first step recorded.
function M.step(ctx)
  M.verify(ctx, window.of(ctx), ctx.state.caller)
end

return M

-- Tests for runbooks/credentials.lua with stubbed AWS (no network):
--   irhost test runbooks/tests/credentials_test.lua
-- One IAM user with one exposed key and nothing else. The end-to-end tests in
-- tests/identity/ run the same runbook against the local AWS endpoint.
local RB = "../credentials.lua"
local USER, KEY = "dev", "AKIADEVEXPOSED000001"
local function args(extra)
  return { "--access-key-id", KEY, "--regions", "us-east-1", "--ticket", "IR-7", extra }
end

-- Stubs for the user; `state` records what the run changed.
local function one_user(foreign_key)
  local state = { status = "Active", policies = {} }
  local not_found = { error = { code = "NoSuchEntity", status = 404, message = "not found" } }
  if foreign_key then
    stub("iam", "GetAccessKeyLastUsed", { error = { code = "AccessDenied", status = 403, message = "not authorized" } })
  else
    stub("iam", "GetAccessKeyLastUsed", { UserName = USER, AccessKeyLastUsed = { ServiceName = "s3", Region = "us-east-1" } })
  end
  stub("iam", "GetUser", { User = { UserName = USER, UserId = "AIDADEV", Arn = "arn:aws:iam::111122223333:user/dev",
    Path = "/", CreateDate = "2025-01-01T00:00:00Z" } })
  stub("iam", "ListAccessKeys", function()
    return { AccessKeyMetadata = { { UserName = USER, AccessKeyId = KEY, Status = state.status,
      CreateDate = "2025-01-01T00:00:00Z" } }, IsTruncated = false }
  end)
  stub("iam", "ListGroupsForUser", { Groups = {}, IsTruncated = false })
  stub("iam", "ListAttachedUserPolicies", { AttachedPolicies = {}, IsTruncated = false })
  stub("iam", "ListUserPolicies", { PolicyNames = {}, IsTruncated = false })
  stub("iam", "GetLoginProfile", not_found)
  stub("iam", "ListMFADevices", { MFADevices = {}, IsTruncated = false })
  stub("iam", "ListSSHPublicKeys", { SSHPublicKeys = {}, IsTruncated = false })
  stub("iam", "ListSigningCertificates", { Certificates = {}, IsTruncated = false })
  stub("guardduty", "ListDetectors", { DetectorIds = {} })
  stub("iam", "UpdateAccessKey", function(p) state.status = p.Status; return {} end)
  stub("iam", "PutUserPolicy", function(p) state.policies[p.PolicyName] = p.PolicyDocument; return {} end)
  stub("cloudtrail", "LookupEvents", { Events = {} })
  stub("account", "GetContactInformation", { ContactInformation = { FullName = "Acme", AddressLine1 = "1 Way",
    City = "Seattle", CountryCode = "US", PhoneNumber = "+1-206-555-0100", PostalCode = "98101" } })
  stub("account", "GetAlternateContact", { error = { code = "ResourceNotFoundException", status = 404, message = "none" } })
  stub("iam", "ListAccountAliases", { AccountAliases = {}, IsTruncated = false })
  stub("iam", "GetAccountSummary", { SummaryMap = { AccountMFAEnabled = 1, AccountAccessKeysPresent = 0 } })
  return state
end

test("the exposed key is deactivated and older sessions denied", function()
  local state = one_user()
  local r = run(RB, args("--yes"))
  expect_eq(r.exit, 0, "exit")
  expect_call(r, "iam:UpdateAccessKey", { UserName = USER, AccessKeyId = KEY, Status = "Inactive" })
  expect_eq(state.status, "Inactive", "key status")
  expect_no_call(r, "iam:DeleteAccessKey")
  local doc = json.decode(state.policies.AWSRevokeOlderSessions or "{}")
  local cond = doc.Statement and doc.Statement[1].Condition.DateLessThan["aws:TokenIssueTime"]
  expect_match(cond or "", "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$")
  expect(r.evidence["iam-user.json"] ~= nil and r.evidence["cloudtrail-events.json"] ~= nil, "user and CloudTrail evidence saved")
  expect_eq(r.steps["Create a replacement key"].status, "skipped", "replacement step")
end)

test("a dry run sends no change and plans each one", function()
  local state = one_user()
  local r = run(RB, args("--dry-run"))
  expect_eq(r.exit, 0, "exit")
  for _, c in ipairs(r.calls) do
    expect(not aws.is_mutating(c.service, c.operation) or c.planned, c.name .. " was sent in a dry run")
  end
  expect_call(r, "iam:UpdateAccessKey", { AccessKeyId = KEY, Status = "Inactive" })
  expect_call(r, "iam:PutUserPolicy", { UserName = USER, PolicyName = "AWSRevokeOlderSessions" })
  expect_eq(state.status, "Active", "key status")
end)

test("the identity running irhost is never locked out", function()
  one_user()
  stub("sts", "GetCallerIdentity", { Account = "111122223333", UserId = "AIDADEV", Arn = "arn:aws:iam::111122223333:user/dev" })
  local r = run(RB, args("--yes"))
  expect_eq(r.exit, 1, "exit")
  expect_match(r.message or "", "lock itself out")
  expect_no_call(r, "iam:UpdateAccessKey")
  expect_no_call(r, "iam:PutUserPolicy")
end)

test("a key of another account needs --user", function()
  one_user(true)
  local r = run(RB, args("--yes"))
  expect_eq(r.exit, 1, "exit")
  expect_match(r.message or "", "give %-%-user too")
  expect_no_call(r, "iam:UpdateAccessKey")
end)

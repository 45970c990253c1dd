-- Tests for runbooks/account.lua with stubbed AWS (no network):
--   irhost test runbooks/tests/account_test.lua
-- Three IAM users: the caller (irhost-test, the test framework's identity), a responder
-- excluded by --exclude-user, and one ordinary console user. The end-to-end tests in
-- tests/identity/ run the same runbook against the local AWS endpoint.
local RB = "../account.lua"
local USERS = { "irhost-test", "responder", "dev" }

local function account(password_policy_refuses)
  local state = { keys = {}, reset = {}, deleted_pairs = {} }
  for _, u in ipairs(USERS) do state.keys[u] = "Active" end
  stub("iam", "ListUsers", function()
    local out = {}
    for _, u in ipairs(USERS) do
      out[#out + 1] = { UserName = u, UserId = "AIDA" .. u:upper():gsub("%-", ""), Path = "/",
        Arn = "arn:aws:iam::111122223333:user/" .. u, CreateDate = "2024-01-01T00:00:00Z" }
    end
    return { Users = out, IsTruncated = false }
  end)
  stub("iam", "ListAccessKeys", function(p)
    return { AccessKeyMetadata = { { UserName = p.UserName, AccessKeyId = ("AKIA" .. p.UserName:upper():gsub("%-", "") .. "0000000000000000"):sub(1, 20),
      Status = state.keys[p.UserName], CreateDate = "2024-01-01T00:00:00Z" } }, IsTruncated = false }
  end)
  stub("iam", "GetLoginProfile", function(p)
    return { LoginProfile = { UserName = p.UserName, CreateDate = "2024-01-01T00:00:00Z", PasswordResetRequired = false } }
  end)
  stub("iam", "ListMFADevices", { MFADevices = {}, IsTruncated = false })
  stub("iam", "ListRoles", { Roles = {}, IsTruncated = false })
  stub("iam", "UpdateAccessKey", function(p) state.keys[p.UserName] = p.Status; return {} end)
  if password_policy_refuses then
    stub("iam", "UpdateLoginProfile", { error = { code = "PasswordPolicyViolation", status = 400, message = "too weak" } })
  else
    stub("iam", "UpdateLoginProfile", function(p)
      state.reset[p.UserName] = { handle = p.Password, required = p.PasswordResetRequired }
      return {}
    end)
  end
  stub("ec2", "DescribeKeyPairs", { KeyPairs = { { KeyName = "ops", KeyPairId = "key-1", KeyFingerprint = "aa:bb" } } })
  stub("ec2", "DeleteKeyPair", function(p) state.deleted_pairs[#state.deleted_pairs + 1] = p.KeyPairId; return {} end)
  stub("ec2", "DescribeInstances", { Reservations = {} })
  stub("lambda", "ListFunctions", { Functions = {} })
  stub("cloudtrail", "LookupEvents", { Events = {} })
  stub("account", "GetContactInformation", { error = { code = "AccessDeniedException", status = 403, message = "no" } })
  stub("account", "GetAlternateContact", { error = { code = "ResourceNotFoundException", status = 404, message = "none" } })
  stub("iam", "ListAccountAliases", { AccountAliases = {}, IsTruncated = false })
  stub("iam", "GetAccountSummary", { SummaryMap = { AccountMFAEnabled = 1 } })
  return state
end

test("every user's keys and password but the caller's and the excluded ones", function()
  local state = account()
  local r = run(RB, { "--exclude-user", "responder", "--regions", "us-east-1", "--yes" })
  expect_eq(r.exit, 0, "exit")
  expect_eq(state.keys, { ["irhost-test"] = "Active", responder = "Active", dev = "Inactive" }, "key status")
  expect(state.reset.dev and state.reset.dev.required == true, "dev must reset the password")
  expect_match(state.reset.dev and state.reset.dev.handle or "", "^irhost%-secret%-%x+$")
  expect(state.reset["irhost-test"] == nil and state.reset.responder == nil, "the caller and the responder keep theirs")
  expect_eq(state.deleted_pairs, { "key-1" }, "key pairs deleted")
  expect(r.evidence["ec2-key-pairs.json"] ~= nil and r.evidence["iam-users.json"] ~= nil, "inventory saved as evidence")
  expect_match(r.said, "irhost%-test %(the identity running irhost%)")
end)

test("a failure on one user does not stop the others", function()
  local state = account(true)
  local r = run(RB, { "--regions", "us-east-1", "--yes" })
  expect_eq(r.exit, 1, "exit")
  expect_eq(state.keys.dev, "Inactive", "dev's key")
  expect_eq(state.keys.responder, "Inactive", "responder's key (not excluded this time)")
  expect_eq(state.deleted_pairs, { "key-1" }, "key pairs still deleted")
  expect_match(r.said, "PasswordPolicyViolation")
end)

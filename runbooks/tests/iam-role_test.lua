-- Tests for runbooks/iam-role.lua with stubbed AWS (no network):
--   irhost test runbooks/tests/iam-role_test.lua
-- A role assumable through a SAML provider and by another account. The end-to-end tests in
-- tests/identity/ run the same runbook against the local AWS endpoint.
local RB = "../iam-role.lua"
local ROLE = "sso-admins"
local SAML = "arn:aws:iam::111122223333:saml-provider/CorpIdP"
local TRUST = {
  Version = "2012-10-17",
  Statement = {
    { Effect = "Allow", Principal = { Federated = SAML }, Action = "sts:AssumeRoleWithSAML" },
    { Effect = "Allow", Principal = { AWS = "arn:aws:iam::444455556666:root" }, Action = "sts:AssumeRole" },
  },
}

local function encode_uri(s)
  return (s:gsub("[^%w%-._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function federated_role()
  local state = { policies = {}, trust = nil }
  stub("iam", "GetRole", function()
    return { Role = { RoleName = ROLE, RoleId = "AROASSO", Arn = "arn:aws:iam::111122223333:role/" .. ROLE, Path = "/",
      CreateDate = "2025-01-01T00:00:00Z", MaxSessionDuration = 3600,
      AssumeRolePolicyDocument = encode_uri(state.trust or json.encode(TRUST)) } }
  end)
  stub("iam", "ListRolePolicies", { PolicyNames = {}, IsTruncated = false })
  stub("iam", "ListAttachedRolePolicies", { AttachedPolicies = {}, IsTruncated = false })
  stub("iam", "ListInstanceProfilesForRole", { InstanceProfiles = {}, IsTruncated = false })
  stub("iam", "PutRolePolicy", function(p) state.policies[p.PolicyName] = p.PolicyDocument; return {} end)
  stub("iam", "ListSAMLProviders", { SAMLProviderList = { { Arn = SAML } } })
  stub("iam", "ListOpenIDConnectProviders", { OpenIDConnectProviderList = {} })
  stub("iam", "UpdateAssumeRolePolicy", function(p) state.trust = p.PolicyDocument; return {} end)
  stub("cloudtrail", "LookupEvents", { Events = {} })
  stub("account", "GetContactInformation", { error = { code = "AccessDeniedException", status = 403, message = "no" } })
  stub("account", "GetAlternateContact", { error = { code = "ResourceNotFoundException", status = 404, message = "none" } })
  stub("iam", "ListAccountAliases", { AccountAliases = {}, IsTruncated = false })
  stub("iam", "GetAccountSummary", { SummaryMap = { AccountMFAEnabled = 0 } })
  return state
end

test("sessions revoked, federation denied, the IdP left to a human", function()
  local state = federated_role()
  local r = run(RB, { "--role", ROLE, "--restrict-trust", "--regions", "us-east-1", "--yes" })
  expect_eq(r.exit, 0, "exit")
  expect(state.policies.AWSRevokeOlderSessions ~= nil, "AWSRevokeOlderSessions attached")
  local trust = json.decode(state.trust or "{}")
  local deny = trust.Statement and trust.Statement[#trust.Statement]
  expect(deny and deny.Effect == "Deny" and deny.Principal.Federated[1] == SAML, "the new trust policy denies the SAML provider")
  expect_eq(#trust.Statement, 2, "the other account's statement kept, the SAML one replaced")
  expect(r.evidence["trust-policy-before-restrict.json"] ~= nil, "the original trust policy saved first")
  expect_match(r.said, "CorpIdP")
  expect_match(r.said, "root user has NO MFA")
end)

test("without --restrict-trust the trust policy is only reported", function()
  local state = federated_role()
  local r = run(RB, { "--role", ROLE, "--regions", "us-east-1", "--yes" })
  expect_eq(r.exit, 0, "exit")
  expect_no_call(r, "iam:UpdateAssumeRolePolicy")
  expect(state.trust == nil, "trust unchanged")
  expect_match(r.said, "444455556666")
end)

test("a session of the role itself is refused", function()
  federated_role()
  stub("sts", "GetCallerIdentity", { Account = "111122223333", UserId = "AROASSO:me",
    Arn = "arn:aws:sts::111122223333:assumed-role/" .. ROLE .. "/me" })
  local r = run(RB, { "--role", ROLE, "--regions", "us-east-1", "--yes" })
  expect_eq(r.exit, 1, "exit")
  expect_match(r.message or "", "own session")
  expect_no_call(r, "iam:PutRolePolicy")
end)

-- Tests for runbooks/s3.lua with stubbed AWS (no network):  irhost test runbooks/tests/s3_test.lua
-- One bucket of account 111122223333 (the test identity's) that the world can read: an ACL
-- grant to AllUsers and a public policy statement next to the owner's own application
-- role. CloudTrail shows one principal of another account reading its policy; GuardDuty
-- is on with no finding, no trail records data events, Detective is off. The end-to-end
-- tests in tests/s3/ run the same runbook against the local AWS endpoint.
local RB = "../s3.lua"
local BUCKET = "acme-public-assets"
local OWNER_ID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
local ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
local OUTSIDER = "arn:aws:iam::444455556666:user/mallory"
local APP_ROLE = "arn:aws:iam::111122223333:role/assets-app"
local CALLER = "arn:aws:iam::111122223333:user/irhost-test"   -- what irhost test answers sts:GetCallerIdentity with
local DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"

local POLICY = json.encode({ Version = "2012-10-17", Statement = {
  { Sid = "PublicRead", Effect = "Allow", Principal = "*", Action = "s3:GetObject",
    Resource = "arn:aws:s3:::" .. BUCKET .. "/*" },
  { Sid = "AppRead", Effect = "Allow", Principal = { AWS = APP_ROLE }, Action = { "s3:GetObject", "s3:ListBucket" },
    Resource = { "arn:aws:s3:::" .. BUCKET, "arn:aws:s3:::" .. BUCKET .. "/*" } },
} })

local function s3_error(code, message) return { error = { code = code, status = 404, message = message } } end

-- Stubs for the public bucket; `state` is the bucket as AWS holds it, changed by the run.
local function public_bucket()
  local state = { policy = POLICY, pab = nil, ownership = nil,
    grants = { { Grantee = { Type = "CanonicalUser", ID = OWNER_ID, DisplayName = "acme" },
      Permission = "FULL_CONTROL" },
      { Grantee = { Type = "Group", URI = ALL_USERS }, Permission = "READ" } } }
  stub("s3", "HeadBucket", {}, { expect = { Bucket = BUCKET } })
  stub("s3", "GetBucketLocation", { LocationConstraint = "eu-west-1" })
  stub("guardduty", "ListDetectors", { DetectorIds = { DETECTOR } })
  stub("guardduty", "ListFindings", { FindingIds = {} }, { expect = { DetectorId = DETECTOR,
    FindingCriteria = { Criterion = { ["resource.s3BucketDetails.name"] = { Eq = { BUCKET } } } } } })
  stub("cloudtrail", "LookupEvents", { Events = { {
    EventId = "3d5e7b52-7a43-4c71-9b0e-6f5a2e1f0c11", EventName = "GetBucketPolicy", EventTime = "2026-12-01T09:14:02Z",
    EventSource = "s3.amazonaws.com", Username = "mallory", ReadOnly = "true",
    Resources = { { ResourceType = "AWS::S3::Bucket", ResourceName = BUCKET } },
    CloudTrailEvent = json.encode({ eventVersion = "1.08", eventName = "GetBucketPolicy", awsRegion = "eu-west-1",
      sourceIPAddress = "198.51.100.23", userAgent = "aws-cli/2.13.0", readOnly = true,
      userIdentity = { type = "IAMUser", arn = OUTSIDER, accountId = "444455556666", userName = "mallory" },
      requestParameters = { bucketName = BUCKET, policy = "" } }) } } },
    { expect = { LookupAttributes = { { AttributeKey = "ResourceName", AttributeValue = BUCKET } } } })
  stub("cloudtrail", "DescribeTrails", { trailList = {} })
  stub("detective", "ListGraphs", { GraphList = {} })
  stub("s3", "GetBucketPolicy", function()
    if not state.policy then return s3_error("NoSuchBucketPolicy", "The bucket policy does not exist") end
    return { Policy = state.policy }
  end)
  stub("s3", "GetBucketPolicyStatus", function()
    return { PolicyStatus = { IsPublic = state.policy ~= nil and state.policy:find('"Principal":"%*"') ~= nil } }
  end)
  stub("s3", "GetBucketAcl", function()
    return { Owner = { ID = OWNER_ID, DisplayName = "acme" }, Grants = state.grants }
  end)
  stub("s3", "GetPublicAccessBlock", function()
    if not state.pab then return s3_error("NoSuchPublicAccessBlockConfiguration",
      "The public access block configuration was not found") end
    return { PublicAccessBlockConfiguration = state.pab }
  end)
  stub("s3", "GetBucketOwnershipControls", function()
    if not state.ownership then return s3_error("OwnershipControlsNotFoundError",
      "The bucket ownership controls were not found") end
    return { OwnershipControls = { Rules = { { ObjectOwnership = state.ownership } } } }
  end)
  stub("s3", "GetBucketVersioning", {})
  stub("s3", "GetObjectLockConfiguration", s3_error("ObjectLockConfigurationNotFoundError",
    "Object Lock configuration does not exist for this bucket"))
  stub("s3", "GetBucketEncryption", { ServerSideEncryptionConfiguration = { Rules = {
    { ApplyServerSideEncryptionByDefault = { SSEAlgorithm = "AES256" }, BucketKeyEnabled = false } } } })
  stub("s3", "GetBucketLogging", {})
  stub("s3", "GetBucketTagging", s3_error("NoSuchTagSet", "The TagSet does not exist"))
  stub("s3control", "ListAccessPoints", { AccessPointList = {} }, { expect = { AccountId = "111122223333",
    Bucket = BUCKET } })
  -- What a full run changes.
  stub("s3", "PutPublicAccessBlock", function(p) state.pab = p.PublicAccessBlockConfiguration; return {} end)
  stub("s3", "PutBucketAcl", function(p)
    if p.ACL == "private" then state.grants = { state.grants[1] } end
    return {}
  end)
  stub("s3", "PutBucketPolicy", function(p) state.policy = p.Policy; return {} end)
  stub("s3", "DeleteBucketPolicy", function() state.policy = nil; return {} end)
  stub("s3", "PutBucketOwnershipControls", function(p)
    state.ownership = p.OwnershipControls.Rules[1].ObjectOwnership
    return {}
  end)
  return state
end

-- The reads of the settings step, which come before any change.
local SAVE_SETTINGS = { "s3:GetBucketPolicy", "s3:GetBucketPolicyStatus", "s3:GetBucketAcl", "s3:GetPublicAccessBlock",
  "s3:GetBucketOwnershipControls", "s3:GetBucketVersioning", "s3:GetObjectLockConfiguration", "s3:GetBucketEncryption",
  "s3:GetBucketLogging", "s3:GetBucketTagging" }

local function full_run_calls()
  local calls = { "s3:HeadBucket", "s3:GetBucketLocation", "guardduty:ListDetectors", "guardduty:ListFindings",
    "cloudtrail:LookupEvents", "cloudtrail:DescribeTrails", "detective:ListGraphs",
    "s3:GetBucketPolicy", "s3:GetBucketPolicyStatus", "s3:GetBucketAcl" }
  for _, c in ipairs(SAVE_SETTINGS) do calls[#calls + 1] = c end
  for _, c in ipairs({
    "s3:GetPublicAccessBlock", "s3:PutPublicAccessBlock",
    "s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketPolicy", "sts:GetCallerIdentity", "s3:PutBucketPolicy",
    "s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls",
    "s3:GetBucketVersioning", "s3:GetObjectLockConfiguration",
    "s3:GetBucketPolicy", "s3:GetPublicAccessBlock", "s3:GetBucketOwnershipControls", "s3:GetBucketEncryption",
    "s3:GetBucketLogging", "s3control:ListAccessPoints", "s3:GetBucketVersioning", "s3:GetBucketPolicy",
    "s3:GetBucketAcl",
  }) do calls[#calls + 1] = c end
  return calls
end

test("a public bucket: settings saved, public access blocked, grants removed, the outsider denied", function()
  local state = public_bucket()
  local r = run(RB, { "--bucket", BUCKET, "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 0, "exit")
  local s = r.statuses
  for _, name in ipairs({ "Identify the bucket and its findings", "Identify the source of the activity",
      "Decide whether the source was authorized", "Save the bucket's current settings", "Block public access",
      "Remove public and cross-account grants", "Enforce bucket-owner object ownership",
        "Check versioning and object lock",
      "Report recommended settings" }) do
    expect_eq(s[name], "done", name)
  end
  expect_eq(s["Hand out presigned URLs"], "skipped", "presign step without --evidence-url")
  expect_calls(r, full_run_calls())
  expect_call(r, "s3:PutPublicAccessBlock", { Bucket = BUCKET, PublicAccessBlockConfiguration = {
    BlockPublicAcls = true, IgnorePublicAcls = true, BlockPublicPolicy = true, RestrictPublicBuckets = true } })
  expect_call(r, "s3:PutBucketAcl", { Bucket = BUCKET, ACL = "private" })
  expect_call(r, "s3:PutBucketOwnershipControls", { Bucket = BUCKET,
    OwnershipControls = { Rules = { { ObjectOwnership = "BucketOwnerEnforced" } } } })
  expect_no_call(r, "s3:DeleteBucketPolicy")
  expect_no_call(r, "s3:PutBucketVersioning")
  -- The new policy: the public statement gone, the owner's own kept, the outsider denied, the responder exempt.
  local doc = json.decode(state.policy)
  local sids = {}
  for _, st in ipairs(doc.Statement) do sids[#sids + 1] = st.Sid end
  expect_eq(sids, { "AppRead", "irhostDenySuspects" }, "policy statements")
  local deny = doc.Statement[2]
  expect_eq(deny.Effect, "Deny", "deny effect")
  expect_eq(deny.Principal, { AWS = { OUTSIDER } }, "denied principal")
  expect_eq(deny.Condition, { ArnNotLike = { ["aws:PrincipalArn"] = { CALLER } } }, "exempted responder")
  expect_eq(#state.grants, 1, "ACL grants left (the owner's)")
  expect_eq(state.ownership, "BucketOwnerEnforced", "object ownership")
  -- What the run reports.
  local id = r.steps["Identify the bucket and its findings"].outputs
  expect_eq(id.bucket_region, "eu-west-1", "bucket region")
  local verdicts = r.steps["Decide whether the source was authorized"].outputs.verdicts
  expect_eq(#verdicts, 1, "one principal judged")
  expect_eq(verdicts[1].principal, OUTSIDER, "judged principal")
  expect_eq(verdicts[1].verdict, "not authorized", "verdict")
  expect_eq(r.steps["Decide whether the source was authorized"].outputs.was_public, true, "was public")
  local before = json.decode(r.evidence["bucket-settings-before.json"])
  expect_eq(before.policy, POLICY, "the original policy saved before the change")
  expect_eq(before.public_access_block, json.null, "no Block Public Access before")
  expect(r.evidence["removed-acl-grants.json"]:find(ALL_USERS, 1, true) ~= nil, "the AllUsers grant kept as evidence")
  expect(r.evidence["removed-policy-statements.json"]:find("PublicRead", 1, true) ~= nil,
    "the public statement kept as evidence")
  local after = json.decode(r.evidence["bucket-settings-after.json"])
  expect_eq(after.ownership, "BucketOwnerEnforced", "ownership after")
  expect_said(r, "versioning is off")
  expect_said(r, "Turn on CloudTrail S3 data events for s3://" .. BUCKET)
  expect_match(r.report, "PutPublicAccessBlock")
  expect_match(r.report, "Rotate or disable the credentials")
end)

test("a dry run reads everything, sends no change and plans each one", function()
  local state = public_bucket()
  local r = run(RB, { "--bucket", BUCKET, "--ticket", "IR-42", "--dry-run" })
  expect_eq(r.exit, 0, "exit")
  local planned = {}
  for _, c in ipairs(r.calls) do
    expect(not aws.is_mutating(c.service, c.operation) or c.planned, c.name .. " was sent in a dry run")
    if c.planned then planned[#planned + 1] = c.name end
  end
  expect_eq(planned, { "s3:PutPublicAccessBlock", "s3:PutBucketAcl", "s3:PutBucketPolicy",
    "s3:PutBucketOwnershipControls" },
    "planned changes")
  local s = r.statuses
  for _, name in ipairs({ "Block public access", "Remove public and cross-account grants",
    "Enforce bucket-owner object ownership" }) do
    expect_eq(s[name], "dry-run", name)
  end
  expect_eq(s["Save the bucket's current settings"], "done", "settings step")
  expect_eq(state.policy, POLICY, "policy unchanged")
  expect_eq(state.pab, nil, "Block Public Access unchanged")
  expect_eq(#state.grants, 2, "ACL unchanged")
  expect_eq(state.ownership, nil, "ownership unchanged")
  expect_match(r.report, "PutBucketOwnershipControls")
end)

test("a bucket that does not exist fails the first step and changes nothing", function()
  -- Only HeadBucket is stubbed: any later call fails the test as not stubbed.
  stub("s3", "HeadBucket", { error = { code = "NotFound", status = 404, message = "Not Found" } })
  local r = run(RB, { "--bucket", "acme-no-such-bucket", "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 1, "exit")
  expect_calls(r, { "s3:HeadBucket" })
  local s = r.statuses
  expect_eq(s["Identify the bucket and its findings"], "failed", "first step")
  expect_eq(s["Block public access"], nil, "no later step ran")
  expect_match(r.steps["Identify the bucket and its findings"].error,
    "bucket acme%-no%-such%-bucket does not exist %(HTTP 404 from HeadBucket%): check the name")
  expect_match(r.message, '^step 1 "Identify the bucket and its findings" failed: ' ..
    "bucket acme%-no%-such%-bucket does not exist")
  expect_match(r.report, "Outcome | %*%*failed%*%* %(exit 1%)")
end)

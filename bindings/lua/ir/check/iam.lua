-- IAM vocabulary for `irhost check` and `irhost policy`: the IAM service prefix of each
-- embedded service, the API operations whose IAM action has another name, action syntax
-- and wildcard matching. Runbooks declare permissions as "iamprefix:Operation", what the
-- broker's allow-list matches; the policy writer maps each to the IAM action that
-- authorizes it (s3:ListObjectsV2 -> s3:ListBucket).

local models = require("ir.check.models")

local M = {}

-- Service ids whose IAM prefix is not the model's signingName/endpointPrefix. The models
-- of elb and elbv2 already say "elasticloadbalancing"; they stay here so the rule holds
-- whatever a model regeneration brings.
M.prefix_exceptions = {
  elb = "elasticloadbalancing",
  elbv2 = "elasticloadbalancing",
  s3control = "s3",
}

-- API operations authorized by an IAM action of another name, per IAM prefix
-- (AWS Service Authorization Reference).
M.action_exceptions = {
  s3 = {
    HeadObject = "GetObject",
    HeadBucket = "ListBucket",
    ListObjects = "ListBucket",
    ListObjectsV2 = "ListBucket",
    ListObjectVersions = "ListBucketVersions",
    ListMultipartUploads = "ListBucketMultipartUploads",
    ListParts = "ListMultipartUploadParts",
    ListBuckets = "ListAllMyBuckets",
    CopyObject = "PutObject",
    CreateMultipartUpload = "PutObject",
    UploadPart = "PutObject",
    UploadPartCopy = "PutObject",
    CompleteMultipartUpload = "PutObject",
    DeleteObjects = "DeleteObject",
    GetObjectAttributes = "GetObject",
    PutObjectLockConfiguration = "PutBucketObjectLockConfiguration",
    GetObjectLockConfiguration = "GetBucketObjectLockConfiguration",
    PutBucketLifecycleConfiguration = "PutLifecycleConfiguration",
    GetBucketLifecycleConfiguration = "GetLifecycleConfiguration",
    DeleteBucketLifecycle = "PutLifecycleConfiguration",
    PutBucketNotificationConfiguration = "PutBucketNotification",
    GetBucketNotificationConfiguration = "GetBucketNotification",
    PutBucketEncryption = "PutEncryptionConfiguration",
    GetBucketEncryption = "GetEncryptionConfiguration",
    DeleteBucketEncryption = "PutEncryptionConfiguration",
    PutBucketReplication = "PutReplicationConfiguration",
    GetBucketReplication = "GetReplicationConfiguration",
    DeleteBucketReplication = "PutReplicationConfiguration",
    PutPublicAccessBlock = "PutBucketPublicAccessBlock",
    GetPublicAccessBlock = "GetBucketPublicAccessBlock",
    DeletePublicAccessBlock = "PutBucketPublicAccessBlock",
  },
  lambda = {
    Invoke = "InvokeFunction",
    InvokeAsync = "InvokeAsync",
  },
}
-- s3control's account-level operations share the s3 prefix but name the account.
M.service_action_exceptions = {
  s3control = {
    GetPublicAccessBlock = "GetAccountPublicAccessBlock",
    PutPublicAccessBlock = "PutAccountPublicAccessBlock",
    DeletePublicAccessBlock = "PutAccountPublicAccessBlock",
  },
}

-- Actions the ir framework declares for itself (docs/authoring.md): declaring them in a
-- runbook is harmless, so `check` never calls them unused.
M.framework_actions = { ["sts:GetCallerIdentity"] = true, ["s3:PutObject"] = true }

-- Signing names whose IAM prefix differs (the same table as host/awsbroker.c, which
-- derives the prefix the broker's allow-list matches; keep the two in step).
M.signing_exceptions = { monitoring = "cloudwatch", email = "ses", ["execute-api"] = "apigateway",
  awsssm = "ssm" }

-- Actions every run may call without declaring them (ir.permissions always adds them).
M.implicit_actions = { ["sts:GetCallerIdentity"] = true }

-- The IAM prefix of an embedded service id, or nil when irhost has no model for it.
local prefix_cache = {}
function M.prefix(service)
  if M.prefix_exceptions[service] then return M.prefix_exceptions[service] end
  local p = prefix_cache[service]
  if p == nil then
    local m = models.load(service)
    p = m and (m.metadata.signingName or m.metadata.endpointPrefix) or false
    if p then p = M.signing_exceptions[p] or p end
    prefix_cache[service] = p
  end
  return p or nil
end

-- The IAM action ("s3:ListBucket") that authorizes service:operation.
function M.iam_action(service, operation)
  local prefix = M.prefix(service) or service
  local by_service = M.service_action_exceptions[service]
  local name = by_service and by_service[operation]
  if not name then
    local by_prefix = M.action_exceptions[prefix]
    name = by_prefix and by_prefix[operation] or operation
  end
  return prefix .. ":" .. name
end

local prefix_index
-- {prefix = {services...}} over the embedded services.
function M.prefixes()
  if prefix_index then return prefix_index end
  prefix_index = {}
  for _, s in ipairs(models.services()) do
    local p = M.prefix(s)
    local list = prefix_index[p] or {}
    list[#list + 1] = s
    prefix_index[p] = list
  end
  return prefix_index
end

-- Is text an IAM action in syntax ("ec2:DescribeInstances", "ec2:Describe*", "*")?
function M.valid_syntax(text)
  return text == "*" or text:match("^[%a%d][%a%d-]*:[%a%d*?]+$") ~= nil
end

-- Case-insensitive IAM glob match of action name `name` against pattern (`*`, `?`).
local glob_cache = {}
local function glob(pattern, name)
  local p = glob_cache[pattern]
  if not p then
    p = "^" .. pattern:lower():gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
    glob_cache[pattern] = p
  end
  return name:lower():match(p) ~= nil
end

-- Does declared permission `perm` allow the call service:operation? Like the broker's
-- allow-list (host/awscall.c): "iamprefix:Operation", case-insensitive, `*` and `?`.
function M.allows(perm, service, operation)
  if perm == "*" then return true end
  local pp, pa = perm:match("^([^:]+):(.+)$")
  local prefix = M.prefix(service) or service
  if not pp or pp:lower() ~= prefix:lower() then return false end
  return glob(pa, operation)
end

-- The operation names under an IAM prefix (sorted list, and as a set).
local actions_cache = {}
function M.actions_of(prefix)
  local cached = actions_cache[prefix]
  if cached then return cached[1], cached[2] end
  local out, seen = {}, {}
  for _, s in ipairs(M.prefixes()[prefix] or {}) do
    for _, op in ipairs(models.operation_names(models.load(s))) do
      if not seen[op] then seen[op] = true; out[#out + 1] = op end
    end
  end
  table.sort(out)
  actions_cache[prefix] = { out, seen }
  return out, seen
end

-- The operations an IAM action name of another spelling authorizes ("s3:ListBucket" ->
-- ListObjects, ListObjectsV2, HeadBucket), for the message that says what to declare.
function M.operations_for_iam_action(prefix, action)
  local out = {}
  for _, s in ipairs(M.prefixes()[prefix] or {}) do
    for _, op in ipairs(models.operation_names(models.load(s))) do
      if op ~= action and M.iam_action(s, op) == prefix .. ":" .. action then out[#out + 1] = op end
    end
  end
  table.sort(out)
  return out
end

return M

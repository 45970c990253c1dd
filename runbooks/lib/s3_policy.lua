-- Reading S3 access grants: which bucket policy statements and ACL grants open a bucket to
-- everyone or to other accounts, rewriting the policy without them (plus deny statements
-- that always exempt the responders), and whether an IAM policy document allows an action.
-- Pure functions over decoded documents; no AWS calls.
local M = {}

M.ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
M.AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
M.LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
M.DENY_SID_PREFIX = "irhostDeny"

-- Condition keys that pin an Allow to known principals or networks: AWS does not count
-- such a statement as public (the "fixed values" rule of the policy status).
local FIXING = {
  ["aws:sourceip"] = true, ["aws:sourcevpc"] = true, ["aws:sourcevpce"] = true, ["aws:sourceaccount"] = true,
  ["aws:sourcearn"] = true, ["aws:sourceowner"] = true, ["aws:principalorgid"] = true,
  ["aws:principalaccount"] = true, ["aws:principalarn"] = true, ["aws:userid"] = true,
  ["aws:principalorgpaths"] = true, ["s3:dataaccesspointaccount"] = true, ["s3:dataaccesspointarn"] = true,
}

local function list(v)
  if v == nil then return {} end
  if type(v) == "table" and (v[1] ~= nil or next(v) == nil) then return v end
  return { v }
end
M.list = list

local function account_of(p)
  if type(p) ~= "string" then return nil end
  return p:match("^(%d%d%d%d%d%d%d%d%d%d%d%d)$") or p:match("^arn:aws[%w-]*:iam::(%d+):") or
    p:match("^arn:aws[%w-]*:sts::(%d+):")
end
M.account_of = account_of

-- The AWS principals a statement names: {"*"} for everyone; service principals ignored.
local function principals(s)
  local p = s.Principal
  if p == "*" then return { "*" } end
  if type(p) ~= "table" then return {} end
  local out = {}
  for _, a in ipairs(list(p.AWS)) do out[#out + 1] = a end
  for _, a in ipairs(list(p.CanonicalUser)) do out[#out + 1] = "canonical:" .. tostring(a) end
  return out
end
M.principals = principals

local function fixed(s)
  for _, cond in pairs(type(s.Condition) == "table" and s.Condition or {}) do
    if type(cond) == "table" then
      for k in pairs(cond) do if FIXING[tostring(k):lower()] then return true end end
    end
  end
  return false
end

-- Classifies one statement: "public", "cross-account", "restricted" (everyone, but pinned by
-- a condition), "own", "deny" or "service". keep: {[account id] = true} treated as own.
function M.classify(s, owner, keep)
  if s.Effect ~= "Allow" then return "deny" end
  local ps = principals(s)
  if #ps == 0 then return "service" end
  local cross = false
  for _, p in ipairs(ps) do
    if p == "*" then return fixed(s) and "restricted" or "public" end
    local acct = account_of(p)
    if (acct and acct ~= owner and not (keep and keep[acct])) or (not acct and p:match("^canonical:")) then cross = true end
  end
  return cross and "cross-account" or "own"
end

-- Splits a policy: {doc = the policy without public and cross-account statements, removed =
-- {{class, statement}...}, restricted = {...}, ours = {[Sid] = statement}}. Deny statements
-- this runbook added before are taken out too (ours), for the caller to merge and add back.
function M.strip(doc, owner, keep)
  local kept, removed, restricted, ours_by_sid = {}, {}, {}, {}
  for _, s in ipairs(list(doc and doc.Statement)) do
    local c = M.classify(s, owner, keep)
    local ours = type(s.Sid) == "string" and s.Sid:sub(1, #M.DENY_SID_PREFIX) == M.DENY_SID_PREFIX
    if ours then
      c = "ours"
      ours_by_sid[s.Sid] = s
    end
    if c == "public" or c == "cross-account" then
      removed[#removed + 1] = { class = c, statement = s }
    elseif c ~= "ours" then
      if c == "restricted" then restricted[#restricted + 1] = s end
      kept[#kept + 1] = s
    end
  end
  local out = {}
  for k, v in pairs(doc or {}) do out[k] = v end
  out.Version = out.Version or "2012-10-17"
  out.Statement = kept
  return { doc = out, removed = removed, restricted = restricted, ours = ours_by_sid }
end

-- A Deny of every S3 action on the bucket for the given principals (or everyone when
-- principals is "*"), never for the exempted ARNs (the responders), so the response
-- cannot lock itself out.
function M.deny_statement(sid, bucket, principals_list, exempt)
  local s = {
    Sid = M.DENY_SID_PREFIX .. sid, Effect = "Deny", Action = "s3:*",
    Resource = { "arn:aws:s3:::" .. bucket, "arn:aws:s3:::" .. bucket .. "/*" },
    Principal = principals_list == "*" and "*" or { AWS = principals_list },
  }
  if exempt and #exempt > 0 then s.Condition = { ArnNotLike = { ["aws:PrincipalArn"] = exempt } } end
  return s
end

-- Splits ACL grants into kept and removed ({class, grant}): AllUsers and AuthenticatedUsers
-- are public; a canonical user other than the owner is cross-account; LogDelivery stays.
function M.split_acl(grants, owner_id)
  local kept, removed = {}, {}
  for _, g in ipairs(grants or {}) do
    local who = g.Grantee or {}
    -- The grantee type travels as an xsi:type attribute that a reply may lack; PutBucketAcl needs it.
    if not who.Type then
      who.Type = who.URI and "Group" or who.EmailAddress and "AmazonCustomerByEmail" or "CanonicalUser"
      g.Grantee = who
    end
    local class
    if who.URI == M.ALL_USERS or who.URI == M.AUTH_USERS then class = "public"
    elseif who.Type == "CanonicalUser" and who.ID ~= owner_id then class = "cross-account"
    elseif who.Type == "AmazonCustomerByEmail" then class = "cross-account" end
    if class then removed[#removed + 1] = { class = class, grant = g } else kept[#kept + 1] = g end
  end
  return kept, removed
end

-- The principals and exempted ARNs of a deny statement this runbook wrote.
function M.deny_parts(s)
  if not s then return {}, {} end
  local principals_list = s.Principal == "*" and {} or list(type(s.Principal) == "table" and s.Principal.AWS or nil)
  local exempt = list(s.Condition and s.Condition.ArnNotLike and s.Condition.ArnNotLike["aws:PrincipalArn"] or nil)
  return principals_list, exempt
end

-- A canonical text of a decoded document (keys sorted, a single item equal to a one-item
-- list), to tell whether a rewritten policy differs from the one in place.
function M.canonical(v)
  if type(v) ~= "table" then return string.format("%q", tostring(v)) end
  if v[1] ~= nil or next(v) == nil then
    if #v == 1 then return M.canonical(v[1]) end
    local parts = {}
    for i, x in ipairs(v) do parts[i] = M.canonical(x) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = string.format("%q", k) .. ":" .. M.canonical(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

---------------------------------------------------------------------------- IAM matching

local function glob(pattern, s)
  local p = "^" .. pattern:lower():gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
  return s:lower():match(p) ~= nil
end
M.glob = glob

local function any_glob(patterns, s)
  for _, p in ipairs(list(patterns)) do if type(p) == "string" and glob(p, s) then return true end end
  return false
end

-- Does one policy document (decoded) allow action on any of resources? Returns "allow",
-- "deny" (an explicit deny matches) or nil, and whether the allow carries a condition
-- (conditions are not evaluated: a conditional allow counts as an allow, said so).
function M.evaluate(doc, action, resources)
  local allowed, conditional = false, false
  for _, s in ipairs(list(doc and doc.Statement)) do
    local acts = s.Action and any_glob(s.Action, action) or (s.NotAction and not any_glob(s.NotAction, action))
    local res = false
    for _, r in ipairs(resources) do
      if (s.Resource and any_glob(s.Resource, r)) or (s.NotResource and not any_glob(s.NotResource, r)) then res = true end
    end
    if acts and res then
      if s.Effect == "Deny" and not s.Condition then return "deny" end
      if s.Effect == "Allow" then allowed = true; if s.Condition then conditional = true end end
    end
  end
  return allowed and "allow" or nil, conditional
end

-- Does the bucket policy grant principal_arn (or its account) action? true, statement Sid.
function M.bucket_policy_grants(doc, principal_arn, action, bucket)
  local acct = account_of(principal_arn)
  for _, s in ipairs(list(doc and doc.Statement)) do
    if s.Effect == "Allow" then
      local match = false
      for _, p in ipairs(principals(s)) do
        if p == "*" or p == principal_arn or (acct and (p == acct or p == "arn:aws:iam::" .. acct .. ":root")) then match = true end
      end
      if match and s.Action and any_glob(s.Action, action) then
        local res = false
        for _, r in ipairs(list(s.Resource)) do
          if glob(r, "arn:aws:s3:::" .. bucket) or glob(r, "arn:aws:s3:::" .. bucket .. "/x") then res = true end
        end
        if res then return true, s.Sid end
      end
    end
  end
  return false
end

-- CloudTrail event names whose IAM action is named differently.
local ACTION = {
  DeletePublicAccessBlock = "s3:PutBucketPublicAccessBlock", PutPublicAccessBlock = "s3:PutBucketPublicAccessBlock",
  GetPublicAccessBlock = "s3:GetBucketPublicAccessBlock", ListObjects = "s3:ListBucket", ListObjectsV2 = "s3:ListBucket",
  HeadObject = "s3:GetObject", HeadBucket = "s3:ListBucket", ListObjectVersions = "s3:ListBucketVersions",
  DeleteBucketOwnershipControls = "s3:PutBucketOwnershipControls", DeleteBucketTagging = "s3:PutBucketTagging",
  DeleteBucketEncryption = "s3:PutEncryptionConfiguration", PutBucketEncryption = "s3:PutEncryptionConfiguration",
  CopyObject = "s3:PutObject", CreateMultipartUpload = "s3:PutObject", UploadPart = "s3:PutObject",
  CompleteMultipartUpload = "s3:PutObject", DeleteObjects = "s3:DeleteObject",
}

-- The IAM action for an S3 CloudTrail event name.
function M.action_for(event_name)
  return ACTION[event_name] or ("s3:" .. tostring(event_name))
end

return M

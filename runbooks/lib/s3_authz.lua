-- Was a principal's activity on a bucket authorized? Compares what it did (IAM actions)
-- with the bucket policy, the ACL and, for principals of the bucket's own account, their
-- IAM policies (inline and attached; group policies are reported as not evaluated).
-- Verdicts: "authorized", "not authorized", "unknown", each with the reasons.
local policy = require("lib.s3_policy")

local M = {}

local function unescape(s)
  if type(s) ~= "string" then return nil end
  if s:sub(1, 1) == "%" or s:find("%%7B") then
    s = s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return s
end

local function decode(text)
  local ok, doc = pcall(json.decode, unescape(text) or "")
  if ok and type(doc) == "table" then return doc end
  return nil
end
M.decode_policy = decode

-- Identity policy documents of an IAM user or role ARN of this account: docs, notes.
-- Raises only on programming errors; AWS errors become notes (the verdict turns unknown).
function M.identity_policies(iam, arn)
  local kind, name = arn:match("^arn:aws[%w-]*:iam::%d+:(%a+)/(.+)$")
  if kind ~= "user" and kind ~= "role" then return nil, { "no IAM policies to read for " .. arn } end
  name = name:match("([^/]+)$")
  local docs, notes = {}, {}
  local ok, err = pcall(function()
    if kind == "user" then
      for _, pn in ipairs(iam:ListUserPolicies{ UserName = name }.PolicyNames or {}) do
        docs[#docs + 1] = { name = pn, doc = decode(iam:GetUserPolicy{ UserName = name, PolicyName = pn }.PolicyDocument) }
      end
      for _, ap in ipairs(iam:ListAttachedUserPolicies{ UserName = name }.AttachedPolicies or {}) do
        local p = iam:GetPolicy{ PolicyArn = ap.PolicyArn }.Policy
        local v = iam:GetPolicyVersion{ PolicyArn = ap.PolicyArn, VersionId = p.DefaultVersionId }.PolicyVersion
        docs[#docs + 1] = { name = ap.PolicyName, doc = decode(v.Document) }
      end
      local groups = iam:ListGroupsForUser{ UserName = name }.Groups or {}
      if #groups > 0 then
        local names = {}
        for _, gr in ipairs(groups) do names[#names + 1] = gr.GroupName end
        notes[#notes + 1] = "group policies not evaluated (groups " .. table.concat(names, ", ") .. ")"
      end
    else
      for _, pn in ipairs(iam:ListRolePolicies{ RoleName = name }.PolicyNames or {}) do
        docs[#docs + 1] = { name = pn, doc = decode(iam:GetRolePolicy{ RoleName = name, PolicyName = pn }.PolicyDocument) }
      end
      for _, ap in ipairs(iam:ListAttachedRolePolicies{ RoleName = name }.AttachedPolicies or {}) do
        local p = iam:GetPolicy{ PolicyArn = ap.PolicyArn }.Policy
        local v = iam:GetPolicyVersion{ PolicyArn = ap.PolicyArn, VersionId = p.DefaultVersionId }.PolicyVersion
        docs[#docs + 1] = { name = ap.PolicyName, doc = decode(v.Document) }
      end
    end
  end)
  if not ok then return nil, { "its IAM policies could not be read: " .. tostring(err) } end
  return docs, notes
end

-- One verdict. p = {arn (or nil), label, actions = {iam action...}, anonymous}; facts =
-- {bucket, owner (account), policy (decoded or nil), public (bool), declared = {[arn]=true}}.
function M.verdict(iam, p, facts)
  local label = p.arn or p.label
  if p.arn and facts.declared[p.arn] then
    return { principal = label, verdict = "authorized", reasons = { "declared authorized with --authorized-principal" } }
  end
  if p.anonymous then
    return { principal = label, verdict = "not authorized", reasons = { facts.public and
      "anonymous requests succeed only through the bucket's public grants" or "anonymous request on a bucket without a public grant" } }
  end
  if not p.arn then
    return { principal = label, verdict = "unknown", reasons = { "the principal's ARN is not known (only " .. tostring(p.label) .. ")" } }
  end
  local acct = policy.account_of(p.arn)
  local resources = { "arn:aws:s3:::" .. facts.bucket, "arn:aws:s3:::" .. facts.bucket .. "/*" }
  local reasons, missing, conditional = {}, {}, false
  if acct ~= facts.owner then
    for _, a in ipairs(p.actions) do
      local ok, sid = policy.bucket_policy_grants(facts.policy, p.arn, a, facts.bucket)
      if ok then reasons[#reasons + 1] = a .. " granted by bucket policy statement " .. tostring(sid or "(no Sid)")
      else missing[#missing + 1] = a end
    end
    if #missing > 0 then
      reasons[#reasons + 1] = "account " .. tostring(acct) .. " is not the bucket owner and the bucket policy does not grant it " ..
        table.concat(missing, ", ")
      return { principal = label, verdict = "not authorized", reasons = reasons }
    end
    reasons[#reasons + 1] = "cross-account access granted on purpose? review the grant"
    return { principal = label, verdict = "authorized", reasons = reasons }
  end
  local docs, notes = M.identity_policies(iam, p.arn)
  for _, n in ipairs(notes or {}) do reasons[#reasons + 1] = n end
  if not docs then return { principal = label, verdict = "unknown", reasons = reasons } end
  for _, a in ipairs(p.actions) do
    local decision, by = nil, nil
    for _, d in ipairs(docs) do
      local r, cond = policy.evaluate(d.doc, a, resources)
      if r == "deny" then decision, by = "deny", d.name; break end
      if r == "allow" and decision ~= "allow" then decision, by = "allow", d.name; conditional = conditional or cond end
    end
    if decision ~= "allow" then
      local ok, sid = policy.bucket_policy_grants(facts.policy, p.arn, a, facts.bucket)
      if ok and decision ~= "deny" then decision, by = "allow", "bucket policy " .. tostring(sid or "") end
    end
    if decision == "allow" then reasons[#reasons + 1] = a .. " allowed by " .. tostring(by)
    else missing[#missing + 1] = a .. (decision == "deny" and (" (explicitly denied by " .. tostring(by) .. ")") or "") end
  end
  if #missing > 0 then
    reasons[#reasons + 1] = "its policies do not grant " .. table.concat(missing, ", ")
    local v = (notes and #notes > 0) and "unknown" or "not authorized"
    return { principal = label, verdict = v, reasons = reasons }
  end
  if conditional then reasons[#reasons + 1] = "some allows carry conditions irhost does not evaluate" end
  return { principal = label, verdict = (#p.actions == 0) and "unknown" or "authorized", reasons = reasons }
end

return M

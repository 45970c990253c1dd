-- Respond to a compromised (exposed or abused) S3 bucket.
--
--   irhost runbooks/s3.lua --bucket acme-public-assets --ticket IR-42
--   irhost runbooks/s3.lua --finding finding.json --since 3d --ticket IR-42
--   irhost runbooks/s3.lua --bucket b --account-bpa --enable-versioning --evidence-url exports/x.csv --ticket IR-42
--
-- Order: findings, activity, authorization verdict, then the current settings are saved
-- before anything changes; Block Public Access, grant removal and object ownership follow,
-- each reading the bucket again first so a rerun or --resume finishes instead of repeating.
local policy = require("lib.s3_policy")
local activity = require("lib.s3_activity")
local authz = require("lib.s3_authz")
local window = require("lib.identity_window")

local BPA = { BlockPublicAcls = true, IgnorePublicAcls = true, BlockPublicPolicy = true, RestrictPublicBuckets = true }

local function bucket_of(ctx) return ctx.state.bucket or ctx.params.bucket end

local function s3() return aws.client("s3") end

-- A Get* that answers "not configured" with an error: nil then. call makes the one request
-- (a closure, so `irhost check` sees the client, the operation and its parameters).
local function optional(call, ...)
  local ok, r = pcall(call)
  if ok then return r end
  for _, code in ipairs({ ... }) do if aws.is_error(r, code) then return nil end end
  error(r, 0)
end

local function read_policy(b)
  local r = optional(function() return s3():GetBucketPolicy{ Bucket = b } end, "NoSuchBucketPolicy")
  if not r or not r.Policy then return nil, nil end
  return authz.decode_policy(r.Policy), r.Policy
end

local function exempt_arns(ctx)
  local out, seen = {}, {}
  local function add(a) if a and not seen[a] then seen[a] = true; out[#out + 1] = a end end
  local ok, me = pcall(function() return aws.client("sts"):GetCallerIdentity({}) end)
  if ok and me.Arn then
    local acct, role = me.Arn:match("^arn:aws[%w-]*:sts::(%d+):assumed%-role/([^/]+)/")
    add(acct and ("arn:aws:iam::" .. acct .. ":role/" .. role) or me.Arn)
  end
  for _, a in ipairs(ctx.params.responder_arn or {}) do add(a) end
  return out
end

---------------------------------------------------------------------------- steps

local function identify(ctx)
  local b = ctx.params.bucket
  local from_file
  if ctx.params.finding then
    local f, err = ir.finding.parse(ctx.params.finding)
    if not f then error("--finding: " .. err, 0) end
    if not f.buckets or #f.buckets == 0 then
      error("--finding: the " .. tostring(f.type) .. " finding names no S3 bucket; use the runbook for its resource kind (" .. tostring(f.kind) .. ")", 0)
    end
    b = b or f.buckets[1]
    from_file = f
    ctx.evidence:save("finding.json", f.raw)
    ctx.info("bucket %s from finding %s (%s, severity %s)", b, tostring(f.id), tostring(f.type), tostring(f.severity))
  end
  local ok, err = pcall(s3().HeadBucket, s3(), { Bucket = b })
  if not ok then
    if aws.is_error(err) and (err.status == 404 or err.code == "NoSuchBucket" or err.code == "NotFound") then
      error("bucket " .. b .. " does not exist (HTTP 404 from HeadBucket): check the name; bucket names are global", 0)
    elseif aws.is_error(err) and (err.status == 403 or err.code == "AccessDenied" or err.code == "Forbidden") then
      error("bucket " .. b .. " exists but this identity may not access it (HTTP 403 from HeadBucket): it belongs to " ..
        "another account, or the credentials lack s3:ListBucket on it", 0)
    elseif aws.is_error(err) and (err.status == 301 or err.code == "PermanentRedirect") then
      error("bucket " .. b .. " is in another region than the run's (HTTP 301 from HeadBucket): rerun with --region set to the bucket's region", 0)
    end
    error(err, 0)
  end
  ctx.output("bucket", b)
  local lok, l = pcall(s3().GetBucketLocation, s3(), { Bucket = b })
  local region = ctx.region
  if lok then
    local loc = l.LocationConstraint
    region = (loc == nil or loc == "") and "us-east-1" or (loc == "EU" and "eu-west-1" or loc)
  else
    ctx.warn("the bucket's region is unknown (GetBucketLocation: %s): findings and CloudTrail are read in %s", tostring(l), region or "the run's region")
  end
  ctx.output("bucket_region", region)
  local list, raw, notes = activity.findings(aws.client("guardduty", { region = region }), b)
  for _, n in ipairs(notes) do ctx.warn("%s", n) end
  ctx.evidence:save("guardduty-findings.json", raw)
  local principals, summary = {}, {}
  local function add_principal(f)
    local p = activity.finding_principal(f, ctx.account)
    if p then principals[#principals + 1] = p end
  end
  for _, f in ipairs(list) do
    summary[#summary + 1] = { id = f.id, type = f.type, severity = f.severity, last_seen = f.last_seen or f.updated_at }
    ctx.info("finding %s: %s (severity %s)", tostring(f.id), tostring(f.type), tostring(f.severity))
    add_principal(f)
  end
  if from_file then add_principal(from_file) end
  ctx.output("findings", summary)
  ctx.output("finding_principals", principals)
  if #list == 0 then ctx.info("no GuardDuty finding names s3://%s in %s", b, region) end
end

local function source(ctx)
  local b = bucket_of(ctx)
  local region = ctx.state.bucket_region or ctx.region
  local win = window.window(ctx.params.since)
  local events, notes = activity.management_events(region, b, win)
  for _, n in ipairs(notes) do ctx.warn("%s", n) end
  local account = ctx.account or "unknown"
  local trails, tnotes = activity.data_event_trails(aws.client("cloudtrail", { region = region }), b)
  for _, n in ipairs(tnotes) do ctx.info("%s", n) end
  local files = {}
  if #trails == 0 then
    ctx.info("no trail records S3 data events (object reads and writes) for %s: only management events are reviewed", b)
    ctx.followup("Turn on CloudTrail S3 data events for s3://" .. b .. " (object-level reads and writes are otherwise not recorded)")
  end
  for _, t in ipairs(trails) do
    local ok, dev, tf, dn = pcall(activity.data_events, s3(), t, account, region or t.home_region, b, win)
    if ok then
      for _, e in ipairs(dev) do events[#events + 1] = e end
      for _, f in ipairs(tf) do files[#files + 1] = f end
      for _, n in ipairs(dn) do ctx.warn("%s", n) end
      ctx.info("trail %s records data events for %s: %d log file(s) in the window", t.name, b, #tf)
    else
      ctx.warn("trail %s: data-event logs in s3://%s could not be read: %s", t.name, tostring(t.bucket), tostring(dev))
    end
  end
  ctx.evidence:save("cloudtrail-bucket-events.json", { bucket = b, region = region,
    window = { start = win.start_iso, finish = win.end_iso }, events = events, data_event_trails = trails, log_files = files })
  local rows = activity.by_principal(events)
  ctx.evidence:save("activity-by-principal.md", activity.markdown(rows, b, win))
  for _, r in ipairs(rows) do
    ctx.info("%s: %s; IPs %s; first %s, last %s", r.principal, activity.joined(r.calls, 8), activity.joined(r.ips, 5),
      tostring(r.first_seen), tostring(r.last_seen))
  end
  if #rows == 0 then ctx.info("no CloudTrail event names %s between %s and %s", b, win.start_iso, win.end_iso) end
  local out = {}
  for _, r in ipairs(rows) do
    local names = {}
    for _, c in ipairs(r.calls) do names[#names + 1] = c.value end
    out[#out + 1] = { principal = r.principal, calls = names, writes = r.writes, total = r.total,
      ips = (function() local l = {} for _, x in ipairs(r.ips) do l[#l + 1] = x.value end return l end)(),
      first_seen = r.first_seen, last_seen = r.last_seen }
  end
  ctx.output("activity", out)
  local gok, graphs = pcall(function() return aws.client("detective", { region = region }):ListGraphs({}) end)
  if gok and graphs.GraphList and #graphs.GraphList > 0 then
    local arn = graphs.GraphList[1].Arn
    ctx.output("detective_graph", arn)
    ctx.info("Amazon Detective is enabled (graph %s)", arn)
    for _, r in ipairs(out) do
      if r.principal:match("^arn:") then
        ctx.followup("Investigate " .. r.principal .. " in Amazon Detective (behaviour graph " .. arn .. ") for the window " ..
          win.start_iso .. " to " .. win.end_iso)
      end
    end
  else
    ctx.info("Amazon Detective is not enabled in %s%s", region, gok and "" or (" (" .. tostring(graphs) .. ")"))
  end
end

local function authorized(ctx)
  local b = bucket_of(ctx)
  local doc = read_policy(b)
  local st = optional(function() return s3():GetBucketPolicyStatus{ Bucket = b } end, "NoSuchBucketPolicy")
  local acl = s3():GetBucketAcl{ Bucket = b }
  local _, acl_removed = policy.split_acl(acl.Grants, acl.Owner and acl.Owner.ID)
  local public = (st and st.PolicyStatus and st.PolicyStatus.IsPublic) or false
  for _, r in ipairs(acl_removed) do if r.class == "public" then public = true end end
  local declared = {}
  for _, a in ipairs(ctx.params.authorized_principal or {}) do declared[a] = true end
  local facts = { bucket = b, owner = ctx.account, policy = doc, public = public, declared = declared }
  local subjects, by = {}, {}
  local function subject(arn, label)
    local key = arn or label
    if not by[key] then
      by[key] = { arn = arn, label = label, actions = {}, seen = {}, anonymous = label == "anonymous" }
      subjects[#subjects + 1] = by[key]
    end
    return by[key]
  end
  local function add_action(s, a) if a and not s.seen[a] then s.seen[a] = true; s.actions[#s.actions + 1] = a end end
  for _, r in ipairs(ctx.state.activity or {}) do
    local s = subject(r.principal:match("^arn:") and r.principal or nil, r.principal)
    for _, c in ipairs(r.calls) do add_action(s, policy.action_for(c)) end
  end
  for _, p in ipairs(ctx.state.finding_principals or {}) do
    local s = subject(p.arn, p.user or p.access_key)
    if p.api then add_action(s, policy.action_for(p.api)) end
  end
  local iam = aws.client("iam")
  local verdicts, suspects = {}, {}
  for _, s in ipairs(subjects) do
    table.sort(s.actions)
    local v = authz.verdict(iam, s, facts)
    verdicts[#verdicts + 1] = v
    ctx.info("%s: %s (%s)", v.principal, v.verdict:upper(), table.concat(v.reasons, "; "))
    if v.verdict == "not authorized" and s.arn then suspects[#suspects + 1] = s.arn end
  end
  if #verdicts == 0 then ctx.info("no principal to judge: no finding and no CloudTrail event names the bucket in the window") end
  ctx.evidence:save("authorization.json", verdicts)
  ctx.output("verdicts", verdicts)
  ctx.output("suspects", suspects)
  ctx.output("was_public", public)
  for _, v in ipairs(verdicts) do
    if v.verdict == "unknown" then ctx.followup("Decide by hand whether " .. v.principal .. " was authorized on s3://" .. b .. ": " .. table.concat(v.reasons, "; ")) end
  end
end

local function save_settings(ctx)
  local b = bucket_of(ctx)
  local c = s3()
  local _, policy_text = read_policy(b)
  local nf = { "NoSuchPublicAccessBlockConfiguration", "OwnershipControlsNotFoundError", "ObjectLockConfigurationNotFoundError",
    "NoSuchBucketPolicy", "NoSuchTagSet", "ServerSideEncryptionConfigurationNotFoundError" }
  local settings = {
    bucket = b,
    policy = policy_text or json.null,
    policy_status = (optional(function() return c:GetBucketPolicyStatus{ Bucket = b } end, table.unpack(nf)) or {}).PolicyStatus or json.null,
    acl = c:GetBucketAcl{ Bucket = b },
    public_access_block = (optional(function() return c:GetPublicAccessBlock{ Bucket = b } end, table.unpack(nf)) or {}).PublicAccessBlockConfiguration or json.null,
    ownership_controls = (optional(function() return c:GetBucketOwnershipControls{ Bucket = b } end, table.unpack(nf)) or {}).OwnershipControls or json.null,
    versioning = c:GetBucketVersioning{ Bucket = b },
    object_lock = (optional(function() return c:GetObjectLockConfiguration{ Bucket = b } end, table.unpack(nf)) or {}).ObjectLockConfiguration or json.null,
    encryption = (optional(function() return c:GetBucketEncryption{ Bucket = b } end, table.unpack(nf)) or {}).ServerSideEncryptionConfiguration or json.null,
    logging = c:GetBucketLogging{ Bucket = b }.LoggingEnabled or json.null,
    tags = (optional(function() return c:GetBucketTagging{ Bucket = b } end, table.unpack(nf)) or {}).TagSet or json.null,
    region = ctx.state.bucket_region,
  }
  if ctx.params.account_bpa and ctx.account then
    local sc = aws.client("s3control")
    settings.account_public_access_block = (optional(function() return sc:GetPublicAccessBlock{ AccountId = ctx.account } end,
      "NoSuchPublicAccessBlockConfiguration") or {}).PublicAccessBlockConfiguration or json.null
  end
  ctx.evidence:save("bucket-settings-before.json", settings)
  ctx.info("settings of %s saved before any change (policy, ACL, Block Public Access, ownership, versioning, object lock, encryption, logging, tags)", b)
end

local function block_public_access(ctx)
  local b = bucket_of(ctx)
  local c = s3()
  local cur = (optional(function() return c:GetPublicAccessBlock{ Bucket = b } end, "NoSuchPublicAccessBlockConfiguration") or {}).PublicAccessBlockConfiguration or {}
  local all = true
  for k in pairs(BPA) do if cur[k] ~= true then all = false end end
  if all then ctx.info("all four Block Public Access settings already on for %s", b)
  else
    c:PutPublicAccessBlock{ Bucket = b, PublicAccessBlockConfiguration = BPA }
    ctx.changed{ resource = "s3://" .. b, action = "PutPublicAccessBlock", before = next(cur) and cur or "none", after = BPA,
      detail = "IgnorePublicAcls and RestrictPublicBuckets neutralise the public grants that already exist" }
  end
  if ctx.params.account_bpa then
    local sc = aws.client("s3control")
    local acct = ctx.account or error("--account-bpa: the account id is unknown (sts:GetCallerIdentity failed)", 0)
    local acur = (optional(function() return sc:GetPublicAccessBlock{ AccountId = acct } end, "NoSuchPublicAccessBlockConfiguration") or {}).PublicAccessBlockConfiguration or {}
    local aall = true
    for k in pairs(BPA) do if acur[k] ~= true then aall = false end end
    if aall then ctx.info("account %s already blocks public access", acct)
    else
      sc:PutPublicAccessBlock{ AccountId = acct, PublicAccessBlockConfiguration = BPA }
      ctx.changed{ resource = "account " .. acct, action = "s3control:PutPublicAccessBlock", before = next(acur) and acur or "none",
        after = BPA, detail = "applies to every bucket of the account" }
      ctx.warn("account-level Block Public Access now applies to EVERY bucket of %s: buckets meant to be public stop serving", acct)
    end
  else
    ctx.info("account-level Block Public Access not changed (--account-bpa turns it on for every bucket)")
  end
end

local function remove_grants(ctx)
  local b = bucket_of(ctx)
  local c = s3()
  local keep = {}
  for _, a in ipairs(ctx.params.keep_account or {}) do keep[a] = true end
  -- ACL first: bucket-owner enforced ownership needs an ACL that grants only the owner.
  local acl = c:GetBucketAcl{ Bucket = b }
  local owner_id = acl.Owner and acl.Owner.ID
  local kept, removed = policy.split_acl(acl.Grants, owner_id)
  if #removed > 0 then
    ctx.evidence:save("removed-acl-grants.json", removed)
    local owner_only = #kept == 1 and kept[1].Permission == "FULL_CONTROL" and (kept[1].Grantee or {}).ID == owner_id
    if owner_only or #kept == 0 then
      c:PutBucketAcl{ Bucket = b, ACL = "private" }   -- the canned ACL that is exactly that
    else
      c:PutBucketAcl{ Bucket = b, AccessControlPolicy = { Owner = acl.Owner, Grants = kept } }
    end
    for _, r in ipairs(removed) do
      local who = r.grant.Grantee or {}
      ctx.changed{ resource = "s3://" .. b, action = "PutBucketAcl", before = (who.URI or who.ID or who.EmailAddress or "?") .. " " ..
        tostring(r.grant.Permission), after = "removed", detail = r.class .. " grant" }
    end
  else
    ctx.info("the ACL grants nothing public or cross-account")
  end
  -- Then the policy: public and cross-account statements out, deny statements in.
  local doc, text = read_policy(b)
  if text and not doc then error("the bucket policy of " .. b .. " is not valid JSON; fix it by hand", 0) end
  local split = policy.strip(doc or { Version = "2012-10-17", Statement = {} }, ctx.account, keep)
  -- What an earlier run denied stays denied (a rerun with another --since may not see the
  -- same activity), and whoever it exempted stays exempt: lifting either is a human's call.
  local prev_suspects, prev_exempt = policy.deny_parts(split.ours[policy.DENY_SID_PREFIX .. "Suspects"])
  local _, prev_lock_exempt = policy.deny_parts(split.ours[policy.DENY_SID_PREFIX .. "AllButResponders"])
  local exempt = exempt_arns(ctx)
  do
    local seen = {}
    for _, a in ipairs(exempt) do seen[a] = true end
    for _, list in ipairs({ prev_exempt, prev_lock_exempt }) do
      for _, a in ipairs(list) do if not seen[a] then seen[a] = true; exempt[#exempt + 1] = a end end
    end
  end
  local denies = {}
  local suspects = {}
  local wanted, seen_s = {}, {}
  for _, list in ipairs({ ctx.state.suspects or {}, prev_suspects }) do
    for _, a in ipairs(list) do if not seen_s[a] then seen_s[a] = true; wanted[#wanted + 1] = a end end
  end
  local now_suspected = {}
  for _, a in ipairs(ctx.state.suspects or {}) do now_suspected[a] = true end
  for _, a in ipairs(prev_suspects) do
    if not now_suspected[a] then
      ctx.info("%s stays denied (an earlier run denied it; remove it from statement %sSuspects by hand to lift that)", a, policy.DENY_SID_PREFIX)
    end
  end
  for _, a in ipairs(wanted) do
    local is_responder = false
    for _, e in ipairs(exempt) do if e == a then is_responder = true end end
    if is_responder then ctx.warn("%s is the responders' own identity: not denied", a) else suspects[#suspects + 1] = a end
  end
  if #suspects > 0 then denies[#denies + 1] = policy.deny_statement("Suspects", b, suspects, exempt) end
  local lockdown = ctx.params.lockdown or split.ours[policy.DENY_SID_PREFIX .. "AllButResponders"] ~= nil
  if lockdown then denies[#denies + 1] = policy.deny_statement("AllButResponders", b, "*", exempt) end
  for _, d in ipairs(denies) do table.insert(split.doc.Statement, d) end
  for _, r in ipairs(split.restricted) do
    ctx.info("kept statement %s: open to everyone but pinned by a condition (%s)", tostring(r.Sid or "(no Sid)"), json.encode(r.Condition))
  end
  local had_ours = false
  for _, s in ipairs(policy.list(doc and doc.Statement)) do
    if type(s.Sid) == "string" and s.Sid:sub(1, #policy.DENY_SID_PREFIX) == policy.DENY_SID_PREFIX then had_ours = true end
  end
  if #split.removed == 0 and #denies == 0 and not had_ours then
    ctx.info("the bucket policy grants nothing public or cross-account%s", text and "" or " (no policy)")
  else
    if #split.removed > 0 then ctx.evidence:save("removed-policy-statements.json", split.removed) end
    if #split.doc.Statement == 0 then
      c:DeleteBucketPolicy{ Bucket = b }
      ctx.changed{ resource = "s3://" .. b, action = "DeleteBucketPolicy", before = text, after = "no policy" }
    else
      local new = json.encode(split.doc)
      if not doc or policy.canonical(split.doc) ~= policy.canonical(doc) then
        c:PutBucketPolicy{ Bucket = b, Policy = new }
        ctx.changed{ resource = "s3://" .. b, action = "PutBucketPolicy", before = text or "no policy", after = new }
      end
    end
    for _, r in ipairs(split.removed) do
      ctx.info("removed %s statement %s", r.class, tostring(r.statement.Sid or "(no Sid)"))
    end
    if #denies > 0 then
      ctx.info("deny statement(s) added for %s; the responders (%s) are exempt", #suspects > 0 and table.concat(suspects, ", ") or "everyone",
        #exempt > 0 and table.concat(exempt, ", ") or "none known")
    end
  end
  ctx.output("exempt", exempt)
end

local function ownership(ctx)
  local b = bucket_of(ctx)
  local c = s3()
  local cur = optional(function() return c:GetBucketOwnershipControls{ Bucket = b } end, "OwnershipControlsNotFoundError")
  local rule = cur and cur.OwnershipControls and cur.OwnershipControls.Rules and cur.OwnershipControls.Rules[1]
  local before = rule and rule.ObjectOwnership or "none (ACLs apply)"
  if before == "BucketOwnerEnforced" then ctx.info("ACLs already disabled (BucketOwnerEnforced)"); return end
  c:PutBucketOwnershipControls{ Bucket = b, OwnershipControls = { Rules = { { ObjectOwnership = "BucketOwnerEnforced" } } } }
  ctx.changed{ resource = "s3://" .. b, action = "PutBucketOwnershipControls", before = before, after = "BucketOwnerEnforced",
    detail = "every ACL (bucket and objects) stops applying; the bucket owner owns every object" }
end

local function versioning(ctx)
  local b = bucket_of(ctx)
  local c = s3()
  local v = c:GetBucketVersioning{ Bucket = b }.Status
  if v ~= "Enabled" then
    if ctx.params.enable_versioning then
      c:PutBucketVersioning{ Bucket = b, VersioningConfiguration = { Status = "Enabled" } }
      ctx.changed{ resource = "s3://" .. b, action = "PutBucketVersioning", before = v or "never enabled", after = "Enabled",
        detail = "overwritten and deleted objects are kept as versions from now on" }
    else
      ctx.warn("versioning is %s: overwritten or deleted objects cannot be recovered (--enable-versioning turns it on)", v or "off")
    end
  else
    ctx.info("versioning enabled")
  end
  local lock = optional(function() return c:GetObjectLockConfiguration{ Bucket = b } end, "ObjectLockConfigurationNotFoundError")
  local conf = lock and lock.ObjectLockConfiguration
  local ret = conf and conf.Rule and conf.Rule.DefaultRetention
  local state = (conf and conf.ObjectLockEnabled == "Enabled") and (ret and string.format("enabled, default retention %s %s",
    tostring(ret.Mode), ret.Days and (ret.Days .. " days") or (tostring(ret.Years) .. " years")) or "enabled, no default retention") or "not enabled"
  ctx.output("object_lock", state)
  if ctx.params.require_object_lock and not (conf and conf.ObjectLockEnabled == "Enabled" and ret) then
    error("object lock retention is required (--require-object-lock) but is " .. state .. " on " .. b, 0)
  end
  ctx.info("object lock: %s", state)
end

local function recommendations(ctx)
  local b = bucket_of(ctx)
  local c = s3()
  local doc = read_policy(b) or {}
  local has = function(key, effect)
    for _, s in ipairs(policy.list(doc.Statement)) do
      if not effect or s.Effect == effect then
        for _, cond in pairs(type(s.Condition) == "table" and s.Condition or {}) do
          if type(cond) == "table" then for k in pairs(cond) do if tostring(k):lower() == key then return true end end end
        end
      end
    end
    return false
  end
  local pab = (optional(function() return c:GetPublicAccessBlock{ Bucket = b } end, "NoSuchPublicAccessBlockConfiguration") or {}).PublicAccessBlockConfiguration or {}
  local own = optional(function() return c:GetBucketOwnershipControls{ Bucket = b } end, "OwnershipControlsNotFoundError")
  local rule = own and own.OwnershipControls and own.OwnershipControls.Rules and own.OwnershipControls.Rules[1]
  local enc = (optional(function() return c:GetBucketEncryption{ Bucket = b } end, "ServerSideEncryptionConfigurationNotFoundError") or {}).ServerSideEncryptionConfiguration
  local alg = enc and enc.Rules and enc.Rules[1] and enc.Rules[1].ApplyServerSideEncryptionByDefault and enc.Rules[1].ApplyServerSideEncryptionByDefault.SSEAlgorithm
  local log = c:GetBucketLogging{ Bucket = b }.LoggingEnabled
  local aps = "not checked"
  if ctx.account then
    local ok, r = pcall(function() return aws.client("s3control"):ListAccessPoints{ AccountId = ctx.account, Bucket = b } end)
    if ok then aps = #(r.AccessPointList or {}) .. " access point(s)" else aps = "unknown (" .. (aws.is_error(r) and tostring(r.code) or "s3control unreachable") .. ")" end
  end
  local all_bpa = pab.BlockPublicAcls and pab.IgnorePublicAcls and pab.BlockPublicPolicy and pab.RestrictPublicBuckets
  local rows = {
    { setting = "Block Public Access (all four)", recommended = "on", current = all_bpa and "on" or "off or partial" },
    { setting = "Object ownership", recommended = "BucketOwnerEnforced (ACLs disabled)", current = rule and rule.ObjectOwnership or "none" },
    { setting = "VPC endpoint condition (aws:SourceVpce / aws:SourceVpc)", recommended = "private data reachable only through the VPC endpoint",
      current = (has("aws:sourcevpce") or has("aws:sourcevpc")) and "present" or "absent" },
    { setting = "Presigned URLs (s3:signatureAge, s3:authType)", recommended = "limit the age of presigned URLs; hand out short-lived ones instead of opening the bucket",
      current = (has("s3:signatureage") or has("s3:authtype")) and "limited" or "not limited" },
    { setting = "TLS only (deny aws:SecureTransport false)", recommended = "deny", current = has("aws:securetransport", "Deny") and "enforced" or "not enforced" },
    { setting = "Access points", recommended = "one per application, each with its own policy and VPC restriction", current = aps },
    { setting = "Default encryption", recommended = "SSE-KMS with a customer key", current = alg or "unknown" },
    { setting = "Server access logging", recommended = "on", current = log and ("to s3://" .. tostring(log.TargetBucket) .. "/" .. tostring(log.TargetPrefix or "")) or "off" },
    { setting = "Versioning", recommended = "Enabled", current = c:GetBucketVersioning{ Bucket = b }.Status or "off" },
    { setting = "Object lock", recommended = "retention for data that must survive tampering", current = ctx.state.object_lock or "unknown" },
  }
  for _, r in ipairs(rows) do ctx.info("%s: %s (recommended: %s)", r.setting, r.current, r.recommended) end
  ctx.output("recommendations", rows)
  local after = { policy = (function() local _, t = read_policy(b) return t or json.null end)(), public_access_block = pab,
    ownership = rule and rule.ObjectOwnership or json.null, acl = c:GetBucketAcl{ Bucket = b } }
  ctx.evidence:save("bucket-settings-after.json", after)
end

local function presign(ctx)
  local b = bucket_of(ctx)
  local urls = {}
  for _, key in ipairs(ctx.params.evidence_url) do
    local ok, err = pcall(s3().HeadObject, s3(), { Bucket = b, Key = key })
    if not ok then error("--evidence-url " .. key .. ": " .. (aws.is_error(err) and err.status == 404 and "no such object in " .. b or tostring(err)), 0) end
    -- The URL carries the session token: the broker hands it to the user (stderr and
    -- handoff.txt), never into the report or the logs.
    local h = aws.presign{ bucket = b, key = key, method = "GET", expires = ctx.params.url_expires }
    local r = ctx.handoff(h, "s3://" .. b .. "/" .. key)
    urls[#urls + 1] = { key = key, expires_in = ctx.params.url_expires, expires = r.expires, handed_off_in = r.path }
  end
  ctx.output("evidence_urls", urls)
  ctx.followup("The presigned URL(s) grant read access to anyone holding them for " .. ctx.params.url_expires ..
    " s: share them only with the investigators")
end

---------------------------------------------------------------------------- declaration

return ir.runbook {
  name = "s3-compromise",
  description = "Respond to a compromised S3 bucket: GuardDuty findings, the activity and its principals (CloudTrail, " ..
    "Detective), whether they were authorized, then save the settings, block public access, remove public and " ..
    "cross-account grants, enforce bucket-owner object ownership and report the recommended settings",
  params = {
    bucket = { pattern = "^[a-z0-9][a-z0-9.-]+[a-z0-9]$", metavar = "BUCKET", help = "the bucket (or give --finding)" },
    finding = { type = "file", help = "a GuardDuty S3 finding (raw, EventBridge, SNS, GetFindings or ASFF) naming the bucket" },
    since = { default = "7d", metavar = "WHEN", help = "start of the activity review: a duration (90m, 36h, 7d) or an ISO-8601 UTC time (CloudTrail keeps 90 days)" },
    account_bpa = { type = "boolean", help = "also turn on all four Block Public Access settings for the whole account (every bucket)" },
    keep_account = { type = "list", pattern = "^%d%d%d%d%d%d%d%d%d%d%d%d$", metavar = "ACCOUNT",
      help = "an account whose grants in the bucket policy are legitimate and stay" },
    authorized_principal = { type = "list", pattern = "^arn:aws[%w-]*:[%w-]+::%d*:.+$", metavar = "ARN",
      help = "a principal known to be allowed on the bucket; its activity is judged authorized" },
    responder_arn = { type = "list", pattern = "^arn:aws[%w-]*:iam::%d+:.+$", metavar = "ARN",
      help = "another responders' role exempted from the deny statements (the caller's own role always is)" },
    lockdown = { type = "boolean", help = "also deny every S3 action on the bucket to everyone but the responders' roles" },
    enable_versioning = { type = "boolean", help = "turn versioning on when it is off (overwritten and deleted objects are kept)" },
    require_object_lock = { type = "boolean", help = "fail the versioning step when object lock retention is not on" },
    evidence_url = { type = "list", metavar = "KEY", help = "hand out a short-lived presigned GET URL for this object instead of opening the bucket" },
    url_expires = { type = "integer", default = 900, min = 60, max = 43200, metavar = "SECONDS", help = "lifetime of --evidence-url URLs" },
  },
  validate = function(p)
    if not p.bucket and not p.finding then return "give --bucket BUCKET or --finding FILE" end
    local _, err = window.start(p.since)
    if err then return err end
  end,
  permissions = {
    "s3:HeadBucket", "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:GetBucketPolicyStatus", "s3:GetBucketAcl",
    "s3:GetPublicAccessBlock", "s3:GetBucketOwnershipControls", "s3:GetBucketVersioning", "s3:GetObjectLockConfiguration",
    "s3:GetBucketEncryption", "s3:GetBucketLogging", "s3:GetBucketTagging", "s3:ListObjectsV2", "s3:GetObject", "s3:HeadObject",
    "s3:PutPublicAccessBlock", "s3:PutBucketAcl", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
    "s3:PutBucketOwnershipControls", "s3:PutBucketVersioning",
    "s3:ListAccessPoints",   -- s3control operations are authorized as s3: actions
    "guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings",
    "cloudtrail:LookupEvents", "cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors",
    "detective:ListGraphs",
    "iam:ListUserPolicies", "iam:GetUserPolicy", "iam:ListAttachedUserPolicies", "iam:GetPolicy", "iam:GetPolicyVersion",
    "iam:ListGroupsForUser", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
    "sts:GetCallerIdentity",
  },
  steps = {
    { name = "Identify the bucket and its findings", run = identify },
    { name = "Identify the source of the activity", run = source },
    { name = "Decide whether the source was authorized", run = authorized },
    { name = "Save the bucket's current settings", run = save_settings },
    { name = "Block public access", run = block_public_access, destructive = true,
      confirm = "Turn on all four Block Public Access settings for the bucket (and the account with --account-bpa)?" },
    { name = "Remove public and cross-account grants", run = remove_grants, destructive = true,
      confirm = "Remove public and cross-account grants from the bucket's ACL and policy (and deny the suspect principals)?" },
    { name = "Enforce bucket-owner object ownership", run = ownership, destructive = true,
      confirm = "Set object ownership to BucketOwnerEnforced (every ACL stops applying)?" },
    { name = "Check versioning and object lock", run = versioning },
    { name = "Report recommended settings", run = recommendations },
    { name = "Hand out presigned URLs", run = presign,
      when = function(ctx) return ctx.params.evidence_url ~= nil and #ctx.params.evidence_url > 0, "only with --evidence-url" end },
  },
  followups = {
    function(ctx)
      local b = ctx.state.bucket or ctx.params.bucket
      if not b then return nil end
      return { "Review the objects of s3://" .. b .. " that the suspect principals read or wrote (see activity-by-principal.md) and notify data owners",
        "Rotate or disable the credentials of every principal judged not authorized (the identity runbooks do it)" }
    end,
  },
}

-- Who touched a bucket: its GuardDuty findings, CloudTrail management events (LookupEvents)
-- and, where a trail records S3 data events for it, the trail's log objects; grouped by
-- principal for the report table (principal, calls, IPs, first/last seen).
local M = {}

M.MAX_LOG_OBJECTS = 200   -- data-event log files read per run: a bound, reported when hit

local function g(t, ...)
  for _, k in ipairs({ ... }) do
    if type(t) ~= "table" then return nil end
    t = t[k]
  end
  return t
end

-- GuardDuty findings naming the bucket, from every detector of the region: normalized
-- (ir.finding) list, raw documents, and notes.
function M.findings(gd, bucket)
  local raw, notes = {}, {}
  local ok, det = pcall(gd.ListDetectors, gd, {})
  if not ok then return {}, {}, { "GuardDuty: " .. tostring(det) } end
  if #(det.DetectorIds or {}) == 0 then return {}, {}, { "GuardDuty is not enabled in this region (no detector)" } end
  for _, id in ipairs(det.DetectorIds) do
    local ids = {}
    for fid in gd:paginate("ListFindings", { DetectorId = id, FindingCriteria = { Criterion = {
      ["resource.s3BucketDetails.name"] = { Eq = { bucket } } } } }, { items = true }) do
      ids[#ids + 1] = fid
    end
    for i = 1, #ids, 50 do
      local chunk = {}
      for j = i, math.min(i + 49, #ids) do chunk[#chunk + 1] = ids[j] end
      for _, f in ipairs(gd:GetFindings{ DetectorId = id, FindingIds = chunk }.Findings or {}) do raw[#raw + 1] = f end
    end
  end
  if #raw == 0 then return {}, raw, notes end
  local list, err = ir.finding.parse_all({ Findings = raw })
  if not list then return {}, raw, { "GuardDuty findings could not be read: " .. tostring(err) } end
  return list, raw, notes
end

-- The principal a finding's access key stands for: {key, arn, user, type, ips}.
function M.finding_principal(f, account)
  local k = f.access_key
  if not k or not (k.user_name or k.access_key_id) then return nil end
  local arn
  if k.user_type == "IAMUser" and k.user_name then arn = "arn:aws:iam::" .. tostring(f.account or account) .. ":user/" .. k.user_name
  elseif k.user_type == "AssumedRole" and k.user_name then arn = "arn:aws:iam::" .. tostring(f.account or account) .. ":role/" .. k.user_name
  elseif k.user_type == "Root" then arn = "arn:aws:iam::" .. tostring(f.account or account) .. ":root" end
  local ip = g(f.raw, "service", "action", "awsApiCallAction", "remoteIpDetails", "ipAddressV4")
  return { arn = arn, user = k.user_name, type = k.user_type, access_key = k.access_key_id, ip = ip,
    api = g(f.raw, "service", "action", "awsApiCallAction", "api") }
end

-- A principal's key for grouping: the ARN CloudTrail gives, normalized for assumed roles
-- to the role ARN; else the user name, the access key, or "anonymous".
function M.principal_of(e)
  local p = e.principal
  if type(p) == "string" then
    local acct, role = p:match("^arn:aws[%w-]*:sts::(%d+):assumed%-role/([^/]+)/")
    if acct then return "arn:aws:iam::" .. acct .. ":role/" .. role end
    return p
  end
  if e.username then return "user:" .. e.username end
  if e.access_key then return "key:" .. e.access_key end
  return "anonymous"
end

-- Rows {principal, calls = {{value, count}}, ips, first_seen, last_seen, writes, total}.
function M.by_principal(events)
  local by, order = {}, {}
  for _, e in ipairs(events) do
    local p = M.principal_of(e)
    local r = by[p]
    if not r then
      r = { principal = p, calls = {}, ips = {}, total = 0, writes = 0, names = {} }
      by[p] = r; order[#order + 1] = p
    end
    r.total = r.total + 1
    if not e.read_only then r.writes = r.writes + 1 end
    r.calls[e.name] = (r.calls[e.name] or 0) + 1
    if e.ip then r.ips[e.ip] = (r.ips[e.ip] or 0) + 1 end
    if e.time and (not r.first_seen or e.time < r.first_seen) then r.first_seen = e.time end
    if e.time and (not r.last_seen or e.time > r.last_seen) then r.last_seen = e.time end
  end
  local rows = {}
  for _, p in ipairs(order) do
    local r = by[p]
    local function ranked(t)
      local out = {}
      for k, n in pairs(t) do out[#out + 1] = { value = k, count = n } end
      table.sort(out, function(a, b) if a.count ~= b.count then return a.count > b.count end return a.value < b.value end)
      return out
    end
    r.calls, r.ips = ranked(r.calls), ranked(r.ips)
    r.names = nil
    rows[#rows + 1] = r
  end
  table.sort(rows, function(a, b) return a.principal < b.principal end)
  return rows
end

local function cell(s) return (tostring(s or ""):gsub("|", "\\|"):gsub("[\r\n]+", " ")) end

local function joined(list, n)
  local parts = {}
  for i, x in ipairs(list) do
    if i > n then parts[#parts + 1] = "+" .. (#list - n) .. " more"; break end
    parts[#parts + 1] = x.value .. " x" .. x.count
  end
  return #parts > 0 and table.concat(parts, ", ") or "-"
end
M.joined = joined

function M.markdown(rows, bucket, win)
  local lines = { "# Activity on s3://" .. bucket, "", "Window: " .. win.start_iso .. " to " .. win.end_iso, "",
    "| principal | calls | source IPs | first seen | last seen |", "|---|---|---|---|---|" }
  for _, r in ipairs(rows) do
    lines[#lines + 1] = string.format("| %s | %s | %s | %s | %s |", cell(r.principal), cell(joined(r.calls, 12)),
      cell(joined(r.ips, 8)), cell(r.first_seen), cell(r.last_seen))
  end
  if #rows == 0 then lines[#lines + 1] = "| (no events) | | | | |" end
  return table.concat(lines, "\n") .. "\n"
end

M.MAX_EVENTS = 10000   -- management events read per run: a bound on a runaway history, reported when hit

-- One LookupEvents event in the shape the evidence keeps.
local function flatten(e)
  local ok, d = pcall(json.decode, e.CloudTrailEvent or "")
  if not ok or type(d) ~= "table" then d = {} end
  local id = type(d.userIdentity) == "table" and d.userIdentity or {}
  local ro = e.ReadOnly
  if ro == nil then ro = d.readOnly end
  return { id = e.EventId, time = e.EventTime, name = e.EventName, source = e.EventSource, region = d.awsRegion,
    read_only = (ro == true or ro == "true"), access_key = e.AccessKeyId or id.accessKeyId,
    username = e.Username or id.userName, principal = id.arn, ip = d.sourceIPAddress, user_agent = d.userAgent,
    error_code = d.errorCode, request = d.requestParameters }
end

-- Management events naming the bucket in the window (CloudTrail LookupEvents in the
-- bucket's region; region nil: the run's). Returns events (newest first), notes.
function M.management_events(region, bucket, win)
  local ct = aws.client("cloudtrail", { region = region })
  local events, notes = {}, {}
  local params = { StartTime = win.start_iso, EndTime = win.end_iso,
    LookupAttributes = { { AttributeKey = "ResourceName", AttributeValue = bucket } } }
  for e in ct:paginate("LookupEvents", params, { items = true }) do
    events[#events + 1] = flatten(e)
    if #events >= M.MAX_EVENTS then notes[#notes + 1] = "CloudTrail: stopped at " .. M.MAX_EVENTS .. " events"; break end
  end
  return events, notes
end

---------------------------------------------------------------------------- data events

-- Does a trail's event selector set (GetEventSelectors output) record S3 object (data)
-- events for the bucket?
function M.selects(sel, bucket)
  for _, s in ipairs(sel.EventSelectors or {}) do
    for _, d in ipairs(s.DataResources or {}) do
      if d.Type == "AWS::S3::Object" then
        for _, v in ipairs(d.Values or {}) do
          if v == "arn:aws:s3" or v == "arn:aws:s3:::" or v:sub(1, #("arn:aws:s3:::" .. bucket .. "/")) == "arn:aws:s3:::" .. bucket .. "/" then
            return true
          end
        end
      end
    end
  end
  for _, a in ipairs(sel.AdvancedEventSelectors or {}) do
    local s3obj, scoped, match = false, false, false
    for _, f in ipairs(a.FieldSelectors or {}) do
      if f.Field == "resources.type" then
        for _, v in ipairs(f.Equals or {}) do if v == "AWS::S3::Object" then s3obj = true end end
      elseif f.Field == "resources.ARN" then
        scoped = true
        for _, v in ipairs(f.StartsWith or {}) do
          if ("arn:aws:s3:::" .. bucket .. "/"):sub(1, #v) == v then match = true end
        end
        for _, v in ipairs(f.Equals or {}) do if v:find(bucket, 1, true) then match = true end end
      end
    end
    if s3obj and (not scoped or match) then return true end
  end
  return false
end

-- The trails that record S3 data events for the bucket: list of {name, bucket, prefix, home_region}.
function M.data_event_trails(ct, bucket)
  local out, notes = {}, {}
  local ok, r = pcall(ct.DescribeTrails, ct, { includeShadowTrails = true })
  if not ok then return out, { "CloudTrail trails could not be listed: " .. tostring(r) } end
  for _, t in ipairs(r.trailList or {}) do
    if t.HasCustomEventSelectors then
      local sok, sel = pcall(ct.GetEventSelectors, ct, { TrailName = t.TrailARN or t.Name })
      if not sok then
        notes[#notes + 1] = "trail " .. tostring(t.Name) .. ": event selectors unreadable: " .. tostring(sel)
      elseif M.selects(sel, bucket) then
        out[#out + 1] = { name = t.Name, bucket = t.S3BucketName, prefix = t.S3KeyPrefix, home_region = t.HomeRegion }
      end
    end
  end
  if #(r.trailList or {}) == 0 then notes[#notes + 1] = "no CloudTrail trail: only the 90-day event history exists, without data events" end
  return out, notes
end

-- Reads the data-event log objects of the window from a trail's bucket. CloudTrail writes
-- them gzip-compressed; the sandbox has no inflate, so compressed objects are listed (for
-- the investigation to read) and uncompressed ones are parsed. Returns events, files, notes.
function M.data_events(s3, t, account, region, bucket, win)
  local events, files, notes, compressed = {}, {}, {}, 0
  local day = win.start - (win.start % 86400)
  local base = (t.prefix and t.prefix ~= "" and (t.prefix .. "/") or "") .. "AWSLogs/" .. account .. "/CloudTrail/" .. region .. "/"
  while day <= win.finish and #files < M.MAX_LOG_OBJECTS do
    local prefix = base .. os.date("!%Y/%m/%d/", day)
    for obj in s3:paginate("ListObjectsV2", { Bucket = t.bucket, Prefix = prefix }, { items = true }) do
      if #files >= M.MAX_LOG_OBJECTS then notes[#notes + 1] = "stopped at " .. M.MAX_LOG_OBJECTS .. " log files"; break end
      local body = s3:GetObject{ Bucket = t.bucket, Key = obj.Key }.Body or ""
      local f = { key = obj.Key, size = obj.Size, etag = obj.ETag }
      files[#files + 1] = f
      if body:sub(1, 2) == "\31\139" then
        f.compressed = true; compressed = compressed + 1
      else
        local ok, doc = pcall(json.decode, body)
        for _, rec in ipairs(ok and type(doc) == "table" and doc.Records or {}) do
          local hit = false
          for _, res in ipairs(rec.resources or {}) do
            if type(res.ARN) == "string" and (res.ARN == "arn:aws:s3:::" .. bucket or res.ARN:sub(1, #bucket + 14) == "arn:aws:s3:::" .. bucket .. "/") then hit = true end
          end
          if g(rec, "requestParameters", "bucketName") == bucket then hit = true end
          if hit then
            local id = rec.userIdentity or {}
            events[#events + 1] = { id = rec.eventID, time = rec.eventTime, name = rec.eventName, source = rec.eventSource,
              region = rec.awsRegion, read_only = rec.readOnly == true, access_key = id.accessKeyId, username = id.userName,
              principal = id.arn, ip = rec.sourceIPAddress, user_agent = rec.userAgent, error_code = rec.errorCode,
              request = rec.requestParameters, data_event = true }
          end
        end
      end
    end
    day = day + 86400
  end
  if compressed > 0 then
    notes[#notes + 1] = compressed .. " gzip-compressed data-event log file(s) in s3://" .. t.bucket .. "/" .. base ..
      " are listed in evidence but not read (irhost cannot inflate them in the sandbox): read them with Athena or `aws s3 cp` + zcat"
  end
  return events, files, notes
end

return M

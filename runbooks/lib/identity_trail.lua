-- CloudTrail review for the identity runbooks: LookupEvents across regions (one attribute
-- per lookup, as the API allows), the events flattened for evidence, the summary a
-- responder reads first (actions by count, source IPs, user agents, regions, first and last
-- seen) and the resources the principal created or changed.
local evidence = require("lib.identity_evidence")

local M = {}

M.MAX_EVENTS = 10000   -- per lookup and region: a bound on a runaway history, reported when hit

-- The regions to review: --regions, else every region enabled in the account, else the run's.
function M.regions(ctx)
  if ctx.params.regions and #ctx.params.regions > 0 then return ctx.params.regions end
  local ok, r = pcall(function() return aws.client("ec2"):DescribeRegions({}) end)
  if ok and r.Regions and #r.Regions > 0 then
    local out = {}
    for _, reg in ipairs(r.Regions) do
      if reg.OptInStatus == nil or reg.OptInStatus ~= "not-opted-in" then out[#out + 1] = reg.RegionName end
    end
    table.sort(out)
    return out
  end
  ctx.warn("could not list the enabled regions (%s): reviewing %s only; give --regions to choose",
    ok and "no regions" or tostring(r), tostring(ctx.region))
  return { ctx.region }
end

local function str(v) if type(v) == "string" and v ~= "" then return v end return nil end

-- One CloudTrail event in the shape the evidence keeps.
local function flatten(e, region)
  local ok, detail = pcall(json.decode, e.CloudTrailEvent or "")
  if not ok or type(detail) ~= "table" then detail = {} end
  local ident = type(detail.userIdentity) == "table" and detail.userIdentity or {}
  local resources = {}
  for _, r in ipairs(e.Resources or {}) do resources[#resources + 1] = { type = r.ResourceType, name = r.ResourceName } end
  local ro = e.ReadOnly
  if ro == nil then ro = detail.readOnly end
  return {
    id = e.EventId, time = e.EventTime, name = e.EventName, source = e.EventSource,
    region = str(detail.awsRegion) or region, read_only = (ro == true or ro == "true"),
    access_key = e.AccessKeyId or ident.accessKeyId, username = e.Username or ident.userName,
    principal = ident.arn, ip = detail.sourceIPAddress, user_agent = detail.userAgent,
    error_code = detail.errorCode, resources = resources,
    request = detail.requestParameters, response = detail.responseElements,
  }
end

-- Events matching one lookup attribute in every region, newest first, deduplicated by id.
-- lookups: list of {key, value}; win: lib.identity_window window. Returns events, notes
-- (one per failed or capped lookup), and how many of the lookups failed and were made.
function M.lookup(regions, lookups, win)
  local tasks, keys = {}, {}
  for _, region in ipairs(regions) do
    for _, l in ipairs(lookups) do
      keys[#keys + 1] = { region = region, key = l[1], value = l[2] }
      tasks[#tasks + 1] = function()
        local ct = aws.client("cloudtrail", { region = region })
        local got, capped = {}, false
        local params = { StartTime = win.start_iso, EndTime = win.end_iso,
          LookupAttributes = { { AttributeKey = l[1], AttributeValue = l[2] } } }
        for e in ct:paginate("LookupEvents", params, { items = true }) do
          got[#got + 1] = flatten(e, region)
          if #got >= M.MAX_EVENTS then capped = true; break end
        end
        return { events = got, capped = capped }
      end
    end
  end
  local results = {}
  local ok, err = pcall(function() results = aws.parallel(tasks) end)
  local notes, failed = {}, 0
  if not ok then
    -- One region failing (opt-in, SCP) must not hide the others: retry one by one.
    results = {}
    for i, t in ipairs(tasks) do
      local tok, r = pcall(t)
      if tok then results[i] = r
      else
        failed = failed + 1
        notes[#notes + 1] = "CloudTrail " .. keys[i].region .. " " .. keys[i].key .. "=" .. keys[i].value ..
          ": " .. tostring(aws.is_error(r) and (r.code .. ": " .. tostring(r.message)) or r)
      end
    end
    if failed == 0 then notes[1] = "CloudTrail lookups retried one by one after: " .. tostring(err) end
  end
  local seen, events = {}, {}
  for i, r in pairs(results) do
    if r.capped then
      notes[#notes + 1] = "CloudTrail " .. keys[i].region .. " " .. keys[i].key .. "=" .. keys[i].value ..
        ": stopped at " .. M.MAX_EVENTS .. " events"
    end
    for _, e in ipairs(r.events) do
      local id = e.id or (e.time .. e.name .. tostring(e.region))
      if not seen[id] then seen[id] = true; events[#events + 1] = e end
    end
  end
  table.sort(events, function(a, b)
    if a.time ~= b.time then return tostring(a.time) > tostring(b.time) end
    return tostring(a.id) < tostring(b.id)
  end)
  return events, notes, failed, #tasks
end

local function count_into(t, k)
  if k == nil or k == "" then return end
  t[k] = (t[k] or 0) + 1
end

local function ranked(t)
  local out = {}
  for k, n in pairs(t) do out[#out + 1] = { value = k, count = n } end
  table.sort(out, function(a, b) if a.count ~= b.count then return a.count > b.count end return a.value < b.value end)
  return out
end

-- {total, writes, errors, actions, source_ips, user_agents, regions (each ranked {value, count}),
--  first_seen, last_seen}
function M.summary(events)
  local actions, ips, agents, regions = {}, {}, {}, {}
  local s = { total = #events, writes = 0, errors = 0 }
  for _, e in ipairs(events) do
    count_into(actions, (e.source and e.source:gsub("%.amazonaws%.com$", "") .. ":" or "") .. tostring(e.name))
    count_into(ips, e.ip)
    count_into(agents, e.user_agent)
    count_into(regions, e.region)
    if not e.read_only then s.writes = s.writes + 1 end
    if e.error_code then s.errors = s.errors + 1 end
    if e.time and (not s.first_seen or e.time < s.first_seen) then s.first_seen = e.time end
    if e.time and (not s.last_seen or e.time > s.last_seen) then s.last_seen = e.time end
  end
  s.actions, s.source_ips, s.user_agents, s.regions = ranked(actions), ranked(ips), ranked(agents), ranked(regions)
  return s
end

local function top(list, n)
  local parts = {}
  for i, x in ipairs(list) do
    if i > n then parts[#parts + 1] = "... (" .. (#list - n) .. " more)"; break end
    parts[#parts + 1] = x.value .. " x" .. x.count
  end
  return #parts > 0 and table.concat(parts, ", ") or "none"
end

-- The summary as report lines (ctx.info), most frequent first.
function M.summary_lines(s)
  if s.total == 0 then return { "no CloudTrail events in the window" } end
  return {
    string.format("%d event(s), %d write(s), %d error(s), first seen %s, last seen %s",
      s.total, s.writes, s.errors, tostring(s.first_seen), tostring(s.last_seen)),
    "actions: " .. top(s.actions, 15),
    "source IPs: " .. top(s.source_ips, 10),
    "user agents: " .. top(s.user_agents, 5),
    "regions: " .. top(s.regions, 10),
  }
end

---------------------------------------------------------------------------- resources

local function g(t, ...)
  for _, k in ipairs({ ... }) do
    if type(t) ~= "table" then return nil end
    t = t[k]
  end
  return t
end

-- What each write names, beyond the Resources CloudTrail lists: {type, name} pairs.
local EXTRACT = {
  RunInstances = function(e)
    local out = {}
    for _, i in ipairs(g(e.response, "instancesSet", "items") or {}) do out[#out + 1] = { "AWS::EC2::Instance", i.instanceId } end
    return out
  end,
  CreateUser = function(e) return { { "AWS::IAM::User", g(e.request, "userName") } } end,
  CreateAccessKey = function(e)
    local k = g(e.response, "accessKey")
    local user = g(k, "userName") or g(e.request, "userName") or e.username
    return { { "AWS::IAM::AccessKey", k and k.accessKeyId and ((user and (user .. "/") or "") .. k.accessKeyId) } }
  end,
  CreateLoginProfile = function(e) return { { "AWS::IAM::LoginProfile", g(e.request, "userName") or e.username } } end,
  CreateRole = function(e) return { { "AWS::IAM::Role", g(e.request, "roleName") } } end,
  CreatePolicy = function(e) return { { "AWS::IAM::Policy", g(e.response, "policy", "arn") or g(e.request, "policyName") } } end,
  CreateFunction20150331 = function(e) return { { "AWS::Lambda::Function", g(e.request, "functionName") } } end,
  CreateFunction = function(e) return { { "AWS::Lambda::Function", g(e.request, "functionName") } } end,
  CreateBucket = function(e) return { { "AWS::S3::Bucket", g(e.request, "bucketName") } } end,
  PutBucketPolicy = function(e) return { { "AWS::S3::Bucket", g(e.request, "bucketName") } } end,
  CreateKeyPair = function(e) return { { "AWS::EC2::KeyPair", g(e.request, "keyName") } } end,
  ImportKeyPair = function(e) return { { "AWS::EC2::KeyPair", g(e.request, "keyName") } } end,
  CreateSecurityGroup = function(e) return { { "AWS::EC2::SecurityGroup", g(e.response, "groupId") } } end,
  AuthorizeSecurityGroupIngress = function(e) return { { "AWS::EC2::SecurityGroup", g(e.request, "groupId") } } end,
  ModifySnapshotAttribute = function(e) return { { "AWS::EC2::Snapshot", g(e.request, "snapshotId") } } end,
  ModifyImageAttribute = function(e) return { { "AWS::EC2::Image", g(e.request, "imageId") } } end,
  AttachUserPolicy = function(e) return { { "AWS::IAM::User", g(e.request, "userName") } } end,
  PutUserPolicy = function(e) return { { "AWS::IAM::User", g(e.request, "userName") } } end,
  AttachRolePolicy = function(e) return { { "AWS::IAM::Role", g(e.request, "roleName") } } end,
  PutRolePolicy = function(e) return { { "AWS::IAM::Role", g(e.request, "roleName") } } end,
  UpdateAssumeRolePolicy = function(e) return { { "AWS::IAM::Role", g(e.request, "roleName") } } end,
}

-- Resources the write events created or changed: list of {type, name, region, actions,
-- first_time, last_time, key} sorted by type and name; key is the line --delete-unauthorized takes.
function M.resources(events)
  local by, order = {}, {}
  local function add(e, typ, name)
    if type(typ) ~= "string" or type(name) ~= "string" or name == "" then return end
    local global = typ:match("^AWS::IAM::") or typ:match("^AWS::S3::")
    local region = global and "global" or tostring(e.region)
    local key = typ .. " " .. name .. " " .. region
    local r = by[key]
    if not r then
      r = { type = typ, name = name, region = region, actions = {}, first_time = e.time, last_time = e.time, key = key }
      by[key] = r; order[#order + 1] = key
    end
    local seen = false
    for _, a in ipairs(r.actions) do if a == e.name then seen = true end end
    if not seen then r.actions[#r.actions + 1] = e.name end
    if e.time and e.time < r.first_time then r.first_time = e.time end
    if e.time and e.time > r.last_time then r.last_time = e.time end
  end
  for _, e in ipairs(events) do
    if not e.read_only and not e.error_code then
      local ex, named = EXTRACT[e.name], false
      if ex then
        for _, p in ipairs(ex(e)) do
          if type(p[2]) == "string" and p[2] ~= "" then named = true; add(e, p[1], p[2]) end
        end
      end
      for _, r in ipairs(e.resources or {}) do
        if r.type == "AWS::IAM::AccessKey" then
          -- Deleting a key needs its user: named USER/KEYID like the extracted ones.
          if not named and type(r.name) == "string" and not r.name:find("/", 1, true) and e.username then
            add(e, r.type, e.username .. "/" .. r.name)
          end
        else
          add(e, r.type, r.name)
        end
      end
    end
  end
  local out = {}
  for _, k in ipairs(order) do out[#out + 1] = by[k] end
  table.sort(out, function(a, b) return a.key < b.key end)
  return out
end

local function cell(s) return (tostring(s or ""):gsub("|", "\\|"):gsub("[\r\n]+", " ")) end

-- A markdown table of resources (evidence for humans; report notes carry one line each).
function M.resources_markdown(rows, title)
  local lines = { "# " .. title, "", "| type | name | region | actions | first | last |", "|---|---|---|---|---|---|" }
  for _, r in ipairs(rows) do
    lines[#lines + 1] = string.format("| %s | %s | %s | %s | %s | %s |", cell(r.type), cell(r.name), cell(r.region),
      cell(table.concat(r.actions, ", ")), cell(r.first_time), cell(r.last_time))
  end
  if #rows == 0 then lines[#lines + 1] = "| (none) | | | | | |" end
  return table.concat(lines, "\n") .. "\n"
end

-- The summary as a markdown document (evidence).
function M.summary_markdown(s, title)
  local lines = { "# " .. title, "", string.format("%d event(s), %d write(s), %d error(s); first seen %s, last seen %s",
    s.total, s.writes, s.errors, tostring(s.first_seen), tostring(s.last_seen)) }
  for _, sec in ipairs({ { "Actions", s.actions }, { "Source IPs", s.source_ips }, { "User agents", s.user_agents },
      { "Regions", s.regions } }) do
    lines[#lines + 1] = ""
    lines[#lines + 1] = "## " .. sec[1]
    lines[#lines + 1] = ""
    lines[#lines + 1] = "| value | count |"
    lines[#lines + 1] = "|---|---|"
    for _, x in ipairs(sec[2]) do lines[#lines + 1] = "| " .. cell(x.value) .. " | " .. x.count .. " |" end
  end
  return table.concat(lines, "\n") .. "\n"
end

-- The list file --delete-unauthorized reads: one resource per line, as in this file.
function M.candidates_text(rows)
  local lines = {
    "# Resources created or changed in the window (type name region), one per line.",
    "# Keep the lines of the resources to delete, then rerun with --delete-unauthorized FILE.",
  }
  for _, r in ipairs(rows) do lines[#lines + 1] = r.key end
  return table.concat(lines, "\n") .. "\n"
end

-- Reports resource rows: evidence (JSON, a markdown table, the list --delete-unauthorized
-- takes), one note per row, the count as an output, and a follow-up to review them.
-- label completes "created or changed ...": "by ci-deploy", "in the account".
function M.report_resources(ctx, rows, label)
  ctx.state.resource_rows = rows
  evidence.save(ctx, "resources.json", rows)
  evidence.save(ctx, "resources.md", M.resources_markdown(rows, "Resources created or changed " .. label))
  evidence.save(ctx, "unauthorized-candidates.txt", M.candidates_text(rows))
  for i, r in ipairs(rows) do
    if i > 50 then ctx.info("... %d more in evidence/resources.md", #rows - 50); break end
    ctx.info("%s %s (%s): %s, %s", r.type, r.name, r.region, table.concat(r.actions, ", "), tostring(r.first_time))
  end
  if #rows == 0 then ctx.info("no resource created or changed %s in the window", label) end
  ctx.output("resources", #rows)
  if #rows > 0 and not ctx.params.delete_unauthorized then
    ctx.followup("Review the " .. #rows .. " resource(s) created or changed " .. label .. " (evidence/resources.md); " ..
      "to delete some, keep their lines of evidence/unauthorized-candidates.txt and rerun with --delete-unauthorized FILE")
  end
end

-- M.lookup in step ctx: a warning per failed lookup; raises when none answered (an empty
-- history would read as "nothing happened": it is a failure). Returns the events.
function M.lookup_or_fail(ctx, regions, lookups, win)
  local events, notes, failed, total = M.lookup(regions, lookups, win)
  for _, n in ipairs(notes) do ctx.warn("%s", n) end
  if total > 0 and failed == total then
    error("no CloudTrail lookup succeeded (" .. notes[1] .. "); the review was not done", 0)
  end
  return events
end

-- Records reviewed events: evidence (events with meta's fields and the window, summary),
-- summary notes, the "cloudtrail" output. label completes "CloudTrail summary: ". Returns the summary.
function M.record(ctx, events, win, label, meta)
  if win.clipped then ctx.warn("CloudTrail keeps 90 days of event history: the review starts at %s", win.start_iso) end
  local doc = { window = { start = win.start_iso, finish = win.end_iso }, events = events }
  for k, v in pairs(meta) do doc[k] = v end
  evidence.save(ctx, "cloudtrail-events.json", doc)
  local s = M.summary(events)
  evidence.save(ctx, "cloudtrail-summary.md", M.summary_markdown(s, "CloudTrail summary: " .. label))
  for _, line in ipairs(M.summary_lines(s)) do ctx.info("%s", line) end
  ctx.output("cloudtrail", { events = s.total, writes = s.writes, errors = s.errors, first_seen = s.first_seen or json.null,
    last_seen = s.last_seen or json.null, source_ips = #s.source_ips, regions = #s.regions })
  return s
end

-- Runs the full review: lookups, evidence (events, summary), report notes. Returns events, summary.
function M.review(ctx, regions, lookups, win, label)
  local events = M.lookup_or_fail(ctx, regions, lookups, win)
  return events, M.record(ctx, events, win, label, { regions = regions, lookups = lookups })
end

-- The review's events: those the review step kept, or (resumed after it) collect(ctx)'s,
-- read again rather than trusted from a stale copy.
function M.events(ctx, collect)
  if not ctx.state.trail_events then ctx.state.trail_events = collect(ctx) end
  return ctx.state.trail_events
end

return M

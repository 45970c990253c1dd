-- ir.evidence: ctx.evidence, the run's evidence store. save(name, value) hands the file to
-- the broker (evidence/<name>, a SHA256SUMS line) and, with --evidence-bucket, uploads it
-- to s3://BUCKET/<ticket>/<run id>/evidence/<name>, recording the VersionId and ETag.
--
-- Evidence is never overwritten. A step that saved a file and then failed runs again on
-- --resume and saves the same name: on a resumed run, a name the earlier attempt took is
-- saved as resumed-<UTC time>/<name> instead, and both files stay (each in SHA256SUMS and
-- in the report). Within one attempt, saving a name twice is still an error.
local util = require("ir.util")

local M = {}

local function safe_segment(s)
  return (tostring(s):gsub("[^%w._-]", "_"))
end

function M.key(ticket, run_id, name)
  return safe_segment(ticket or "no-ticket") .. "/" .. safe_segment(run_id or "run") .. "/evidence/" .. name
end

-- The name of a resumed attempt's copy: stamp is the attempt's UTC time (YYYYmmddTHHMMSSZ),
-- n > 1 only when two resumed attempts started within the same second.
function M.resumed_name(stamp, n, name)
  return "resumed-" .. stamp .. (n > 1 and ("-" .. n) or "") .. "/" .. name
end

local function upload(o, rec, content, content_type)
  local key = M.key(o.ticket, o.run_id, rec.name)
  local s3 = o.aws.client("s3")
  local ok, res = pcall(s3.PutObject, s3, {
    Bucket = o.bucket, Key = key, Body = content, ContentType = content_type,
    Metadata = { sha256 = rec.sha256, ticket = o.ticket or "", ["run-id"] = o.run_id or "" },
  })
  rec.s3 = { bucket = o.bucket, key = key }
  if not ok then
    rec.s3.error = util.error_text(res)
    o.note("evidence " .. rec.name .. " was saved locally but not uploaded to s3://" ..
      o.bucket .. "/" .. key .. ": " .. rec.s3.error)
  elseif type(res) == "table" and res.dry_run then
    rec.s3.planned = true
  else
    rec.s3.version_id = res and res.VersionId or nil
    rec.s3.etag = res and res.ETag and (res.ETag:gsub('"', "")) or nil
  end
end

local function failed(reply)
  return type(reply) ~= "table" or reply.error ~= nil or not reply.sha256
end

local function reason(reply)
  return tostring(type(reply) == "table" and (reply.message or reply.error) or "no reply")
end

-- opts: host, aws (module), bucket (or nil), ticket, run_id, resumed (this run continues an
-- earlier one in the same directory), note(text) (a warning), info(text), on_save(record).
-- Returns the object runbooks see as ctx.evidence. It holds nothing but `save`: the broker
-- channel and the trusted modules stay in upvalues, out of the runbook's reach.
function M.new(opts)
  local store = {}
  local saved = {}   -- names this attempt stored: a second save of one of them is a runbook bug
  local stamp        -- this attempt's resumed-<time>/ folder, fixed at its first copy

  local function put(name, content, content_type)
    return opts.host.request("evidence", { name = name, content = content, content_type = content_type })
  end

  -- The earlier attempt took `name`: store this attempt's copy next to it.
  local function put_copy(name, content, content_type)
    stamp = stamp or os.date("!%Y%m%dT%H%M%SZ")
    local alt, reply
    for n = 1, 20 do
      alt = M.resumed_name(stamp, n, name)
      reply = put(alt, content, content_type)
      if type(reply) ~= "table" or reply.error ~= "exists" then break end
    end
    return alt, reply
  end

  -- Saves value (a table becomes pretty JSON, a string is stored as is) as evidence/<name>;
  -- returns its SHA-256 (hex) and the name it was stored under (name, or on a resumed run
  -- its resumed-<time>/ copy). Raises when the broker refuses the name or the write fails.
  function store.save(self, name, value, content_type)
    if self ~= store then error("use ctx.evidence:save(name, value)", 2) end
    if type(name) ~= "string" or name == "" then error("evidence:save: name must be a non-empty string", 2) end
    local content
    if type(value) == "string" then
      content = value
      content_type = content_type or "text/plain"
    elseif type(value) == "table" then
      content = util.pretty_json(value)
      content_type = content_type or "application/json"
    else
      error("evidence:save: value must be a table or a string, not " .. type(value), 2)
    end
    local stored, copy_of = name, nil
    local reply = put(name, content, content_type)
    if opts.resumed and not saved[name] and type(reply) == "table" and reply.error == "exists" then
      local first = reply
      stored, reply = put_copy(name, content, content_type)
      if failed(reply) then
        error("evidence " .. name .. ": " .. reason(first) .. "; its copy " .. stored .. " was refused too: " ..
          reason(reply), 2)
      end
      copy_of = name
    elseif failed(reply) then
      error("evidence " .. name .. ": " .. reason(reply), 2)
    end
    saved[name], saved[stored] = true, true
    local rec = { name = stored, sha256 = reply.sha256, size = tonumber(reply.size) or #content, copy_of = copy_of }
    if copy_of and opts.info then
      opts.info("evidence " .. copy_of .. " was saved by the run being resumed; this attempt's copy is " .. stored)
    end
    if opts.bucket then upload(opts, rec, content, content_type) end
    if opts.on_save then opts.on_save(rec) end
    return rec.sha256, rec.name
  end

  return store
end

return M

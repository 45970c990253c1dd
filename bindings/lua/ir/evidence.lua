-- ir.evidence: ctx.evidence, the run's evidence store. save(name, value) hands the file to
-- the broker (evidence/<name>, a SHA256SUMS line) and, with --evidence-bucket, uploads it
-- to s3://BUCKET/<ticket>/<run id>/evidence/<name>, recording the VersionId and ETag.
local util = require("ir.util")

local M = {}

local function safe_segment(s)
  return (tostring(s):gsub("[^%w._-]", "_"))
end

function M.key(ticket, run_id, name)
  return safe_segment(ticket or "no-ticket") .. "/" .. safe_segment(run_id or "run") .. "/evidence/" .. name
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

-- opts: host, aws (module), bucket (or nil), ticket, run_id, note(text), on_save(record).
-- Returns the object runbooks see as ctx.evidence. It holds nothing but `save`: the broker
-- channel and the trusted modules stay in upvalues, out of the runbook's reach.
function M.new(opts)
  local store = {}

  -- Saves value (a table becomes pretty JSON, a string is stored as is) as evidence/<name>;
  -- returns its SHA-256 (hex). Raises when the broker refuses the name or the write fails.
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
    local reply = opts.host.request("evidence", { name = name, content = content, content_type = content_type })
    if type(reply) ~= "table" or reply.error or not reply.sha256 then
      error("evidence " .. name .. ": " .. tostring(type(reply) == "table" and (reply.message or reply.error) or "no reply"), 2)
    end
    local rec = { name = name, sha256 = reply.sha256, size = tonumber(reply.size) or #content }
    if opts.bucket then upload(opts, rec, content, content_type) end
    if opts.on_save then opts.on_save(rec) end
    return rec.sha256
  end

  return store
end

return M

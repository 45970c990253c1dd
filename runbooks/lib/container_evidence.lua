-- Evidence saving that survives --resume. The run directory never overwrites evidence, so a
-- step that saved a file and then failed would fail again on resume when it saves the same
-- name: the rerun's copy goes next to the first one, under resumed-<UTC time>/, and both stay.
local M = {}

-- ctx.evidence:save(name, value, content_type), or the resumed-<time>/ copy when name exists.
function M.save(ctx, name, value, content_type)
  local ok, r = pcall(ctx.evidence.save, ctx.evidence, name, value, content_type)
  if ok then return r end
  local alt = "resumed-" .. os.date("!%Y%m%dT%H%M%SZ") .. "/" .. name
  local ok2, r2 = pcall(ctx.evidence.save, ctx.evidence, alt, value, content_type)
  if not ok2 then error(r, 0) end
  ctx.log("evidence %s was saved by an earlier attempt; this attempt's copy is %s", name, alt)
  return r2
end

return M

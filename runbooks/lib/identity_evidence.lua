-- Saving evidence from steps that may run again: a step that failed after saving a file is
-- rerun by --resume, and evidence is never overwritten, so the rerun's copy gets the next
-- free name (name.2.json, ...). Both copies stay, each with its SHA-256 line.
local M = {}

local function numbered(name, n)
  local base, ext = name:match("^(.*)(%.[%w]+)$")
  if not base then return name .. "." .. n end
  return base .. "." .. n .. ext
end

-- ctx.evidence:save(name, value, content_type), under the first free name; returns the
-- SHA-256 and the name used.
function M.save(ctx, name, value, content_type)
  local ok, res = pcall(ctx.evidence.save, ctx.evidence, name, value, content_type)
  if ok then return res, name end
  if not tostring(res):find("already exists", 1, true) then error(res, 0) end
  for n = 2, 20 do
    local alt = numbered(name, n)
    local aok, ares = pcall(ctx.evidence.save, ctx.evidence, alt, value, content_type)
    if aok then return ares, alt end
    if not tostring(ares):find("already exists", 1, true) then error(ares, 0) end
  end
  error("evidence " .. name .. ": 20 copies exist already", 0)
end

return M

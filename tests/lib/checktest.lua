-- The set-up the tests/check/*.lua suites share (run by irhost-lua, whose package.path
-- holds tests/lib/?.lua): TAP counters, reading the tree, and runbook modules resolved the
-- way the broker resolves them.
--
--   local T = require("checktest")
--   local ok, skip = T.ok, T.skip     -- ok(cond, name, detail?), skip(name, why)
--   ...
--   return T.done()                   -- prints the plan; true when nothing failed
local M = {}

M.root = os.getenv("IRHOST_ROOT") or "."

local n, failed = 0, 0

-- One TAP line; a failure prints detail as a comment block.
function M.ok(cond, name, detail)
  n = n + 1
  if cond then print("ok " .. n .. " - " .. name)
  else
    failed = failed + 1
    print("not ok " .. n .. " - " .. name)
    if detail then print("# " .. tostring(detail):gsub("\n", "\n# ")) end
  end
end

-- A skipped test, counted as passing with the reason TAP shows.
function M.skip(name, why) n = n + 1; print("ok " .. n .. " - " .. name .. " # SKIP " .. why) end

-- Prints the plan; true when every test passed (the suite's return value).
function M.done()
  print("1.." .. n)
  return failed == 0
end

-- The whole file at path (raises when it cannot be read).
function M.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- The file at path relative to the tree's root, or nil and a message.
function M.disk(rel)
  local f = io.open(M.root .. "/" .. rel, "rb")
  if not f then return nil, "no such file " .. rel end
  local s = f:read("a")
  f:close()
  return s
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The sorted names in dir ending with suffix.
function M.list(dir, suffix)
  local out = {}
  local p = io.popen('ls -1 "' .. dir .. '" 2>/dev/null')
  for name in p:lines() do
    if name:sub(-#suffix) == suffix then out[#out + 1] = name end
  end
  p:close()
  table.sort(out)
  return out
end

-- A module a runbook requires, read the way the broker resolves it (next to the runbook):
-- source and its path, or nil.
function M.module_loader(name, from)
  local rel = (from:match("^(.*)/[^/]*$") or ".") .. "/" .. name:gsub("%.", "/") .. ".lua"
  local s = M.disk(rel)
  if not s then return nil end
  return s, rel
end

-- The shipped runbooks (runbooks/*.lua, runbooks/examples/*.lua), paths relative to root.
function M.shipped()
  local out = {}
  for _, dir in ipairs({ "runbooks", "runbooks/examples" }) do
    for _, name in ipairs(M.list(M.root .. "/" .. dir, ".lua")) do out[#out + 1] = dir .. "/" .. name end
  end
  return out
end

return M

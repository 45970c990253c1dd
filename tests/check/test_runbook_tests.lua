-- Every shipped runbook's own tests (runbooks/tests/*_test.lua) pass under `irhost test`
-- (bindings/lua/ir/testing.lua), so `make test` runs them until the host's `irhost test`
-- subcommand runs them the same way. Run by irhost-lua: tests/run.sh check
local testing = require("ir.testing")

local root = os.getenv("IRHOST_ROOT") or "."
local n, failed = 0, 0
local function ok(cond, name, detail)
  n = n + 1
  if cond then print("ok " .. n .. " - " .. name)
  else
    failed = failed + 1
    print("not ok " .. n .. " - " .. name)
    if detail then print("# " .. tostring(detail):gsub("\n", "\n# ")) end
  end
end
local function load_file(p)
  local f = io.open(root .. "/" .. p, "rb")
  if not f then return nil, "no such file " .. p end
  local s = f:read("a")
  f:close()
  return s
end

local tests = {}
local p = io.popen('ls -1 "' .. root .. '/runbooks/tests" 2>/dev/null')
for name in p:lines() do if name:match("_test%.lua$") then tests[#tests + 1] = name end end
p:close()
table.sort(tests)

local runbooks = {}
p = io.popen('ls -1 "' .. root .. '/runbooks" 2>/dev/null')
for name in p:lines() do if name:match("%.lua$") then runbooks[#runbooks + 1] = name:sub(1, -5) end end
p:close()
local have = {}
for _, t in ipairs(tests) do have[t:sub(1, -10)] = true end
-- A runbook without tests is listed, not failed: runbooks are written by several people
-- at once; the lead turns this into a failure once every runbook has its tests.
for _, r in ipairs(runbooks) do
  local name = "runbooks/" .. r .. ".lua has runbooks/tests/" .. r .. "_test.lua"
  if have[r] then ok(true, name)
  else n = n + 1; print("ok " .. n .. " - " .. name .. " # SKIP not written yet") end
end

for _, name in ipairs(tests) do
  local path = "runbooks/tests/" .. name
  local out = {}
  local code = testing.run{ files = { { path = path, source = load_file(path) } }, load = load_file,
    write = function(_, text) out[#out + 1] = text end }
  local text = table.concat(out)
  ok(code == 0, path .. ": " .. (text:match("(%d+ passed, %d+ failed)\n$") or "?"), text)
end

print("1.." .. n)
return failed == 0

-- Every shipped runbook has its own tests (runbooks/tests/NAME_test.lua) and they pass under
-- `irhost test` (bindings/lua/ir/testing.lua), run in process here so `make test` reports each
-- file. Run by irhost-lua: tests/run.sh check
local testing = require("ir.testing")

local T = require("checktest")

local root = T.root
local ok, load_file = T.ok, T.disk

local tests = T.list(root .. "/runbooks/tests", "_test.lua")
local runbooks = {}
for _, name in ipairs(T.list(root .. "/runbooks", ".lua")) do runbooks[#runbooks + 1] = name:sub(1, -5) end
local have = {}
for _, t in ipairs(tests) do have[t:sub(1, -10)] = true end
-- Every shipped runbook has its tests (issue 9): a runbook added without them fails here.
ok(#runbooks > 0, "runbooks/*.lua found under " .. root)
for _, r in ipairs(runbooks) do
  ok(have[r], "runbooks/" .. r .. ".lua has runbooks/tests/" .. r .. "_test.lua",
    "no runbooks/tests/" .. r .. "_test.lua: write its irhost test file (docs/authoring.md, `irhost test`)")
end

for _, name in ipairs(tests) do
  local path = "runbooks/tests/" .. name
  local out = {}
  local code = testing.run{ files = { { path = path, source = load_file(path) } }, load = load_file,
    write = function(_, text) out[#out + 1] = text end }
  local text = table.concat(out)
  ok(code == 0, path .. ": " .. (text:match("(%d+ passed, %d+ failed)\n$") or "?"), text)
end

return T.done()

-- `irhost test` (bindings/lua/ir/testing.lua): runbook tests with stubbed AWS, no network.
-- Good tests pass; each kind of broken test fails with its message (a stub that drifts
-- from the output shape, unexpected params, an unstubbed call, a failed expectation);
-- stubbed errors reach the runbook as real AWS error objects in every protocol.
-- Run by irhost-lua: tests/run.sh check
local testing = require("ir.testing")
local scaffold = require("ir.scaffold")

local T = require("checktest")
local ok = T.ok

-- Runs test sources against an in-memory tree; returns exit code and output.
local function run_tests(tree, test_paths)
  local files, out = {}, {}
  for _, p in ipairs(test_paths) do files[#files + 1] = { path = p, source = tree[p] } end
  local code = testing.run{ files = files,
    load = function(p) return tree[p], "no such file " .. p end,
    write = function(_, text) out[#out + 1] = text end }
  return code, table.concat(out)
end

local sk = scaffold.files("web")
local tree = { ["rb/web.lua"] = sk[1].content, ["rb/tests/web_test.lua"] = sk[2].content }

-- The skeleton's own test passes.
local code, out = run_tests(tree, { "rb/tests/web_test.lua" })
ok(code == 0, "the skeleton's test passes", out)
ok(out:find("\n2 passed, 0 failed\n$"), "output ends with 'N passed, N failed'", out)
ok(out:find("ok - rb/tests/web_test.lua: captures and tags the instance", 1, true), "one line per test", out)

local function one(body)
  tree["rb/tests/t_test.lua"] = 'local RB = "../web.lua"\nlocal ID = "i-0123456789abcdef0"\n' .. body
  return run_tests(tree, { "rb/tests/t_test.lua" })
end
local describe_ok = [[
  stub("ec2", "DescribeInstances", { Reservations = { { Instances = { { InstanceId = ID, State = { Name = "running" } } } } } })
]]

-- A stub that drifted from the API is refused, naming the member.
code, out = one('test("drift", function()\n  stub("ec2", "DescribeInstances", { Reservations = { { Instance = {} } } })\nend)\n')
ok(code == 1 and out:find("unknown member 'Instance' (did you mean 'Instances'?)", 1, true),
  "a stub response with a typo fails the test, with did-you-mean", out)
code, out = one('test("types", function()\n  stub("ec2", "DescribeInstances", { Reservations = { { Instances = { { State = { Name = "runing" } } } } } })\nend)\n')
ok(code == 1 and out:find("'runing' is not one of", 1, true), "a stub value outside its enum fails", out)
code, out = one('test("op", function()\n  stub("ec2", "DescribeInstance", {})\nend)\n')
ok(code == 1 and out:find("did you mean 'DescribeInstances'", 1, true), "a stub of an unknown operation fails", out)

-- Params that differ from `expect`.
code, out = one('test("expect", function()\n' .. describe_ok ..
  '  stub("ec2", "CreateTags", {}, { expect = { Resources = { "i-other" } } })\n' ..
  '  run(RB, { "--instance", ID, "--yes" })\nend)\n')
ok(code == 1 and out:find('unexpected params: ec2:CreateTags.Resources[1]: expected "i-other", got "i-0123456789abcdef0"', 1, true),
  "a call whose params differ from expect fails the test", out)

-- A call nobody stubbed.
code, out = one('test("unstubbed", function()\n' .. describe_ok .. '  local r = run(RB, { "--instance", ID, "--yes" })\n' ..
  '  expect_eq(r.exit, 1)\nend)\n')
ok(code == 1 and out:find("call ec2:CreateTags was not stubbed", 1, true), "an unstubbed call fails the test", out)

-- Failed expectations name the test file's line.
code, out = one('test("eq", function()\n  expect_eq({ a = 1 }, { a = 2 }, "thing")\nend)\n')
ok(code == 1 and out:find("rb/tests/t_test.lua:4: thing.a: expected 2, got 1", 1, true), "expect_eq names the line and the path", out)
code, out = one('test("calls", function()\n' .. describe_ok .. '  stub("ec2", "CreateTags", {})\n' ..
  '  local r = run(RB, { "--instance", ID, "--yes" })\n  expect_calls(r, { "ec2:CreateTags" })\nend)\n')
ok(code == 1 and out:find("calls: expected ec2:CreateTags; made ec2:DescribeInstances, ec2:CreateTags", 1, true),
  "expect_calls checks the order and the whole list", out)

-- Dry run: mutating calls are planned, not answered.
code, out = one('test("dry", function()\n' .. describe_ok ..
  '  local r = run(RB, { "--instance", ID, "--dry-run" })\n  expect_eq(r.exit, 0)\n' ..
  '  expect_eq(r.calls[2].name, "ec2:CreateTags")\n  expect(r.calls[2].planned, "CreateTags planned")\n' ..
  '  expect_eq(r.steps["Tag the instance"].status, "dry-run")\nend)\n')
ok(code == 0, "a dry run plans mutating calls without stubs", out)

-- Stubbed errors become real AWS error objects, in each protocol's wire format.
local err_rb = [[
local clients = { ec2 = "DescribeVpcs", autoscaling = "DescribeAutoScalingGroups", ssm = "DescribeInstanceInformation",
  guardduty = "ListDetectors", s3 = "ListBuckets", kms = "ListKeys" }
return ir.runbook {
  name = "errors", description = "error parsing per protocol",
  permissions = { "ec2:DescribeVpcs", "autoscaling:DescribeAutoScalingGroups", "ssm:DescribeInstanceInformation",
    "guardduty:ListDetectors", "s3:ListBuckets", "kms:ListKeys" },
  steps = { { name = "Call", run = function(ctx)
    for svc, op in pairs(clients) do
      local okc, e = pcall(function() return aws.client(svc):call(op, {}) end)
      ctx.output(svc, (not okc and aws.is_error(e)) and (e.code .. "|" .. e.message .. "|" .. tostring(e.status)) or "no error")
    end
  end } },
}
]]
tree["rb/errors.lua"] = err_rb
local stubs = {}
for svc, op in pairs({ ec2 = "DescribeVpcs", autoscaling = "DescribeAutoScalingGroups", ssm = "DescribeInstanceInformation",
    guardduty = "ListDetectors", s3 = "ListBuckets", kms = "ListKeys" }) do
  stubs[#stubs + 1] = string.format('  stub(%q, %q, { error = { code = "Boom.%s", message = "bad <%s> & co", status = 400 } })', svc, op, svc, svc)
end
table.sort(stubs)
tree["rb/tests/e_test.lua"] = 'test("errors", function()\n' .. table.concat(stubs, "\n") ..
  '\n  local r = run("../errors.lua", {})\n  expect_eq(r.exit, 0)\n  _G.RESULT = r\n' ..
  '  for _, svc in ipairs({ "ec2", "autoscaling", "ssm", "guardduty", "s3", "kms" }) do\n' ..
  '    expect_eq(r.steps.Call.outputs[svc], "Boom." .. svc .. "|bad <" .. svc .. "> & co|400", svc)\n  end\nend)\n'
code, out = run_tests(tree, { "rb/tests/e_test.lua" })
ok(code == 0, "stubbed errors parse in the ec2, query, json, rest-json and rest-xml formats", out)

-- A test file that does not compile, or has no test, fails.
tree["rb/tests/bad_test.lua"] = "test('x', function() end"
code, out = run_tests(tree, { "rb/tests/bad_test.lua" })
ok(code == 1 and out:find("not ok - rb/tests/bad_test.lua:", 1, true), "a test file with a syntax error fails", out)
tree["rb/tests/empty_test.lua"] = "local x = 1\n"
code, out = run_tests(tree, { "rb/tests/empty_test.lua" })
ok(code == 1 and out:find("no test(...) in the file", 1, true), "a test file without tests fails", out)

-- Test files run in a sandbox-like environment.
code, out = one('test("sandbox", function()\n  expect(io == nil and os.execute == nil and string.dump == nil, "no io/os.execute/dump")\n' ..
  '  expect_error(function() ir.runbook = nil end, "read%-only")\nend)\n')
ok(code == 0, "test files see the sandbox's globals, ir read-only", out)

-- The shipped EC2 runbook under the harness: a wrong instance id (issue 6's scenario).
if T.exists(T.root .. "/runbooks/ec2.lua") then
  local disk = T.disk
  local src = [[
test("wrong instance id", function()
  stub("ec2", "DescribeInstances", { error = { code = "InvalidInstanceID.NotFound", status = 400,
    message = "The instance ID 'i-0000000000000dead' does not exist" } })
  local r = run("../ec2.lua", { "--instance", "i-0000000000000dead", "--ticket", "IR-1", "--yes" })
  expect_eq(r.exit, 1)
  expect_calls(r, { "ec2:DescribeInstances" })
  local first
  for _, e in ipairs(r.events) do if e.type == "step_end" then first = e; break end end
  expect_eq(first and first.status, "failed")
  expect_match(first.error, "InvalidInstanceID%.NotFound")
end)
]]
  local out = {}
  code = testing.run{ files = { { path = "runbooks/tests/ec2_wrong_id_test.lua", source = src } }, load = disk,
    write = function(_, text) out[#out + 1] = text end }
  ok(code == 0, "runbooks/ec2.lua under irhost test: a wrong instance id fails step 1 with the AWS code",
    table.concat(out))
else
  T.skip("runbooks/ec2.lua under irhost test", "runbooks/ec2.lua is absent")
end

return T.done()

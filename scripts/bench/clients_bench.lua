-- irhost side of scripts/bench.d/40-clients.sh: irhost-lua clients_bench.lua MODE FILE N
--   parse FILE N     : parse and shape the DescribeInstances response N times; prints ms/op
--   serialize - N    : validate and serialize a 1,000-id DescribeInstances N times; ms/op
--   rss FILE         : parse and shape once, keep the result, print peak RSS (kB)
local mode, file, n = arg[1], arg[2], tonumber(arg[3] or "1")
local modelmod = require "aws.model"
local request = require "aws.request"
local validate = require "aws.validate"
local model = assert(modelmod.load("ec2"))
local op = model.operations.DescribeInstances

local function clock() return os.clock() end

if mode == "parse" or mode == "rss" then
  local f = assert(io.open(file, "rb"))
  local body = f:read("a")
  f:close()
  local result = request.parse(model, op, 200, {}, body)
  local count = 0
  for _, r in ipairs(result.Reservations) do count = count + #r.Instances end
  assert(count >= 1000, "expected 1,000 instances, got " .. count)
  if mode == "rss" then
    for line in io.lines("/proc/self/status") do
      local kb = line:match("^VmHWM:%s*(%d+)")
      if kb then print(kb) end
    end
    return 0
  end
  local t0 = clock()
  for _ = 1, n do result = request.parse(model, op, 200, {}, body) end
  print(string.format("%.3f", (clock() - t0) * 1000 / n))
elseif mode == "serialize" then
  local ids = {}
  for i = 1, 1000 do ids[i] = string.format("i-%017x", i) end
  local params = { InstanceIds = ids, Filters = { { Name = "instance-state-name", Values = { "running" } } } }
  local t0 = clock()
  local req
  for _ = 1, n do
    assert(validate.params(model, op, params) == nil)
    req = request.build(model, op, params)
  end
  print(string.format("%.3f", (clock() - t0) * 1000 / n))
  assert(#req.body > 20000)
end
return 0

-- irhost side of scripts/bench.d/40-clients.sh: irhost-lua clients_bench.lua MODE FILE N
--   parse FILE N     : parse and shape the DescribeInstances response N times; prints ms/op
--   serialize - N    : validate and serialize a 1,000-id DescribeInstances N times; ms/op
--   rss FILE         : parse and shape once, keep the result, print peak RSS (kB)
--   call - N         : N small ec2:DescribeInstances calls through a client whose broker
--                      channel answers at once with a one-instance response; ms/call
local mode, file, n = arg[1], arg[2], tonumber(arg[3] or "1")
if mode == "call" then
  local body = [[<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item>
<reservationId>r-1</reservationId><ownerId>111122223333</ownerId><instancesSet><item><instanceId>i-0a1b2c3d4e5f60001</instanceId>
<instanceState><code>16</code><name>running</name></instanceState><instanceType>m5.large</instanceType>
<launchTime>2024-01-02T03:04:05.000Z</launchTime></item></instancesSet></item></reservationSet></DescribeInstancesResponse>]]
  package.loaded["irhost.host"] = { call = function() return { status = "200", headers = {}, body = body } end }
  local ec2 = require("aws").client("ec2")
  local params = { InstanceIds = { "i-0a1b2c3d4e5f60001" } }
  local r = ec2:DescribeInstances(params)
  assert(r.Reservations[1].Instances[1].State.Name == "running")
  local t0 = os.clock()
  for _ = 1, n do ec2:DescribeInstances(params) end
  print(string.format("%.4f", (os.clock() - t0) * 1000 / n))
  return 0
end
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

-- client:wait over the models' waiter definitions (no real sleeping: the fake host's clock).
local t = dofile((os.getenv("IRHOST_ROOT") or ".") .. "/tests/aws/helper.lua")

local states
local h, aws = t.setup(function(req, n) return states(req, n) end)
local ec2 = aws.client("ec2")
local function instances(...)
  local items = {}
  for i, s in ipairs({ ... }) do
    items[#items + 1] = string.format("<item><instanceId>i-%d</instanceId><instanceState><name>%s</name></instanceState></item>", i, s)
  end
  return t.xml_ok("<DescribeInstancesResponse><reservationSet><item><instancesSet>" .. table.concat(items) .. "</instancesSet></item></reservationSet></DescribeInstancesResponse>")
end

states = function(req, n)
  if n == 1 then return { status = "400", headers = {}, body = "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code></Error></Errors></Response>" } end
  if n == 2 then return instances("pending", "running") end
  return instances("running", "running")
end
local r = ec2:wait("InstanceRunning", { InstanceIds = { "i-1", "i-2" } })
t.eq(#h.requests, 3, "retry on the error acceptor, then on pathAll not yet true, then success")
t.eq(r.Reservations[1].Instances[2].State.Name, "running", "returns the last result")
t.eq(h.slept, 30000, "sleeps the model's delay between attempts")
t.ok(#h.logs >= 2 and h.logs[1]:find("InstanceRunning", 1, true), "progress logged while waiting", h.logs[1])

h.requests, h.slept = {}, 0
states = function() return instances("running", "terminated") end
local ok, e = pcall(ec2.wait, ec2, "InstanceRunning", { InstanceIds = { "i-1" } })
t.ok(not ok and aws.is_error(e, "WaiterFailed") and #h.requests == 1, "pathAny failure state stops at once", tostring(e))

h.requests, h.slept, h.clock = {}, 0, 0
states = function() return instances("pending") end
ok, e = pcall(ec2.wait, ec2, "InstanceRunning", { InstanceIds = { "i-1" } }, { timeout = 60 })
t.ok(not ok and aws.is_error(e, "WaiterTimeout"), "timeout", tostring(e))
t.ok(#h.requests == 4 and h.slept == 45000, "timeout of 60 s with 15 s delay: 4 attempts", #h.requests .. " " .. h.slept)

h.requests, h.slept = {}, 0
ok, e = pcall(ec2.wait, ec2, "InstanceRunning", { InstanceIds = { "i-1" } }, { delay = 1, max_attempts = 3 })
t.ok(aws.is_error(e, "WaiterTimeout") and #h.requests == 3 and h.slept == 2000, "delay and max_attempts options")

states = function() return { status = "403", headers = {}, body = "<Response><Errors><Error><Code>UnauthorizedOperation</Code></Error></Errors></Response>" } end
ok, e = pcall(ec2.wait, ec2, "InstanceRunning", { InstanceIds = { "i-1" } })
t.ok(aws.is_error(e, "UnauthorizedOperation"), "errors no acceptor expects are raised")

-- status matcher (s3 BucketExists: 200 success, 404 retry) and error=true/false forms.
local s3 = aws.client("s3")
h.requests = {}
states = function(req, n)
  if n == 1 then return { status = "404", headers = {}, body = "" } end
  return { status = "200", headers = {}, body = "" }
end
s3:wait("BucketExists", { Bucket = "b" })
t.eq(#h.requests, 2, "status matchers")
h.requests = {}
states = function() return { status = "404", headers = {}, body = "" } end
s3:wait("ObjectNotExists", { Bucket = "b", Key = "k" })
t.eq(#h.requests, 1, "404 is success for ObjectNotExists")

-- ecs: JMESPath filter with length() and &&.
local ecs = aws.client("ecs")
h.requests = {}
states = function(req, n)
  if n == 1 then return t.json_ok('{"services":[{"serviceName":"a","deployments":[{},{}],"runningCount":1,"desiredCount":2}]}') end
  return t.json_ok('{"services":[{"serviceName":"a","deployments":[{}],"runningCount":2,"desiredCount":2}]}')
end
ecs:wait("ServicesStable", { services = { "a" } })
t.eq(#h.requests, 2, "ecs ServicesStable expression")

t.raises(function() ec2:wait("InstanceRuning", {}) end, "no waiter InstanceRuning (did you mean InstanceRunning?)", "unknown waiter suggested")

return t.done()

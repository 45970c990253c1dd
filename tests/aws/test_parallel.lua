-- aws.parallel: coroutines over host.call_async / host.wait_any.
local t = dofile((os.getenv("IRHOST_ROOT") or ".") .. "/tests/aws/helper.lua")

local h, aws = t.setup(function(req)
  local id = req.body:match("InstanceId%.1=([^&]+)")
  if id == "i-bad" then
    return { status = "400", headers = {}, body = "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code></Error></Errors></Response>" }
  end
  return t.xml_ok("<DescribeInstancesResponse><reservationSet><item><reservationId>" .. id .. "</reservationId></item></reservationSet></DescribeInstancesResponse>")
end)
local blocking = 0
local real_call = h.call
h.call = function(req) blocking = blocking + 1; return real_call(req) end
local ec2 = aws.client("ec2")

local fns = {}
for i = 1, 5 do
  fns[i] = function()
    local r = ec2:DescribeInstances{ InstanceIds = { "i-" .. i } }
    local r2 = ec2:DescribeInstances{ InstanceIds = { r.Reservations[1].ReservationId .. "x" } }
    return r2.Reservations[1].ReservationId
  end
end
local results = aws.parallel(fns)
t.eq(#results, 5, "one result per function")
t.eq(table.concat(results, ","), "i-1x,i-2x,i-3x,i-4x,i-5x", "results in order though answers came back reversed")
t.eq(blocking, 0, "every call went through call_async")
t.eq(#h.requests, 10, "ten calls")

local ok, e = pcall(aws.parallel, {
  function() return ec2:DescribeInstances{ InstanceIds = { "i-1" } } end,
  function() return ec2:DescribeInstances{ InstanceIds = { "i-bad" } } end,
})
t.ok(not ok and aws.is_error(e, "InvalidInstanceID.NotFound"), "a task's AWS error is raised after all finish")
t.eq(#aws.parallel({}), 0, "empty list")
t.eq(aws.parallel({ function() return 42 end })[1], 42, "tasks without calls")
t.raises(function() aws.parallel({ 1 }) end, "item 1 is not a function", "non-functions refused")
-- Outside aws.parallel, calls block.
ec2:DescribeInstances{ InstanceIds = { "i-9" } }
t.eq(blocking, 1, "plain calls use host.call")

return t.done()

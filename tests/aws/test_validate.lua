-- Parameter validation: every problem names the path, before anything is sent.
local t = dofile((os.getenv("IRHOST_ROOT") or ".") .. "/tests/aws/helper.lua")
local h, aws = t.setup(function() return t.xml_ok("<R/>") end)
local ec2 = aws.client("ec2")

local function problem(f)
  local ok, err = pcall(f)
  return not ok and tostring(err) or nil
end

t.raises(function() ec2:CreateTags{ Resources = { "i-1" }, Tags = { { Key = "a", Value = "b" }, { Kee = "x" } } } end,
  "ec2:CreateTags: Tags[2].Kee: unknown member (did you mean Key?)", "unknown member: path and suggestion")
t.raises(function() ec2:CreateTags{ Tags = { { Key = "a" } } } end, "ec2:CreateTags: Resources: required", "missing required member")
t.raises(function() ec2:DescribeInstances{ InstanceIds = "i-1" } end, "InstanceIds: expected a list (a Lua sequence), got string", "list expected")
t.raises(function() ec2:DescribeInstances{ InstanceIds = { "a", nil, "c" } } end, "InstanceIds: expected a list", "holes are not lists")
t.raises(function() ec2:DescribeInstances{ MaxResults = "5" } end, "MaxResults: expected an integer, got string", "integer expected")
t.raises(function() ec2:DescribeInstances{ MaxResults = 1.5 } end, "MaxResults: expected an integer, got number", "fractions are not integers")
t.ok(problem(function() ec2:DescribeInstances{ MaxResults = 5.0 } end) == nil, "integral floats are integers")
t.raises(function() ec2:DescribeInstances{ DryRun = "yes" } end, "DryRun: expected a boolean, got string", "boolean expected")
t.raises(function() ec2:DescribeInstances{ Filters = { { Name = 1 } } } end, "Filters[1].Name: expected a string, got integer", "string expected, nested path")
t.raises(function() ec2:DescribeInstanceAttribute{ InstanceId = "i-1", Attribute = "colour" } end,
  'Attribute: "colour" is not one of: instanceType', "enum checked")
t.raises(function() ec2:describe_instances{ InstanceIdz = {} } end, "ec2:DescribeInstances: InstanceIdz: unknown member (did you mean InstanceIds?)", "snake_case calls name the model operation")
t.raises(function() ec2:DescribeInstances("i-1") end, "params: expected a table, got string", "params must be a table")
t.raises(function() ec2:DescribeInstancez{} end, "ec2: no operation DescribeInstancez (did you mean DescribeInstances?)", "unknown operation suggested")
t.raises(function() ec2.DescribeInstances{} end, "with a colon", "dot call explained")
t.raises(function() ec2:DescribeSpotPriceHistory{ StartTime = "yesterday" } end, "StartTime: expected a timestamp", "bad timestamp refused")
t.ok(problem(function() ec2:DescribeSpotPriceHistory{ StartTime = "2024-01-02T03:04:05Z", EndTime = 1704164645 } end) == nil, "ISO-8601 and epoch timestamps accepted")
local iam = aws.client("iam")
t.raises(function() iam:CreateUser{ UserName = "" } end, "UserName: must be at least 1 characters", "string length min")
t.raises(function() iam:ListUsers{ MaxItems = 0 } end, "MaxItems: value 0 is below the minimum 1", "range min")
t.raises(function() iam:ListUsers{ MaxItems = 5000 } end, "MaxItems: value 5000 is above the maximum 1000", "range max")
local sts = aws.client("sts")
t.raises(function() sts:AssumeRole{ RoleArn = "arn:aws:iam::111122223333:role/r", RoleSessionName = "has space" } end,
  "sts:AssumeRole: RoleSessionName: does not match the model's pattern [\\w+=,.@-]*", "pattern checked")
t.ok(problem(function() sts:AssumeRole{ RoleArn = "arn:aws:iam::111122223333:role/r", RoleSessionName = "ir-42@team" } end) == nil, "pattern accepts valid values")
local pok, perr = pcall(function() iam:CreateLoginProfile{ UserName = "bob", Password = "\1hunter2" } end)
t.ok(not pok and tostring(perr):find("Password: does not match", 1, true) and not tostring(perr):find("hunter2", 1, true), "pattern errors never quote the value", perr)
t.raises(function() aws.client("ecc2") end, "no model for service 'ecc2' (did you mean ec2?)", "unknown service suggested")
t.raises(function() aws.client("ec2", { regoin = "x" }) end, "unknown option regoin", "unknown client option")
t.eq(#h.requests, 3, "only the valid calls were sent")

-- The error points at the caller's line.
local ok, err = pcall(function() ec2:CreateTags{} end)
t.ok(not ok and tostring(err):match("test_validate%.lua:%d+: ec2:CreateTags:"), "error carries the caller's file:line", err)

return t.done()

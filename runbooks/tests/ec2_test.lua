-- Tests for runbooks/ec2.lua with stubbed AWS (no network):  irhost test runbooks/tests/ec2_test.lua
-- One plain instance (one ENI, one volume, no Auto Scaling group, no load balancer). The
-- end-to-end tests in tests/ec2/ run the same runbook against the local AWS endpoint.
local RB = "../ec2.lua"
local ID = "i-0abc1234def567890"

-- Stubs for a plain running instance; `state` records what the run changed.
local function plain_instance()
  local state = { instance = "running", snapshots = {}, groups = { ["eni-1"] = { "sg-web" } }, tags = {} }
  local function instance()
    local groups = {}
    for _, g in ipairs(state.groups["eni-1"]) do groups[#groups + 1] = { GroupId = g, GroupName = g } end
    return { InstanceId = ID, InstanceType = "t3.micro", VpcId = "vpc-1", SubnetId = "subnet-1",
      PrivateIpAddress = "10.0.1.10", State = { Name = state.instance }, RootDeviceName = "/dev/xvda",
      BlockDeviceMappings = { { DeviceName = "/dev/xvda", Ebs = { VolumeId = "vol-1", DeleteOnTermination = true } } },
      NetworkInterfaces = { { NetworkInterfaceId = "eni-1", SubnetId = "subnet-1", VpcId = "vpc-1",
        PrivateIpAddress = "10.0.1.10", Groups = groups, Attachment = { DeviceIndex = 0 } } },
      Tags = state.tags }
  end
  stub("ec2", "DescribeInstances", function()
    local reservation = { OwnerId = "111122223333", ReservationId = "r-0123", Instances = { instance() } }
    return { Reservations = { reservation } }
  end)
  stub("ec2", "DescribeNetworkInterfaces", function()
    local groups = {}
    for _, g in ipairs(state.groups["eni-1"]) do groups[#groups + 1] = { GroupId = g, GroupName = g } end
    return { NetworkInterfaces = { { NetworkInterfaceId = "eni-1", SubnetId = "subnet-1", VpcId = "vpc-1",
      PrivateIpAddress = "10.0.1.10", Groups = groups, Attachment = { InstanceId = ID, DeviceIndex = 0 },
      TagSet = {} } } }
  end)
  stub("ec2", "DescribeVolumes", { Volumes = { { VolumeId = "vol-1", Size = 8, Encrypted = false, State = "in-use",
    Attachments = { { InstanceId = ID, Device = "/dev/xvda", DeleteOnTermination = true, State = "attached" } } } } })
  stub("ec2", "DescribeAddresses", { Addresses = {} })
  stub("ec2", "DescribeIamInstanceProfileAssociations", { IamInstanceProfileAssociations = {} })
  stub("ec2", "GetConsoleOutput", { InstanceId = ID, Output = "" })
  stub("ec2", "GetConsoleScreenshot", { InstanceId = ID, ImageData = "" })
  stub("ec2", "DescribeInstanceTypes", { InstanceTypes = {} })
  stub("ec2", "DescribeInstanceAttribute", { InstanceId = ID })
  stub("autoscaling", "DescribeAutoScalingInstances", { AutoScalingInstances = {} })
  stub("elb", "DescribeLoadBalancers", { LoadBalancerDescriptions = {} })
  stub("elbv2", "DescribeTargetGroups", { TargetGroups = {} })
  stub("ec2", "DescribeSecurityGroups", { SecurityGroups = {} })
  stub("ec2", "DescribeSecurityGroupRules", { SecurityGroupRules = {} })
  stub("ec2", "DescribeVpcs", { Vpcs = { { VpcId = "vpc-1" } } })   -- a dry run plans new groups against the VPC
  stub("ec2", "DescribeSnapshots", function(p)
    local out = {}
    for _, id in ipairs(p.SnapshotIds or {}) do
      out[#out + 1] = { SnapshotId = id, VolumeId = state.snapshots[id], State = "completed", Progress = "100%" }
    end
    return { Snapshots = out }
  end)
  -- What a full run changes.
  stub("ec2", "ModifyInstanceAttribute", {})
  stub("ec2", "CreateSecurityGroup", function(p) return { GroupId = "sg-" .. p.GroupName } end)
  for _, op in ipairs({ "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
      "RevokeSecurityGroupEgress", "RevokeSecurityGroupIngress" }) do
    stub("ec2", op, { Return = true })
  end
  stub("ec2", "ModifyNetworkInterfaceAttribute", function(p)
    state.groups[p.NetworkInterfaceId] = p.Groups
    return {}
  end)
  stub("ec2", "CreateTags", function(p)
    if p.Resources[1] == ID then for _, t in ipairs(p.Tags) do state.tags[#state.tags + 1] = t end end
    return {}
  end)
  stub("ec2", "CreateSnapshot", function(p)
    state.snapshots["snap-1"] = p.VolumeId
    return { SnapshotId = "snap-1", VolumeId = p.VolumeId, State = "pending" }
  end)
  stub("ec2", "StopInstances", function()
    state.instance = "stopped"
    return { StoppingInstances = { { InstanceId = ID, CurrentState = { Name = "stopping" } } } }
  end)
  return state
end

test("offline containment of a plain instance", function()
  local state = plain_instance()
  local r = run(RB, { "--instance", ID, "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 0, "exit")
  local s = r.statuses
  for _, name in ipairs({ "Capture instance metadata", "Protect evidence from deletion", "Isolate network interfaces",
      "Snapshot EBS volumes", "Tag the instance", "Stop the instance" }) do
    expect_eq(s[name], "done", name)
  end
  expect_call(r, "ec2:ModifyInstanceAttribute", { InstanceId = ID, DisableApiTermination = { Value = true } })
  expect_call(r, "ec2:CreateSnapshot", { VolumeId = "vol-1" })
  expect_call(r, "ec2:StopInstances", { InstanceIds = { ID } })
  expect_no_call(r, "ec2:TerminateInstances")
  expect(#state.groups["eni-1"] == 1 and state.groups["eni-1"][1] ~= "sg-web", "the ENI ends in the isolation group")
  expect_eq(state.instance, "stopped", "instance state")
  expect(r.evidence["instance.json"] ~= nil, "instance.json saved as evidence")
end)

test("a dry run changes nothing and plans every change", function()
  local state = plain_instance()
  local r = run(RB, { "--instance", ID, "--ticket", "IR-42", "--dry-run" })
  expect_eq(r.exit, 0, "exit")
  for _, c in ipairs(r.calls) do
    expect(not aws.is_mutating(c.service, c.operation) or c.planned, c.name .. " was sent in a dry run")
  end
  expect_eq(r.steps["Stop the instance"].status, "dry-run", "stop step")
  expect_call(r, "ec2:StopInstances", { InstanceIds = { ID } })
  expect_eq(state.instance, "running", "instance state")
  expect_eq(state.groups["eni-1"], { "sg-web" }, "ENI groups")
end)

test("a wrong instance id fails the first step with the AWS error explained", function()
  stub("ec2", "DescribeInstances", { error = { code = "InvalidInstanceID.NotFound", status = 400,
    message = "The instance ID '" .. ID .. "' does not exist" } })
  local r = run(RB, { "--instance", ID, "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 1, "exit")
  expect_calls(r, { "ec2:DescribeInstances" })
  local first
  for _, e in ipairs(r.events) do if e.type == "step_end" then first = e; break end end
  expect_eq(first and first.status, "failed", "first step")
  expect_match(first.error, "InvalidInstanceID%.NotFound")
end)

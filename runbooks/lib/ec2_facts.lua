-- What an EC2 instance is attached to, read fresh from AWS: the instance record, volumes,
-- ENIs and their groups, Elastic IPs, instance profile, Auto Scaling group, classic load
-- balancers and ELBv2 target groups (found by searching, never taken from the user).
local marks = require("lib.marks")

local M = {}

-- hint_region: where the instance should be (the finding's region), for the advice.
local function not_found(id, region, code, hint_region)
  return string.format("instance %s was not found in %s (%s): %s; " ..
    "an instance terminated more than an hour ago is no longer listed", id,
    region and ("region " .. region) or "the run's region (--region, AWS_REGION or the profile's)", code,
    (hint_region and hint_region ~= region) and ("the finding is from region " .. hint_region .. ": rerun with --region " .. hint_region)
      or "check the id and --region")
end

-- The raw DescribeInstances record; raises a clear message when the instance does not exist.
function M.describe(ec2, id, region, hint_region)
  local ok, r = pcall(ec2.DescribeInstances, ec2, { InstanceIds = { id } })
  if not ok then
    for _, code in ipairs({ "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed" }) do
      if aws.is_error(r, code) then error(not_found(id, region, code, hint_region), 0) end
    end
    error(r, 0)
  end
  local res = r.Reservations and r.Reservations[1]
  local inst = res and res.Instances and res.Instances[1]
  if not inst then error(not_found(id, region, "InvalidInstanceID.NotFound", hint_region), 0) end
  return inst, res
end

function M.enis(ec2, id)
  local r = ec2:DescribeNetworkInterfaces{ Filters = { { Name = "attachment.instance-id", Values = { id } } } }
  local list = r.NetworkInterfaces or {}
  table.sort(list, function(a, b)
    local da = a.Attachment and a.Attachment.DeviceIndex or 0
    local db = b.Attachment and b.Attachment.DeviceIndex or 0
    return da < db
  end)
  return list
end

function M.group_ids(eni)
  local out = {}
  for _, g in ipairs(eni.Groups or {}) do out[#out + 1] = g.GroupId end
  return out
end

-- Every private IPv4 and IPv6 address of the instance's ENIs.
function M.addresses(enis)
  local v4, v6 = {}, {}
  for _, n in ipairs(enis) do
    for _, p in ipairs(n.PrivateIpAddresses or {}) do v4[#v4 + 1] = p.PrivateIpAddress end
    if #(n.PrivateIpAddresses or {}) == 0 and n.PrivateIpAddress then v4[#v4 + 1] = n.PrivateIpAddress end
    for _, a in ipairs(n.Ipv6Addresses or {}) do v6[#v6 + 1] = a.Ipv6Address end
  end
  return v4, v6
end

function M.volumes(ec2, id)
  local r = ec2:DescribeVolumes{ Filters = { { Name = "attachment.instance-id", Values = { id } } } }
  return r.Volumes or {}
end

-- The attachment of volume v to instance id (device name, DeleteOnTermination).
function M.attachment(v, id)
  for _, a in ipairs(v.Attachments or {}) do if a.InstanceId == id then return a end end
  return {}
end

-- {name, state} of the instance's Auto Scaling group, or nil.
function M.asg(autoscaling, id)
  local r = autoscaling:DescribeAutoScalingInstances{ InstanceIds = { id } }
  local a = r.AutoScalingInstances and r.AutoScalingInstances[1]
  if not a then return nil end
  return { name = a.AutoScalingGroupName, state = a.LifecycleState }
end

-- Names of the classic load balancers that list the instance.
function M.classic_lbs(elb, id)
  local out = json.array()
  for lb in elb:paginate("DescribeLoadBalancers", {}, { items = true }) do
    for _, i in ipairs(lb.Instances or {}) do
      if i.InstanceId == id then out[#out + 1] = lb.LoadBalancerName end
    end
  end
  return out
end

-- ELBv2 targets that are this instance (by id, or by private IP for ip target groups):
-- {{arn, name, id, port}...}
function M.targets(elbv2, id, vpc_id, ips)
  local by_ip = {}
  for _, ip in ipairs(ips or {}) do by_ip[ip] = true end
  local out = json.array()
  for tg in elbv2:paginate("DescribeTargetGroups", {}, { items = true }) do
    if (tg.VpcId == nil or tg.VpcId == vpc_id) and tg.TargetType ~= "lambda" and tg.TargetType ~= "alb" then
      local h = elbv2:DescribeTargetHealth{ TargetGroupArn = tg.TargetGroupArn }
      for _, d in ipairs(h.TargetHealthDescriptions or {}) do
        local t = d.Target or {}
        if t.Id == id or by_ip[t.Id] then
          out[#out + 1] = { arn = tg.TargetGroupArn, name = tg.TargetGroupName, id = t.Id, port = t.Port,
            availability_zone = t.AvailabilityZone }
        end
      end
    end
  end
  return out
end

-- The summary later steps work from (kept in the report and restored on --resume).
function M.summary(inst, enis, volumes, extra)
  local s = {
    id = inst.InstanceId, state = inst.State and inst.State.Name, type = inst.InstanceType,
    vpc_id = inst.VpcId, subnet_id = inst.SubnetId, launch_time = inst.LaunchTime,
    availability_zone = inst.Placement and inst.Placement.AvailabilityZone,
    profile_arn = inst.IamInstanceProfile and inst.IamInstanceProfile.Arn,
    tags = marks.map(inst.Tags), enis = {}, volumes = {},
  }
  for _, n in ipairs(enis) do
    local v4, v6 = M.addresses({ n })
    s.enis[#s.enis + 1] = { id = n.NetworkInterfaceId, subnet_id = n.SubnetId, vpc_id = n.VpcId,
      groups = M.group_ids(n), private_ips = v4, ipv6 = v6,
      device_index = n.Attachment and n.Attachment.DeviceIndex,
      public_ip = n.Association and n.Association.PublicIp }
  end
  for _, v in ipairs(volumes) do
    local a = M.attachment(v, inst.InstanceId)
    s.volumes[#s.volumes + 1] = { id = v.VolumeId, device = a.Device, size = v.Size,
      encrypted = v.Encrypted or false, kms_key_id = v.KmsKeyId, delete_on_termination = a.DeleteOnTermination }
  end
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

return M

-- Contain a compromised EC2 instance and preserve its evidence.
--
--   irhost runbooks/ec2.lua --instance i-0abc --ticket IR-42            (offline: isolate, snapshot, stop)
--   irhost runbooks/ec2.lua --instance i-0abc --mode online --memory-bucket ir-mem --ticket IR-42
--   irhost runbooks/ec2.lua --finding finding.json --ticket IR-42       (the instance from a GuardDuty finding)
--   irhost runbooks/ec2.lua --instance i-0abc --release --ticket IR-42  (undo the network isolation)
--
-- Every step reads the current state before it changes anything and marks its work with
-- tags, so a rerun or --resume finishes the job instead of repeating it.
local marks = require("lib.marks")
local facts = require("lib.ec2_facts")
local isolation = require("lib.isolation")

local ASG_PROCESSES = { "HealthCheck", "ReplaceUnhealthy", "Terminate", "AZRebalance" }
local DEFAULT_MEMORY_COMMAND = table.concat({
  "set -eu",
  "command -v avml >/dev/null 2>&1 || { echo 'avml is not installed: install it from https://github.com/microsoft/avml' >&2; exit 3; }",
  "f=/tmp/irhost-memory-{instance}.lime",
  "avml --compress \"$f\"",
  "sha256sum \"$f\"",
  "aws s3 cp --only-show-errors \"$f\" s3://{bucket}/{key}",
  "rm -f \"$f\"",
}, "\n")

local function instance_id(ctx) return ctx.state.instance_id or ctx.params.instance end

-- GuardDuty's sample findings (CreateSampleFindings) name instance i-99999999.
local function placeholder(id) return type(id) == "string" and id:match("^i%-9+$") ~= nil end

-- The finding's instance, or nil and the problem (checked before any AWS call).
local function finding_instance(text)
  local f, err = ir.finding.parse(text)
  if not f then return nil, "--finding: " .. err end
  if not f.instance or not f.instance.id then
    return nil, "--finding: the " .. tostring(f.type) .. " finding names no EC2 instance; use the runbook for its resource kind (" .. tostring(f.kind) .. ")"
  end
  if placeholder(f.instance.id) then
    return nil, "--finding: it names " .. f.instance.id .. ", the placeholder instance of GuardDuty's sample findings" ..
      (f.sample and " (the finding is marked sample)" or "") .. ", not a real instance; use the finding of a real incident, or --instance ID"
  end
  return f
end

local function quarantining(ctx) return not ctx.params.release, "--release restores the network instead" end

local function enis_of(ctx)
  return facts.enis(aws.client("ec2"), instance_id(ctx))
end

-- Online capture needs the SSM agent to reach its endpoints until the capture is over.
local function online_capture(ctx) return ctx.params.mode == "online" and ctx.params.memory_bucket ~= nil end

---------------------------------------------------------------------------- steps

local function capture_metadata(ctx)
  local id = ctx.params.instance
  local elsewhere
  if not id then
    local f, err = finding_instance(ctx.params.finding)
    if not f then error(err, 0) end
    id = f.instance.id
    if f.region and ctx.region and f.region ~= ctx.region then
      error("--finding: the finding is from region " .. f.region .. " but the run is in " .. ctx.region ..
        ": rerun with --region " .. f.region, 0)
    end
    if f.region and not ctx.region then elsewhere = f.region end
    ctx.info("instance %s from finding %s (%s, severity %s)", id, tostring(f.id), tostring(f.type), tostring(f.severity))
    ctx.evidence:save("finding.json", f.raw)
  end
  ctx.output("instance_id", id)
  local ec2 = aws.client("ec2")
  local inst, reservation = facts.describe(ec2, id, ctx.region, elsewhere)
  ctx.evidence:save("instance.json", { Reservation = { OwnerId = reservation.OwnerId, ReservationId = reservation.ReservationId }, Instance = inst })
  local enis = facts.enis(ec2, id)
  local volumes = facts.volumes(ec2, id)
  ctx.evidence:save("volumes.json", volumes)
  ctx.evidence:save("network-interfaces.json", enis)
  local gids, seen = {}, {}
  for _, n in ipairs(enis) do
    for _, g in ipairs(facts.group_ids(n)) do if not seen[g] then seen[g] = true; gids[#gids + 1] = g end end
  end
  if #gids > 0 then
    ctx.evidence:save("security-groups.json", ec2:DescribeSecurityGroups{ GroupIds = gids }.SecurityGroups or {})
  end
  local addrs = ec2:DescribeAddresses{ Filters = { { Name = "instance-id", Values = { id } } } }.Addresses or {}
  ctx.evidence:save("elastic-ips.json", addrs)
  local assoc = ec2:DescribeIamInstanceProfileAssociations{ Filters = { { Name = "instance-id", Values = { id } } } }
  ctx.evidence:save("iam-instance-profile.json", assoc.IamInstanceProfileAssociations or {})
  local asg = facts.asg(aws.client("autoscaling"), id)
  local v4 = facts.addresses(enis)
  local lbs = facts.classic_lbs(aws.client("elb"), id)
  local tgs = facts.targets(aws.client("elbv2"), id, inst.VpcId, v4)
  ctx.evidence:save("membership.json", { auto_scaling_group = asg or json.null, classic_load_balancers = lbs, target_groups = tgs })

  local ok, out = pcall(ec2.GetConsoleOutput, ec2, { InstanceId = id })
  if ok and out.Output then
    ctx.evidence:save("console-output.txt", ir.base64_decode(out.Output) or out.Output)
  else
    ctx.warn("no console output: %s", ok and "empty" or tostring(out))
  end
  local sok, shot = pcall(ec2.GetConsoleScreenshot, ec2, { InstanceId = id })
  if sok and shot.ImageData then
    local img = ir.base64_decode(shot.ImageData)
    if img then ctx.evidence:save("console-screenshot.jpg", img, "image/jpeg") end
  else
    ctx.info("no console screenshot (%s)", sok and "empty" or tostring(shot))
  end

  local storage = {}
  local tok, types = pcall(ec2.DescribeInstanceTypes, ec2, { InstanceTypes = { inst.InstanceType } })
  local info = tok and types.InstanceTypes and types.InstanceTypes[1] and types.InstanceTypes[1].InstanceStorageInfo
  if info then
    for _, d in ipairs(info.Disks or {}) do storage[#storage + 1] = { count = d.Count, size_gb = d.SizeInGB, type = d.Type } end
  end
  local summary = facts.summary(inst, enis, volumes, {
    asg = asg, classic_load_balancers = lbs, target_groups = tgs, instance_store = storage,
    elastic_ips = (function()
      local l = json.array()
      for _, a in ipairs(addrs) do l[#l + 1] = { public_ip = a.PublicIp, allocation_id = a.AllocationId, association_id = a.AssociationId } end
      return l
    end)(),
  })
  ctx.output("instance", summary)
  ctx.info("%s (%s, %s) in %s: %d ENI(s), %d EBS volume(s), %s", id, tostring(summary.type), tostring(summary.state),
    tostring(summary.vpc_id), #summary.enis, #summary.volumes,
    asg and ("Auto Scaling group " .. asg.name) or "no Auto Scaling group")
end

local function protect(ctx)
  local ec2 = aws.client("ec2")
  local id = instance_id(ctx)
  local term = ec2:DescribeInstanceAttribute{ InstanceId = id, Attribute = "disableApiTermination" }
  local before = term.DisableApiTermination and term.DisableApiTermination.Value
  if before ~= true then
    ec2:ModifyInstanceAttribute{ InstanceId = id, DisableApiTermination = { Value = true } }
    ctx.changed{ resource = id, action = "ModifyInstanceAttribute DisableApiTermination", before = before or false, after = true }
  end
  local shut = ec2:DescribeInstanceAttribute{ InstanceId = id, Attribute = "instanceInitiatedShutdownBehavior" }
  local sb = shut.InstanceInitiatedShutdownBehavior and shut.InstanceInitiatedShutdownBehavior.Value
  if sb ~= "stop" then
    ec2:ModifyInstanceAttribute{ InstanceId = id, InstanceInitiatedShutdownBehavior = { Value = "stop" } }
    ctx.changed{ resource = id, action = "ModifyInstanceAttribute InstanceInitiatedShutdownBehavior", before = sb or "unknown", after = "stop" }
  end
  local inst = facts.describe(ec2, id, ctx.region)
  local mappings = {}
  for _, m in ipairs(inst.BlockDeviceMappings or {}) do
    if m.Ebs and m.Ebs.DeleteOnTermination then
      mappings[#mappings + 1] = { DeviceName = m.DeviceName, Ebs = { DeleteOnTermination = false } }
      ctx.changed{ resource = m.Ebs.VolumeId or m.DeviceName, action = "ModifyInstanceAttribute DeleteOnTermination",
        before = true, after = false, detail = m.DeviceName }
    end
  end
  if #mappings > 0 then
    ec2:ModifyInstanceAttribute{ InstanceId = id, BlockDeviceMappings = mappings }
  end
  ctx.info(ctx.dry_run and "would turn termination protection on, shutdown behaviour to stop, and keep %d volume(s) on termination"
    or "termination protection on, shutdown behaviour stop, %d volume(s) no longer deleted on termination", #mappings)
end

local function isolate(ctx)
  local ec2 = aws.client("ec2")
  local id = instance_id(ctx)
  local enis = enis_of(ctx)
  if #enis == 0 then error("instance " .. id .. " has no network interface attached", 0) end
  local vpc = enis[1].VpcId
  for _, n in ipairs(enis) do
    if n.VpcId ~= vpc then error("ENIs of " .. id .. " are in several VPCs; isolate them by hand", 0) end
  end
  local transition = isolation.ensure_group(ec2, ctx, vpc, "transition")
  local final
  local label = "isolated: no traffic"
  if online_capture(ctx) then
    local targets, missing = isolation.ssm_targets(ec2, ctx, vpc, ctx.region)
    if #missing > 0 then
      ctx.warn("the VPC has no endpoint for %s: until the memory capture ends, the instance may open outbound HTTPS " ..
        "(port 443) to reach SSM and S3; all other traffic is blocked", table.concat(missing, ", "))
      targets[#targets + 1] = { cidr = "0.0.0.0/0" }
    end
    final = isolation.ensure_group(ec2, ctx, vpc, "ssm", targets)
    label = "isolated except HTTPS to SSM/S3 until the memory capture ends"
    ctx.output("ssm_group", final)
  else
    final = isolation.ensure_group(ec2, ctx, vpc, "isolation")
  end
  ctx.output("isolation_group", final)
  ctx.output("transition_group", transition)
  local states = isolation.isolate_enis(ec2, ctx, enis, transition, final, label)
  local original, failed = {}, {}
  for _, st in ipairs(states) do
    original[st.id] = st.original
    if ctx.dry_run and st.state ~= "failed" and st.state ~= "already isolated" then st.state = "would be " .. st.state end
    ctx.info("%s: %s%s (original groups %s)", st.id, st.state, st.error and (": " .. st.error) or "", table.concat(st.original, ", "))
    if st.state == "failed" then failed[#failed + 1] = st.id end
  end
  ctx.evidence:save("original-security-groups.json", original)
  ctx.output("enis", states)

  local v4, v6 = facts.addresses(enis)
  if ctx.params.isolation_nacl then
    local subnets, seen = {}, {}
    for _, n in ipairs(enis) do if not seen[n.SubnetId] then seen[n.SubnetId] = true; subnets[#subnets + 1] = n.SubnetId end end
    local records = isolation.nacl_deny(ec2, ctx, subnets, v4, v6)
    if #records > 0 then
      ec2:CreateTags{ Resources = { id }, Tags = marks.list({ [marks.NACL_ENTRIES] = marks.join(records) }) }
    end
    ctx.output("nacl_entries", records)
    ctx.info("network ACL deny entries for %s%s: %s (removed by --release)", table.concat(v4, ", "),
      ctx.dry_run and " would be added" or "", table.concat(records, ", "))
  else
    ctx.info("what isolation does not cut: ICMP and flows AWS always tracks; --isolation-nacl adds " ..
      "deny entries for %s to the subnet ACLs (stateless, so they cut those too)", table.concat(v4, ", "))
  end
  if #failed > 0 then
    -- The step is continue_on_error: evidence and containment go on, the run ends failed.
    error(#failed .. " of " .. #states .. " ENI(s) NOT isolated: " .. table.concat(failed, ", ") ..
      " (still open to the network; see the step's notes)", 0)
  end
end

local function detach_asg(ctx)
  local id = instance_id(ctx)
  local as = aws.client("autoscaling")
  local ec2 = aws.client("ec2")
  local tags = marks.map(facts.describe(ec2, id, ctx.region).Tags)
  local cur = facts.asg(as, id)
  local group = cur and cur.name or tags[marks.ASG]
  if not group then ctx.info("%s is not in an Auto Scaling group", id); return end
  local g = as:DescribeAutoScalingGroups{ AutoScalingGroupNames = { group } }.AutoScalingGroups[1]
  if not g then ctx.info("Auto Scaling group %s no longer exists", group); return end
  local suspended = {}
  for _, p in ipairs(g.SuspendedProcesses or {}) do suspended[p.ProcessName] = true end
  local ours = {}
  for _, p in ipairs(marks.split(tags[marks.ASG_SUSPENDED])) do ours[#ours + 1] = p end
  local to_suspend = {}
  for _, p in ipairs(ASG_PROCESSES) do if not suspended[p] then to_suspend[#to_suspend + 1] = p end end
  if cur and #to_suspend > 0 then
    -- Recorded on the instance first, so a rerun knows which processes this run suspended.
    local all = {}
    for _, p in ipairs(ours) do all[#all + 1] = p end
    for _, p in ipairs(to_suspend) do all[#all + 1] = p end
    ec2:CreateTags{ Resources = { id }, Tags = marks.list({ [marks.ASG] = group, [marks.ASG_SUSPENDED] = marks.join(all) }) }
    as:SuspendProcesses{ AutoScalingGroupName = group, ScalingProcesses = to_suspend }
    ctx.changed{ resource = group, action = "SuspendProcesses", before = "running", after = to_suspend }
    ours = all
  end
  if cur and cur.state ~= "Standby" and cur.state ~= "Detached" and cur.state ~= "Detaching" then
    if ctx.params.asg_standby then
      as:EnterStandby{ AutoScalingGroupName = group, InstanceIds = { id }, ShouldDecrementDesiredCapacity = false }
      ctx.changed{ resource = id, action = "EnterStandby", before = cur.state, after = "Standby", detail = group }
    else
      as:DetachInstances{ AutoScalingGroupName = group, InstanceIds = { id }, ShouldDecrementDesiredCapacity = false }
      ctx.changed{ resource = id, action = "DetachInstances", before = cur.state .. " in " .. group, after = "detached",
        detail = "desired capacity kept at " .. tostring(g.DesiredCapacity) }
    end
  end
  if #ours > 0 then
    as:ResumeProcesses{ AutoScalingGroupName = group, ScalingProcesses = ours }
    ctx.changed{ resource = group, action = "ResumeProcesses", before = ours, after = "running" }
    ec2:DeleteTags{ Resources = { id }, Tags = { { Key = marks.ASG_SUSPENDED } } }
  end
  ctx.info("%s %s Auto Scaling group %s (desired capacity kept at %s); processes suspended meanwhile: %s",
    id, ctx.dry_run and (ctx.params.asg_standby and "would enter Standby in" or "would leave")
      or (ctx.params.asg_standby and "in Standby in" or "detached from"), group, tostring(g.DesiredCapacity),
    #ours > 0 and (table.concat(ours, ", ") .. ", resumed") or "none needed")
  ctx.output("asg", group)
  -- Leaving the group (detach or Standby) also takes the instance out of the group's own
  -- load balancers and target groups: the next step must not plan those again.
  local via = json.array()
  for _, n in ipairs(g.LoadBalancerNames or {}) do via[#via + 1] = "elb:" .. n end
  for _, a in ipairs(g.TargetGroupARNs or {}) do via[#via + 1] = "tg:" .. a end
  ctx.output("asg_attachments", via)
  ctx.followup("Auto Scaling group " .. group .. " keeps its desired capacity of " .. tostring(g.DesiredCapacity) ..
    " and may launch a replacement; check it serves traffic")
end

local function deregister(ctx)
  local id = instance_id(ctx)
  local elb, elbv2 = aws.client("elb"), aws.client("elbv2")
  local enis = enis_of(ctx)
  local v4 = facts.addresses(enis)
  local removed = json.array()
  -- In a dry run the Auto Scaling detach was only planned, so the instance still shows in
  -- the group's load balancers; the real run finds it already gone from them.
  local by_asg = {}
  if ctx.dry_run then for _, k in ipairs(ctx.state.asg_attachments or {}) do by_asg[k] = true end end
  for _, name in ipairs(facts.classic_lbs(elb, id)) do
    if by_asg["elb:" .. name] then goto next_lb end
    elb:DeregisterInstancesFromLoadBalancer{ LoadBalancerName = name, Instances = { { InstanceId = id } } }
    ctx.changed{ resource = name, action = "DeregisterInstancesFromLoadBalancer", before = id .. " registered", after = "deregistered" }
    removed[#removed + 1] = "elb:" .. name
    ::next_lb::
  end
  local vpc = enis[1] and enis[1].VpcId
  for _, t in ipairs(facts.targets(elbv2, id, vpc, v4)) do
    if by_asg["tg:" .. t.arn] then goto next_tg end
    elbv2:DeregisterTargets{ TargetGroupArn = t.arn, Targets = { { Id = t.id, Port = t.port, AvailabilityZone = t.availability_zone } } }
    ctx.changed{ resource = t.name or t.arn, action = "DeregisterTargets", before = t.id .. ":" .. tostring(t.port), after = "deregistered" }
    removed[#removed + 1] = "target-group:" .. (t.name or t.arn)
    ::next_tg::
  end
  if #removed == 0 then
    ctx.info("%s is in no classic load balancer or target group%s", id,
      ctx.state.asg and (" (leaving Auto Scaling group " .. ctx.state.asg .. " removed it from the group's)") or "")
  else
    ctx.info("%s from %s", ctx.dry_run and "would be deregistered" or "deregistered", table.concat(removed, ", "))
  end
  ctx.output("deregistered", removed)
end

local function snapshot(ctx)
  local ec2 = aws.client("ec2")
  local id = instance_id(ctx)
  local ids, made = {}, {}
  for _, v in ipairs(facts.volumes(ec2, id)) do
    local a = facts.attachment(v, id)
    local have = ec2:DescribeSnapshots{ OwnerIds = { "self" }, Filters = {
      { Name = "volume-id", Values = { v.VolumeId } },
      { Name = "tag:" .. marks.RUN_ID, Values = { ctx.run_id or "unknown" } } } }.Snapshots or {}
    local snap = have[1]
    if snap then
      ctx.log("reusing %s of %s", snap.SnapshotId, v.VolumeId)
    else
      local tags = marks.base(ctx, { [marks.INSTANCE] = id, [marks.DEVICE] = a.Device or "?",
        Name = "irhost " .. (ctx.ticket or "") .. " " .. id .. " " .. tostring(a.Device) })
      snap = ec2:CreateSnapshot{ VolumeId = v.VolumeId,
        Description = string.format("irhost %s: %s %s of %s", ctx.ticket or "no ticket", v.VolumeId, tostring(a.Device), id),
        TagSpecifications = { { ResourceType = "snapshot", Tags = marks.list(tags) } } }
      ctx.changed{ resource = v.VolumeId, action = "CreateSnapshot", before = "no snapshot",
        after = snap.SnapshotId or "snapshot", detail = a.Device }
    end
    if snap.SnapshotId then ids[#ids + 1] = snap.SnapshotId end
    made[#made + 1] = { volume = v.VolumeId, device = a.Device, snapshot = snap.SnapshotId, encrypted = v.Encrypted or false,
      kms_key_id = v.KmsKeyId }
    if v.Encrypted then
      ctx.info("%s (%s) is encrypted with KMS key %s: its snapshot is too; share it with the forensic account " ..
        "only after granting that account use of the key", v.VolumeId, tostring(a.Device), tostring(v.KmsKeyId))
    end
  end
  local store = (ctx.state.instance or {}).instance_store or {}
  for _, d in ipairs(store) do
    ctx.warn("%d instance-store volume(s) of %s GB cannot be snapshotted; their data is lost when the instance stops",
      d.count or 1, tostring(d.size_gb))
    ctx.followup("Image the instance-store volumes of " .. id .. " from inside the instance before it is stopped (snapshots cannot cover them)")
  end
  ctx.output("snapshots", made)
  if #ids > 0 and not ctx.params.no_wait and not ctx.dry_run then
    ctx.log("waiting for %d snapshot(s) to complete (--no-wait skips this)", #ids)
    ec2:wait("SnapshotCompleted", { SnapshotIds = ids }, { timeout = 3600, delay = ctx.params.poll_interval })
    ctx.info("%d snapshot(s) completed: %s", #ids, table.concat(ids, ", "))
  elseif #ids > 0 and ctx.params.no_wait then
    ctx.followup("Check that snapshots " .. table.concat(ids, ", ") .. " completed (the run did not wait)")
  end
end

local function tag_instance(ctx)
  local ec2 = aws.client("ec2")
  local id = instance_id(ctx)
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local tags = marks.base(ctx, { [marks.STATUS] = "quarantined", [marks.AT] = now })
  local before = marks.map(facts.describe(ec2, id, ctx.region).Tags)
  ec2:CreateTags{ Resources = { id }, Tags = marks.list(tags) }
  ctx.changed{ resource = id, action = "CreateTags", before = before[marks.STATUS] or "untagged", after = tags }
end

local function detach_eips(ctx)
  local ec2 = aws.client("ec2")
  local id = instance_id(ctx)
  local addrs = ec2:DescribeAddresses{ Filters = { { Name = "instance-id", Values = { id } } } }.Addresses or {}
  if #addrs == 0 then ctx.info("%s has no Elastic IP", id) end
  for _, a in ipairs(addrs) do
    if a.AssociationId then
      ec2:DisassociateAddress{ AssociationId = a.AssociationId }
      ctx.changed{ resource = a.PublicIp or a.AllocationId, action = "DisassociateAddress", before = id, after = "unassociated",
        detail = "allocation " .. tostring(a.AllocationId) .. " kept: reassociate it to restore" }
    end
  end
end

local function revoke_role(ctx)
  local ec2, iam = aws.client("ec2"), aws.client("iam")
  local id = instance_id(ctx)
  local assoc = ec2:DescribeIamInstanceProfileAssociations{ Filters = { { Name = "instance-id", Values = { id } } } }
  local a = assoc.IamInstanceProfileAssociations and assoc.IamInstanceProfileAssociations[1]
  if not a then ctx.info("%s has no instance profile", id); return end
  local profile = a.IamInstanceProfile.Arn:match(":instance%-profile/(.+)$")
  profile = profile and profile:match("([^/]+)$")
  local p = iam:GetInstanceProfile{ InstanceProfileName = profile }.InstanceProfile
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local doc = json.encode({ Version = "2012-10-17", Statement = { {
    Effect = "Deny", Action = "*", Resource = "*",
    Condition = { DateLessThan = { ["aws:TokenIssueTime"] = now } } } } })
  for _, role in ipairs(p.Roles or {}) do
    iam:PutRolePolicy{ RoleName = role.RoleName, PolicyName = "irhost-revoke-older-sessions", PolicyDocument = doc }
    ctx.changed{ resource = role.Arn or role.RoleName, action = "PutRolePolicy irhost-revoke-older-sessions",
      before = "sessions valid", after = "sessions issued before " .. now .. " denied" }
    ctx.warn("role %s: every session issued before %s is denied, for EVERY instance and service using this role, not only %s",
      role.RoleName, now, id)
    ctx.followup("Remove the inline policy irhost-revoke-older-sessions from role " .. role.RoleName ..
      " once the incident is closed (other workloads using it had to refresh their credentials)")
  end
end

local function memory_capture(ctx)
  local ssm = aws.client("ssm")
  local id = instance_id(ctx)
  local info = ssm:DescribeInstanceInformation{ Filters = { { Key = "InstanceIds", Values = { id } } } }
  local managed = info.InstanceInformationList and info.InstanceInformationList[1]
  if not managed then
    error("instance " .. id .. " is not SSM-managed (no SSM agent registered with Systems Manager): " ..
      "memory cannot be captured remotely; capture it by hand or rerun with --mode offline", 0)
  end
  if managed.PingStatus ~= "Online" then
    ctx.warn("the SSM agent of %s reports %s; the command may not run", id, tostring(managed.PingStatus))
  end
  local key = string.format("%s/%s/memory/%s.lime", (ctx.ticket or "no-ticket"):gsub("[^%w._-]", "_"), ctx.run_id or "run", id)
  local command = (ctx.params.memory_command or DEFAULT_MEMORY_COMMAND)
    :gsub("{bucket}", ctx.params.memory_bucket):gsub("{key}", key):gsub("{instance}", id)
  local sent = ssm:SendCommand{ InstanceIds = { id }, DocumentName = "AWS-RunShellScript",
    Comment = ("irhost " .. (ctx.ticket or "") .. " memory capture"):sub(1, 100),
    TimeoutSeconds = 600, Parameters = { commands = { command }, executionTimeout = { tostring(ctx.params.memory_timeout) } } }
  if sent.dry_run then
    ctx.changed{ resource = id, action = "SendCommand AWS-RunShellScript", before = "running", after = "memory captured to s3://" .. ctx.params.memory_bucket .. "/" .. key }
    return
  end
  local cid = sent.Command.CommandId
  ctx.output("memory_command_id", cid)
  ctx.changed{ resource = id, action = "SendCommand AWS-RunShellScript", before = "running", after = "capture command " .. cid }
  local ok, werr = pcall(ssm.wait, ssm, "CommandExecuted", { CommandId = cid, InstanceId = id },
    { timeout = ctx.params.memory_timeout, delay = ctx.params.poll_interval })
  local inv = ssm:GetCommandInvocation{ CommandId = cid, InstanceId = id }
  ctx.evidence:save("memory-capture.json", { command_id = cid, status = inv.Status, response_code = inv.ResponseCode,
    stdout = inv.StandardOutputContent, stderr = inv.StandardErrorContent, location = "s3://" .. ctx.params.memory_bucket .. "/" .. key })
  if not ok or inv.Status ~= "Success" then
    error("memory capture " .. cid .. " ended " .. tostring(inv.Status) .. (ok and "" or (": " .. tostring(werr))) ..
      (inv.StandardErrorContent and inv.StandardErrorContent ~= "" and (" (" .. inv.StandardErrorContent:sub(1, 300) .. ")") or ""), 0)
  end
  ctx.info("memory image at s3://%s/%s", ctx.params.memory_bucket, key)
end

local function finish_online(ctx)
  local ok, err = true, nil
  if ctx.params.memory_bucket then ok, err = pcall(memory_capture, ctx) end
  if online_capture(ctx) then
    -- The capture is over (or failed): nothing needs SSM any more, so close the HTTPS door.
    local ec2 = aws.client("ec2")
    local enis = enis_of(ctx)
    local final = isolation.ensure_group(ec2, ctx, enis[1].VpcId, "isolation")
    for _, n in ipairs(enis) do
      local cur = facts.group_ids(n)
      if not isolation.same_set(cur, { final }) then
        local mok, merr = isolation.move(ec2, ctx, n.NetworkInterfaceId, cur, { final }, "isolated: no traffic (capture over)")
        if not mok then ctx.warn("%s: NOT moved to the isolation group: %s", n.NetworkInterfaceId, merr); ok, err = false, err or merr end
      end
    end
  else
    ctx.info("instance left running and isolated; no memory capture requested (--memory-bucket)")
  end
  if not ok then error(err, 0) end
  ctx.followup("The instance " .. instance_id(ctx) .. " is still running (online mode): stop it when the live analysis is over")
end

local function stop(ctx)
  local ec2 = aws.client("ec2")
  local id = instance_id(ctx)
  local inst = facts.describe(ec2, id, ctx.region)
  local state = inst.State and inst.State.Name
  if state == "stopped" or state == "stopping" then ctx.info("%s is already %s", id, state)
  else
    ec2:StopInstances{ InstanceIds = { id } }
    ctx.changed{ resource = id, action = "StopInstances", before = state, after = "stopped" }
  end
  if not ctx.params.no_wait and not ctx.dry_run then
    ec2:wait("InstanceStopped", { InstanceIds = { id } }, { timeout = 900, delay = ctx.params.poll_interval })
  end
end

local function release(ctx)
  local ec2 = aws.client("ec2")
  local id = ctx.params.instance
  local inst = facts.describe(ec2, id, ctx.region)
  local tags = marks.map(inst.Tags)
  local restored = 0
  for _, n in ipairs(facts.enis(ec2, id)) do
    local orig = marks.map(n.TagSet)[marks.ORIGINAL_GROUPS]
    if orig then
      local ok, err = isolation.move(ec2, ctx, n.NetworkInterfaceId, facts.group_ids(n), marks.split(orig), "released: original groups restored")
      if not ok then error(n.NetworkInterfaceId .. ": " .. err, 0) end
      ec2:DeleteTags{ Resources = { n.NetworkInterfaceId }, Tags = { { Key = marks.ORIGINAL_GROUPS } } }
      restored = restored + 1
    else
      ctx.info("%s has no %s tag: left as it is", n.NetworkInterfaceId, marks.ORIGINAL_GROUPS)
    end
  end
  for _, rec in ipairs(marks.split(tags[marks.NACL_ENTRIES])) do
    local acl, rule, dir = rec:match("^([^:]+):(%d+):(%a+)$")
    if acl then
      local ok, err = pcall(ec2.DeleteNetworkAclEntry, ec2, { NetworkAclId = acl, RuleNumber = tonumber(rule), Egress = dir == "out" })
      if ok then ctx.changed{ resource = acl, action = "DeleteNetworkAclEntry", before = "rule " .. rule .. " " .. dir, after = "removed" }
      elseif not aws.is_error(err, "InvalidNetworkAclEntry.NotFound") then error(err, 0) end
    end
  end
  ec2:CreateTags{ Resources = { id }, Tags = marks.list(marks.base(ctx, { [marks.STATUS] = "released" })) }
  if tags[marks.NACL_ENTRIES] then ec2:DeleteTags{ Resources = { id }, Tags = { { Key = marks.NACL_ENTRIES } } } end
  ctx.changed{ resource = id, action = "CreateTags", before = tags[marks.STATUS] or "untagged", after = "released" }
  ctx.info("%d ENI(s) restored to their original security groups", restored)
  ctx.followup("Release does not restart " .. id .. ", reattach it to its Auto Scaling group or load balancers, or delete snapshots; do that by hand if needed")
end

---------------------------------------------------------------------------- declaration

return ir.runbook {
  name = "ec2-compromise",
  description = "Contain a compromised EC2 instance and preserve evidence: capture metadata, protect volumes, " ..
    "isolate every ENI, leave its Auto Scaling group and load balancers, snapshot, tag, then stop it " ..
    "(or keep it running for memory capture with --mode online)",
  params = {
    instance = { pattern = "^i%-%x+$", metavar = "ID", help = "the instance (or give --finding)" },
    finding = { type = "file", help = "a GuardDuty finding (raw, EventBridge, SNS, GetFindings or ASFF) naming the instance" },
    mode = { default = "offline", choices = { "offline", "online" },
      help = "offline stops the instance; online keeps it running (memory capture with --memory-bucket)" },
    memory_bucket = { pattern = "^[a-z0-9][a-z0-9.-]+[a-z0-9]$", metavar = "BUCKET",
      help = "online mode: capture memory through SSM Run Command into this bucket (the instance role uploads; no credentials are sent)" },
    memory_command = { metavar = "SCRIPT", help = "online mode: capture script ({bucket}, {key}, {instance} are replaced); default uses avml" },
    memory_timeout = { type = "integer", default = 1800, min = 60, max = 172800, metavar = "SECONDS", help = "online mode: how long the capture may run" },
    isolation_nacl = { type = "boolean", help = "also add deny entries for the instance's addresses to its subnets' network ACLs (cuts tracked flows too; recorded for --release)" },
    release = { type = "boolean", help = "undo the isolation: restore each ENI's original groups and remove the ACL entries this runbook added" },
    asg_standby = { type = "boolean", help = "put the instance in Standby in its Auto Scaling group instead of detaching it" },
    poll_interval = { type = "integer", default = 15, min = 1, max = 300, metavar = "SECONDS",
      help = "seconds between status polls while waiting for snapshots, the stop and the memory capture" },
    no_wait = { type = "boolean", help = "do not wait for snapshots to complete or the instance to stop" },
    detach_eip = { type = "boolean", help = "also disassociate its Elastic IPs (the allocations are kept)" },
    revoke_instance_role = { type = "boolean", help = "deny the instance role's sessions issued before now; affects EVERY instance using that role" },
  },
  validate = function(p)
    if not p.instance and not p.finding then return "give --instance ID or --finding FILE" end
    if p.release and not p.instance then return "--release needs --instance ID" end
    if p.memory_bucket and p.mode ~= "online" then return "--memory-bucket needs --mode online" end
    if placeholder(p.instance) then
      return "--instance " .. p.instance .. " is the placeholder instance of GuardDuty's sample findings, not a real instance"
    end
    if p.finding and not p.instance then
      local _, err = finding_instance(p.finding)
      if err then return err end
    end
  end,
  permissions = {
    "ec2:DescribeInstances", "ec2:DescribeInstanceAttribute", "ec2:DescribeInstanceTypes", "ec2:DescribeVolumes",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeAddresses", "ec2:DescribeIamInstanceProfileAssociations", "ec2:GetConsoleOutput",
    "ec2:GetConsoleScreenshot", "ec2:DescribeSnapshots", "ec2:DescribeNetworkAcls", "ec2:DescribeVpcEndpoints",
    "ec2:DescribePrefixLists", "ec2:DescribeVpcs",
    "ec2:ModifyInstanceAttribute", "ec2:ModifyNetworkInterfaceAttribute", "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress", "ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAclEntry", "ec2:CreateSnapshot",
    "ec2:CreateTags", "ec2:DeleteTags", "ec2:StopInstances", "ec2:DisassociateAddress",
    "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups", "autoscaling:SuspendProcesses",
    "autoscaling:ResumeProcesses", "autoscaling:DetachInstances", "autoscaling:EnterStandby",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DeregisterTargets",
    "ssm:DescribeInstanceInformation", "ssm:SendCommand", "ssm:GetCommandInvocation",
    "iam:GetInstanceProfile", "iam:PutRolePolicy",
  },
  steps = {
    { name = "Capture instance metadata", run = capture_metadata, when = quarantining },
    { name = "Protect evidence from deletion", run = protect, when = quarantining },
    { name = "Isolate network interfaces", run = isolate, when = quarantining, destructive = true, continue_on_error = true,
      confirm = "Isolate every network interface of the instance (cuts its network traffic)?" },
    { name = "Leave the Auto Scaling group", run = detach_asg, when = quarantining, destructive = true },
    { name = "Deregister from load balancers", run = deregister, when = quarantining, destructive = true },
    { name = "Snapshot EBS volumes", run = snapshot, when = quarantining },
    { name = "Tag the instance", run = tag_instance, when = quarantining },
    { name = "Detach Elastic IPs", run = detach_eips, destructive = true,
      when = function(ctx) return ctx.params.detach_eip and not ctx.params.release, "only with --detach-eip" end },
    { name = "Revoke instance role sessions", run = revoke_role, destructive = true,
      when = function(ctx) return ctx.params.revoke_instance_role and not ctx.params.release, "only with --revoke-instance-role" end },
    { name = "Stop the instance", run = stop, destructive = true,
      when = function(ctx) return ctx.params.mode == "offline" and not ctx.params.release, "--mode online keeps it running" end },
    { name = "Online: capture memory and finish isolation", run = finish_online, destructive = true,
      confirm = "Run the memory capture script on the instance through SSM, then cut its remaining HTTPS egress?",
      when = function(ctx) return ctx.params.mode == "online" and not ctx.params.release, "only in --mode online" end },
    { name = "Release network isolation", run = release, destructive = true,
      when = function(ctx) return ctx.params.release, "only with --release" end },
  },
  followups = {
    function(ctx)
      if ctx.params.release then return nil end
      return "Hand the evidence (run directory, snapshots) to the investigation under ticket " .. (ctx.ticket or "(none)")
    end,
  },
}

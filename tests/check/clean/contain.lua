-- A clean runbook: `irhost check --strict` must report nothing, and luacheck with the
-- project's .luacheckrc must agree. It uses the forms check understands: locals holding
-- clients, snake_case operations, chained clients, paginate, wait, nested parameters.
local ec2 = aws.client("ec2")
local asg = aws.client("autoscaling")

local function instance_of(ctx)
  local r = ec2:describe_instances{ InstanceIds = { ctx.params.instance } }
  local res = r.Reservations[1]
  return res and res.Instances[1]
end

return ir.runbook {
  name = "contain-clean",
  description = "Tag, snapshot and stop one instance",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
    mode = { default = "offline", choices = { "offline", "online" }, help = "what to do at the end" },
    wait = { type = "boolean", default = true, help = "wait for snapshots" },
  },
  permissions = {
    "ec2:DescribeInstances", "ec2:CreateTags", "ec2:CreateSnapshot", "ec2:DescribeSnapshots",
    "ec2:StopInstances", "ec2:DescribeVolumes", "autoscaling:DescribeAutoScalingInstances",
    "sts:GetCallerIdentity",
  },
  steps = {
    {
      name = "Capture",
      run = function(ctx)
        local inst = instance_of(ctx)
        if not inst then error("no such instance: " .. ctx.params.instance) end
        ctx.evidence:save("instance.json", inst)
        local volumes = {}
        for v in ec2:paginate("DescribeVolumes", {
          Filters = { { Name = "attachment.instance-id", Values = { inst.InstanceId } } },
        }, { items = true }) do
          volumes[#volumes + 1] = v.VolumeId
        end
        ctx.state.volumes = volumes
        local groups = asg:DescribeAutoScalingInstances{ InstanceIds = { inst.InstanceId } }
        ctx.output("asg", #groups.AutoScalingInstances > 0)
      end,
    },
    {
      name = "Tag",
      run = function(ctx)
        aws.client("ec2"):CreateTags{
          Resources = { ctx.params.instance },
          Tags = { { Key = "irhost:ticket", Value = ctx.ticket or "none" } },
        }
      end,
    },
    {
      name = "Snapshot",
      run = function(ctx)
        local ids = {}
        for i, vol in ipairs(ctx.state.volumes or {}) do
          local ok, snap = pcall(ec2.CreateSnapshot, ec2, { VolumeId = vol })
          if ok then ids[#ids + 1] = snap.SnapshotId
          elseif aws.is_error(snap, "IncorrectState") then ctx.warn("volume " .. i .. " busy")
          else error(snap) end
        end
        if ctx.params.wait and #ids > 0 then
          ec2:wait("SnapshotCompleted", { SnapshotIds = ids }, { timeout = 600 })
        end
        ctx.output("snapshots", json.encode(ids))
      end,
    },
    {
      name = "Stop",
      destructive = true,
      run = function(ctx)
        if ctx.params.mode == "offline" then
          ec2:StopInstances{ InstanceIds = { ctx.params.instance } }
        end
      end,
    },
  },
}

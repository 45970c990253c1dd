-- Contain a compromised standalone (Docker) container on an EC2 host, through SSM Run Command.
--
--   irhost runbooks/container.lua --instance i-0abc --container 9c4e2d1b7a30 --ticket IR-42
--   irhost runbooks/container.lua --finding finding.json --ticket IR-42          (host and container from a GuardDuty finding)
--   irhost runbooks/container.lua --finding finding.json --stop --ticket IR-42   (also stop it once its evidence is saved)
--   irhost runbooks/container.lua --instance i-0abc --container 9c4e2d1b7a30 --release --ticket IR-42
--
-- The container is cut off on the host (firewall chain + network disconnect, recorded on
-- the host and in a tag for --release), frozen with docker pause, and its inspect output,
-- processes, logs and filesystem changes are saved before anything could stop it.
-- The exact scripts sent are in lib/container_scripts.lua.
local marks = require("lib.marks")
local facts = require("lib.ec2_facts")
local ssm_lib = require("lib.container_ssm")
local scripts = require("lib.container_scripts")
local findings = require("lib.container_findings")

local TAG_ISOLATED = "irhost:isolated-containers"   -- on the host: keys of the containers this runbook isolated

local function instance_id(ctx) return ctx.state.instance_id or ctx.params.instance end
local function container_ref(ctx) return ctx.state.container_id or ctx.params.container end
local function key_of(ctx) return ctx.state.container_key end

local function quarantining(ctx) return not ctx.params.release, "--release undoes the isolation instead" end

-- The "irhost: ..." lines a script printed, as notes.
local function relay(ctx, inv)
  if not inv then return end
  for line in inv.stdout:gmatch("[^\n]+") do
    local msg = line:match("^irhost: (.+)$")
    if msg then ctx.info("%s", msg) end
  end
end

-- The docker ps line of the container: ref is an id prefix or a name.
local function find_container(listing, ref)
  for line in listing:gmatch("[^\n]+") do
    local id, names = line:match("^(%x+)%s+(%S+)")
    if id and (id:sub(1, #ref) == ref:lower() or names == ref or names == "/" .. ref) then return id, line end
    if names then
      for n in names:gmatch("[^,]+") do if n == ref then return id, line end end
    end
  end
  return nil
end

---------------------------------------------------------------------------- steps

local function identify(ctx)
  local p = ctx.params
  local iid, ref = p.instance, p.container
  if p.finding then
    local f, err = ir.finding.parse(p.finding)
    if not f then error("--finding: " .. err, 0) end
    local run_region = ctx.region or aws.region()
    if f.region and run_region and f.region ~= run_region then
      error("--finding: the finding is from region " .. f.region .. " and this run works in " .. run_region ..
        ": rerun with --region " .. f.region, 0)
    end
    if f.ecs and f.ecs.task_arn then
      error("--finding: the " .. tostring(f.type) .. " finding names ECS task " .. f.ecs.task_arn ..
        "; use runbooks/ecs.lua, which isolates the task through ECS", 0)
    end
    if not (f.container and f.container.id) or not (f.instance and f.instance.id) then
      error("--finding: the " .. tostring(f.type) .. " finding names no container on an EC2 instance " ..
        "(a GuardDuty Runtime Monitoring finding has both); give --instance and --container", 0)
    end
    ctx.evidence:save("finding.json", f.raw)
    ctx.info("from finding %s (%s, severity %s): container %s (%s) on %s", tostring(f.id), tostring(f.type),
      tostring(f.severity), f.container.id, tostring(f.container.image), f.instance.id)
    iid = iid or f.instance.id
    ref = ref or f.container.id
    if not tostring(ref):match("^[%w][%w_.-]*$") then error("--finding: container id '" .. tostring(ref) .. "' is not a Docker id or name", 0) end
  end
  local ec2, ssm = aws.client("ec2"), aws.client("ssm")
  local inst, res = facts.describe(ec2, iid, ctx.region)
  ctx.evidence:save("instance.json", inst)
  local region = ctx.region or (inst.Placement and inst.Placement.AvailabilityZone or ""):match("^(.-%d)%l*$")
  local part = region and (region:match("^cn%-") and "aws-cn" or region:match("^us%-gov%-") and "aws-us-gov") or "aws"
  ctx.output("instance_arn", string.format("arn:%s:ec2:%s:%s:instance/%s", part, tostring(region), tostring(res.OwnerId or ctx.account), iid))
  local state = inst.State and inst.State.Name
  if state ~= "running" then
    error("instance " .. iid .. " is " .. tostring(state) .. ": its containers are not running; use runbooks/ec2.lua for the instance", 0)
  end
  local managed = ssm_lib.managed(ssm, ctx, iid)
  ctx.evidence:save("ssm-instance.json", managed)
  ctx.output("instance_id", iid)

  local inv = ssm_lib.run(ssm, ctx, iid, scripts.list(), "list containers")
  local key = (ref:match("^%x+$") and ref:sub(1, 12):lower()) or ref:gsub("[^%w_.-]", "_")
  if inv then
    ctx.evidence:save("host-containers.txt", inv.stdout)
    local id, line = find_container(inv.stdout, ref)
    if not id then
      local ids = {}
      for l in inv.stdout:gmatch("[^\n]+") do local x = l:match("^(%x+)%s") if x then ids[#ids + 1] = x:sub(1, 12) end end
      error(string.format("container %s is not on instance %s (docker ps --all lists %s): check --container " ..
        "(a container id, its first characters, or its name)", ref, iid, #ids > 0 and table.concat(ids, ", ") or "no container"), 0)
    end
    ctx.output("container_id", id)
    key = id:sub(1, 12):lower()
    ctx.info("container %s on %s: %s", id:sub(1, 12), iid, line)
  else
    ctx.info("dry run: the container list is read through SSM Run Command, which a dry run does not send; %s not verified", ref)
    ctx.output("container_id", ref)
  end
  ctx.output("container_key", key)
end

local function isolate(ctx)
  local ssm, ec2 = aws.client("ssm"), aws.client("ec2")
  local iid, c, key = instance_id(ctx), container_ref(ctx), key_of(ctx)
  local tags = marks.map(facts.describe(ec2, iid, ctx.region).Tags)
  local keys = marks.split(tags[TAG_ISOLATED])
  local known = false
  for _, k in ipairs(keys) do if k == key then known = true end end
  if not known then
    -- Recorded before the change, so --release finds it even if the script dies half way.
    keys[#keys + 1] = key
    ec2:CreateTags{ Resources = { iid }, Tags = marks.list(marks.base(ctx, { [TAG_ISOLATED] = marks.join(keys) })) }
  end
  local lines = scripts.isolate(key, c)
  local inv = ssm_lib.run(ssm, ctx, iid, lines, "isolate container " .. key)
  relay(ctx, inv)
  ctx.evidence:save("container-isolation.json", {
    instance = iid, container = c, firewall_chain = scripts.chain(key), host_state = scripts.STATE_DIR .. "/" .. key,
    commands = lines, command_id = inv and inv.command_id or json.null, output = inv and inv.stdout or json.null,
    undo = scripts.release(key, c) })
  ctx.changed{ resource = iid .. "/" .. key, action = "SendCommand AWS-RunShellScript (isolate)",
    before = "connected", after = "firewall chain " .. scripts.chain(key) .. " drops its addresses; disconnected from every network",
    detail = inv and ("command " .. inv.command_id) or nil }
  ctx.info("what this does not cut: the container's access to the host through mounted sockets and volumes " ..
    "(a mounted docker.sock is host root); the next step freezes its processes")
end

local function suspend(ctx)
  local iid, c, key = instance_id(ctx), container_ref(ctx), key_of(ctx)
  local inv = ssm_lib.run(aws.client("ssm"), ctx, iid, scripts.pause(key, c), "pause container " .. key)
  relay(ctx, inv)
  ctx.changed{ resource = iid .. "/" .. key, action = "SendCommand AWS-RunShellScript (docker pause)",
    before = "running", after = "paused", detail = inv and ("command " .. inv.command_id) or nil }
  if ctx.params.stop then
    ctx.info("paused while its evidence is collected; --stop stops it afterwards")
  else
    ctx.followup("Container " .. key .. " on " .. iid .. " is paused and isolated: its memory is intact for analysis; " ..
      "docker unpause resumes it (runbooks/container.lua --release undoes everything)")
  end
end

local function evaluate(ctx)
  local ssm = aws.client("ssm")
  local iid, c = instance_id(ctx), container_ref(ctx)
  local collectors = scripts.evidence(c, ctx.params.log_lines)
  -- All sent first, then awaited: the host runs them concurrently.
  for _, col in ipairs(collectors) do
    col.cid = ssm_lib.send(ssm, ctx, iid, col.lines, "collect " .. col.name .. " of " .. key_of(ctx))
  end
  local saved, failed = json.array(), json.array()
  for _, col in ipairs(collectors) do
    if col.cid then
      local inv = ssm_lib.wait(ssm, ctx, iid, col.cid)
      if inv.status == "Success" then
        ctx.evidence:save(col.file, inv.stdout)
        saved[#saved + 1] = col.file
        if inv.truncated then
          ctx.warn("%s: SSM returns only the first %d characters through the API%s", col.file, ssm_lib.API_OUTPUT_LIMIT,
            ctx.params.output_bucket and ("; the full output is in s3://" .. ctx.params.output_bucket) or
              "; rerun with --output-bucket to keep the full output in S3")
        end
      else
        failed[#failed + 1] = col.name
        ctx.warn("%s: command %s ended %s: %s", col.name, col.cid, tostring(inv.status), (inv.stderr ~= "" and inv.stderr or inv.stdout):sub(1, 300))
      end
    end
  end
  ctx.output("evidence_collected", saved)
  if #saved == 0 and #failed > 0 then error("no container evidence could be collected (" .. table.concat(failed, ", ") .. ")", 0) end

  local gd = aws.client("guardduty")
  local detector = findings.detector(gd)
  local list = json.array()
  if detector then
    local key = key_of(ctx)
    local raw = findings.find(gd, detector, { ["resource.instanceDetails.instanceId"] = { Eq = { iid } } }, function(f)
      local cd = f.Resource and f.Resource.ContainerDetails
      local id = cd and cd.Id
      return id == nil or tostring(id):sub(1, 12):lower() == key or tostring(c):sub(1, #tostring(id)) == tostring(id)
    end)
    ctx.evidence:save("guardduty-findings.json", raw)
    for _, f in ipairs(raw) do
      local s = findings.summary(f)
      list[#list + 1] = s
      ctx.info("finding %s: %s, severity %s%s", tostring(s.id), tostring(s.type), tostring(s.severity),
        s.container_id and (" (container " .. s.container_id .. ")") or " (the host)")
    end
  else
    ctx.warn("GuardDuty is not enabled in %s: no runtime findings to evaluate", tostring(ctx.region))
  end
  local verdict = findings.verdict(list, detector ~= nil)
  ctx.info("%s", verdict)
  ctx.output("verdict", verdict)
  ctx.output("findings", list)
end

local function stop(ctx)
  if not ctx.state.evidence_collected then error("the container evidence was not collected: refusing to stop it", 0) end
  local iid, c, key = instance_id(ctx), container_ref(ctx), key_of(ctx)
  local inv = ssm_lib.run(aws.client("ssm"), ctx, iid, scripts.stop(key, c), "stop container " .. key)
  relay(ctx, inv)
  ctx.changed{ resource = iid .. "/" .. key, action = "SendCommand AWS-RunShellScript (docker stop)", before = "paused",
    after = "stopped (filesystem kept: docker rm is not run)", detail = inv and ("command " .. inv.command_id) or nil }

  -- Where GuardDuty Malware Protection kept the host's disks.
  local gd = aws.client("guardduty")
  local detector = findings.detector(gd)
  if not detector then
    ctx.warn("GuardDuty is not enabled in %s: no Malware Protection snapshots exist", tostring(ctx.region))
    ctx.followup("Snapshot the EBS volumes of " .. iid .. " yourself (runbooks/ec2.lua captures and snapshots them)")
    return
  end
  local m = findings.malware_scans(gd, detector, ctx.state.instance_arn)
  ctx.output("snapshot_retention", m.retention)
  if m.retention ~= "RETENTION_WITH_FINDING" then
    ctx.warn("GuardDuty Malware Protection snapshot retention is %s: scans delete their snapshots, so nothing was kept", m.retention)
    ctx.followup("Turn on snapshot retention (aws guardduty update-malware-scan-settings --detector-id " .. detector ..
      " --ebs-snapshot-preservation RETENTION_WITH_FINDING) and snapshot the volumes of " .. iid .. " now (runbooks/ec2.lua)")
  else
    ctx.info("GuardDuty Malware Protection snapshot retention is on (RETENTION_WITH_FINDING)")
  end
  local ec2 = aws.client("ec2")
  local located = json.array()
  for _, scan in ipairs(m.scans) do
    for _, s in ipairs(scan.snapshots) do
      local ok, r = pcall(ec2.DescribeSnapshots, ec2, { SnapshotIds = { s.snapshot_id } })
      local snap = ok and r.Snapshots and r.Snapshots[1]
      local where = snap and ("kept: " .. s.snapshot_id .. " (" .. tostring(snap.State) .. ", " .. tostring(snap.VolumeSize) .. " GiB" ..
        (snap.Encrypted and (", encrypted" .. (snap.KmsKeyId and (" with " .. snap.KmsKeyId) or "")) or "") .. ")") or ("not found (" ..
        (ok and "gone" or (aws.is_error(r, "InvalidSnapshot.NotFound") and "InvalidSnapshot.NotFound" or tostring(r))) .. ")")
      located[#located + 1] = { scan_id = scan.id, scan_result = scan.result, finding_id = scan.finding_id,
        volume_id = s.volume_id, device = s.device, snapshot_id = s.snapshot_id, found = snap and true or false,
        state = snap and snap.State or json.null }
      ctx.info("scan %s (%s) of %s %s: snapshot %s", tostring(scan.id), tostring(scan.result or scan.status),
        tostring(s.volume_id), tostring(s.device), where)
    end
  end
  if #located == 0 then
    ctx.warn("GuardDuty has no malware scan of %s with a kept snapshot", iid)
    ctx.followup("Snapshot the EBS volumes of " .. iid .. " (runbooks/ec2.lua) before the host changes further")
  end
  ctx.evidence:save("malware-protection-snapshots.json", { retention = m.retention, snapshots = located })
  ctx.output("malware_snapshots", located)
end

local function release(ctx)
  local ssm, ec2 = aws.client("ssm"), aws.client("ec2")
  local iid, c, key = instance_id(ctx), container_ref(ctx), key_of(ctx)
  local tags = marks.map(facts.describe(ec2, iid, ctx.region).Tags)
  local keys, rest, found = marks.split(tags[TAG_ISOLATED]), {}, false
  for _, k in ipairs(keys) do if k == key then found = true else rest[#rest + 1] = k end end
  if not found then ctx.warn("%s has no record (%s tag) of isolating container %s; releasing anyway", iid, TAG_ISOLATED, key) end
  local inv = ssm_lib.run(ssm, ctx, iid, scripts.release(key, c), "release container " .. key)
  relay(ctx, inv)
  ctx.changed{ resource = iid .. "/" .. key, action = "SendCommand AWS-RunShellScript (release)", before = "isolated",
    after = "firewall chain removed, unpaused, networks reconnected", detail = inv and ("command " .. inv.command_id) or nil }
  if found then
    if #rest > 0 then ec2:CreateTags{ Resources = { iid }, Tags = { { Key = TAG_ISOLATED, Value = marks.join(rest) } } }
    else ec2:DeleteTags{ Resources = { iid }, Tags = { { Key = TAG_ISOLATED } } } end
  end
  ctx.followup("Reconnected networks give the container new addresses unless they were static; check what it serves")
end

---------------------------------------------------------------------------- declaration

return ir.runbook {
  name = "container-compromise",
  description = "Contain a compromised standalone Docker container on an EC2 host through SSM Run Command: " ..
    "isolate it (host firewall chain, disconnected from its networks), pause it, save its inspect output, " ..
    "processes, logs and filesystem changes, and with --stop stop it and locate GuardDuty Malware Protection snapshots",
  params = {
    instance = { pattern = "^i%-%x+$", metavar = "ID", help = "the host instance (or give --finding)" },
    container = { pattern = "^[%w][%w_.-]*$", metavar = "ID", help = "the container: id, its first characters, or name" },
    finding = { type = "file", help = "a GuardDuty Runtime finding (raw, EventBridge, SNS, GetFindings or ASFF) naming the host and container" },
    stop = { type = "boolean", help = "stop the container once its evidence is saved, and locate the Malware Protection snapshots" },
    release = { type = "boolean", help = "undo the isolation: remove the firewall chain, unpause, reconnect its networks" },
    log_lines = { type = "integer", default = 10000, min = 1, max = 1000000, metavar = "N", help = "how many log lines to save" },
    output_bucket = { pattern = "^[a-z0-9][a-z0-9.-]+[a-z0-9]$", metavar = "BUCKET",
      help = "also write the full SSM command output to this bucket (the API returns 24000 characters at most)" },
    ssm_timeout = { type = "integer", default = 300, min = 30, max = 3600, metavar = "SECONDS", help = "how long each host command may run" },
    poll_interval = { type = "integer", default = 5, min = 1, max = 300, metavar = "SECONDS", help = "seconds between polls of a host command" },
  },
  validate = function(p)
    if not p.finding and not (p.instance and p.container) then return "give --instance ID and --container ID, or --finding FILE" end
    if p.container and #p.container > 128 then return "--container: at most 128 characters" end
    if p.release and p.stop then return "--release and --stop do not go together" end
  end,
  permissions = {
    "ec2:DescribeInstances", "ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeSnapshots",
    "ssm:DescribeInstanceInformation", "ssm:SendCommand", "ssm:GetCommandInvocation",
    "guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings",
    "guardduty:GetMalwareScanSettings", "guardduty:DescribeMalwareScans",
  },
  steps = {
    { name = "Identify the container", run = identify,
      description = "the host (running, SSM-managed) and the container in its docker ps list" },
    { name = "Isolate the container", run = isolate, when = quarantining, destructive = true,
      confirm = "Cut the container off the network (host firewall rules, docker network disconnect)?",
      description = "iptables/ip6tables chain dropping its addresses (DOCKER-USER, INPUT), then docker network disconnect; recorded for --release" },
    { name = "Suspend the container", run = suspend, when = quarantining, destructive = true,
      confirm = "Freeze the container's processes (docker pause)?",
      description = "docker pause: processes frozen, memory kept" },
    { name = "Evaluate: collect evidence and findings", run = evaluate, when = quarantining,
      description = "docker inspect, top, logs and diff through SSM (before any stop); GuardDuty findings for it" },
    { name = "Stop the container", run = stop, destructive = true,
      when = function(ctx) return ctx.params.stop and not ctx.params.release, "only with --stop" end },
    { name = "Release the container", run = release, destructive = true,
      when = function(ctx) return ctx.params.release, "only with --release" end },
  },
  followups = {
    function(ctx)
      if ctx.params.release then return nil end
      return "Hand the evidence (run directory) to the investigation under ticket " .. (ctx.ticket or "(none)") ..
        "; the host itself may be compromised (check the finding): runbooks/ec2.lua contains it"
    end,
  },
}

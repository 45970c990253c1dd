-- Contain compromised ECS tasks and preserve their evidence.
--
--   irhost runbooks/ecs.lua --cluster prod-cluster --task 0a1b2c... --ticket IR-42
--   irhost runbooks/ecs.lua --cluster prod-cluster --service api --ticket IR-42     (every running task of the service)
--   irhost runbooks/ecs.lua --finding finding.json --ticket IR-42                   (the task from a GuardDuty Runtime finding)
--
-- Order matters: evidence first (tasks, definitions, images with digests, hosts), then
-- scale-in protection so the scheduler does not replace a task under investigation, then
-- network isolation, then the GuardDuty evaluation. Nothing stops a task unless --stop is
-- given, and that step runs only after the evidence step is done.
--
-- Isolation per task (lib/ecs_isolation.lua): the isolation group on the task's ENI where
-- AWS allows it; a requester-managed ENI (Fargate) takes no change but tags, so its task
-- gets network ACL deny entries for its addresses instead, and the report says what those
-- leave open (traffic inside the subnet) and how to remove them.
local marks = require("lib.marks")
local isolation = require("lib.isolation")
local tasks_lib = require("lib.ecs_tasks")
local findings = require("lib.container_findings")
local ecs_isolation = require("lib.ecs_isolation")

local MAX_PROTECTION_MINUTES = 2880   -- ECS's limit for UpdateTaskProtection

local function tasks_of(ctx) return ctx.state.tasks or {} end

---------------------------------------------------------------------------- steps

local function identify(ctx)
  local p = ctx.params
  local cluster_ref, refs = p.cluster, {}
  for _, r in ipairs(p.task or {}) do refs[#refs + 1] = r end
  if p.finding then
    local f, err = ir.finding.parse(p.finding)
    if not f then error("--finding: " .. err, 0) end
    local run_region = ctx.region or aws.region()
    if f.region and run_region and f.region ~= run_region then
      error("--finding: the finding is from region " .. f.region .. " and this run works in " .. run_region ..
        ": rerun with --region " .. f.region, 0)
    end
    if not f.ecs or not (f.ecs.cluster_arn or f.ecs.cluster_name) then
      local hint = (f.container and f.instance) and "runbooks/container.lua (a standalone container on an instance)"
        or ("the runbook for its resource kind (" .. tostring(f.kind) .. ")")
      error("--finding: the " .. tostring(f.type) .. " finding names no ECS cluster; use " .. hint, 0)
    end
    ctx.evidence:save("finding.json", f.raw)
    ctx.info("from finding %s (%s, severity %s)", tostring(f.id), tostring(f.type), tostring(f.severity))
    cluster_ref = cluster_ref or f.ecs.cluster_arn or f.ecs.cluster_name
    if #refs == 0 and not p.service then
      if not f.ecs.task_arn then
        error("--finding: the finding names cluster " .. tostring(f.ecs.cluster_name) ..
          " but no task; give --task ID or --service NAME", 0)
      end
      refs = { f.ecs.task_arn }
    end
  end
  if not cluster_ref then error("give --cluster NAME (or a --finding that names the cluster)", 0) end

  local ecs = aws.client("ecs")
  local cluster = tasks_lib.cluster(ecs, cluster_ref, ctx.region)
  ctx.evidence:save("cluster.json", cluster)
  local carn = cluster.clusterArn
  if p.service then
    local arns = tasks_lib.service_tasks(ecs, carn, p.service, ctx.region)
    for _, a in ipairs(arns) do refs[#refs + 1] = a end
  end
  refs = tasks_lib.unique(refs)
  local tasks = tasks_lib.describe_tasks(ecs, carn, refs)
  ctx.evidence:save("tasks.json", tasks)

  local defs, def_arns = {}, {}
  for _, t in ipairs(tasks) do def_arns[#def_arns + 1] = t.taskDefinitionArn end
  for _, arn in ipairs(tasks_lib.unique(def_arns)) do
    local r = ecs:DescribeTaskDefinition{ taskDefinition = arn, include = { "TAGS" } }
    defs[arn] = r.taskDefinition
  end
  ctx.evidence:save("task-definitions.json", defs)

  local svc_names, ci_arns = {}, {}
  for _, t in ipairs(tasks) do
    svc_names[#svc_names + 1] = tasks_lib.service_name(t)
    ci_arns[#ci_arns + 1] = t.containerInstanceArn
  end
  local services = tasks_lib.services(ecs, carn, tasks_lib.unique(svc_names))
  if next(services) then ctx.evidence:save("services.json", services) end
  local cis = tasks_lib.container_instances(ecs, carn, tasks_lib.unique(ci_arns))
  if next(cis) then ctx.evidence:save("container-instances.json", cis) end

  local eni_ids = {}
  for _, t in ipairs(tasks) do local e = tasks_lib.eni(t); if e then eni_ids[#eni_ids + 1] = e.id end end
  local enis = {}
  if #eni_ids > 0 then
    local ec2 = aws.client("ec2")
    enis = ec2:DescribeNetworkInterfaces{ NetworkInterfaceIds = eni_ids }.NetworkInterfaces or {}
    ctx.evidence:save("network-interfaces.json", enis)
    local gids = {}
    for _, n in ipairs(enis) do for _, g in ipairs(n.Groups or {}) do gids[#gids + 1] = g.GroupId end end
    gids = tasks_lib.unique(gids)
    if #gids > 0 then ctx.evidence:save("security-groups.json", ec2:DescribeSecurityGroups{ GroupIds = gids }.SecurityGroups or {}) end
  end
  local eni_by_id = {}
  for _, n in ipairs(enis) do eni_by_id[n.NetworkInterfaceId] = n end

  local summary, images = json.array(), json.array()
  for _, t in ipairs(tasks) do
    local def = defs[t.taskDefinitionArn] or {}
    local e = tasks_lib.eni(t)
    local n = e and eni_by_id[e.id]
    local ci = t.containerInstanceArn and cis[t.containerInstanceArn]
    local s = { arn = t.taskArn, id = tasks_lib.short(t.taskArn), launch_type = t.launchType or "EC2",
      network_mode = def.networkMode or "bridge", definition = t.taskDefinitionArn, service = tasks_lib.service_name(t),
      status = t.lastStatus, eni = e and e.id or nil, private_ip = e and e.private_ip or nil,
      vpc_id = n and n.VpcId or nil, requester_managed = n and n.RequesterManaged or nil,
      container_instance = t.containerInstanceArn, ec2_instance = ci and ci.ec2InstanceId or nil,
      status_tag = (function()
        for _, tag in ipairs(t.tags or {}) do if tag.key == marks.STATUS then return tag.value end end
      end)() }
    summary[#summary + 1] = s
    s.runtime_ids = json.array()
    for _, c in ipairs(t.containers or {}) do
      if c.runtimeId then s.runtime_ids[#s.runtime_ids + 1] = c.runtimeId end
      images[#images + 1] = { task = s.id, container = c.name, image = c.image, digest = c.imageDigest or "unknown",
        runtime_id = c.runtimeId }
      ctx.info("task %s container %s: %s@%s", s.id, tostring(c.name), tostring(c.image), tostring(c.imageDigest or "no digest"))
    end
    ctx.info("task %s (%s, %s network mode, %s)%s%s", s.id, s.launch_type, s.network_mode, tostring(s.status),
      s.service and (" of service " .. s.service) or " (standalone)",
      s.ec2_instance and (" on container instance " .. s.ec2_instance) or "")
  end
  ctx.evidence:save("images.json", images)
  ctx.output("cluster_arn", carn)
  ctx.output("tasks", summary)
  ctx.output("images", images)
end

local function protect(ctx)
  local ecs = aws.client("ecs")
  local carn = ctx.state.cluster_arn
  local in_service, standalone = {}, {}
  for _, t in ipairs(tasks_of(ctx)) do
    if t.service then in_service[#in_service + 1] = t.arn else standalone[#standalone + 1] = t.id end
  end
  if #standalone > 0 then
    ctx.info("standalone task(s) %s: no service scheduler scales them in", table.concat(standalone, ", "))
  end
  if #in_service > 0 then
    local cur = ecs:GetTaskProtection{ cluster = carn, tasks = in_service }
    local on = {}
    for _, pt in ipairs(cur.protectedTasks or {}) do if pt.protectionEnabled then on[pt.taskArn] = pt.expirationDate or "?" end end
    local want = {}
    for _, a in ipairs(in_service) do want[#want + 1] = a end
    local r = ecs:UpdateTaskProtection{ cluster = carn, tasks = want, protectionEnabled = true,
      expiresInMinutes = ctx.params.protect_minutes }
    local failed = {}
    for _, f in ipairs(r.failures or {}) do failed[#failed + 1] = tasks_lib.short(f.arn) .. " (" .. tostring(f.reason) .. ")" end
    local until_ = {}
    for _, pt in ipairs(r.protectedTasks or {}) do until_[pt.taskArn] = pt.expirationDate end
    for _, a in ipairs(want) do
      ctx.changed{ resource = tasks_lib.short(a), action = "UpdateTaskProtection",
        before = on[a] and ("protected until " .. on[a]) or "not protected",
        after = "protected from scale-in" .. (until_[a] and (" until " .. until_[a]) or (" for " .. ctx.params.protect_minutes .. " min")) }
    end
    if #failed > 0 then error("scale-in protection refused for " .. table.concat(failed, ", "), 0) end
    ctx.followup(string.format("Task scale-in protection expires after %d minutes (ECS allows %d at most): renew it " ..
      "(aws ecs update-task-protection --protection-enabled) if the investigation needs the tasks longer",
      ctx.params.protect_minutes, MAX_PROTECTION_MINUTES))
  end
  local tags = {}
  for k, v in pairs(marks.base(ctx, { [marks.STATUS] = "quarantined", [marks.AT] = os.date("!%Y-%m-%dT%H:%M:%SZ") })) do
    tags[#tags + 1] = { key = k, value = tostring(v) }
  end
  table.sort(tags, function(a, b) return a.key < b.key end)
  for _, t in ipairs(tasks_of(ctx)) do
    ecs:TagResource{ resourceArn = t.arn, tags = tags }
    ctx.changed{ resource = t.id, action = "TagResource",
      before = t.status_tag and (marks.STATUS .. "=" .. t.status_tag) or "untagged", after = marks.STATUS .. "=quarantined" }
  end
end

-- Deregisters the isolated tasks' IPs from the target groups of their services.
local function leave_target_groups(ctx, services)
  local elbv2 = aws.client("elbv2")
  for _, t in ipairs(tasks_of(ctx)) do
    local s = t.service and services[t.service]
    if s and t.private_ip and t.network_mode == "awsvpc" then
      for _, lb in ipairs(s.loadBalancers or {}) do
        if lb.targetGroupArn then
          local target = { Id = t.private_ip, Port = lb.containerPort }
          local h = elbv2:DescribeTargetHealth{ TargetGroupArn = lb.targetGroupArn, Targets = { target } }
          local d = h.TargetHealthDescriptions and h.TargetHealthDescriptions[1]
          local state = d and d.TargetHealth and d.TargetHealth.State
          if state and state ~= "unused" and state ~= "draining" then
            elbv2:DeregisterTargets{ TargetGroupArn = lb.targetGroupArn, Targets = { target } }
            ctx.changed{ resource = lb.targetGroupArn:match("targetgroup/([^/]+)") or lb.targetGroupArn,
              action = "DeregisterTargets", before = t.private_ip .. ":" .. tostring(lb.containerPort) .. " " .. state,
              after = "deregistered", detail = "task " .. t.id }
          end
        end
      end
    end
  end
end

local function isolate_service(ctx, ec2, ecs, services, groups)
  local carn = ctx.state.cluster_arn
  local done = {}
  for _, t in ipairs(tasks_of(ctx)) do
    local s = t.service and services[t.service]
    if s and not done[t.service] then
      done[t.service] = true
      local nc = s.networkConfiguration and s.networkConfiguration.awsvpcConfiguration
      -- Tasks cut by network ACL entries have no isolation group yet: their service needs one.
      local gid = t.vpc_id and nc and (groups[t.vpc_id]
        or isolation.ensure_group(ec2, ctx, t.vpc_id, "isolation", nil, ecs_isolation.vpc_for_plan(ec2, ctx, t.vpc_id)))
      if not nc then
        ctx.warn("service %s does not use awsvpc networking: its network configuration holds no security group to change", t.service)
      elseif not gid then
        ctx.warn("service %s: no isolation group in its VPC to use", t.service)
      elseif isolation.same_set(nc.securityGroups or {}, { gid }) then
        ctx.info("service %s already launches its tasks in %s", t.service, gid)
      else
        local tags = marks.map((function()
          local l = {}
          for _, x in ipairs(s.tags or {}) do l[#l + 1] = { Key = x.key, Value = x.value } end
          return l
        end)())
        if not tags[marks.ORIGINAL_GROUPS] then
          ecs:TagResource{ resourceArn = s.serviceArn, tags = { { key = marks.ORIGINAL_GROUPS, value = marks.join(nc.securityGroups or {}) } } }
        end
        ecs:UpdateService{ cluster = carn, service = t.service, networkConfiguration = { awsvpcConfiguration = {
          subnets = nc.subnets, securityGroups = { gid }, assignPublicIp = nc.assignPublicIp } } }
        ctx.changed{ resource = "service/" .. t.service, action = "UpdateService networkConfiguration",
          before = nc.securityGroups or {}, after = { gid },
          detail = "new tasks of the service start isolated; a new deployment starts (protected tasks stay until their protection ends)" }
        ctx.warn("service %s: every task it starts from now on has no network (an outage for the service) until its " ..
          "original groups (tag %s) are restored with aws ecs update-service", t.service, marks.ORIGINAL_GROUPS)
      end
    end
  end
end

local function isolate_hosts(ctx, ec2, ecs, gaps)
  local hosts, seen = {}, {}
  for _, g in ipairs(gaps) do
    local t = g.task
    -- A refused awsvpc ENI is separate from the host's own: isolating the host would not cut it.
    if t and not g.refused and t.ec2_instance and not seen[t.ec2_instance] then
      seen[t.ec2_instance] = true
      hosts[#hosts + 1] = { id = t.ec2_instance, ci = t.container_instance }
    end
  end
  for _, h in ipairs(hosts) do
    local others = {}
    local mine = {}
    for _, t in ipairs(tasks_of(ctx)) do mine[t.arn] = true end
    for _, a in ipairs(tasks_lib.tasks_on(ecs, ctx.state.cluster_arn, h.ci)) do
      if not mine[a] then others[#others + 1] = tasks_lib.short(a) end
    end
    local r = ec2:DescribeNetworkInterfaces{ Filters = { { Name = "attachment.instance-id", Values = { h.id } } } }
    local enis = {}
    for _, n in ipairs(r.NetworkInterfaces or {}) do
      -- Task ENIs attached to the host (awsvpc on EC2) are the tasks' own: leave them.
      if not n.RequesterManaged then enis[#enis + 1] = n end
    end
    if #enis == 0 then error("container instance " .. h.id .. " has no network interface of its own to isolate", 0) end
    local vpc = enis[1].VpcId
    local transition = isolation.ensure_group(ec2, ctx, vpc, "transition")
    local final = isolation.ensure_group(ec2, ctx, vpc, "isolation")
    for _, st in ipairs(isolation.isolate_enis(ec2, ctx, enis, transition, final, "isolated: container instance " .. h.id)) do
      ctx.info("container instance %s ENI %s: %s%s", h.id, st.id, st.state, st.error and (": " .. st.error) or "")
      if st.state == "failed" then error("container instance " .. h.id .. " ENI " .. st.id .. " NOT isolated: " .. tostring(st.error), 0) end
    end
    if #others > 0 then
      ctx.warn("isolating container instance %s also cut the network of %d other task(s) on it: %s", h.id, #others, table.concat(others, ", "))
    end
    ctx.followup("Container instance " .. h.id .. " is isolated (its ENIs' original groups are in the " .. marks.ORIGINAL_GROUPS ..
      " tag); runbooks/ec2.lua --instance " .. h.id .. " --release restores them")
  end
end

-- Says what the network ACL way leaves open, and how to undo it.
local function report_nacl(ctx, results)
  local ok_tasks, subnets = {}, {}
  for _, res in ipairs(results) do
    if res.state ~= "failed" then ok_tasks[#ok_tasks + 1] = res.task.id; subnets[#subnets + 1] = res.subnet end
  end
  if #ok_tasks == 0 then return end
  ctx.warn("task(s) %s %s network ACL deny entries, not security groups: their ENIs are requester-managed " ..
    "(AWS lets only tags change on them). The entries are stateless, so they also cut the flows the tasks already " ..
    "have (tracked ones too); they name the task addresses only, so other tasks in the same subnet keep their network; " ..
    "but a network ACL filters only traffic that crosses the subnet boundary: hosts inside subnet(s) %s can still " ..
    "reach the tasks, and the tasks them", table.concat(ok_tasks, ", "), ctx.dry_run and "would be isolated by" or "are isolated by",
    table.concat(tasks_lib.unique(subnets), ", "))
  local cmds = ecs_isolation.removal_commands(results)
  if #cmds > 0 and not ctx.dry_run then
    ctx.followup("Remove the network ACL deny entries once task(s) " .. table.concat(ok_tasks, ", ") .. " are stopped " ..
      "(the subnet hands their addresses to new tasks, which the entries would cut off; they are in the " ..
      marks.NACL_ENTRIES .. " tag of each task ENI and in nacl-entries.json): " .. table.concat(cmds, "; "))
  end
end

-- Reports the tasks left with network access, and isolates or names their hosts.
local function report_gaps(ctx, ec2, ecs, gaps)
  local gap_list = json.array()
  for _, g in ipairs(gaps) do
    gap_list[#gap_list + 1] = { task = g.task and g.task.id or "?", reason = g.reason }
    ctx.warn("task %s NOT isolated per task: %s", g.task and g.task.id or "?", g.reason)
  end
  ctx.output("isolation_gaps", gap_list)
  if #gaps > 0 then
    if ctx.params.isolate_host then
      isolate_hosts(ctx, ec2, ecs, gaps)
    else
      local hosts, per_container = {}, {}
      for _, g in ipairs(gaps) do
        if g.task and g.task.ec2_instance and not g.refused then
          hosts[#hosts + 1] = g.task.ec2_instance
          for _, rid in ipairs(g.task.runtime_ids or {}) do
            per_container[#per_container + 1] = "runbooks/container.lua --instance " .. g.task.ec2_instance .. " --container " .. rid
          end
        end
      end
      hosts = tasks_lib.unique(hosts)
      ctx.followup("Task(s) " .. (function()
          local l = {}
          for _, g in ipairs(gaps) do l[#l + 1] = g.task and g.task.id or "?" end
          return table.concat(l, ", ")
        end)() .. " still have network access: AWS cannot isolate them per task" ..
        (#hosts > 0 and ("; rerun with --isolate-host to isolate container instance(s) " .. table.concat(hosts, ", ") ..
          " (every task on them loses its network), or contain each container on its host: " ..
          table.concat(per_container, "; ")) or ""))
    end
  end
end

local function isolate(ctx)
  local ec2, ecs = aws.client("ec2"), aws.client("ecs")
  local tasks = tasks_of(ctx)
  local eni_ids = {}
  for _, t in ipairs(tasks) do if t.eni then eni_ids[#eni_ids + 1] = t.eni end end
  local described = {}
  if #eni_ids > 0 then described = ec2:DescribeNetworkInterfaces{ NetworkInterfaceIds = eni_ids }.NetworkInterfaces or {} end
  local plan = ecs_isolation.plan(tasks, described)

  local sg_results, groups = ecs_isolation.by_security_group(ec2, ctx, plan.sg)
  local nacl_results = ecs_isolation.by_network_acl(ec2, ctx, plan.nacl)

  local per_task, gaps, states = json.array(), {}, json.array()
  local function done(res)
    local state = res.state
    if ctx.dry_run and state ~= "failed" and state ~= "already isolated" then state = "would be " .. state end
    local records
    if res.records then
      records = json.array()
      for _, r in ipairs(res.records) do records[#records + 1] = r end
    end
    per_task[#per_task + 1] = { task = res.task.id, how = res.how, eni = res.eni, state = state, error = res.error,
      detail = res.detail,
      original_groups = res.original, addresses = res.addresses, nacl_entries = records }
    ctx.info("task %s: %s by %s (ENI %s)%s", res.task.id, state, res.how, res.eni,
      res.error and (": " .. res.error) or (res.detail and (": " .. res.detail)) or "")
    if res.warning then ctx.warn("task %s: %s", res.task.id, res.warning) end
    if res.state == "failed" then
      gaps[#gaps + 1] = { task = res.task, refused = true, reason = (res.how == ecs_isolation.BY_GROUP
        and ("AWS refused to change the security groups of its ENI " .. res.eni .. ": ")
        or ("its ENI " .. res.eni .. " is requester-managed (AWS allows no security group change on it) and the " ..
          "network ACL entries failed: ")) .. tostring(res.error) }
    end
  end
  for _, res in ipairs(sg_results) do
    states[#states + 1] = { id = res.eni, task = res.task.id, state = res.state, error = res.error, original = res.original }
    done(res)
  end
  for _, res in ipairs(nacl_results) do done(res) end
  for _, g in ipairs(plan.none) do
    per_task[#per_task + 1] = { task = g.task.id, how = ecs_isolation.NONE, state = "not isolated", error = g.reason }
    gaps[#gaps + 1] = g
  end
  ctx.output("isolation", per_task)
  ctx.output("enis", states)
  if #states > 0 then
    local original = {}
    for _, st in ipairs(states) do original[st.id] = st.original end
    ctx.evidence:save("original-security-groups.json", original)
  end
  if #nacl_results > 0 then
    local entries, records = json.array(), json.array()
    for _, res in ipairs(nacl_results) do
      entries[#entries + 1] = { task = res.task.id, eni = res.eni, subnet = res.subnet, network_acl = res.acl,
        addresses = res.addresses, entries = res.entries, state = res.state, error = res.error, detail = res.detail }
      for _, r in ipairs(res.records) do records[#records + 1] = r end
    end
    ctx.evidence:save("nacl-entries.json", entries)
    ctx.output("nacl_entries", records)
    report_nacl(ctx, nacl_results)
  end

  local names = {}
  for _, t in ipairs(tasks) do names[#names + 1] = t.service end
  local services = tasks_lib.services(ecs, ctx.state.cluster_arn, tasks_lib.unique(names))
  leave_target_groups(ctx, services)
  if ctx.params.isolate_service then
    isolate_service(ctx, ec2, ecs, services, groups)
  else
    local svc = {}
    for _, res in ipairs(nacl_results) do if res.task.service then svc[#svc + 1] = res.task.service end end
    svc = tasks_lib.unique(svc)
    if #svc > 0 then
      ctx.info("service(s) %s start any new task with their own security groups and a new address the ACL entries " ..
        "do not name; --isolate-service makes them launch new tasks in the isolation group", table.concat(svc, ", "))
    end
  end

  report_gaps(ctx, ec2, ecs, gaps)
  if #sg_results > 0 then
    ctx.info("what the isolation group does not cut: flows AWS always tracks (ICMP, some NAT flows); only deny entries " ..
      "for the task addresses in the subnet network ACLs cut those (as runbooks/ec2.lua --isolation-nacl does for an instance)")
  end
  -- A refused change is not a known limit of the launch type: the task still talks, so the step fails.
  local refused = {}
  for _, g in ipairs(gaps) do if g.refused then refused[#refused + 1] = g.task and g.task.id or "?" end end
  if #refused > 0 then
    error(#refused .. " task(s) NOT isolated (the change failed): " .. table.concat(refused, ", ") ..
      "; see the notes for why; --stop stops them now that their evidence is saved", 0)
  end
end

local function evaluate(ctx)
  local gd = aws.client("guardduty")
  local detector = findings.detector(gd)
  local tasks = tasks_of(ctx)
  local wanted, hosts = {}, {}
  for _, t in ipairs(tasks) do wanted[t.arn] = true; if t.ec2_instance then hosts[#hosts + 1] = t.ec2_instance end end
  hosts = tasks_lib.unique(hosts)
  local per_task = {}
  for _, t in ipairs(tasks) do per_task[t.id] = json.array() end
  local list = json.array()
  if detector then
    local cluster_name = tasks_lib.short(ctx.state.cluster_arn)
    local raw = findings.find(gd, detector, { ["resource.ecsClusterDetails.name"] = { Eq = { cluster_name } } }, function(f)
      local td = f.Resource and f.Resource.EcsClusterDetails and f.Resource.EcsClusterDetails.TaskDetails
      return td == nil or td.Arn == nil or wanted[td.Arn] == true
    end)
    if #hosts > 0 then
      for _, f in ipairs(findings.find(gd, detector, { ["resource.instanceDetails.instanceId"] = { Eq = hosts } })) do raw[#raw + 1] = f end
    end
    ctx.evidence:save("guardduty-findings.json", raw)
    for _, f in ipairs(raw) do
      local s = findings.summary(f)
      list[#list + 1] = s
      local id = s.task_arn and tasks_lib.short(s.task_arn)
      if id and per_task[id] then per_task[id][#per_task[id] + 1] = s.type end
      ctx.info("finding %s: %s, severity %s%s", tostring(s.id), tostring(s.type), tostring(s.severity),
        id and (" (task " .. id .. ")") or (s.instance_id and (" (container instance " .. s.instance_id .. ")") or " (cluster)"))
    end
  else
    ctx.warn("GuardDuty is not enabled in %s: no runtime findings to evaluate", tostring(ctx.region))
  end
  local verdict = findings.verdict(list, detector ~= nil)
  ctx.info("%s", verdict)
  ctx.output("verdict", verdict)
  ctx.output("findings", list)
  ctx.output("findings_per_task", per_task)

  if ctx.params.scan then
    local scans = json.array()
    local fargate = {}
    for _, t in ipairs(tasks) do if not t.ec2_instance then fargate[#fargate + 1] = t.id end end
    if #fargate > 0 then
      ctx.info("task(s) %s run on Fargate: there is no EBS volume GuardDuty Malware Protection can scan; " ..
        "rely on Runtime Monitoring findings and the image digests in images.json", table.concat(fargate, ", "))
    end
    if detector then
      for _, h in ipairs(hosts) do
        -- The cluster ARN carries the partition, region and account the host lives in.
        local part, region, account = ctx.state.cluster_arn:match("^arn:([^:]+):ecs:([^:]+):(%d+):")
        local arn = string.format("arn:%s:ec2:%s:%s:instance/%s", part or "aws", region or tostring(ctx.region), account or tostring(ctx.account), h)
        local m = findings.malware_scans(gd, detector, arn)
        scans[#scans + 1] = { instance = h, retention = m.retention, scans = m.scans }
        local last = m.scans[1]
        ctx.info("container instance %s: %d malware scan(s)%s; snapshot retention %s", h, #m.scans,
          last and (", latest " .. tostring(last.status) .. " " .. tostring(last.result or "")) or "", m.retention)
        -- StartMalwareScan is newer than the API models irhost embeds, so the request is a follow-up.
        ctx.followup("Request an on-demand GuardDuty malware scan of container instance " .. h ..
          ": aws guardduty start-malware-scan --resource-arn " .. arn)
      end
      ctx.evidence:save("malware-scans.json", scans)
    end
    ctx.output("malware_scans", scans)
  end
end

local function stop_tasks(ctx)
  if not ctx.state.tasks then error("the task evidence was not saved: refusing to stop tasks", 0) end
  local ecs = aws.client("ecs")
  local carn = ctx.state.cluster_arn
  local current = {}
  local refs = {}
  for _, t in ipairs(tasks_of(ctx)) do refs[#refs + 1] = t.arn end
  for _, t in ipairs(ecs:DescribeTasks{ cluster = carn, tasks = refs }.tasks or {}) do current[t.taskArn] = t end
  for _, t in ipairs(tasks_of(ctx)) do
    local c = current[t.arn]
    if c and c.desiredStatus ~= "STOPPED" then
      ecs:StopTask{ cluster = carn, task = t.arn, reason = ("irhost " .. (ctx.ticket or "") .. ": compromised, evidence saved"):sub(1, 255) }
      ctx.changed{ resource = t.id, action = "StopTask", before = tostring(c.lastStatus), after = "STOPPED" }
    else
      ctx.info("task %s is already stopped", t.id)
    end
  end
  ctx.followup("Stopped tasks of a service are replaced by the scheduler from the same task definition and image: " ..
    "fix or roll back the image before the replacements run it again")
end

---------------------------------------------------------------------------- declaration

return ir.runbook {
  name = "ecs-compromise",
  description = "Contain compromised ECS tasks: save tasks, task definitions, images (digests) and hosts as evidence, " ..
    "protect the tasks from scale-in, isolate each task's network (isolation group on its ENI, or network ACL deny " ..
    "entries for its addresses where AWS refuses to change a requester-managed ENI; reporting what it cannot isolate), " ..
    "and evaluate GuardDuty runtime findings",
  params = {
    cluster = { pattern = "^[%w:/_.-]+$", metavar = "NAME", help = "the cluster (name or ARN; or give --finding)" },
    task = { type = "list", pattern = "^[%w:/_.-]+$", metavar = "ID", help = "a task id or ARN" },
    service = { pattern = "^[%w_.-]+$", metavar = "NAME", help = "every running task of this service" },
    finding = { type = "file", help = "a GuardDuty Runtime finding (raw, EventBridge, SNS, GetFindings or ASFF) naming the task" },
    protect_minutes = { type = "integer", default = MAX_PROTECTION_MINUTES, min = 1, max = MAX_PROTECTION_MINUTES, metavar = "MINUTES",
      help = "how long the tasks stay protected from scale-in" },
    isolate_host = { type = "boolean", help = "isolate the container instance of tasks that have no ENI of their own (every task on it loses its network)" },
    isolate_service = { type = "boolean", help = "also make the service launch new tasks in the isolation group (for a compromised image; an outage for the service)" },
    scan = { type = "boolean", help = "report GuardDuty Malware Protection scans of the container instances and how to request one" },
    stop = { type = "boolean", help = "stop the tasks after their evidence is saved (the service replaces them)" },
  },
  validate = function(p)
    if not p.cluster and not p.finding then return "give --cluster NAME (with --task ID or --service NAME) or --finding FILE" end
    if p.cluster and not p.finding and not p.service and (not p.task or #p.task == 0) then return "give --task ID or --service NAME" end
    if p.service and p.task and #p.task > 0 then return "give --task or --service, not both" end
  end,
  permissions = {
    "ecs:DescribeClusters", "ecs:ListTasks", "ecs:DescribeTasks", "ecs:DescribeTaskDefinition", "ecs:DescribeServices",
    "ecs:DescribeContainerInstances", "ecs:GetTaskProtection", "ecs:UpdateTaskProtection", "ecs:TagResource",
    "ecs:UpdateService", "ecs:StopTask",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:DescribeVpcs",
    "ec2:DescribeNetworkAcls", "ec2:CreateNetworkAclEntry",
    "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifyNetworkInterfaceAttribute", "ec2:CreateTags",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DeregisterTargets",
    "guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings", "guardduty:GetMalwareScanSettings",
    "guardduty:DescribeMalwareScans",
  },
  steps = {
    { name = "Identify tasks and save evidence", run = identify,
      description = "cluster, tasks, task definitions, services, container instances, ENIs and security groups; images with digests" },
    { name = "Protect tasks from scale-in", run = protect,
      description = "UpdateTaskProtection for service tasks, so the scheduler does not replace them; tags every task" },
    { name = "Isolate task network interfaces", run = isolate, destructive = true,
      confirm = "Isolate the tasks' network (cuts their network traffic)?",
      description = "awsvpc task ENIs to irhost-isolation (via an all-traffic group, so tracked flows end); requester-managed " ..
        "ENIs (Fargate), which AWS refuses to change: network ACL deny entries for the task addresses; bridge/host " ..
        "network mode tasks have no ENI of their own: reported, or --isolate-host isolates their container instance" },
    { name = "Evaluate malicious activity", run = evaluate,
      description = "GuardDuty runtime findings for the tasks and their hosts; --scan: Malware Protection scans" },
    { name = "Stop the tasks", run = stop_tasks, destructive = true,
      when = function(ctx) return ctx.params.stop, "only with --stop" end },
  },
  followups = {
    function(ctx)
      return "Hand the evidence (run directory, image digests) to the investigation under ticket " .. (ctx.ticket or "(none)") ..
        "; pull the images by digest to analyse them offline"
    end,
  },
}

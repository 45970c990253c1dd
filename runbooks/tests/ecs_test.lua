-- Tests for runbooks/ecs.lua with stubbed AWS (no network):  irhost test runbooks/tests/ecs_test.lua
-- One Fargate task (awsvpc network mode, its own ENI) of service "api" behind a load
-- balancer target group, in cluster prod-cluster; GuardDuty Runtime Monitoring reports one
-- finding for it. Its ENI is requester-managed (AWS refuses to change its groups), so the
-- runbook isolates it with network ACL deny entries; the same task with an ENI of the
-- account's own takes the isolation group. The end-to-end tests in tests/ecs/ run the same
-- runbook against the local AWS endpoint (bridge-mode tasks, --isolate-host,
-- --isolate-service, --stop).
local RB = "../ecs.lua"
local ACCOUNT, REGION = "111122223333", "us-east-1"
local CLUSTER = "prod-cluster"
local CLUSTER_ARN = "arn:aws:ecs:" .. REGION .. ":" .. ACCOUNT .. ":cluster/" .. CLUSTER
local TASK_ID = "0a1b2c3d4e5f67890a1b2c3d4e5f6789"
local TASK_ARN = "arn:aws:ecs:" .. REGION .. ":" .. ACCOUNT .. ":task/" .. CLUSTER .. "/" .. TASK_ID
local DEF_ARN = "arn:aws:ecs:" .. REGION .. ":" .. ACCOUNT .. ":task-definition/api:7"
local SERVICE_ARN = "arn:aws:ecs:" .. REGION .. ":" .. ACCOUNT .. ":service/" .. CLUSTER .. "/api"
local TG_ARN = "arn:aws:elasticloadbalancing:" .. REGION .. ":" .. ACCOUNT .. ":targetgroup/api-tg/73e2d6bc24d8a067"
local IMAGE = ACCOUNT .. ".dkr.ecr." .. REGION .. ".amazonaws.com/api:1.4.2"
local DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
local VPC, SUBNET = "vpc-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"
local ENI, TASK_IP = "eni-0123456789abcdef0", "10.0.1.25"
local ACL = "acl-0c1d2e3f4a5b6c7d8"
local APP_SG, TRANSITION_SG, ISO_SG = "sg-0123456789abcdef0", "sg-0aaaaaaaaaaaaaaa1", "sg-0bbbbbbbbbbbbbbb2"
local DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"
local FINDING_ID = "a2c4e6f8b0d1e3f5a7c9e1b3d5f7a9c1"

-- Stubs for the task; `state` is what AWS holds, changed by the run. opts.own_eni: the
-- ENI is not requester-managed (the runbook decides by that flag alone, never by the
-- launch type, so only the flag changes).
local function fargate_task(opts)
  opts = opts or {}
  local state = { eni_groups = { APP_SG }, eni_tags = {}, task_tags = {}, protected = false, target = "healthy",
    rules = {}, created = {}, stopped = false, acl_entries = {} }
  local function task()
    return { taskArn = TASK_ARN, clusterArn = CLUSTER_ARN, taskDefinitionArn = DEF_ARN, group = "service:api",
      launchType = "FARGATE", lastStatus = "RUNNING", desiredStatus = state.stopped and "STOPPED" or "RUNNING",
      startedBy = "ecs-svc/1234567890123456789", tags = state.task_tags,
      attachments = { { id = "3c2e1f0a-9b8d-4c7e-a6f5-e4d3c2b1a098", type = "ElasticNetworkInterface",
        status = "ATTACHED",
        details = { { name = "subnetId", value = SUBNET }, { name = "networkInterfaceId", value = ENI },
          { name = "privateIPv4Address", value = TASK_IP } } } },
      containers = { { containerArn = "arn:aws:ecs:" .. REGION .. ":" .. ACCOUNT .. ":container/" .. CLUSTER .. "/" ..
        TASK_ID .. "/5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c", taskArn = TASK_ARN, name = "api", image = IMAGE,
        imageDigest = DIGEST, runtimeId = TASK_ID .. "-2531612879", lastStatus = "RUNNING" } } }
  end
  local function eni()
    local groups = {}
    for _, g in ipairs(state.eni_groups) do groups[#groups + 1] = { GroupId = g, GroupName = g } end
    return { NetworkInterfaceId = ENI, SubnetId = SUBNET, VpcId = VPC, PrivateIpAddress = TASK_IP, Groups = groups,
      InterfaceType = "interface", Status = "in-use", TagSet = state.eni_tags,
      RequesterManaged = not opts.own_eni, RequesterId = (not opts.own_eni) and "578734482556" or nil,
      Description = "arn:aws:ecs:" .. REGION .. ":" .. ACCOUNT .. ":attachment/3c2e1f0a-9b8d-4c7e-a6f5-e4d3c2b1a098" }
  end
  stub("ecs", "DescribeClusters", { clusters = { { clusterArn = CLUSTER_ARN, clusterName = CLUSTER, status = "ACTIVE",
    runningTasksCount = 2, activeServicesCount = 1, registeredContainerInstancesCount = 0 } }, failures = {} },
    { expect = { clusters = { CLUSTER } } })
  stub("ecs", "DescribeTasks", function() return { tasks = { task() }, failures = {} } end,
    { expect = { cluster = CLUSTER_ARN, tasks = { TASK_ID } }, times = 1 })
  stub("ecs", "DescribeTasks", function() return { tasks = { task() }, failures = {} } end,
    { expect = { cluster = CLUSTER_ARN, tasks = { TASK_ARN } } })
  stub("ecs", "DescribeTaskDefinition", { taskDefinition = { taskDefinitionArn = DEF_ARN, family = "api", revision = 7,
    networkMode = "awsvpc", requiresCompatibilities = { "FARGATE" }, cpu = "256", memory = "512",
    containerDefinitions = { { name = "api", image = IMAGE, essential = true,
      portMappings = { { containerPort = 8080, protocol = "tcp" } } } } }, tags = {} },
    { expect = { taskDefinition = DEF_ARN } })
  stub("ecs", "DescribeServices", { services = { { serviceName = "api", serviceArn = SERVICE_ARN,
    clusterArn = CLUSTER_ARN,
    status = "ACTIVE", desiredCount = 2, runningCount = 2, launchType = "FARGATE",
    loadBalancers = { { targetGroupArn = TG_ARN, containerName = "api", containerPort = 8080 } },
    networkConfiguration = { awsvpcConfiguration = { subnets = { SUBNET }, securityGroups = { APP_SG },
      assignPublicIp = "DISABLED" } },
    tags = {} } }, failures = {} }, { expect = { cluster = CLUSTER_ARN, services = { "api" } } })
  stub("ec2", "DescribeNetworkInterfaces", function() return { NetworkInterfaces = { eni() } } end,
    { expect = { NetworkInterfaceIds = { ENI } } })
  -- The app's group by id; the irhost groups by name (absent until created).
  stub("ec2", "DescribeSecurityGroups", function(p)
    if p.GroupIds then
      return { SecurityGroups = { { GroupId = APP_SG, GroupName = "api", VpcId = VPC, OwnerId = ACCOUNT,
        Description = "api tasks" } } }
    end
    local name = p.Filters[2].Values[1]
    local gid = state.created[name]
    if not gid then return { SecurityGroups = {} } end
    return { SecurityGroups = { { GroupId = gid, GroupName = name, VpcId = VPC, OwnerId = ACCOUNT,
      Description = name } } }
  end)
  stub("ec2", "CreateSecurityGroup", function(p)
    local gid = p.GroupName == "irhost-isolation" and ISO_SG or TRANSITION_SG
    state.created[p.GroupName] = gid
    -- A new group comes with AWS's default egress rule (all traffic to 0.0.0.0/0).
    state.rules[gid] = { { SecurityGroupRuleId = "sgr-0" .. gid:sub(5), GroupId = gid, IsEgress = true,
      IpProtocol = "-1",
      FromPort = -1, ToPort = -1, CidrIpv4 = "0.0.0.0/0" } }
    return { GroupId = gid }
  end, { expect = { VpcId = VPC } })
  stub("ec2", "DescribeSecurityGroupRules", function(p)
    return { SecurityGroupRules = state.rules[p.Filters[1].Values[1]] or {} }
  end)
  for _, op in ipairs({ "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress",
      "RevokeSecurityGroupIngress" }) do
    stub("ec2", op, { Return = true })
  end
  stub("ec2", "CreateTags", function(p)
    for _, t in ipairs(p.Tags) do state.eni_tags[#state.eni_tags + 1] = t end
    return {}
  end, { expect = { Resources = { ENI } } })
  stub("ec2", "ModifyNetworkInterfaceAttribute", function(p)
    if not opts.own_eni then return { error = { code = "AuthFailure", status = 400,
      message = "You do not have permission to access the specified resource." } } end
    state.eni_groups = p.Groups
    return {}
  end)
  stub("ec2", "DescribeVpcs", { Vpcs = { { VpcId = VPC, CidrBlock = "10.0.0.0/16" } } }, { expect = { VpcIds = { VPC } } })
  -- The subnet's ACL: AWS's default allow rules at 100, the catch-all deny, and what the run adds.
  stub("ec2", "DescribeNetworkAcls", function()
    local entries = {
      { RuleNumber = 100, Protocol = "-1", RuleAction = "allow", Egress = false, CidrBlock = "0.0.0.0/0" },
      { RuleNumber = 100, Protocol = "-1", RuleAction = "allow", Egress = true, CidrBlock = "0.0.0.0/0" },
      { RuleNumber = 32767, Protocol = "-1", RuleAction = "deny", Egress = false, CidrBlock = "0.0.0.0/0" },
      { RuleNumber = 32767, Protocol = "-1", RuleAction = "deny", Egress = true, CidrBlock = "0.0.0.0/0" } }
    for _, e in ipairs(state.acl_entries) do entries[#entries + 1] = e end
    return { NetworkAcls = { { NetworkAclId = ACL, VpcId = VPC, IsDefault = true,
      Associations = { { NetworkAclAssociationId = "aclassoc-0c1d2e3f4a5b6c7d8", NetworkAclId = ACL, SubnetId = SUBNET } },
      Entries = entries } } }
  end, { expect = { Filters = { { Name = "association.subnet-id", Values = { SUBNET } } } } })
  stub("ec2", "CreateNetworkAclEntry", function(p)
    state.acl_entries[#state.acl_entries + 1] = { RuleNumber = p.RuleNumber, Protocol = p.Protocol,
      RuleAction = p.RuleAction, Egress = p.Egress, CidrBlock = p.CidrBlock }
    return {}
  end, { expect = { NetworkAclId = ACL } })
  stub("ecs", "GetTaskProtection", { protectedTasks = { { taskArn = TASK_ARN, protectionEnabled = false } },
    failures = {} })
  stub("ecs", "UpdateTaskProtection", function(p)
    state.protected = p.protectionEnabled
    return { protectedTasks = { { taskArn = TASK_ARN, protectionEnabled = true,
      expirationDate = "2026-12-05T17:35:00Z" } },
      failures = {} }
  end)
  stub("ecs", "TagResource", function(p)
    for _, t in ipairs(p.tags) do state.task_tags[#state.task_tags + 1] = t end
    return {}
  end, { expect = { resourceArn = TASK_ARN } })
  stub("elbv2", "DescribeTargetHealth", function()
    return { TargetHealthDescriptions = { { Target = { Id = TASK_IP, Port = 8080 },
      TargetHealth = { State = state.target } } } }
  end, { expect = { TargetGroupArn = TG_ARN, Targets = { { Id = TASK_IP, Port = 8080 } } } })
  stub("elbv2", "DeregisterTargets", function() state.target = "draining"; return {} end)
  stub("guardduty", "ListDetectors", { DetectorIds = { DETECTOR } })
  stub("guardduty", "ListFindings", { FindingIds = { FINDING_ID } }, { expect = { DetectorId = DETECTOR,
    FindingCriteria = { Criterion = { ["resource.ecsClusterDetails.name"] = { Eq = { CLUSTER } } } } } })
  stub("guardduty", "GetFindings", { Findings = { {
    AccountId = ACCOUNT, Region = REGION, Partition = "aws", Id = FINDING_ID, SchemaVersion = "2.0",
    Arn = "arn:aws:guardduty:" .. REGION .. ":" .. ACCOUNT .. ":detector/" .. DETECTOR .. "/finding/" .. FINDING_ID,
    Type = "Execution:Runtime/NewBinaryExecuted", Severity = 5,
      Title = "A newly created or recently modified binary file has been executed.",
    CreatedAt = "2026-12-03T08:02:11.000Z", UpdatedAt = "2026-12-03T08:40:19.000Z",
    Resource = { ResourceType = "ECSCluster", EcsClusterDetails = { Name = CLUSTER, Arn = CLUSTER_ARN,
      Status = "ACTIVE",
      TaskDetails = { Arn = TASK_ARN, DefinitionArn = DEF_ARN, Version = "3", Group = "service:api",
        Containers = { { Name = "api", Image = IMAGE, Id = TASK_ID .. "-2531612879" } } } } },
    Service = { ServiceName = "guardduty", DetectorId = DETECTOR, FeatureName = "RuntimeMonitoring", Count = 1,
      Archived = false,
      EventFirstSeen = "2026-12-03T08:00:56.000Z", EventLastSeen = "2026-12-03T08:00:56.000Z" } } } },
    { expect = { DetectorId = DETECTOR, FindingIds = { FINDING_ID } } })
  stub("ecs", "StopTask", function() state.stopped = true; return { task = task() } end)
  return state
end

local ARGS = { "--cluster", CLUSTER, "--task", TASK_ID, "--ticket", "IR-42" }
local function args(...)
  local out = {}
  for _, a in ipairs(ARGS) do out[#out + 1] = a end
  for _, a in ipairs({ ... }) do out[#out + 1] = a end
  return out
end

-- The isolation calls: two groups made (transition: all traffic; isolation: none), then the ENI moved twice.
local ISOLATE_CALLS = {
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSecurityGroups", "ec2:CreateSecurityGroup", "ec2:DescribeSecurityGroupRules",
  "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
  "ec2:DescribeSecurityGroups", "ec2:CreateSecurityGroup", "ec2:DescribeSecurityGroupRules",
  "ec2:RevokeSecurityGroupEgress",
  "ec2:CreateTags", "ec2:ModifyNetworkInterfaceAttribute", "ec2:ModifyNetworkInterfaceAttribute",
  "ecs:DescribeServices", "elbv2:DescribeTargetHealth", "elbv2:DeregisterTargets",
}

local function concat(...)
  local out = {}
  for _, list in ipairs({ ... }) do for _, x in ipairs(list) do out[#out + 1] = x end end
  return out
end

-- The isolation calls for a requester-managed ENI: the ACL read (once to map the subnet,
-- once by nacl_deny), a deny entry each way, the entries recorded on the ENI.
local NACL_CALLS = {
  "ec2:DescribeNetworkInterfaces", "ec2:DescribeNetworkAcls", "ec2:DescribeNetworkAcls",
  "ec2:CreateNetworkAclEntry", "ec2:CreateNetworkAclEntry", "ec2:CreateTags",
  "ecs:DescribeServices", "elbv2:DescribeTargetHealth", "elbv2:DeregisterTargets",
}

test("a Fargate task: evidence, protection, network ACL deny entries (its ENI is requester-managed), finding read", function()
  local state = fargate_task()
  local r = run(RB, args("--yes"))
  expect_eq(r.exit, 0, "exit")
  local s = r.statuses
  for _, name in ipairs({ "Identify tasks and save evidence", "Protect tasks from scale-in",
    "Isolate task network interfaces", "Evaluate malicious activity" }) do
    expect_eq(s[name], "done", name)
  end
  expect_calls(r, concat(
    { "ecs:DescribeClusters", "ecs:DescribeTasks", "ecs:DescribeTaskDefinition", "ecs:DescribeServices",
      "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
      "ecs:GetTaskProtection", "ecs:UpdateTaskProtection", "ecs:TagResource" },
    NACL_CALLS,
    { "guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings" }))
  -- AWS refuses any change to the ENI but tags: no group made, the ENI never moved.
  expect_no_call(r, "ec2:ModifyNetworkInterfaceAttribute")
  expect_no_call(r, "ec2:CreateSecurityGroup")
  expect_no_call(r, "ecs:UpdateService")
  expect_call(r, "ec2:CreateNetworkAclEntry", { NetworkAclId = ACL, RuleNumber = 1, Protocol = "-1", RuleAction = "deny",
    Egress = false, CidrBlock = TASK_IP .. "/32" })
  expect_call(r, "ec2:CreateNetworkAclEntry", { NetworkAclId = ACL, RuleNumber = 1, Protocol = "-1", RuleAction = "deny",
    Egress = true, CidrBlock = TASK_IP .. "/32" })
  expect_eq(state.eni_groups, { APP_SG }, "the ENI keeps its groups")
  local eni_tags = {}
  for _, t in ipairs(state.eni_tags) do eni_tags[t.Key] = t.Value end
  expect_eq(eni_tags["irhost:nacl-entries"], ACL .. ":1:in," .. ACL .. ":1:out", "the entries recorded on the ENI")
  local out = r.steps["Isolate task network interfaces"].outputs
  expect_eq(out.isolation[1].task, TASK_ID, "per-task isolation: task")
  expect_eq(out.isolation[1].how, "network ACL", "per-task isolation: how")
  expect_eq(out.isolation[1].nacl_entries, { ACL .. ":1:in", ACL .. ":1:out" }, "per-task isolation: entries")
  expect_eq(out.isolation_gaps, {}, "isolation gaps")
  local ev = json.decode(r.evidence["nacl-entries.json"])
  expect_eq(ev[1].network_acl, ACL, "nacl-entries.json: the ACL")
  expect_eq(ev[1].addresses, { TASK_IP }, "nacl-entries.json: the task's address")
  expect(r.evidence["original-security-groups.json"] == nil, "no group change, so no original groups to save")
  -- The report says what the entries leave open and how to remove them.
  expect_match(r.report, "requester%-managed")
  expect_match(r.report, "stateless")
  expect_match(r.report, "other tasks in the same subnet keep their network")
  expect_match(r.report, "hosts inside subnet%(s%) " .. SUBNET:gsub("%-", "%%-") .. " can still reach")
  expect_match(r.report, "aws ec2 delete%-network%-acl%-entry %-%-network%-acl%-id " .. ACL:gsub("%-", "%%-") ..
    " %-%-rule%-number 1 %-%-ingress")
  expect_match(r.report, "DeregisterTargets")
end)

test("a rerun finds its ACL entries and adds none twice", function()
  local state = fargate_task()
  local r1 = run(RB, args("--yes"))
  expect_eq(r1.exit, 0, "first run")
  -- The second run names the task by ARN (the first DescribeTasks stub answered the id once).
  local r = run(RB, { "--cluster", CLUSTER, "--task", TASK_ARN, "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 0, "second run")
  expect_no_call(r, "ec2:CreateNetworkAclEntry")
  expect_eq(#state.acl_entries, 2, "two entries in all")
  expect_eq(r.steps["Isolate task network interfaces"].outputs.nacl_entries, { ACL .. ":1:in", ACL .. ":1:out" },
    "the entries found again")
end)

test("an awsvpc task with an ENI of its own: evidence, scale-in protection, ENI isolated, out of its target group", function()
  local state = fargate_task{ own_eni = true }
  local r = run(RB, args("--yes"))
  expect_eq(r.exit, 0, "exit")
  local s = r.statuses
  for _, name in ipairs({ "Identify tasks and save evidence", "Protect tasks from scale-in",
    "Isolate task network interfaces",
      "Evaluate malicious activity" }) do
    expect_eq(s[name], "done", name)
  end
  expect_eq(s["Stop the tasks"], "skipped", "stop step without --stop")
  expect_calls(r, concat(
    { "ecs:DescribeClusters", "ecs:DescribeTasks", "ecs:DescribeTaskDefinition", "ecs:DescribeServices",
      "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
      "ecs:GetTaskProtection", "ecs:UpdateTaskProtection", "ecs:TagResource" },
    ISOLATE_CALLS,
    { "guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings" }))
  expect_call(r, "ecs:UpdateTaskProtection", { cluster = CLUSTER_ARN, tasks = { TASK_ARN }, protectionEnabled = true,
    expiresInMinutes = 2880 })
  -- The transition group lets all traffic through (v4 and v6, both ways: the default egress kept), the isolation
  -- group none.
  expect_call(r, "ec2:AuthorizeSecurityGroupIngress", { GroupId = TRANSITION_SG, IpPermissions = { { IpProtocol = "-1",
    IpRanges = { { CidrIp = "0.0.0.0/0" } } } } })
  expect_call(r, "ec2:AuthorizeSecurityGroupIngress", { GroupId = TRANSITION_SG, IpPermissions = { { IpProtocol = "-1",
    Ipv6Ranges = { { CidrIpv6 = "::/0" } } } } })
  expect_call(r, "ec2:AuthorizeSecurityGroupEgress", { GroupId = TRANSITION_SG, IpPermissions = { { IpProtocol = "-1",
    Ipv6Ranges = { { CidrIpv6 = "::/0" } } } } })
  expect_call(r, "ec2:RevokeSecurityGroupEgress", { GroupId = ISO_SG,
    SecurityGroupRuleIds = { "sgr-0" .. ISO_SG:sub(5) } })
  expect_call(r, "ec2:ModifyNetworkInterfaceAttribute", { NetworkInterfaceId = ENI, Groups = { TRANSITION_SG } })
  expect_call(r, "ec2:ModifyNetworkInterfaceAttribute", { NetworkInterfaceId = ENI, Groups = { ISO_SG } })
  expect_call(r, "elbv2:DeregisterTargets", { TargetGroupArn = TG_ARN, Targets = { { Id = TASK_IP, Port = 8080 } } })
  expect_no_call(r, "ecs:StopTask")
  expect_no_call(r, "ecs:UpdateService")
  expect_eq(state.eni_groups, { ISO_SG }, "the ENI ends in the isolation group only")
  expect_eq(state.protected, true, "scale-in protection")
  local eni_tags, task_tags = {}, {}
  for _, t in ipairs(state.eni_tags) do eni_tags[t.Key] = t.Value end
  for _, t in ipairs(state.task_tags) do task_tags[t.key] = t.value end
  expect_eq(eni_tags["irhost:original-groups"], APP_SG, "original groups recorded on the ENI")
  expect_eq(task_tags["irhost:status"], "quarantined", "task status tag")
  expect_eq(task_tags["irhost:ticket"], "IR-42", "task ticket tag")
  -- Evidence and what the report says.
  local images = json.decode(r.evidence["images.json"])
  expect_eq(images, { { task = TASK_ID, container = "api", image = IMAGE, digest = DIGEST,
    runtime_id = TASK_ID .. "-2531612879" } },
    "images with digests")
  for _, f in ipairs({ "cluster.json", "tasks.json", "task-definitions.json", "services.json",
    "network-interfaces.json",
      "security-groups.json", "original-security-groups.json", "guardduty-findings.json" }) do
    expect(r.evidence[f] ~= nil, f .. " saved as evidence")
  end
  local out = r.steps["Evaluate malicious activity"].outputs
  expect_match(out.verdict, "^malicious activity reported: 1 GuardDuty finding%(s%), highest severity 5")
  expect_eq(out.findings_per_task, { [TASK_ID] = { "Execution:Runtime/NewBinaryExecuted" } }, "findings per task")
  expect_eq(r.steps["Isolate task network interfaces"].outputs.isolation_gaps, {}, "isolation gaps")
  expect_match(r.report, "UpdateTaskProtection")
  expect_match(r.report, "DeregisterTargets")
end)

test("a dry run of a Fargate task plans the ACL entries and no group change", function()
  local state = fargate_task()
  local r = run(RB, args("--dry-run", "--stop"))
  expect_eq(r.exit, 0, "exit")
  local planned = {}
  for _, c in ipairs(r.calls) do
    expect(not aws.is_mutating(c.service, c.operation) or c.planned, c.name .. " was sent in a dry run")
    if c.planned then planned[#planned + 1] = c.name end
  end
  expect_eq(planned, { "ecs:UpdateTaskProtection", "ecs:TagResource", "ec2:CreateNetworkAclEntry",
    "ec2:CreateNetworkAclEntry", "ec2:CreateTags", "elbv2:DeregisterTargets", "ecs:StopTask" }, "planned changes")
  expect_call(r, "ec2:CreateNetworkAclEntry", { NetworkAclId = ACL, RuleNumber = 1, Egress = true, CidrBlock = TASK_IP .. "/32" })
  expect_eq(state.acl_entries, {}, "no entry added")
  expect_eq(state.eni_tags, {}, "ENI not tagged")
  expect_match(r.report, "would be isolated by network ACL deny entries")
end)

test("a dry run saves the evidence, sends no change and plans each one", function()
  local state = fargate_task{ own_eni = true }
  local r = run(RB, args("--dry-run", "--stop"))
  expect_eq(r.exit, 0, "exit")
  local planned = {}
  for _, c in ipairs(r.calls) do
    expect(not aws.is_mutating(c.service, c.operation) or c.planned, c.name .. " was sent in a dry run")
    if c.planned then planned[#planned + 1] = c.name end
  end
  -- The groups do not exist: their rules are planned against the rules AWS gives a new
  -- group (the VPC has no IPv6 block), so the plan holds what the real run changes.
  expect_eq(planned, { "ecs:UpdateTaskProtection", "ecs:TagResource",
    "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:CreateSecurityGroup", "ec2:RevokeSecurityGroupEgress",
    "ec2:CreateTags", "ec2:ModifyNetworkInterfaceAttribute", "ec2:ModifyNetworkInterfaceAttribute",
    "elbv2:DeregisterTargets", "ecs:StopTask" }, "planned changes")
  expect_no_call(r, "ec2:CreateNetworkAclEntry")
  local s = r.statuses
  expect_eq(s["Identify tasks and save evidence"], "done", "evidence step")
  expect_eq(s["Isolate task network interfaces"], "dry-run", "isolation step")
  expect_eq(s["Stop the tasks"], "dry-run", "stop step")
  expect(r.evidence["tasks.json"] ~= nil, "the evidence is saved in a dry run too")
  expect_eq(state.eni_groups, { APP_SG }, "ENI groups unchanged")
  expect_eq(state.protected, false, "no protection")
  expect_eq(state.target, "healthy", "still registered")
  expect_eq(state.stopped, false, "task still running")
  expect_match(r.report, "StopTask")
end)

test("a wrong cluster name fails the first step with the AWS answer explained", function()
  -- DescribeClusters answers an unknown name with a failure, not an error.
  stub("ecs", "DescribeClusters", { clusters = {}, failures = { { arn = "arn:aws:ecs:" .. REGION .. ":" .. ACCOUNT ..
    ":cluster/prod-clustr", reason = "MISSING" } } }, { expect = { clusters = { "prod-clustr" } } })
  local r = run(RB, { "--cluster", "prod-clustr", "--task", TASK_ID, "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 1, "exit")
  expect_calls(r, { "ecs:DescribeClusters" })
  local s = r.statuses
  expect_eq(s["Identify tasks and save evidence"], "failed", "first step")
  expect_eq(s["Protect tasks from scale-in"], nil, "no later step ran")
  expect_match(r.steps["Identify tasks and save evidence"].error,
    "ECS cluster prod%-clustr was not found in region us%-east%-1 %(MISSING%): check %-%-cluster and %-%-region")
  expect_match(r.message, '^step 1 "Identify tasks and save evidence" failed: ECS cluster prod%-clustr was not found')
  expect_match(r.report, "Outcome | %*%*failed%*%* %(exit 1%)")
end)

test("a wrong task id fails the first step naming the task", function()
  stub("ecs", "DescribeClusters", { clusters = { { clusterArn = CLUSTER_ARN, clusterName = CLUSTER,
    status = "ACTIVE" } } })
  -- DescribeTasks answers an unknown task with a failure, not an error.
  stub("ecs", "DescribeTasks", { tasks = {},
    failures = { { arn = "arn:aws:ecs:" .. REGION .. ":" .. ACCOUNT .. ":task/" ..
    CLUSTER .. "/ffffffffffffffffffffffffffffffff", reason = "MISSING" } } },
    { expect = { cluster = CLUSTER_ARN, tasks = { "ffffffffffffffffffffffffffffffff" } } })
  local r = run(RB, { "--cluster", CLUSTER, "--task", "ffffffffffffffffffffffffffffffff", "--ticket", "IR-42",
    "--yes" })
  expect_eq(r.exit, 1, "exit")
  expect_calls(r, { "ecs:DescribeClusters", "ecs:DescribeTasks" })
  expect_match(r.steps["Identify tasks and save evidence"].error,
    "task%(s%) not found in cluster prod%-cluster: ffffffffffffffffffffffffffffffff %(MISSING%)")
end)

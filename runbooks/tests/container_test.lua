-- Tests for runbooks/container.lua with stubbed AWS (no network):
--   irhost test runbooks/tests/container_test.lua
-- A running, SSM-managed Amazon Linux host with two Docker containers; the suspect one
-- (9c4e2d1b7a30...) is named by a GuardDuty Runtime finding. SSM commands report
-- InProgress once, then Success, as the host would. The end-to-end tests in tests/container/
-- run the same runbook against the local AWS endpoint; tests/container/test_container_scripts.py
-- runs the host scripts themselves.
local RB = "../container.lua"
local ACCOUNT, REGION = "111122223333", "us-east-1"
local HOST = "i-0abc1234def567890"
local SUSPECT = "9c4e2d1b7a30f5e6d7c8b9a0e1f2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e"
local KEY = SUSPECT:sub(1, 12)
local OTHER = "3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e"
local DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"
local FINDING_ID = "b4d6f8a0c2e4a6c8e0b2d4f6a8c0e2b4"
local PS = SUSPECT .. " web nginx:1.25 Up 3 hours\n" .. OTHER .. " metrics prom/node-exporter:v1.7.0 Up 5 days\n"

-- What the host prints for each script, by its first distinctive line.
local function host_output(lines)
  local text = table.concat(lines, "\n")
  if text:find("docker ps --all", 1, true) then return PS end
  if text:find("docker network disconnect", 1, true) then
    return "irhost: iptables IRHOST-" .. KEY .. " drops 172.17.0.2\n" ..
      "irhost: iptables DOCKER-USER jumps to IRHOST-" .. KEY .. "\n" ..
      "irhost: disconnected from bridge\nirhost: isolated " .. SUSPECT .. "\n"
  end
  if text:find("docker pause", 1, true) then return "irhost: paused " .. SUSPECT .. "\n" end
  if text:find("docker inspect --type container '", 1, true) then
    return '[{"Id":"' .. SUSPECT .. '","State":{"Paused":true}}]\n'
  end
  if text:find("docker top", 1, true) then
    return "PID PPID USER STARTED ELAPSED COMMAND\n4242 4200 root Thu Dec  3 14:01:02 2026 03:34:00 /tmp/.x/kworker\n"
  end
  if text:find("docker logs", 1, true) then return "2026-12-03T14:01:02.000000000Z GET /cgi-bin/.%2e/bin/sh 200\n" end
  if text:find("docker diff", 1, true) then return "A /tmp/.x\nA /tmp/.x/kworker\n" end
  return ""
end

-- Stubs for the host; `state` records what the run sent and changed.
local function docker_host()
  local state = { tags = {}, commands = {}, polls = {} }
  stub("ec2", "DescribeInstances", function()
    return { Reservations = { { ReservationId = "r-0123456789abcdef0", OwnerId = ACCOUNT, Instances = { {
      InstanceId = HOST, InstanceType = "m6i.large", ImageId = "ami-0fedcba9876543210", State = { Code = 16,
        Name = "running" },
      Placement = { AvailabilityZone = "us-east-1a" }, VpcId = "vpc-0a1b2c3d4e5f60718",
        SubnetId = "subnet-0f1e2d3c4b5a69788",
      PrivateIpAddress = "10.0.1.10", Tags = state.tags } } } } }
  end, { expect = { InstanceIds = { HOST } } })
  stub("ssm", "DescribeInstanceInformation", { InstanceInformationList = { { InstanceId = HOST, PingStatus = "Online",
    LastPingDateTime = "2026-12-03T17:30:00Z", AgentVersion = "3.2.1705.0", PlatformType = "Linux",
    PlatformName = "Amazon Linux", PlatformVersion = "2023", ResourceType = "EC2Instance" } } },
    { expect = { Filters = { { Key = "InstanceIds", Values = { HOST } } } } })
  stub("ssm", "SendCommand", function(p)
    local id = string.format("%08x-1234-4abc-8def-0123456789ab", #state.commands + 1)
    state.commands[#state.commands + 1] = { id = id, params = p, stdout = host_output(p.Parameters.commands) }
    return { Command = { CommandId = id, DocumentName = p.DocumentName, InstanceIds = p.InstanceIds, Status = "Pending",
      Comment = p.Comment } }
  end, { expect = { InstanceIds = { HOST }, DocumentName = "AWS-RunShellScript",
    Parameters = { executionTimeout = { "300" } } } })
  stub("ssm", "GetCommandInvocation", function(p)
    local cmd
    for _, c in ipairs(state.commands) do if c.id == p.CommandId then cmd = c end end
    if not cmd then return { error = { code = "InvocationDoesNotExist", status = 400, message = "" } } end
    state.polls[cmd.id] = (state.polls[cmd.id] or 0) + 1
    local done = state.polls[cmd.id] > 1
    return { CommandId = cmd.id, InstanceId = HOST, DocumentName = "AWS-RunShellScript",
      Status = done and "Success" or "InProgress", StatusDetails = done and "Success" or "InProgress",
      ResponseCode = done and 0 or -1, StandardOutputContent = done and cmd.stdout or "", StandardErrorContent = "" }
  end, { expect = { InstanceId = HOST } })
  stub("ec2", "CreateTags", function(p)
    for _, t in ipairs(p.Tags) do state.tags[#state.tags + 1] = t end
    return {}
  end, { expect = { Resources = { HOST } } })
  stub("guardduty", "ListDetectors", { DetectorIds = { DETECTOR } })
  stub("guardduty", "ListFindings", { FindingIds = { FINDING_ID } }, { expect = { DetectorId = DETECTOR,
    FindingCriteria = { Criterion = { ["resource.instanceDetails.instanceId"] = { Eq = { HOST } } } } } })
  stub("guardduty", "GetFindings", { Findings = { {
    AccountId = ACCOUNT, Region = REGION, Partition = "aws", Id = FINDING_ID, SchemaVersion = "2.0",
    Arn = "arn:aws:guardduty:" .. REGION .. ":" .. ACCOUNT .. ":detector/" .. DETECTOR .. "/finding/" .. FINDING_ID,
    Type = "PrivilegeEscalation:Runtime/DockerSocketAccessed", Severity = 8,
      Title = "A container process is communicating with the Docker daemon socket.",
    CreatedAt = "2026-12-03T14:05:11.000Z", UpdatedAt = "2026-12-03T14:05:11.000Z",
    Resource = { ResourceType = "Container", InstanceDetails = { InstanceId = HOST, InstanceType = "m6i.large" },
      ContainerDetails = { ContainerRuntime = "docker", Id = SUSPECT, Name = "web", Image = "nginx:1.25" } },
    Service = { ServiceName = "guardduty", DetectorId = DETECTOR, FeatureName = "RuntimeMonitoring", Count = 1,
      Archived = false,
      EventFirstSeen = "2026-12-03T14:04:56.000Z", EventLastSeen = "2026-12-03T14:04:56.000Z" } } } },
    { expect = { DetectorId = DETECTOR, FindingIds = { FINDING_ID } } })
  -- GuardDuty Malware Protection scanned the host when the finding came and kept the snapshot.
  stub("guardduty", "GetMalwareScanSettings", { EbsSnapshotPreservation = "RETENTION_WITH_FINDING" })
  stub("guardduty", "DescribeMalwareScans", { Scans = { { DetectorId = DETECTOR,
    ScanId = "d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6",
    ScanStatus = "COMPLETED", ScanStartTime = "2026-12-03T14:06:00Z", ScanEndTime = "2026-12-03T14:09:30Z",
    ScanResultDetails = { ScanResult = "INFECTED" }, TriggerDetails = { GuardDutyFindingId = FINDING_ID },
    AttachedVolumes = { { VolumeArn = "arn:aws:ec2:" .. REGION .. ":" .. ACCOUNT .. ":volume/vol-0123456789abcdef0",
      SnapshotArn = "arn:aws:ec2:" .. REGION .. "::snapshot/snap-0fedcba9876543210", DeviceName = "/dev/xvda",
      EncryptionType = "UNENCRYPTED", VolumeSizeInGB = 30, VolumeType = "gp3" } } } } },
    { expect = { DetectorId = DETECTOR, FilterCriteria = { FilterCriterion = { { CriterionKey = "EC2_INSTANCE_ARN",
      FilterCondition = { EqualsValue = "arn:aws:ec2:" .. REGION .. ":" .. ACCOUNT .. ":instance/" .. HOST } } } } } })
  stub("ec2", "DescribeSnapshots", { Snapshots = { { SnapshotId = "snap-0fedcba9876543210",
    VolumeId = "vol-0123456789abcdef0",
    State = "completed", VolumeSize = 30, Encrypted = false, OwnerId = ACCOUNT,
      StartTime = "2026-12-03T14:06:05Z" } } },
    { expect = { SnapshotIds = { "snap-0fedcba9876543210" } } })
  return state
end

-- The script of the n-th SendCommand, as one text.
local function script(state, n) return table.concat(state.commands[n].params.Parameters.commands, "\n") end

local function has(text, s) expect(type(text) == "string" and text:find(s, 1, true) ~= nil, "missing: " .. s) end

-- One command: sent, polled (InProgress, then Success), read.
local SSM_RUN = { "ssm:SendCommand", "ssm:GetCommandInvocation", "ssm:GetCommandInvocation",
  "ssm:GetCommandInvocation" }

local function concat(...)
  local out = {}
  for _, list in ipairs({ ... }) do for _, x in ipairs(list) do out[#out + 1] = x end end
  return out
end

test("a suspect container: isolated on the host, paused, its evidence saved, the finding read", function()
  local state = docker_host()
  local r = run(RB, { "--instance", HOST, "--container", KEY, "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 0, "exit")
  local s = r.statuses
  for _, name in ipairs({ "Identify the container", "Isolate the container", "Suspend the container",
      "Evaluate: collect evidence and findings" }) do
    expect_eq(s[name], "done", name)
  end
  expect_eq(s["Stop the container"], "skipped", "stop step without --stop")
  expect_eq(s["Release the container"], "skipped", "release step without --release")
  local collect = {}
  for _ = 1, 4 do collect[#collect + 1] = "ssm:SendCommand" end
  for _ = 1, 4 do for i = 2, 4 do collect[#collect + 1] = SSM_RUN[i] end end
  expect_calls(r, concat(
    { "ec2:DescribeInstances", "ssm:DescribeInstanceInformation" }, SSM_RUN,
    { "ec2:DescribeInstances", "ec2:CreateTags" }, SSM_RUN,
    SSM_RUN,
    collect, { "guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings" }))
  -- The host tag records the isolation before the script runs.
  local tags = {}
  for _, t in ipairs(state.tags) do tags[t.Key] = t.Value end
  expect_eq(tags["irhost:isolated-containers"], KEY, "isolated containers tag")
  expect_eq(tags["irhost:ticket"], "IR-42", "ticket tag")
  -- The scripts sent, in order, each naming the full container id.
  expect_eq(#state.commands, 7, "commands sent")
  has(script(state, 1), "docker ps --all --no-trunc")
  has(script(state, 2), "c='" .. SUSPECT .. "'")
  has(script(state, 2), "chain='IRHOST-" .. KEY .. "'")
  has(script(state, 2), "docker network disconnect -f")
  has(script(state, 3), "docker pause \"$c\"")
  has(script(state, 4), "docker inspect --type container '" .. SUSPECT .. "'")
  has(script(state, 7), "docker diff '" .. SUSPECT .. "'")
  for i = 1, 7 do expect_match(state.commands[i].params.Comment, "^irhost IR%-42 ") end
  -- Evidence and what the report says.
  expect_eq(r.evidence["host-containers.txt"], PS, "docker ps listing")
  expect_eq(r.evidence["container-filesystem-changes.txt"], "A /tmp/.x\nA /tmp/.x/kworker\n", "docker diff")
  local iso = json.decode(r.evidence["container-isolation.json"])
  expect_eq(iso.firewall_chain, "IRHOST-" .. KEY, "firewall chain")
  expect_eq(iso.command_id, state.commands[2].id, "isolation command id")
  local out = r.steps["Evaluate: collect evidence and findings"].outputs
  expect_eq(out.evidence_collected, { "container-inspect.json", "container-processes.txt", "container-logs.txt",
    "container-filesystem-changes.txt" }, "evidence collected")
  expect_match(out.verdict, "^malicious activity reported: 1 GuardDuty finding%(s%), highest severity 8")
  expect_eq(r.steps["Identify the container"].outputs.container_id, SUSPECT, "full container id")
  local notes = table.concat(r.steps["Isolate the container"].notes or {}, "\n")
  has(notes, "iptables IRHOST-" .. KEY .. " drops 172.17.0.2")
  expect_match(r.report, "docker pause")
  has(r.report, "Container " .. KEY .. " on " .. HOST .. " is paused and isolated: its memory is intact for analysis")
end)

test("a dry run sends no command and plans each one", function()
  local state = docker_host()
  local r = run(RB, { "--instance", HOST, "--container", KEY, "--ticket", "IR-42", "--dry-run", "--stop" })
  expect_eq(r.exit, 0, "exit")
  local planned = {}
  for _, c in ipairs(r.calls) do
    expect(not aws.is_mutating(c.service, c.operation) or c.planned, c.name .. " was sent in a dry run")
    if c.planned then planned[#planned + 1] = c.name end
  end
  -- list, isolate, pause, four collectors, stop: every SSM command is planned, none sent.
  expect_eq(planned, { "ssm:SendCommand", "ec2:CreateTags", "ssm:SendCommand", "ssm:SendCommand", "ssm:SendCommand",
    "ssm:SendCommand", "ssm:SendCommand", "ssm:SendCommand", "ssm:SendCommand" }, "planned changes")
  expect_no_call(r, "ssm:GetCommandInvocation")
  expect_eq(#state.commands, 0, "commands run on the host")
  expect_eq(#state.tags, 0, "host tags")
  local s = r.statuses
  expect_eq(s["Isolate the container"], "dry-run", "isolate step")
  expect_eq(s["Suspend the container"], "dry-run", "suspend step")
  expect_eq(s["Stop the container"], "dry-run", "stop step")
  local planned_isolation
  for _, c in ipairs(r.calls) do
    local text = c.params.Parameters and table.concat(c.params.Parameters.commands, "\n") or ""
    if c.name == "ssm:SendCommand" and text:find("network disconnect", 1, true) then
      planned_isolation = c
    end
  end
  expect(planned_isolation ~= nil, "the isolation script is in the plan")
  expect_match(r.report, "SendCommand")
end)

test("a wrong instance id fails the first step with the AWS error explained", function()
  -- Only DescribeInstances is stubbed: any later call fails the test as not stubbed.
  stub("ec2", "DescribeInstances", { error = { code = "InvalidInstanceID.NotFound", status = 400,
    message = "The instance ID 'i-0abc1234def567891' does not exist" } },
      { expect = { InstanceIds = { "i-0abc1234def567891" } } })
  local r = run(RB, { "--instance", "i-0abc1234def567891", "--container", KEY, "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 1, "exit")
  expect_calls(r, { "ec2:DescribeInstances" })
  local s = r.statuses
  expect_eq(s["Identify the container"], "failed", "first step")
  expect_eq(s["Isolate the container"], nil, "no later step ran")
  has(r.steps["Identify the container"].error, "instance i-0abc1234def567891 was not found in region us-east-1 " ..
    "(InvalidInstanceID.NotFound): check the id and --region")
  has(r.message, 'step 1 "Identify the container" failed: instance i-0abc1234def567891 was not found')
  expect_match(r.report, "Outcome | %*%*failed%*%* %(exit 1%)")
end)

test("a container that is not on the host fails the first step listing what is there", function()
  local state = docker_host()
  local r = run(RB, { "--instance", HOST, "--container", "deadbeef0000", "--ticket", "IR-42", "--yes" })
  expect_eq(r.exit, 1, "exit")
  expect_calls(r, concat({ "ec2:DescribeInstances", "ssm:DescribeInstanceInformation" }, SSM_RUN))
  expect_eq(#state.commands, 1, "only the listing ran on the host")
  has(r.steps["Identify the container"].error, "container deadbeef0000 is not on instance " .. HOST ..
    " (docker ps --all lists " .. KEY .. ", " .. OTHER:sub(1, 12) .. "): check --container")
end)

test("--stop stops the container only after its evidence, and finds the snapshot GuardDuty kept", function()
  local state = docker_host()
  local r = run(RB, { "--instance", HOST, "--container", KEY, "--ticket", "IR-42", "--stop", "--yes" })
  expect_eq(r.exit, 0, "exit")
  expect_eq(r.steps["Stop the container"].status, "done", "stop step")
  expect_eq(#state.commands, 8, "commands sent")
  has(script(state, 8), "docker stop --time 30 \"$c\"")
  for i = 1, 7 do expect(not script(state, i):find("docker stop", 1, true), "command " .. i .. " stops nothing") end
  local n = #r.calls
  expect_eq({ r.calls[n - 2].name, r.calls[n - 1].name, r.calls[n].name },
    { "guardduty:GetMalwareScanSettings", "guardduty:DescribeMalwareScans", "ec2:DescribeSnapshots" }, "last calls")
  local snaps = r.steps["Stop the container"].outputs.malware_snapshots
  expect_eq(snaps, { { scan_id = "d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6", scan_result = "INFECTED", finding_id = FINDING_ID,
    volume_id = "vol-0123456789abcdef0", device = "/dev/xvda", snapshot_id = "snap-0fedcba9876543210", found = true,
    state = "completed" } }, "snapshots kept")
  expect_eq(r.steps["Stop the container"].outputs.snapshot_retention, "RETENTION_WITH_FINDING", "retention")
  expect(r.evidence["malware-protection-snapshots.json"] ~= nil, "snapshot list saved as evidence")
end)

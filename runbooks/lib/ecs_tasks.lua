-- ECS facts for the ECS runbook, read fresh from AWS: the cluster, the tasks named by
-- the user (or by a service, or a finding), their task definitions, services, container
-- instances and task ENIs. Wrong identifiers raise one clear message each.
local M = {}

local function where(region)
  return region and ("region " .. region) or "the run's region (--region, AWS_REGION or the profile's)"
end

-- "arn:...:task/cluster/abc" or "abc" -> "abc"
function M.short(arn) return (tostring(arn):match("([^/]+)$")) end

-- The cluster record; raises when ECS does not know it.
function M.cluster(ecs, ref, region)
  local ok, r = pcall(ecs.DescribeClusters, ecs, { clusters = { ref }, include = { "TAGS", "SETTINGS" } })
  if not ok then
    if aws.is_error(r, "ClusterNotFoundException") then
      error(string.format("ECS cluster %s was not found in %s (ClusterNotFoundException): check --cluster and --region", ref, where(region)), 0)
    end
    error(r, 0)
  end
  local c = r.clusters and r.clusters[1]
  if not c then
    local f = r.failures and r.failures[1]
    error(string.format("ECS cluster %s was not found in %s (%s): check --cluster and --region; `aws ecs list-clusters` lists them",
      ref, where(region), f and f.reason or "MISSING"), 0)
  end
  if c.status ~= "ACTIVE" then
    error(string.format("ECS cluster %s is %s, not ACTIVE: nothing runs in it to contain", ref, tostring(c.status)), 0)
  end
  return c
end

-- The running tasks of a service; raises when the service does not exist.
function M.service_tasks(ecs, cluster, service, region)
  local arns = {}
  local ok, err = pcall(function()
    for page in ecs:paginate("ListTasks", { cluster = cluster, serviceName = service, desiredStatus = "RUNNING" }) do
      for _, a in ipairs(page.taskArns or {}) do arns[#arns + 1] = a end
    end
  end)
  if not ok then
    if aws.is_error(err, "ServiceNotFoundException") then
      error(string.format("ECS service %s was not found in cluster %s in %s (ServiceNotFoundException): check --service " ..
        "(the service name, not the task family)", service, M.short(cluster), where(region)), 0)
    end
    error(err, 0)
  end
  if #arns == 0 then error("ECS service " .. service .. " has no running task: nothing to contain", 0) end
  return arns
end

-- DescribeTasks for refs (ids or ARNs), 100 at a time; raises naming every missing task.
function M.describe_tasks(ecs, cluster, refs)
  local out, missing = {}, {}
  for i = 1, #refs, 100 do
    local batch = {}
    for j = i, math.min(i + 99, #refs) do batch[#batch + 1] = refs[j] end
    local r = ecs:DescribeTasks{ cluster = cluster, tasks = batch, include = { "TAGS" } }
    for _, t in ipairs(r.tasks or {}) do out[#out + 1] = t end
    for _, f in ipairs(r.failures or {}) do missing[#missing + 1] = M.short(f.arn) .. " (" .. tostring(f.reason) .. ")" end
  end
  if #missing > 0 then
    error("task(s) not found in cluster " .. M.short(cluster) .. ": " .. table.concat(missing, ", ") ..
      "; check --task (ECS keeps stopped tasks listed for about an hour only)", 0)
  end
  return out
end

-- The task's own ENI (awsvpc network mode): {id, subnet_id, private_ip} or nil.
function M.eni(task)
  for _, a in ipairs(task.attachments or {}) do
    if a.type == "ElasticNetworkInterface" then
      local d = {}
      for _, kv in ipairs(a.details or {}) do d[kv.name] = kv.value end
      if d.networkInterfaceId then
        return { id = d.networkInterfaceId, subnet_id = d.subnetId, private_ip = d.privateIPv4Address, status = a.status }
      end
    end
  end
  return nil
end

-- "service:api" -> "api"; standalone tasks (RunTask) have "family:x" and no service.
function M.service_name(task)
  return type(task.group) == "string" and task.group:match("^service:(.+)$") or nil
end

-- {name = service record} for the named services, 10 at a time.
function M.services(ecs, cluster, names)
  local out = {}
  for i = 1, #names, 10 do
    local batch = {}
    for j = i, math.min(i + 9, #names) do batch[#batch + 1] = names[j] end
    for _, s in ipairs(ecs:DescribeServices{ cluster = cluster, services = batch, include = { "TAGS" } }.services or {}) do
      out[s.serviceName] = s
    end
  end
  return out
end

-- {arn = container instance record} for the given ARNs.
function M.container_instances(ecs, cluster, arns)
  local out = {}
  for i = 1, #arns, 100 do
    local batch = {}
    for j = i, math.min(i + 99, #arns) do batch[#batch + 1] = arns[j] end
    local r = ecs:DescribeContainerInstances{ cluster = cluster, containerInstances = batch }
    for _, ci in ipairs(r.containerInstances or {}) do out[ci.containerInstanceArn] = ci end
  end
  return out
end

-- The other running tasks on a container instance (what isolating the host also cuts).
function M.tasks_on(ecs, cluster, ci_arn)
  local arns = {}
  for page in ecs:paginate("ListTasks", { cluster = cluster, containerInstance = ci_arn, desiredStatus = "RUNNING" }) do
    for _, a in ipairs(page.taskArns or {}) do arns[#arns + 1] = a end
  end
  return arns
end

-- Unique values of list, in first-seen order.
function M.unique(list)
  local out, seen = {}, {}
  for _, v in ipairs(list) do if v ~= nil and not seen[v] then seen[v] = true; out[#out + 1] = v end end
  return out
end

return M

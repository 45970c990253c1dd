-- Network isolation of ECS tasks, one task at a time, in the ways AWS allows:
--
--   "security group": the task's ENI is not requester-managed (awsvpc on container
--     instances whose ENIs the account owns), so it moves to the isolation group through
--     the transition group (lib/isolation.lua, as runbooks/ec2.lua does for an instance);
--   "network ACL": the ENI is requester-managed (Fargate, and any ENI ECS owns): AWS lets
--     only its tags change and refuses ModifyNetworkInterfaceAttribute, so deny entries (in
--     and out, all protocols) for the task's own addresses go into its subnet's network ACL,
--     recorded on the ENI (a tag) and in the evidence for reversal;
--   none: no ENI of its own (bridge or host network mode); the runbook reports the gap.
--
-- The choice follows the ENI's RequesterManaged flag as DescribeNetworkInterfaces reports
-- it, never the launch type: that flag is what AWS checks when it refuses.
local marks = require("lib.marks")
local isolation = require("lib.isolation")
local facts = require("lib.ec2_facts")

local M = {}

M.BY_GROUP, M.BY_NACL, M.NONE = "security group", "network ACL", "none"

local function unique(list)
  local out, seen = {}, {}
  for _, v in ipairs(list) do if v ~= nil and not seen[v] then seen[v] = true; out[#out + 1] = v end end
  return out
end

-- Splits tasks (the identify step's summaries) by how their network can be cut, given
-- the DescribeNetworkInterfaces records of their ENIs.
-- Returns {sg = {{task, eni}}, nacl = {{task, eni}}, none = {{task, reason}}}.
function M.plan(tasks, enis)
  local by_id = {}
  for _, n in ipairs(enis) do by_id[n.NetworkInterfaceId] = n end
  local out = { sg = {}, nacl = {}, none = {} }
  for _, t in ipairs(tasks) do
    local n = t.eni and by_id[t.eni]
    if not t.eni then
      out.none[#out.none + 1] = { task = t, reason = t.network_mode .. " network mode: the task has no network " ..
        "interface of its own and shares the network of container instance " .. tostring(t.ec2_instance) }
    elseif not n then
      out.none[#out.none + 1] = { task = t,
        reason = "its network interface " .. t.eni .. " was not found (task stopped?)" }
    elseif n.RequesterManaged then
      out.nacl[#out.nacl + 1] = { task = t, eni = n }
    else
      out.sg[#out.sg + 1] = { task = t, eni = n }
    end
  end
  return out
end

-- A dry run plans the rules of the groups it would create against AWS's defaults for
-- the VPC (its DescribeVpcs record, as runbooks/ec2.lua does); a real run reads the new
-- group's actual rules instead, so it needs none.
function M.vpc_for_plan(ec2, ctx, vpc_id)
  if not ctx.dry_run then return nil end
  return (ec2:DescribeVpcs{ VpcIds = { vpc_id } }.Vpcs or {})[1] or { VpcId = vpc_id }
end

-- Moves the ENIs of items ({task, eni}) to the isolation group of their VPC.
-- Returns per-task results {task, how, eni, state, error, detail, original, group} and
-- {vpc id = isolation group id}.
function M.by_security_group(ec2, ctx, items)
  local by_vpc, vpcs = {}, {}
  for _, it in ipairs(items) do
    local v = it.eni.VpcId
    if not by_vpc[v] then by_vpc[v] = {}; vpcs[#vpcs + 1] = v end
    table.insert(by_vpc[v], it)
  end
  table.sort(vpcs)
  local results, groups = {}, {}
  for _, vpc in ipairs(vpcs) do
    local plan_vpc = M.vpc_for_plan(ec2, ctx, vpc)
    local transition = isolation.ensure_group(ec2, ctx, vpc, "transition", nil, plan_vpc)
    local final = isolation.ensure_group(ec2, ctx, vpc, "isolation", nil, plan_vpc)
    groups[vpc] = final
    local enis, task_of = {}, {}
    for _, it in ipairs(by_vpc[vpc]) do enis[#enis + 1] = it.eni; task_of[it.eni.NetworkInterfaceId] = it.task end
    for _, st in ipairs(isolation.isolate_enis(ec2, ctx, enis, transition, final, "isolated: no traffic")) do
      local ok = st.state ~= "failed"
      results[#results + 1] = { task = task_of[st.id], how = M.BY_GROUP, eni = st.id,
        state = (st.state or ""):match("^isolated") and "isolated" or st.state, error = st.error,
        original = st.original, group = final,
        detail = ok and ("its ENI only in " .. final .. " (original groups " ..
          table.concat(st.original, ", ") .. ")") or nil }
    end
  end
  return results, groups
end

-- The subnet -> network ACL map for subnets (one read).
local function acls_of(ec2, subnets)
  local out = {}
  local r = ec2:DescribeNetworkAcls{ Filters = { { Name = "association.subnet-id", Values = subnets } } }
  for _, acl in ipairs(r.NetworkAcls or {}) do
    for _, a in ipairs(acl.Associations or {}) do
      if a.SubnetId then out[a.SubnetId] = acl.NetworkAclId end
    end
  end
  return out
end

local function cidrs_of(v4, v6)
  local set = {}
  for _, ip in ipairs(v4) do set[ip .. "/32"] = true end
  for _, ip in ipairs(v6) do set[ip .. "/128"] = true end
  return set
end

-- Records the entries on the task's ENI (tags are the one thing AWS lets change on a
-- requester-managed ENI); returns nil or a warning.
local function record_on_eni(ec2, ctx, res)
  local tags = marks.map(res.eni_record.TagSet)
  local value = marks.join(res.records)
  if tags[marks.NACL_ENTRIES] == value then return nil end
  local ok, err = pcall(ec2.CreateTags, ec2, { Resources = { res.eni },
    Tags = marks.list(marks.base(ctx, { [marks.NACL_ENTRIES] = value })) })
  if not ok then return "could not tag " .. res.eni .. " with its entries: " .. tostring(err) end
  ctx.changed{ resource = res.eni, action = "CreateTags", before = tags[marks.NACL_ENTRIES] or "untagged",
    after = marks.NACL_ENTRIES .. "=" .. value }
  return nil
end

-- Adds deny entries for each task's addresses to its subnet's network ACL, one pass per
-- ACL so tasks whose subnets share an ACL get distinct rule numbers (a dry run plans the
-- same numbers as the real run), and records them on the task's ENI. Entries already
-- there are reused, so a rerun or --resume adds nothing twice. Never stops at the first
-- failure. Returns per-task results {task, how, eni, state, error, detail, warning,
-- addresses, records, entries, acl}.
function M.by_network_acl(ec2, ctx, items)
  local results = {}
  if #items == 0 then return results end
  local subnets = {}
  for _, it in ipairs(items) do subnets[#subnets + 1] = it.eni.SubnetId end
  local acl_of = acls_of(ec2, unique(subnets))
  local by_acl, order = {}, {}
  for _, it in ipairs(items) do
    local v4, v6 = facts.addresses({ it.eni })
    local res = { task = it.task, how = M.BY_NACL, eni = it.eni.NetworkInterfaceId, eni_record = it.eni,
      subnet = it.eni.SubnetId, addresses = json.array(), records = {}, entries = {}, cidrs = cidrs_of(v4, v6) }
    for _, ip in ipairs(v4) do res.addresses[#res.addresses + 1] = ip end
    for _, ip in ipairs(v6) do res.addresses[#res.addresses + 1] = ip end
    results[#results + 1] = res
    local acl = acl_of[res.subnet]
    if not acl then
      res.state, res.error = "failed", "no network ACL is associated with subnet " .. tostring(res.subnet)
    elseif #res.addresses == 0 then
      res.state, res.error = "failed", "its network interface has no address to deny"
    else
      res.acl = acl
      if not by_acl[acl] then by_acl[acl] = {}; order[#order + 1] = acl end
      table.insert(by_acl[acl], res)
    end
  end
  for _, acl in ipairs(order) do
    local group = by_acl[acl]
    local v4, v6 = {}, {}
    for _, res in ipairs(group) do
      local a4, a6 = facts.addresses({ res.eni_record })
      for _, ip in ipairs(a4) do v4[#v4 + 1] = ip end
      for _, ip in ipairs(a6) do v6[#v6 + 1] = ip end
    end
    -- Any subnet of the group names the ACL; nacl_deny reads its entries once.
    -- A closure, not pcall(isolation.nacl_deny, ec2, ...), so `irhost check` follows the client.
    local ok, records, entries = pcall(function()
      return isolation.nacl_deny(ec2, ctx, { group[1].subnet }, unique(v4), unique(v6))
    end)
    for _, res in ipairs(group) do
      if not ok then
        res.state, res.error = "failed", "adding network ACL deny entries to " .. acl .. ": " .. tostring(records)
      else
        for i, e in ipairs(entries) do
          if res.cidrs[e.cidr] then
            res.records[#res.records + 1] = records[i]
            res.entries[#res.entries + 1] = e
          end
        end
        res.state = "isolated"
        res.detail = "deny all in and out for " .. table.concat(res.addresses, ", ") .. " in " .. acl ..
          " (its ENI is requester-managed: AWS refuses to change its security groups)"
        res.warning = record_on_eni(ec2, ctx, res)
      end
    end
  end
  for _, res in ipairs(results) do res.eni_record, res.cidrs = nil, nil end
  return results
end

-- The AWS CLI commands that remove the entries of results (what a human runs once the
-- tasks are stopped).
function M.removal_commands(results)
  local cmds = {}
  for _, res in ipairs(results) do
    for _, e in ipairs(res.entries or {}) do
      cmds[#cmds + 1] = string.format("aws ec2 delete-network-acl-entry --network-acl-id %s --rule-number %d %s",
        e.acl, e.rule, e.dir == "out" and "--egress" or "--ingress")
    end
  end
  return unique(cmds)
end

return M

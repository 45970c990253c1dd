-- Network isolation of an instance, per ENI, with security groups irhost owns in the VPC
-- (found again by name, so reruns reuse them) and optional network ACL deny entries.
--
-- Why two moves: a security group change does not cut connections the instance already
-- has while they stay tracked. Flows allowed by an all-traffic rule in both directions are
-- not tracked, so every ENI first goes to the "transition" group (all traffic in and out),
-- then to the isolation group (no rule at all): the untracked flows stop at the second move.
-- What remains: ICMP and flows AWS always tracks (e.g. some ICMP, flows through a NAT),
-- which only a network ACL cuts (stateless): --isolation-nacl adds deny entries for the
-- instance's own addresses to its subnets' ACLs, recorded in a tag for --release.
local marks = require("lib.marks")

local M = {}

M.GROUPS = {
  isolation = { name = "irhost-isolation", description = "irhost: no inbound, no outbound traffic (incident isolation)" },
  transition = { name = "irhost-isolation-transition", description = "irhost: all traffic, used for a moment so tracked flows become untracked before isolation" },
  ssm = { name = "irhost-isolation-ssm", description = "irhost: no inbound; outbound HTTPS only to the VPC's SSM and S3 endpoints (online capture)" },
}

local ALL = "-1"

local function rule_key(egress, proto, from, to, target)
  if proto == ALL or proto == "all" then proto, from, to = ALL, -1, -1 end
  return table.concat({ egress and "out" or "in", tostring(proto), tostring(from or -1), tostring(to or -1), target }, "|")
end

-- The wanted rules of a group kind: {key = {egress, permission}}.
local function wanted(kind, ssm_targets)
  local w = {}
  local function add(egress, perm, target)
    local what = perm.IpProtocol == ALL and "all traffic" or (perm.IpProtocol .. "/" .. tostring(perm.FromPort))
    local where = target:gsub("^[46]:", ""):gsub("^g:", "group "):gsub("^p:", "prefix list ")
    w[rule_key(egress, perm.IpProtocol, perm.FromPort, perm.ToPort, target)] = { egress = egress, perm = perm,
      label = what .. (egress and " to " or " from ") .. where }
  end
  if kind == "transition" then
    for _, egress in ipairs({ false, true }) do
      add(egress, { IpProtocol = ALL, IpRanges = { { CidrIp = "0.0.0.0/0" } } }, "4:0.0.0.0/0")
      add(egress, { IpProtocol = ALL, Ipv6Ranges = { { CidrIpv6 = "::/0" } } }, "6:::/0")
    end
  elseif kind == "ssm" then
    for _, t in ipairs(ssm_targets or {}) do
      local perm = { IpProtocol = "tcp", FromPort = 443, ToPort = 443 }
      if t.group then perm.UserIdGroupPairs = { { GroupId = t.group } }; add(true, perm, "g:" .. t.group)
      elseif t.prefix_list then perm.PrefixListIds = { { PrefixListId = t.prefix_list } }; add(true, perm, "p:" .. t.prefix_list)
      elseif t.cidr then perm.IpRanges = { { CidrIp = t.cidr } }; add(true, perm, "4:" .. t.cidr) end
    end
  end
  return w
end

local function existing_key(r)
  local target = r.CidrIpv4 and ("4:" .. r.CidrIpv4) or r.CidrIpv6 and ("6:" .. r.CidrIpv6)
    or r.PrefixListId and ("p:" .. r.PrefixListId)
    or (r.ReferencedGroupInfo and r.ReferencedGroupInfo.GroupId and ("g:" .. r.ReferencedGroupInfo.GroupId)) or "?"
  return rule_key(r.IsEgress, r.IpProtocol, r.FromPort, r.ToPort, target)
end

-- Makes the group's rules exactly the wanted ones: revokes others by rule id (IPv4 and
-- IPv6 default egress included), authorizes what is missing.
-- rules: the group's current rules, or nil to read them.
local function converge(ec2, ctx, gid, kind, ssm_targets, rules)
  local want = wanted(kind, ssm_targets)
  if not rules then
    rules = ec2:DescribeSecurityGroupRules{ Filters = { { Name = "group-id", Values = { gid } } } }.SecurityGroupRules or {}
  end
  local revoke = { [true] = {}, [false] = {} }
  local have = {}
  for _, rule in ipairs(rules) do
    local k = existing_key(rule)
    if want[k] and not have[k] then have[k] = true
    else revoke[rule.IsEgress and true or false][#revoke[rule.IsEgress and true or false] + 1] = rule.SecurityGroupRuleId end
  end
  if #revoke[true] > 0 then
    ec2:RevokeSecurityGroupEgress{ GroupId = gid, SecurityGroupRuleIds = revoke[true] }
    ctx.changed{ resource = gid, action = "RevokeSecurityGroupEgress", before = revoke[true], after = "revoked" }
  end
  if #revoke[false] > 0 then
    ec2:RevokeSecurityGroupIngress{ GroupId = gid, SecurityGroupRuleIds = revoke[false] }
    ctx.changed{ resource = gid, action = "RevokeSecurityGroupIngress", before = revoke[false], after = "revoked" }
  end
  local keys = {}
  for k in pairs(want) do if not have[k] then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local w = want[k]
    if w.egress then ec2:AuthorizeSecurityGroupEgress{ GroupId = gid, IpPermissions = { w.perm } }
    else ec2:AuthorizeSecurityGroupIngress{ GroupId = gid, IpPermissions = { w.perm } } end
    ctx.changed{ resource = gid, action = w.egress and "AuthorizeSecurityGroupEgress" or "AuthorizeSecurityGroupIngress",
      before = "absent", after = w.label }
  end
end

local function find_group(ec2, vpc_id, name)
  local r = ec2:DescribeSecurityGroups{ Filters = {
    { Name = "vpc-id", Values = { vpc_id } }, { Name = "group-name", Values = { name } } } }
  return r.SecurityGroups and r.SecurityGroups[1]
end

-- The rules AWS gives a new VPC security group: all outbound IPv4, and all outbound IPv6
-- when the VPC has an IPv6 block. A dry run plans against these, so its plan holds the
-- same revokes and authorizations as the real run. (Callers declare ec2:DescribeVpcs; if
-- the read fails anyway, the plan assumes IPv4 only and says so in the log.)
local function default_rules(ec2, ctx, vpc_id, gid)
  local rules = { { SecurityGroupRuleId = "(default IPv4 egress of " .. gid .. ")", IsEgress = true,
    IpProtocol = "-1", FromPort = -1, ToPort = -1, CidrIpv4 = "0.0.0.0/0" } }
  local ok, r = pcall(ec2.DescribeVpcs, ec2, { VpcIds = { vpc_id } })
  if not ok then
    ctx.log("could not read VPC %s (%s): the plan assumes the new group gets no IPv6 default egress rule",
      vpc_id, tostring(type(r) == "table" and r.code or r))
    r = {}
  end
  local vpc = (r.Vpcs or {})[1] or {}
  for _, a in ipairs(vpc.Ipv6CidrBlockAssociationSet or {}) do
    local st = a.Ipv6CidrBlockState and a.Ipv6CidrBlockState.State
    if st == nil or st == "associated" or st == "associating" then
      rules[2] = { SecurityGroupRuleId = "(default IPv6 egress of " .. gid .. ")", IsEgress = true,
        IpProtocol = "-1", FromPort = -1, ToPort = -1, CidrIpv6 = "::/0" }
      break
    end
  end
  return rules
end

-- Finds (by name in the VPC) or creates the group of a kind, with exactly its rules.
-- Another run creating the same group at the same moment is fine: on InvalidGroup.Duplicate
-- the group is looked up again and reused. A dry run plans the creation and the rule
-- changes the new group then needs. Returns the group id (a placeholder in a dry run when
-- it would be created) and whether it is only planned.
function M.ensure_group(ec2, ctx, vpc_id, kind, ssm_targets)
  local spec = M.GROUPS[kind]
  local g = find_group(ec2, vpc_id, spec.name)
  local gid
  if g then
    gid = g.GroupId
    ctx.log("reusing %s (%s) in %s", spec.name, gid, vpc_id)
  else
    local ok, c = pcall(ec2.CreateSecurityGroup, ec2, { GroupName = spec.name, Description = spec.description, VpcId = vpc_id,
      TagSpecifications = { { ResourceType = "security-group",
        Tags = marks.list(marks.base(ctx, { [marks.PURPOSE] = kind, Name = spec.name })) } } })
    if not ok then
      if not aws.is_error(c, "InvalidGroup.Duplicate") then error(c, 0) end
      g = find_group(ec2, vpc_id, spec.name)
      if not g then error(c, 0) end
      gid = g.GroupId
      ctx.log("%s was created by another run meanwhile: reusing %s in %s", spec.name, gid, vpc_id)
    elseif c.dry_run then
      gid = "(" .. spec.name .. " to be created)"
      ctx.changed{ resource = spec.name, action = "CreateSecurityGroup", before = "absent", after = "created in " .. vpc_id }
      converge(ec2, ctx, gid, kind, ssm_targets, default_rules(ec2, ctx, vpc_id, gid))
      return gid, true
    else
      gid = c.GroupId
      ctx.changed{ resource = gid, action = "CreateSecurityGroup", before = "absent", after = spec.name .. " in " .. vpc_id }
    end
  end
  converge(ec2, ctx, gid, kind, ssm_targets)
  return gid, false
end

-- Where the SSM agent must still reach in online mode: the security groups of the VPC's
-- interface endpoints for ssm, ssmmessages, ec2messages (and s3), and the S3 gateway
-- endpoint's prefix list. {targets, missing services}.
function M.ssm_targets(ec2, ctx, vpc_id, region)
  local targets, found = {}, {}
  local ok, r = pcall(ec2.DescribeVpcEndpoints, ec2, { Filters = { { Name = "vpc-id", Values = { vpc_id } } } })
  if not ok then
    ctx.warn("could not list the VPC's endpoints: %s", tostring(r))
    r = {}
  end
  local seen = {}
  for _, e in ipairs(r.VpcEndpoints or {}) do
    local svc = (e.ServiceName or ""):match("%.([%w]+)$")
    if svc == "ssm" or svc == "ssmmessages" or svc == "ec2messages" or svc == "s3" then
      found[svc] = true
      if e.VpcEndpointType == "Gateway" and svc == "s3" then
        local pl = ec2:DescribePrefixLists{ Filters = { { Name = "prefix-list-name", Values = { "com.amazonaws." .. tostring(region) .. ".s3" } } } }
        local id = pl.PrefixLists and pl.PrefixLists[1] and pl.PrefixLists[1].PrefixListId
        if id and not seen[id] then seen[id] = true; targets[#targets + 1] = { prefix_list = id } end
      else
        for _, g in ipairs(e.Groups or {}) do
          if not seen[g.GroupId] then seen[g.GroupId] = true; targets[#targets + 1] = { group = g.GroupId } end
        end
      end
    end
  end
  local missing = {}
  for _, svc in ipairs({ "ssm", "ssmmessages", "ec2messages", "s3" }) do
    if not found[svc] then missing[#missing + 1] = svc end
  end
  return targets, missing
end

-- Moves one ENI to groups; records the change. Returns true or false, message.
function M.move(ec2, ctx, eni_id, from, to_groups, label)
  local ok, err = pcall(ec2.ModifyNetworkInterfaceAttribute, ec2, { NetworkInterfaceId = eni_id, Groups = to_groups })
  if not ok then return false, tostring(err) end
  ctx.changed{ resource = eni_id, action = "ModifyNetworkInterfaceAttribute", before = from, after = to_groups, detail = label }
  return true
end

local function same_set(a, b)
  if #a ~= #b then return false end
  local s = {}
  for _, x in ipairs(a) do s[x] = true end
  for _, x in ipairs(b) do if not s[x] then return false end end
  return true
end
M.same_set = same_set

-- Isolates every ENI: remembers its original groups (ENI tag, first time only), moves it
-- to the transition group, then to the final group. Returns per-ENI states
-- {{id, original, state, error}}; never stops at the first failure.
function M.isolate_enis(ec2, ctx, enis, transition_gid, final_gid, final_label)
  local states = {}
  for _, n in ipairs(enis) do
    local current = {}
    for _, g in ipairs(n.Groups or {}) do current[#current + 1] = g.GroupId end
    local tags = marks.map(n.TagSet)
    local original = tags[marks.ORIGINAL_GROUPS] and marks.split(tags[marks.ORIGINAL_GROUPS]) or current
    local st = { id = n.NetworkInterfaceId, original = original, subnet_id = n.SubnetId }
    states[#states + 1] = st
    if same_set(current, { final_gid }) then
      st.state = "already isolated"
    else
      if not tags[marks.ORIGINAL_GROUPS] then
        local ok, err = pcall(ec2.CreateTags, ec2, { Resources = { st.id },
          Tags = marks.list(marks.base(ctx, { [marks.ORIGINAL_GROUPS] = marks.join(current) })) })
        if not ok then st.state, st.error = "failed", "could not record its original groups: " .. tostring(err) end
      end
      st.current = current
    end
  end
  -- First every ENI to the transition group, then every ENI to the final group, so no
  -- ENI waits on another's second move.
  for _, st in ipairs(states) do
    if not st.state and not same_set(st.current, { transition_gid }) then
      local ok, err = M.move(ec2, ctx, st.id, st.current, { transition_gid }, "transition: tracked flows become untracked")
      if not ok then st.state, st.error = "failed", "moving to the transition group: " .. err end
      st.current = { transition_gid }
    end
  end
  for _, st in ipairs(states) do
    if not st.state then
      local ok, err = M.move(ec2, ctx, st.id, st.current, { final_gid }, final_label)
      if ok then st.state = "isolated" .. (final_label and (" (" .. final_label .. ")") or "")
      else st.state, st.error = "failed", "moving to the isolation group: " .. err end
    end
    st.current = nil
  end
  return states
end

-- Adds deny entries (in and out) for each address to the ACL of each subnet; skips
-- entries already there. Returns the records "acl:rule:in|out" added or found, and the
-- same entries as {acl, rule, dir, cidr} in the same order (for callers that must know
-- which address each record denies).
function M.nacl_deny(ec2, ctx, subnets, v4, v6)
  local records, entries = {}, {}
  for _, subnet in ipairs(subnets) do
    local r = ec2:DescribeNetworkAcls{ Filters = { { Name = "association.subnet-id", Values = { subnet } } } }
    local acl = r.NetworkAcls and r.NetworkAcls[1]
    if not acl then error("no network ACL is associated with subnet " .. subnet, 0) end
    local used, existing, first_allow = {}, {}, { ["in"] = math.huge, out = math.huge }
    for _, e in ipairs(acl.Entries or {}) do
      local d = e.Egress and "out" or "in"
      used[d .. e.RuleNumber] = true
      if e.RuleAction == "allow" and e.RuleNumber < first_allow[d] then first_allow[d] = e.RuleNumber end
      if e.RuleAction == "deny" then
        existing[(e.Egress and "out" or "in") .. "|" .. tostring(e.CidrBlock or e.Ipv6CidrBlock)] = e.RuleNumber
      end
    end
    local cidrs = {}
    for _, ip in ipairs(v4) do cidrs[#cidrs + 1] = { CidrBlock = ip .. "/32" } end
    for _, ip in ipairs(v6) do cidrs[#cidrs + 1] = { Ipv6CidrBlock = ip .. "/128" } end
    for _, egress in ipairs({ false, true }) do
      local dir = egress and "out" or "in"
      local n = 1
      for _, c in ipairs(cidrs) do
        local cidr = c.CidrBlock or c.Ipv6CidrBlock
        local have = existing[dir .. "|" .. cidr]
        if have then
          records[#records + 1] = acl.NetworkAclId .. ":" .. have .. ":" .. dir
          entries[#entries + 1] = { acl = acl.NetworkAclId, rule = have, dir = dir, cidr = cidr }
        else
          while used[dir .. n] do n = n + 1 end
          used[dir .. n] = true
          if n > first_allow[dir] then
            -- ACL rules apply lowest number first: a deny after an allow never matches.
            error(string.format("network ACL %s has no free rule number below its first %s allow rule (%d): " ..
              "cannot add an effective deny for %s", acl.NetworkAclId, dir == "in" and "ingress" or "egress",
              first_allow[dir], cidr), 0)
          end
          local p = { NetworkAclId = acl.NetworkAclId, RuleNumber = n, Protocol = ALL, RuleAction = "deny", Egress = egress,
            CidrBlock = c.CidrBlock, Ipv6CidrBlock = c.Ipv6CidrBlock }
          ec2:CreateNetworkAclEntry(p)
          ctx.changed{ resource = acl.NetworkAclId, action = "CreateNetworkAclEntry", before = "absent",
            after = string.format("rule %d %s deny all %s", n, dir == "in" and "ingress" or "egress", cidr) }
          records[#records + 1] = acl.NetworkAclId .. ":" .. n .. ":" .. dir
          entries[#entries + 1] = { acl = acl.NetworkAclId, rule = n, dir = dir, cidr = cidr }
        end
      end
    end
  end
  return records, entries
end

return M

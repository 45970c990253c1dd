-- runbooks/lib/isolation.lua against a scripted EC2 client: group rules converge (default
-- IPv4/IPv6 egress revoked by rule id), online mode's SSM endpoint targets, dry-run
-- placeholders, per-ENI failure states, network ACL deny entries.
local ROOT = os.getenv("IRHOST_ROOT") or "."
local T = dofile(ROOT .. "/tests/ir/tap.lua")
json = require("irhost.json")  -- a global in the runbook sandbox
aws = require("aws")            -- likewise (aws.is_error)
package.preload["lib.marks"] = function() return dofile(ROOT .. "/runbooks/lib/marks.lua") end
local isolation = dofile(ROOT .. "/runbooks/lib/isolation.lua")

local function client(handlers)
  local calls = {}
  return setmetatable({ calls = calls }, { __index = function(_, op)
    return function(_, p)
      calls[#calls + 1] = { op = op, p = p }
      local h = handlers[op]
      if type(h) == "function" then return h(p) end
      return h or {}
    end
  end }), calls
end

local function ctx()
  local c = { changes = {}, warnings = {}, run_id = "r1", ticket = "IR-1" }
  c.log = function() end
  c.warn = function(fmt, ...) c.warnings[#c.warnings + 1] = string.format(fmt, ...) end
  c.changed = function(x) c.changes[#c.changes + 1] = x end
  return c
end

local function ops(calls, name)
  local out = {}
  for _, c in ipairs(calls) do if c.op == name then out[#out + 1] = c.p end end
  return out
end

local default_egress = {
  { SecurityGroupRuleId = "sgr-v4", IsEgress = true, IpProtocol = "-1", FromPort = -1, ToPort = -1, CidrIpv4 = "0.0.0.0/0" },
  { SecurityGroupRuleId = "sgr-v6", IsEgress = true, IpProtocol = "-1", FromPort = -1, ToPort = -1, CidrIpv6 = "::/0" },
}

T.case("isolation group reused: default egress revoked by rule id", function()
  local ec2, calls = client({
    DescribeSecurityGroups = { SecurityGroups = { { GroupId = "sg-iso" } } },
    DescribeSecurityGroupRules = { SecurityGroupRules = default_egress },
  })
  local c = ctx()
  local gid, planned = isolation.ensure_group(ec2, c, "vpc-1", "isolation")
  T.eq(gid, "sg-iso", "found by name in the VPC")
  T.eq(planned, false, "not planned")
  T.eq(#ops(calls, "CreateSecurityGroup"), 0, "not created again")
  local r = ops(calls, "RevokeSecurityGroupEgress")
  T.eq(#r, 1, "one revoke call")
  T.eq(table.concat(r[1].SecurityGroupRuleIds, ","), "sgr-v4,sgr-v6", "IPv4 and IPv6 egress rules by id")
  T.eq(#ops(calls, "AuthorizeSecurityGroupEgress") + #ops(calls, "AuthorizeSecurityGroupIngress"), 0, "nothing authorized")
  local f = ops(calls, "DescribeSecurityGroups")[1].Filters
  T.eq(f[1].Values[1] .. " " .. f[2].Values[1], "vpc-1 irhost-isolation", "looked up by VPC and name")
end)

T.case("transition group created with all traffic both ways", function()
  local ec2, calls = client({
    DescribeSecurityGroups = { SecurityGroups = {} },
    CreateSecurityGroup = { GroupId = "sg-tr" },
    DescribeSecurityGroupRules = { SecurityGroupRules = { default_egress[1] } },
  })
  local c = ctx()
  T.eq(isolation.ensure_group(ec2, c, "vpc-1", "transition"), "sg-tr", "created")
  local cr = ops(calls, "CreateSecurityGroup")[1]
  T.eq(cr.GroupName, "irhost-isolation-transition", "named")
  T.eq(cr.TagSpecifications[1].ResourceType, "security-group", "tagged at creation")
  T.eq(#ops(calls, "RevokeSecurityGroupEgress"), 0, "the default IPv4 egress is wanted: kept")
  T.eq(#ops(calls, "AuthorizeSecurityGroupIngress"), 2, "ingress IPv4 and IPv6")
  local eg = ops(calls, "AuthorizeSecurityGroupEgress")
  T.eq(#eg, 1, "egress IPv6 added")
  T.eq(eg[1].IpPermissions[1].Ipv6Ranges[1].CidrIpv6, "::/0", "to ::/0")
end)

T.case("dry run: a group to create is a placeholder", function()
  local ec2, calls = client({ DescribeSecurityGroups = { SecurityGroups = {} }, CreateSecurityGroup = { dry_run = true },
    DescribeVpcs = { Vpcs = { { VpcId = "vpc-1" } } } })
  local c = ctx()
  local gid, planned = isolation.ensure_group(ec2, c, "vpc-1", "isolation")
  T.eq(planned, true, "planned")
  T.like(gid, "irhost%-isolation to be created", "placeholder id")
  T.eq(#ops(calls, "DescribeSecurityGroupRules"), 0, "no read of a group that does not exist")
  T.eq(c.changes[1].action, "CreateSecurityGroup", "the creation is recorded")
end)

-- The plan must hold what the real run sends to a new group: AWS gives it default egress
-- rules (IPv6 too when the VPC has an IPv6 block), which the real run then converges.
local function plan_new(kind, vpc, targets)
  local ec2, calls = client({ DescribeSecurityGroups = { SecurityGroups = {} },
    CreateSecurityGroup = { dry_run = true }, DescribeVpcs = { Vpcs = { vpc } },
    AuthorizeSecurityGroupIngress = { dry_run = true }, AuthorizeSecurityGroupEgress = { dry_run = true },
    RevokeSecurityGroupEgress = { dry_run = true }, RevokeSecurityGroupIngress = { dry_run = true } })
  isolation.ensure_group(ec2, ctx(), "vpc-1", kind, targets)
  return calls
end
local V6 = { VpcId = "vpc-1", Ipv6CidrBlockAssociationSet = { { Ipv6CidrBlock = "2600::/56", Ipv6CidrBlockState = { State = "associated" } } } }

T.case("dry run: a new isolation group plans revoking its default egress", function()
  local calls = plan_new("isolation", { VpcId = "vpc-1" })
  local r = ops(calls, "RevokeSecurityGroupEgress")
  T.eq(#r, 1, "one revoke planned")
  T.eq(#r[1].SecurityGroupRuleIds, 1, "the IPv4 default egress only (no IPv6 block)")
  T.eq(#ops(calls, "AuthorizeSecurityGroupEgress") + #ops(calls, "AuthorizeSecurityGroupIngress"), 0, "nothing authorized")
  r = ops(plan_new("isolation", V6), "RevokeSecurityGroupEgress")
  T.eq(#r[1].SecurityGroupRuleIds, 2, "IPv4 and IPv6 default egress in a dual-stack VPC")
end)

T.case("dry run: a new transition group plans its ingress and IPv6 egress", function()
  local calls = plan_new("transition", { VpcId = "vpc-1" })
  T.eq(#ops(calls, "AuthorizeSecurityGroupIngress"), 2, "ingress IPv4 and IPv6 planned")
  T.eq(#ops(calls, "AuthorizeSecurityGroupEgress"), 1, "egress IPv6 planned (IPv4 is a default)")
  T.eq(#ops(calls, "RevokeSecurityGroupEgress"), 0, "no revoke")
  calls = plan_new("transition", V6)
  T.eq(#ops(calls, "AuthorizeSecurityGroupEgress"), 0, "dual-stack VPC: both egress defaults kept")
end)

T.case("dry run: a new SSM group plans revoking the default and authorizing HTTPS", function()
  local calls = plan_new("ssm", { VpcId = "vpc-1" }, { { group = "sg-ep" }, { prefix_list = "pl-1" } })
  T.eq(#ops(calls, "RevokeSecurityGroupEgress"), 1, "default egress revoked")
  T.eq(#ops(calls, "AuthorizeSecurityGroupEgress"), 2, "HTTPS to the endpoints' group and the prefix list")
end)

T.case("InvalidGroup.Duplicate: another run created the group meanwhile, reused", function()
  local looked = 0
  local ec2, calls = client({
    DescribeSecurityGroups = function()
      looked = looked + 1
      return { SecurityGroups = looked == 1 and {} or { { GroupId = "sg-theirs" } } }
    end,
    CreateSecurityGroup = function() error(require("aws.errors").new({ code = "InvalidGroup.Duplicate", message = "already exists", status = 400 }, "ec2", "CreateSecurityGroup")) end,
    DescribeSecurityGroupRules = { SecurityGroupRules = { default_egress[1] } },
  })
  local gid, planned = isolation.ensure_group(ec2, ctx(), "vpc-1", "transition")
  T.eq(gid, "sg-theirs", "the other run's group")
  T.eq(planned, false, "a real group")
  T.eq(looked, 2, "looked up again by name")
  T.eq(#ops(calls, "AuthorizeSecurityGroupIngress"), 2, "its rules still converged")
end)

T.case("a create error other than Duplicate is raised", function()
  local ec2 = client({ DescribeSecurityGroups = { SecurityGroups = {} },
    CreateSecurityGroup = function() error(require("aws.errors").new({ code = "UnauthorizedOperation", message = "no", status = 403 }, "ec2", "CreateSecurityGroup")) end })
  local ok, e = pcall(isolation.ensure_group, ec2, ctx(), "vpc-1", "isolation")
  T.eq(ok, false, "raised")
  T.eq(type(e) == "table" and e.code, "UnauthorizedOperation", "the AWS error itself")
end)

T.case("online mode: SSM and S3 endpoints", function()
  local ec2 = client({
    DescribeVpcEndpoints = { VpcEndpoints = {
      { ServiceName = "com.amazonaws.us-east-1.ssm", VpcEndpointType = "Interface", Groups = { { GroupId = "sg-ep" } } },
      { ServiceName = "com.amazonaws.us-east-1.ssmmessages", VpcEndpointType = "Interface", Groups = { { GroupId = "sg-ep" } } },
      { ServiceName = "com.amazonaws.us-east-1.ec2messages", VpcEndpointType = "Interface", Groups = { { GroupId = "sg-ep2" } } },
      { ServiceName = "com.amazonaws.us-east-1.s3", VpcEndpointType = "Gateway" },
      { ServiceName = "com.amazonaws.us-east-1.kms", VpcEndpointType = "Interface", Groups = { { GroupId = "sg-kms" } } },
    } },
    DescribePrefixLists = { PrefixLists = { { PrefixListId = "pl-s3" } } },
  })
  local targets, missing = isolation.ssm_targets(ec2, ctx(), "vpc-1", "us-east-1")
  local got = {}
  for _, t in ipairs(targets) do got[#got + 1] = t.group or t.prefix_list end
  T.eq(table.concat(got, ","), "sg-ep,sg-ep2,pl-s3", "endpoint groups (once each) and the S3 prefix list, nothing else")
  T.eq(#missing, 0, "nothing missing")
  local ec2b, calls = client({
    DescribeSecurityGroups = { SecurityGroups = { { GroupId = "sg-ssm" } } },
    DescribeSecurityGroupRules = { SecurityGroupRules = default_egress },
  })
  isolation.ensure_group(ec2b, ctx(), "vpc-1", "ssm", targets)
  T.eq(#ops(calls, "RevokeSecurityGroupEgress"), 1, "open egress revoked")
  local eg = ops(calls, "AuthorizeSecurityGroupEgress")
  T.eq(#eg, 3, "HTTPS to each endpoint target")
  T.ok(eg[1].IpPermissions[1].FromPort == 443 and eg[1].IpPermissions[1].IpProtocol == "tcp", "tcp/443 only")
  T.eq(#ops(calls, "AuthorizeSecurityGroupIngress"), 0, "no ingress")
  local none = client({ DescribeVpcEndpoints = { VpcEndpoints = {} } })
  local _, miss = isolation.ssm_targets(none, ctx(), "vpc-1", "us-east-1")
  T.eq(table.concat(miss, ","), "ssm,ssmmessages,ec2messages,s3", "missing endpoints reported")
end)

T.case("per ENI: transition for all first, failures do not stop the others", function()
  local ec2, calls = client({
    ModifyNetworkInterfaceAttribute = function(p)
      if p.NetworkInterfaceId == "eni-2" and p.Groups[1] == "sg-iso" then error("UnauthorizedOperation: no") end
      return {}
    end,
  })
  local enis = {
    { NetworkInterfaceId = "eni-1", Groups = { { GroupId = "sg-a" }, { GroupId = "sg-b" } } },
    { NetworkInterfaceId = "eni-2", Groups = { { GroupId = "sg-c" } } },
    { NetworkInterfaceId = "eni-3", Groups = { { GroupId = "sg-iso" } } },
    { NetworkInterfaceId = "eni-4", Groups = { { GroupId = "sg-tr" } },
      TagSet = { { Key = "irhost:original-groups", Value = "sg-d,sg-e" } } },
  }
  local states = isolation.isolate_enis(ec2, ctx(), enis, "sg-tr", "sg-iso", "isolated")
  local seq = {}
  for _, m in ipairs(ops(calls, "ModifyNetworkInterfaceAttribute")) do seq[#seq + 1] = m.NetworkInterfaceId .. ">" .. m.Groups[1] end
  T.eq(table.concat(seq, " "), "eni-1>sg-tr eni-2>sg-tr eni-1>sg-iso eni-2>sg-iso eni-4>sg-iso",
    "every ENI to the transition group before any to the isolation group; done work skipped")
  T.eq(states[1].state, "isolated (isolated)", "eni-1 isolated")
  T.eq(states[2].state, "failed", "eni-2 failed")
  T.like(states[2].error, "UnauthorizedOperation", "with the reason")
  T.eq(states[3].state, "already isolated", "eni-3 already isolated")
  T.eq(table.concat(states[4].original, ","), "sg-d,sg-e", "original groups from the tag of an earlier run")
  local tagged = ops(calls, "CreateTags")
  T.eq(#tagged, 2, "original groups tagged once, only where not tagged yet")
  T.eq(tagged[1].Tags[1].Key .. "=" .. tagged[1].Tags[1].Value, "irhost:original-groups=sg-a,sg-b", "the tag")
end)

T.case("network ACL deny entries", function()
  local acl = { NetworkAclId = "acl-1", Entries = {
    { RuleNumber = 1, RuleAction = "deny", Egress = false, CidrBlock = "10.0.0.5/32" },
    { RuleNumber = 100, RuleAction = "allow", Egress = false, CidrBlock = "0.0.0.0/0" },
    { RuleNumber = 100, RuleAction = "allow", Egress = true, CidrBlock = "0.0.0.0/0" },
  } }
  local ec2, calls = client({ DescribeNetworkAcls = { NetworkAcls = { acl } } })
  local rec = isolation.nacl_deny(ec2, ctx(), { "subnet-1" }, { "10.0.0.5", "10.0.0.6" }, { "2600::5" })
  local made = {}
  for _, e in ipairs(ops(calls, "CreateNetworkAclEntry")) do
    made[#made + 1] = (e.Egress and "out" or "in") .. e.RuleNumber .. ":" .. (e.CidrBlock or e.Ipv6CidrBlock) .. ":" .. e.RuleAction
  end
  T.eq(table.concat(made, " "), "in2:10.0.0.6/32:deny in3:2600::5/128:deny out1:10.0.0.5/32:deny out2:10.0.0.6/32:deny out3:2600::5/128:deny",
    "deny entries on free numbers before the allow rules; the existing one reused")
  T.eq(table.concat(rec, ","), "acl-1:1:in,acl-1:2:in,acl-1:3:in,acl-1:1:out,acl-1:2:out,acl-1:3:out", "every entry recorded for --release")
  local full = { NetworkAclId = "acl-2", Entries = { { RuleNumber = 1, RuleAction = "allow", Egress = false, CidrBlock = "0.0.0.0/0" } } }
  local ec2b = client({ DescribeNetworkAcls = { NetworkAcls = { full } } })
  local ok, err = pcall(isolation.nacl_deny, ec2b, ctx(), { "subnet-2" }, { "10.0.0.5" }, {})
  T.ok(not ok and tostring(err):find("no free rule number below", 1, true), "a deny that could not take effect is an error", err)
end)

return T.done()

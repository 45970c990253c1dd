-- ir.finding: reads a GuardDuty finding in any of the forms responders get it in (the raw
-- finding or S3 export, the EventBridge event, its SNS delivery, the GetFindings output
-- with PascalCase keys, Security Hub ASFF) and returns one normalized shape, routed by the
-- resource part of the finding type. See ../shared/guardduty-findings/README.md.
local util = require("ir.util")

local M = {}

local PLACEHOLDER_INSTANCE = "i-99999999"

---------------------------------------------------------------------------- time

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

-- ISO-8601 text, epoch seconds or epoch milliseconds (numbers or digit strings) to
-- "YYYY-MM-DDTHH:MM:SSZ"; nil when it cannot be read.
function M.timestamp(v)
  if type(v) == "string" and v:match("^%s*%d+%.?%d*%s*$") then v = tonumber(v) end
  if type(v) == "number" then
    if v ~= v or v < 0 or v > 1e14 then return nil end
    if v > 1e11 then v = v / 1000 end
    return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(v))
  end
  if type(v) ~= "string" then return nil end
  local y, mo, d, h, mi, s, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then return nil end
  rest = rest:gsub("^[.,]%d+", "")
  local offset
  if rest == "" or rest == "Z" or rest == "z" then offset = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "+" and 1 or -1)
  end
  local t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

---------------------------------------------------------------------------- helpers

local function str(v) if type(v) == "string" and v ~= "" then return v end return nil end
local function tbl(v) if type(v) == "table" then return v end return nil end

-- GetFindings output uses PascalCase keys; the raw finding uses camelCase.
local function camelize(v, depth)
  if type(v) ~= "table" or depth > 40 then return v end
  local out = {}
  for k, x in pairs(v) do
    if type(k) == "string" then k = k:sub(1, 1):lower() .. k:sub(2) end
    out[k] = camelize(x, depth + 1)
  end
  return out
end

-- "Backdoor:EC2/C&CActivity.B" -> "EC2"
function M.kind_of(type_name)
  if type(type_name) ~= "string" then return nil end
  return type_name:match("^[^:]+:([^/]+)/") or type_name:match("^([^:/]+)/")
end

local function tags_of(list)
  local out = {}
  for _, t in ipairs(tbl(list) or {}) do
    if type(t) == "table" and t.key then out[t.key] = t.value end
  end
  return out
end

local function severity(v)
  if type(v) == "number" then return v end
  if type(v) == "string" then return tonumber(v) end
  return nil
end

---------------------------------------------------------------------------- raw finding

local function instance_of(d)
  local i = { id = d.instanceId, type = d.instanceType, image_id = d.imageId,
    profile_arn = tbl(d.iamInstanceProfile) and d.iamInstanceProfile.arn or nil,
    tags = tags_of(d.tags), network_interfaces = {}, security_groups = {} }
  local seen = {}
  for _, n in ipairs(tbl(d.networkInterfaces) or {}) do
    local groups = {}
    for _, g in ipairs(tbl(n.securityGroups) or {}) do
      groups[#groups + 1] = { id = g.groupId, name = g.groupName }
      if g.groupId and not seen[g.groupId] then
        seen[g.groupId] = true
        i.security_groups[#i.security_groups + 1] = g.groupId
      end
    end
    i.network_interfaces[#i.network_interfaces + 1] = {
      id = n.networkInterfaceId, vpc_id = n.vpcId, subnet_id = n.subnetId,
      private_ip = n.privateIpAddress or (tbl(n.privateIpAddresses) and n.privateIpAddresses[1] and n.privateIpAddresses[1].privateIpAddress),
      public_ip = n.publicIp, security_groups = groups,
    }
    i.vpc_id = i.vpc_id or n.vpcId
    i.subnet_id = i.subnet_id or n.subnetId
  end
  return i
end

local function from_raw(f, form)
  local r = tbl(f.resource) or {}
  local svc = tbl(f.service) or {}
  local out = {
    form = form, id = f.id, arn = f.arn, type = f.type, kind = M.kind_of(f.type),
    resource_type = r.resourceType, account = f.accountId, region = f.region, partition = f.partition,
    severity = severity(f.severity), title = f.title, description = f.description,
    created_at = M.timestamp(f.createdAt), updated_at = M.timestamp(f.updatedAt),
    first_seen = M.timestamp(svc.eventFirstSeen), last_seen = M.timestamp(svc.eventLastSeen),
    count = tonumber(svc.count), archived = svc.archived,
    sample = tbl(svc.additionalInfo) and svc.additionalInfo.sample == true or false,
    action_type = tbl(svc.action) and svc.action.actionType or nil,
    raw = f,
  }
  if not out.type then return nil, "not a GuardDuty finding: no type" end
  local kind, rtype = out.kind, r.resourceType
  local d = tbl(r.instanceDetails)
  if d and str(d.instanceId) and (kind == "EC2" or kind == "Runtime" or rtype == "Instance")
     and (d.instanceId ~= PLACEHOLDER_INSTANCE or kind == "EC2") then
    out.instance = instance_of(d)
  end
  local k = tbl(r.accessKeyDetails)
  if k then
    out.access_key = { access_key_id = k.accessKeyId, principal_id = k.principalId,
      user_name = k.userName, user_type = k.userType }
  end
  if tbl(r.s3BucketDetails) then
    out.buckets = {}
    for _, b in ipairs(r.s3BucketDetails) do
      if type(b) == "table" and b.name then out.buckets[#out.buckets + 1] = b.name end
    end
  end
  local db = tbl(r.rdsDbInstanceDetails)
  if db then
    local u = tbl(r.rdsDbUserDetails) or {}
    out.rds = { db_instance_identifier = db.dbInstanceIdentifier, db_cluster_identifier = db.dbClusterIdentifier,
      db_instance_arn = db.dbInstanceArn, engine = db.engine, user = u.user, application = u.application,
      database = u.database }
  end
  local c = tbl(r.containerDetails)
  if c then out.container = { id = c.id, image = c.image, name = c.name } end
  local ecs = tbl(r.ecsClusterDetails)
  if ecs then
    out.ecs = { cluster_arn = ecs.arn, cluster_name = ecs.name,
      task_arn = tbl(ecs.taskDetails) and ecs.taskDetails.arn or nil }
  end
  local eks = tbl(r.eksClusterDetails)
  if eks then out.eks = { cluster_name = eks.name, cluster_arn = eks.arn } end
  local ebs = tbl(r.ebsVolumeDetails)
  if ebs then
    out.volumes = {}
    for _, v in ipairs(tbl(ebs.scannedVolumeDetails) or {}) do
      if type(v) == "table" and v.volumeArn then out.volumes[#out.volumes + 1] = v.volumeArn end
    end
  end
  return out
end

---------------------------------------------------------------------------- ASFF

local function asff_type(types)
  for _, t in ipairs(tbl(types) or {}) do
    local last = type(t) == "string" and t:match("([^/]+)$")
    if last and last:find(":", 1, true) then
      -- ASFF turns the '/' after the resource kind into '-': put it back.
      return (last:gsub("^([^:]+:[^-]+)%-", "%1/", 1))
    end
  end
  return nil
end

local function from_asff(f, form)
  local pf = tbl(f.ProductFields) or {}
  local sev = tbl(f.Severity) or {}
  local fps = tbl(f.FindingProviderFields) and tbl(f.FindingProviderFields.Severity) or {}
  local typ = asff_type(f.Types) or asff_type(tbl(f.FindingProviderFields) and f.FindingProviderFields.Types)
  local resources = tbl(f.Resources) or {}
  local first = tbl(resources[1]) or {}
  local out = {
    form = form, id = type(f.Id) == "string" and (f.Id:match("/finding/([%w]+)$") or f.Id) or nil,
    arn = f.Id, type = typ, kind = M.kind_of(typ), resource_type = first.Type,
    account = f.AwsAccountId, region = f.Region or first.Region or (type(f.Id) == "string" and f.Id:match("^arn:[^:]+:[^:]+:([^:]+):")),
    partition = first.Partition,
    severity = severity(sev.Product) or severity(fps.Original) or (tonumber(sev.Normalized) and tonumber(sev.Normalized) / 10),
    title = f.Title, description = f.Description,
    created_at = M.timestamp(f.CreatedAt), updated_at = M.timestamp(f.UpdatedAt),
    first_seen = M.timestamp(f.FirstObservedAt), last_seen = M.timestamp(f.LastObservedAt),
    count = tonumber(pf["aws/guardduty/service/count"]),
    archived = pf["aws/guardduty/service/archived"] == "true",
    sample = pf["aws/guardduty/service/additionalInfo/sample"] == "true",
    raw = f,
  }
  if not out.type then return nil, "not a GuardDuty finding: the ASFF document has no finding type in Types" end
  for _, res in ipairs(resources) do
    local d = tbl(res.Details) or {}
    if res.Type == "AwsEc2Instance" then
      local e = tbl(d.AwsEc2Instance) or {}
      local id = type(res.Id) == "string" and (res.Id:match("instance/(i%-%x+)$") or res.Id:match("^(i%-%x+)$"))
      if id and (id ~= PLACEHOLDER_INSTANCE or out.kind == "EC2") then
        out.instance = { id = id, type = e.Type, image_id = e.ImageId, vpc_id = e.VpcId, subnet_id = e.SubnetId,
          profile_arn = e.IamInstanceProfileArn, ip_addresses = e.IpV4Addresses, tags = tbl(res.Tags) or {},
          network_interfaces = {}, security_groups = {} }
        for _, n in ipairs(tbl(e.NetworkInterfaces) or {}) do
          out.instance.network_interfaces[#out.instance.network_interfaces + 1] = { id = n.NetworkInterfaceId }
        end
      end
    elseif res.Type == "AwsIamAccessKey" then
      local k = tbl(d.AwsIamAccessKey) or {}
      local key_id = type(res.Id) == "string" and res.Id:match("(A[KS]IA[%w]+)$") or nil
      out.access_key = { access_key_id = key_id, principal_id = k.PrincipalId,
        user_name = k.UserName or k.PrincipalName, user_type = k.PrincipalType }
    elseif res.Type == "AwsS3Bucket" then
      out.buckets = out.buckets or {}
      local name = type(res.Id) == "string" and (res.Id:match("^arn:[^:]+:s3:::(.+)$") or res.Id)
      out.buckets[#out.buckets + 1] = name
    elseif res.Type == "AwsRdsDbInstance" then
      local db = tbl(d.AwsRdsDbInstance) or {}
      out.rds = { db_instance_identifier = db.DBInstanceIdentifier or (type(res.Id) == "string" and res.Id:match(":db:(.+)$")),
        db_instance_arn = res.Id, engine = db.Engine }
    elseif res.Type == "AwsEksCluster" then
      out.eks = { cluster_arn = res.Id, cluster_name = type(res.Id) == "string" and res.Id:match("cluster/(.+)$") or nil }
    elseif res.Type == "Container" then
      local c = tbl(d.Container) or {}
      out.container = { id = res.Id, image = c.ImageName or c.ImageId, name = c.Name }
    end
  end
  return out
end

---------------------------------------------------------------------------- forms

local function is_asff(f)
  return type(f) == "table" and (f.AwsAccountId ~= nil or f.SchemaVersion == "2018-10-08") and f.Types ~= nil
end

local parse_value

local function parse_list(list, form, acc, depth)
  for _, f in ipairs(list) do
    local ok, err = parse_value(f, form, acc, depth + 1)
    if not ok then return nil, err end
  end
  return true
end

-- Appends the findings in v to acc; returns true or nil, message.
parse_value = function(v, form, acc, depth)
  if depth > 8 then return nil, "finding document nested too deeply" end
  if type(v) ~= "table" then return nil, "not a GuardDuty finding: expected a JSON object" end
  if v["detail-type"] ~= nil or (v.source ~= nil and v.detail ~= nil) then
    local dt = v["detail-type"]
    if dt == "GuardDuty Finding" and type(v.detail) == "table" then
      local f = util.copy(v.detail)
      f.accountId = f.accountId or v.account
      f.region = f.region or v.region
      return parse_value(f, form or "eventbridge", acc, depth + 1)
    elseif dt == "Security Hub Findings - Imported" and type(v.detail) == "table" and type(v.detail.findings) == "table" then
      return parse_list(v.detail.findings, form or "eventbridge-asff", acc, depth)
    end
    return nil, "not a GuardDuty finding: an EventBridge event of type '" .. tostring(dt) ..
      "' from " .. tostring(v.source)
  end
  if type(v.Records) == "table" and type(v.Records[1]) == "table" and type(v.Records[1].Sns) == "table" then
    for _, rec in ipairs(v.Records) do
      local msg = type(rec.Sns) == "table" and rec.Sns.Message
      if type(msg) ~= "string" then return nil, "SNS record without a Message" end
      local inner, err = util.decode(msg)
      if inner == nil then return nil, "SNS message is not JSON: " .. tostring(err) end
      local ok, perr = parse_value(inner, "sns", acc, depth + 1)
      if not ok then return nil, perr end
    end
    return true
  end
  if v.Type == "Notification" and type(v.Message) == "string" then
    local inner, err = util.decode(v.Message)
    if inner == nil then return nil, "SNS message is not JSON: " .. tostring(err) end
    return parse_value(inner, "sns", acc, depth + 1)
  end
  if type(v.Findings) == "table" then
    for _, f in ipairs(v.Findings) do
      local ok, err
      if is_asff(f) then ok, err = parse_value(f, form or "asff", acc, depth + 1)
      else ok, err = parse_value(camelize(f, 0), form or "get-findings", acc, depth + 1) end
      if not ok then return nil, err end
    end
    return true
  end
  if util.is_array(v) then return parse_list(v, form, acc, depth) end
  if is_asff(v) then
    local f, err = from_asff(v, form or "asff")
    if not f then return nil, err end
    acc[#acc + 1] = f
    return true
  end
  if v.Type ~= nil and v.Resource ~= nil and v.type == nil then v = camelize(v, 0); form = form or "get-findings" end
  if v.type ~= nil and (v.resource ~= nil or v.schemaVersion ~= nil) then
    local f, err = from_raw(v, form or "raw")
    if not f then return nil, err end
    acc[#acc + 1] = f
    return true
  end
  return nil, "not a GuardDuty finding: no finding type or resource in the document"
end

local function to_value(input)
  if type(input) == "table" and type(input.content) == "string" and input.path then input = input.content end
  if type(input) == "string" then
    local v, err = util.decode(input)
    if v == nil then return nil, "finding is not valid JSON: " .. util.one_line(tostring(err)) end
    return v
  end
  if type(input) == "table" then return input end
  return nil, "finding: expected JSON text, a decoded table or a file param"
end

-- Every finding in input (JSON text, a decoded table, or a file param {path, content}).
-- Returns a list of normalized findings, or nil, message.
function M.parse_all(input)
  local v, err = to_value(input)
  if v == nil then return nil, err end
  local acc = {}
  local ok, perr = parse_value(v, nil, acc, 0)
  if not ok then return nil, perr end
  if #acc == 0 then return nil, "no findings in the document" end
  return acc
end

-- The single finding in input (the first when there are several), or nil, message.
function M.parse(input)
  local list, err = M.parse_all(input)
  if not list then return nil, err end
  return list[1], nil, #list
end

return M

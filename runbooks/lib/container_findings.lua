-- GuardDuty for container incidents (ECS tasks and standalone containers): the runtime
-- findings that name a cluster, task, instance or container, and what GuardDuty Malware
-- Protection scanned and kept (EBS snapshots retained with a finding).
local M = {}

-- The region's detector id, or nil when GuardDuty is not enabled there.
function M.detector(gd)
  local ids = gd:ListDetectors{}.DetectorIds or {}
  return ids[1]
end

-- Raw findings (PascalCase, as GetFindings returns them) matching criterion
-- ({["resource.x.y"] = {Eq = {...}}}); keep(f) filters them further on our side.
function M.find(gd, detector, criterion, keep)
  local ids = {}
  for page in gd:paginate("ListFindings", { DetectorId = detector, FindingCriteria = { Criterion = criterion } }) do
    for _, id in ipairs(page.FindingIds or {}) do ids[#ids + 1] = id end
  end
  local out = {}
  for i = 1, #ids, 50 do
    local batch = {}
    for j = i, math.min(i + 49, #ids) do batch[#batch + 1] = ids[j] end
    for _, f in ipairs(gd:GetFindings{ DetectorId = detector, FindingIds = batch }.Findings or {}) do
      if not keep or keep(f) then out[#out + 1] = f end
    end
  end
  table.sort(out, function(a, b) return (tonumber(a.Severity) or 0) > (tonumber(b.Severity) or 0) end)
  return out
end

-- One line per finding for the report: {id, type, severity, title, last_seen, archived}.
function M.summary(raw)
  local f = ir.finding.parse({ Findings = { raw } }) or {}
  return { id = raw.Id, type = raw.Type, severity = raw.Severity, title = raw.Title,
    first_seen = f.first_seen, last_seen = f.last_seen, count = f.count, archived = f.archived == true,
    task_arn = f.ecs and f.ecs.task_arn or nil, container_id = f.container and f.container.id or nil,
    instance_id = f.instance and f.instance.id or nil }
end

-- The verdict a responder reads first.
function M.verdict(summaries, enabled)
  if not enabled then return "unknown: GuardDuty is not enabled in this region, so there are no runtime findings to read" end
  if #summaries == 0 then
    return "no GuardDuty finding (absence is not proof: Runtime Monitoring must be enabled for the cluster or host)"
  end
  local top = summaries[1]
  return string.format("malicious activity reported: %d GuardDuty finding(s), highest severity %s (%s)",
    #summaries, tostring(top.severity), tostring(top.type))
end

-- Malware Protection for EC2: is snapshot retention on, and the scans of an instance
-- with the EBS snapshots they kept. {retention, scans = {{id, status, result, started, snapshots}}}.
function M.malware_scans(gd, detector, instance_arn)
  local s = gd:GetMalwareScanSettings{ DetectorId = detector }
  local out = { retention = s.EbsSnapshotPreservation or "NO_RETENTION", scans = {} }
  local r = gd:DescribeMalwareScans{ DetectorId = detector, FilterCriteria = { FilterCriterion = {
    { CriterionKey = "EC2_INSTANCE_ARN", FilterCondition = { EqualsValue = instance_arn } } } } }
  for _, scan in ipairs(r.Scans or {}) do
    local snaps = {}
    for _, v in ipairs(scan.AttachedVolumes or {}) do
      if v.SnapshotArn then
        snaps[#snaps + 1] = { snapshot_id = v.SnapshotArn:match("snapshot/(snap%-%x+)$") or v.SnapshotArn,
          volume_id = v.VolumeArn and v.VolumeArn:match("volume/(vol%-%x+)$") or v.VolumeArn, device = v.DeviceName,
          encryption = v.EncryptionType }
      end
    end
    out.scans[#out.scans + 1] = { id = scan.ScanId, status = scan.ScanStatus,
      result = scan.ScanResultDetails and scan.ScanResultDetails.ScanResult or nil,
      started = scan.ScanStartTime, finding_id = scan.TriggerDetails and scan.TriggerDetails.GuardDutyFindingId or nil,
      snapshots = snaps }
  end
  return out
end

return M

-- An RDS instance's log files of a time window, downloaded whole (DownloadDBLogFilePortion
-- pages until no data is pending) and saved as evidence with their hashes.
local M = {}

M.MAX_BYTES = 64 * 1024 * 1024   -- per file: a bound, reported when hit
M.LINES = 10000                  -- lines per portion

-- Downloads one file; returns text, truncated (bool).
function M.download(rds, db, name)
  local parts, size, marker, truncated = {}, 0, "0", false
  while true do
    local r = rds:DownloadDBLogFilePortion{ DBInstanceIdentifier = db, LogFileName = name, Marker = marker, NumberOfLines = M.LINES }
    local data = r.LogFileData or ""
    parts[#parts + 1] = data
    size = size + #data
    if size >= M.MAX_BYTES then truncated = true; break end
    if not r.AdditionalDataPending or not r.Marker or r.Marker == marker then break end
    marker = r.Marker
  end
  return table.concat(parts), truncated
end

-- Log files written since start (epoch seconds): list of {name, size, last_written}.
function M.list(rds, db, start)
  local out = {}
  for f in rds:paginate("DescribeDBLogFiles", { DBInstanceIdentifier = db, FileLastWritten = math.floor(start * 1000) }, { items = true }) do
    out[#out + 1] = { name = f.LogFileName, size = f.Size, last_written = f.LastWritten and
      os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(f.LastWritten / 1000)) or nil }
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- Lines of text mentioning any needle (plain match): count and the first few.
function M.mentions(text, needles, keep)
  local n, first = 0, {}
  if #needles == 0 then return 0, first end
  for line in text:gmatch("[^\n]+") do
    for _, s in ipairs(needles) do
      if line:find(s, 1, true) then
        n = n + 1
        if #first < (keep or 5) then first[#first + 1] = line:sub(1, 300) end
        break
      end
    end
  end
  return n, first
end

-- An evidence name for a log file (the broker accepts [A-Za-z0-9._/-], no "..").
function M.evidence_name(name)
  return "db-logs/" .. (name:gsub("[^%w._/-]", "_"):gsub("%.%.+", "_"))
end

return M

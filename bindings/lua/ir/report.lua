-- ir.report: report.md for humans, rendered from the report.json record the broker keeps
-- ({version, events, evidence, calls, exit, runner}). Runs in the broker's trusted Lua
-- state too, so it needs nothing but plain Lua and ir.util. It must never fail on a
-- partial record (a runner that died mid-step still gets a readable report).
local util = require("ir.util")

local M = {}

-- Numbers decoded from report.json may be floats; 3.0 reads as 3.
local function str(v)
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", v) end
  return tostring(v)
end

local function cell(v)
  if v == nil then return "" end
  local s = type(v) == "table" and util.json(v) or str(v)
  s = s:gsub("[\r\n]+", " "):gsub("|", "\\|")
  return s
end

local function code(v)
  if v == nil then return "(none)" end
  local s = type(v) == "table" and util.json(v) or str(v)
  s = s:gsub("[\r\n]+", " ")
  if #s > 300 then s = s:sub(1, 297) .. "..." end
  if s:find("`", 1, true) then return "``" .. s .. " ``" end
  return "`" .. s .. "`"
end

local function text(v)
  return (str(v):gsub("[\r\n]+", " "))
end

local function duration(ms)
  ms = tonumber(ms)
  if not ms then return "" end
  if ms < 1000 then return string.format("%d ms", math.floor(ms)) end
  if ms < 60000 then return string.format("%.1f s", ms / 1000) end
  return string.format("%dm%02ds", math.floor(ms / 60000), math.floor(ms / 1000) % 60)
end

local status_mark = {
  done = "✓ done", ["done (resumed)"] = "✓ done (resumed)", skipped = "– skipped",
  failed = "✗ failed", ["dry-run"] = "○ dry-run", interrupted = "✗ interrupted",
}

-- Folds the event list into what the report shows.
local function collect(events)
  local r = { steps = {}, order = {}, followups = {}, names = {} }
  for _, ev in ipairs(events or {}) do
    if type(ev) == "table" then
      local t = ev.type
      if t == "run_start" then r.start = ev; r.names = ev.steps or {}
      elseif t == "identity" then r.identity = ev
      elseif t == "step_start" then
        local key = ev.index or ev.name
        if not r.steps[key] then r.order[#r.order + 1] = key end
        r.steps[key] = { index = ev.index, name = ev.name, destructive = ev.destructive, open = true, t_ms = ev.t_ms }
      elseif t == "step_end" then
        local key = ev.index or ev.name
        if not r.steps[key] then r.order[#r.order + 1] = key
        else ev.t_ms = ev.t_ms or r.steps[key].t_ms end
        ev.open = false
        r.steps[key] = ev
      elseif t == "followup" then r.followups[#r.followups + 1] = ev.text
      elseif t == "runner_died" then r.died = ev
      elseif t == "run_end" then r.finish = ev
      end
    end
  end
  return r
end

local function outcome(record, r)
  local rs = type(record.runner) == "table" and tostring(record.runner.status or "") or ""
  if r.died or rs:find("died") or rs:find("kill") or rs:find("crash") or rs:find("signal") then
    return "**runner died**"
  end
  local st = r.finish and r.finish.status
  if st == "succeeded" then return "**succeeded**" end
  if st == "refused" then return "**refused** (nothing after the refusal was done)" end
  if st == "failed" then return "**failed**" end
  return "**incomplete** (the run did not finish)"
end

local function header(lines, record, r)
  local s = r.start or {}
  lines[#lines + 1] = "# Incident response: " .. text(s.ticket or "(no ticket)") .. " — " .. text(s.runbook or "runbook")
  lines[#lines + 1] = ""
  lines[#lines + 1] = "| | |"
  lines[#lines + 1] = "|---|---|"
  local function row(k, v) if v ~= nil and v ~= "" then lines[#lines + 1] = "| " .. k .. " | " .. cell(v) .. " |" end end
  row("Outcome", outcome(record, r) .. (record.exit ~= nil and (" (exit " .. str(record.exit) .. ")") or ""))
  row("Ticket", s.ticket or "(none given: use --ticket)")
  row("Runbook", (s.runbook or "") .. (s.file and (" (" .. s.file .. ")") or ""))
  if r.identity and r.identity.arn then
    row("Run by", r.identity.arn .. (r.identity.account and (" (account " .. r.identity.account .. ")") or ""))
  elseif r.identity and r.identity.error then
    row("Run by", "unknown: " .. r.identity.error)
  end
  row("Started", s.time)
  row("Ended", r.finish and r.finish.time)
  row("Region", s.region)
  row("Run id", s.run_id)
  if s.dry_run then row("Mode", "**dry run**: nothing was changed; the mutating calls below were planned, not sent") end
  if s.resumed then row("Resumed", "yes: steps done by the earlier run were not repeated") end
  if r.died then row("Runner", "died: " .. (r.died.reason or "unknown reason")) end
  lines[#lines + 1] = ""
end

local function params_section(lines, r)
  local p = r.start and r.start.params
  if type(p) ~= "table" or next(p) == nil then return end
  lines[#lines + 1] = "## Parameters"
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Flags not listed were off."
  lines[#lines + 1] = ""
  lines[#lines + 1] = "| option | value |"
  lines[#lines + 1] = "|---|---|"
  for _, k in ipairs(util.sorted_keys(p)) do
    local v = p[k]
    if v == false then goto continue end
    if type(v) == "table" then
      local parts = {}
      for i, x in ipairs(v) do parts[i] = str(x) end
      v = table.concat(parts, ", ")
    end
    lines[#lines + 1] = "| --" .. cell((tostring(k):gsub("_", "-"))) .. " | " .. cell(v) .. " |"
    ::continue::
  end
  lines[#lines + 1] = ""
end

local function step_status(st)
  if st.open then return "interrupted" end
  return st.status or "unknown"
end

-- A step the broker killed at the wall-clock limit has a step_end with duration 0 (the
-- runner could not time it): its elapsed time is from its start to the limit, counted from
-- the run's start (prompts do not count towards the limit, hence "about").
local function killed_elapsed(st, r)
  local reason = r.died and r.died.reason
  local limit = type(reason) == "string" and tonumber(reason:match("wall%-clock limit of ([%d.]+) s"))
  local t0, t1 = r.start and tonumber(r.start.t_ms), tonumber(st.t_ms)
  if not (limit and t0 and t1) or (tonumber(st.duration_ms) or 0) > 0 then return nil end
  local ms = t0 + limit * 1000 - t1
  if ms < 0 then return nil end
  return "about " .. duration(ms) .. " (stopped at the wall-clock limit)"
end

local function steps_section(lines, r)
  lines[#lines + 1] = "## Steps"
  lines[#lines + 1] = ""
  lines[#lines + 1] = "| # | step | status | duration |"
  lines[#lines + 1] = "|---|---|---|---|"
  for _, key in ipairs(r.order) do
    local st = r.steps[key]
    local s = step_status(st)
    lines[#lines + 1] = "| " .. cell(st.index) .. " | " .. cell(st.name) .. " | " .. cell(status_mark[s] or s) ..
      " | " .. cell(killed_elapsed(st, r) or duration(st.duration_ms)) .. " |"
  end
  lines[#lines + 1] = ""
  for _, key in ipairs(r.order) do
    local st = r.steps[key]
    local s = step_status(st)
    local has = st.changes or st.notes or st.planned or st.error or st.outputs or st.evidence or s == "interrupted"
    if has then
      lines[#lines + 1] = "### " .. text(st.index or "?") .. ". " .. text(st.name) .. " — " .. s
      lines[#lines + 1] = ""
      if st.error then lines[#lines + 1] = "**Error:** " .. text(st.error); lines[#lines + 1] = "" end
      if s == "interrupted" then
        lines[#lines + 1] = "**Interrupted:** the runner stopped during this step; what it changed before stopping is in audit.jsonl."
        lines[#lines + 1] = ""
      end
      if type(st.changes) == "table" and #st.changes > 0 then
        lines[#lines + 1] = st.status == "dry-run" and "Would change:" or "Changed:"
        lines[#lines + 1] = ""
        for _, c in ipairs(st.changes) do
          lines[#lines + 1] = "- " .. code(c.resource) .. " " .. text(c.action) .. ": " .. code(c.before) .. " → " .. code(c.after) ..
            (c.planned and " (planned)" or "") .. (c.detail and (" — " .. text(c.detail)) or "")
        end
        lines[#lines + 1] = ""
      end
      if type(st.planned) == "table" and #st.planned > 0 then
        lines[#lines + 1] = "Planned calls (not sent):"
        lines[#lines + 1] = ""
        for _, pc in ipairs(st.planned) do
          lines[#lines + 1] = "- " .. text(pc.service) .. ":" .. text(pc.operation) .. " " .. code(pc.params)
        end
        lines[#lines + 1] = ""
      end
      if type(st.notes) == "table" and #st.notes > 0 then
        lines[#lines + 1] = "Notes:"
        lines[#lines + 1] = ""
        for _, n in ipairs(st.notes) do lines[#lines + 1] = "- " .. text(n) end
        lines[#lines + 1] = ""
      end
      if type(st.outputs) == "table" and next(st.outputs) then
        lines[#lines + 1] = "Outputs:"
        lines[#lines + 1] = ""
        for _, k in ipairs(util.sorted_keys(st.outputs)) do
          local v = st.outputs[k]
          local encoded = type(v) == "table" and util.json(v) or str(v)
          if #encoded > 200 then
            lines[#lines + 1] = "- " .. text(k) .. ": (" .. #encoded .. " bytes of JSON, in report.json)"
          else
            lines[#lines + 1] = "- " .. text(k) .. ": " .. code(v)
          end
        end
        lines[#lines + 1] = ""
      end
    end
  end
end

local function not_done_section(lines, record, r)
  local ended_ok = r.finish and r.finish.status == "succeeded" and not r.died
  if ended_ok then return end
  local items = {}
  for _, key in ipairs(r.order) do
    local st = r.steps[key]
    local s = step_status(st)
    if s == "failed" then items[#items + 1] = "Step " .. text(st.index) .. " \"" .. text(st.name) .. "\" failed: " .. text(st.error or "see the run log")
    elseif s == "interrupted" then items[#items + 1] = "Step " .. text(st.index) .. " \"" .. text(st.name) .. "\" was interrupted and may be partly done"
    end
  end
  local seen = {}
  for _, key in ipairs(r.order) do
    local st = r.steps[key]
    if st.name then seen[st.name] = true end
  end
  -- Steps the run meant to run (run_start.will_run; older reports: all) but never reached.
  -- A step skipped by design (its `when`) is not "not done".
  local meant
  if r.start and type(r.start.will_run) == "table" then
    meant = {}
    for _, name in ipairs(r.start.will_run) do meant[name] = true end
  end
  local refused_at = r.finish and r.finish.status == "refused" and tonumber(r.finish.step)
  for i, name in ipairs(r.names) do
    if not seen[name] and (not meant or meant[name]) then
      if i == refused_at then
        items[#items + 1] = "Step " .. i .. " \"" .. text(name) .. "\" was refused by the operator at its confirmation prompt"
      else
        items[#items + 1] = "Step " .. i .. " \"" .. text(name) .. "\" was not run"
      end
    end
  end
  if refused_at then
    -- Named above.
  elseif r.finish and r.finish.status == "refused" then
    items[#items + 1] = "The run was refused" .. (r.finish.reason and (" (" .. text(r.finish.reason) .. ")") or "") ..
      ": nothing from that step on was done"
  end
  if #items == 0 and not r.finish then items[#items + 1] = "The run did not finish: " ..
    text((r.died and r.died.reason) or (type(record.runner) == "table" and record.runner.reason) or "unknown reason") end
  if #items == 0 then return end
  lines[#lines + 1] = "## What was NOT done"
  lines[#lines + 1] = ""
  for _, it in ipairs(items) do lines[#lines + 1] = "- " .. it end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Rerun with `--resume <this run directory>` to continue: steps recorded as done are skipped."
  lines[#lines + 1] = ""
end

local function evidence_section(lines, record, r)
  local list = record.evidence
  if type(list) ~= "table" or #list == 0 then return end
  local uploads, copies = {}, {}
  for _, key in ipairs(r.order) do
    for _, e in ipairs(r.steps[key].evidence or {}) do
      if type(e) == "table" and e.name and e.s3 then uploads[e.name] = e.s3 end
      if type(e) == "table" and e.name and type(e.copy_of) == "string" then copies[e.name] = e.copy_of end
    end
  end
  lines[#lines + 1] = "## Evidence"
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Files under `evidence/`, hashes also in `SHA256SUMS`."
  lines[#lines + 1] = ""
  lines[#lines + 1] = "| file | sha256 | bytes | copy |"
  lines[#lines + 1] = "|---|---|---|---|"
  for _, e in ipairs(list) do
    local up = uploads[e.name]
    local copy = ""
    if up then
      copy = "s3://" .. tostring(up.bucket) .. "/" .. tostring(up.key)
      if up.error then copy = copy .. " (upload failed: " .. up.error .. ")"
      elseif up.planned then copy = copy .. " (planned)"
      else copy = copy .. (up.version_id and (" version " .. up.version_id) or "") .. (up.etag and (" etag " .. up.etag) or "") end
    end
    local file = e.name
    if copies[e.name] then file = file .. " (saved on resume; " .. copies[e.name] .. " is the earlier attempt's)" end
    lines[#lines + 1] = "| " .. cell(file) .. " | `" .. cell(e.sha256) .. "` | " .. cell(e.size) .. " | " .. cell(copy) .. " |"
  end
  lines[#lines + 1] = ""
end

local function followups_section(lines, r)
  if #r.followups == 0 then return end
  lines[#lines + 1] = "## Manual follow-ups"
  lines[#lines + 1] = ""
  for _, f in ipairs(r.followups) do lines[#lines + 1] = "- [ ] " .. text(f) end
  lines[#lines + 1] = ""
end

local function calls_section(lines, record)
  local c = record.calls
  if type(c) ~= "table" then return end
  lines[#lines + 1] = "## AWS calls"
  lines[#lines + 1] = ""
  local function count(n, one, many)
    n = n or 0
    return str(n) .. " " .. ((tonumber(n) == 1) and one or many)
  end
  lines[#lines + 1] = string.format("%s, %s mutating, %s planned (dry run), %s, %s; every attempt is in `audit.jsonl`.",
    count(c.calls, "call", "calls"), str(c.mutating or 0), str(c.planned or 0), count(c.retries, "retry", "retries"),
    count(c.errors, "error", "errors"))
  lines[#lines + 1] = ""
end

-- Renders the record as Markdown text.
function M.markdown(record)
  record = type(record) == "table" and record or {}
  local r = collect(record.events)
  local lines = {}
  header(lines, record, r)
  params_section(lines, r)
  steps_section(lines, r)
  not_done_section(lines, record, r)
  evidence_section(lines, record, r)
  followups_section(lines, r)
  calls_section(lines, record)
  return table.concat(lines, "\n")
end

return M

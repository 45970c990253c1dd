-- ir.context: the `ctx` a step receives. One per step over the run's shared pieces
-- (params, state, evidence store); what the step records (changes, outputs, notes,
-- follow-ups) lands in its step record, which becomes the step_end event.
local evidence = require("ir.evidence")

local M = {}

local function fmt(...)
  local n = select("#", ...)
  if n == 0 then return "" end
  local first = ...
  if n > 1 and type(first) == "string" and first:find("%", 1, true) then
    local ok, s = pcall(string.format, ...)
    if ok then return s end
  end
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  return table.concat(parts, " ")
end

-- run: {host, aws, params, state, dry_run, ticket, run_id, region, yes, interactive, resumed,
--       evidence (ir.evidence store), followup(text), log(level, text)}
-- rec: the step record {name, changes, outputs, notes}.
function M.new(run, rec)
  local ctx = {
    params = run.params, state = run.state, dry_run = run.dry_run, ticket = run.ticket,
    run_id = run.run_id, region = run.region, account = run.account, step = rec.name,
    evidence = run.evidence,
  }

  function ctx.log(...) run.log("info", fmt(...)) end
  function ctx.debug(...) run.log("debug", fmt(...)) end
  function ctx.info(...)
    local text = fmt(...)
    rec.notes[#rec.notes + 1] = text
    run.log("info", text)
  end
  function ctx.warn(...)
    local text = fmt(...)
    rec.notes[#rec.notes + 1] = "warning: " .. text
    run.log("warn", text)
  end

  function ctx.changed(c)
    if type(c) ~= "table" or type(c.resource) ~= "string" or type(c.action) ~= "string" then
      error("ctx.changed{resource = ..., action = ..., before = ..., after = ...}: resource and action must be strings", 2)
    end
    local entry = { resource = c.resource, action = c.action, before = c.before, after = c.after, detail = c.detail }
    if run.dry_run then entry.planned = true end
    rec.changes[#rec.changes + 1] = entry
  end

  function ctx.output(k, v)
    if type(k) ~= "string" then error("ctx.output(key, value): key must be a string", 2) end
    rec.outputs[k] = v
    run.state[k] = v
  end

  function ctx.followup(text)
    if type(text) ~= "string" or text == "" then error("ctx.followup(text): text must be a non-empty string", 2) end
    run.followup(text)
  end

  -- Waits (e.g. between polls of something without a waiter); the broker's wall clock still applies.
  function ctx.sleep(seconds)
    if type(seconds) ~= "number" or seconds < 0 or seconds > 3600 then
      error("ctx.sleep(seconds): seconds must be a number from 0 to 3600", 2)
    end
    if run.host.sleep_ms then run.host.sleep_ms(math.floor(seconds * 1000)) end
  end

  -- Hands a presigned URL (a handle from aws.presign) to the user: the broker shows it on
  -- stderr and writes it to handoff.txt in the run folder; the runbook never sees it.
  function ctx.handoff(handle, label)
    if type(handle) ~= "string" then error("ctx.handoff(handle, label): handle must be a handle from aws.presign", 2) end
    if label ~= nil and type(label) ~= "string" then error("ctx.handoff(handle, label): label must be a string", 2) end
    local reply = run.host.request("handoff", { handle = handle, label = label })
    if type(reply) ~= "table" then error("ctx.handoff: no reply from the broker", 2) end
    if reply.error then error("ctx.handoff: " .. tostring(reply.message or reply.error), 2) end
    local text = string.format("a presigned URL for %s (expires %s) was handed off in %s",
      tostring(reply.label or label or reply.what), tostring(reply.expires), tostring(reply.path or "handoff.txt"))
    rec.notes[#rec.notes + 1] = text
    run.log("info", text)
    return { what = reply.what, expires = reply.expires, path = reply.path }
  end

  function ctx.confirm(prompt)
    if type(prompt) ~= "string" then error("ctx.confirm(prompt): prompt must be a string", 2) end
    if run.yes or run.dry_run then return true end
    local reply = run.host.request("confirm", { prompt = prompt })
    return type(reply) == "table" and reply.answer == "yes"
  end

  return ctx
end

-- The run's evidence store, whose notes go to whichever step is running.
function M.evidence_store(run, current_rec)
  return evidence.new({
    host = run.host, aws = run.aws, bucket = run.params.evidence_bucket,
    ticket = run.ticket, run_id = run.run_id, resumed = run.resumed,
    note = function(text)
      local rec = current_rec()
      if rec then rec.notes[#rec.notes + 1] = "warning: " .. text end
      run.log("warn", text)
    end,
    info = function(text)
      local rec = current_rec()
      if rec then rec.notes[#rec.notes + 1] = text end
      run.log("info", text)
    end,
    on_save = function(r)
      local rec = current_rec()
      if rec then rec.evidence[#rec.evidence + 1] = r end
    end,
  })
end

M.format = fmt

return M

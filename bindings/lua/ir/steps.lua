-- ir.steps: runs a validated declaration's steps in order (mode "run"): the identity
-- check, the up-front refusal of destructive work without --yes or a TTY, confirmation,
-- resume, dry run, continue_on_error, follow-ups, and the run events of docs/internals.md.
local util = require("ir.util")
local calls = require("ir.calls")
local context = require("ir.context")

local M = {}

M.EXIT_OK, M.EXIT_FAILED, M.EXIT_USAGE, M.EXIT_CREDENTIALS, M.EXIT_REFUSED = 0, 1, 2, 4, 5

local function now_ms(host)
  if host.now_ms then return host.now_ms() end
  return math.floor(os.time() * 1000)
end

local function is_credentials_error(e)
  return type(e) == "table" and (e.code == "CredentialsError" or e.error == "credentials" or e.code == "credentials")
end

-- Which steps will run, and why not the others: {[index] = {runs = bool, resumed = outputs|nil, reason = text}}.
local function plan(d, run, resume_done)
  local out = {}
  for _, s in ipairs(d.steps) do
    local p = { runs = true }
    if resume_done[s.name] ~= nil then
      p.runs, p.resumed = false, resume_done[s.name]
    elseif s.when then
      local scratch = { name = s.name, changes = {}, outputs = {}, notes = {}, evidence = {} }
      local ok, res, reason = pcall(s.when, context.new(run, scratch))
      if not ok then
        p.runs, p.reason = false, "its `when` condition failed: " .. util.one_line(util.error_text(res))
        p.failed = true
      elseif not res then
        p.runs, p.reason = false, type(reason) == "string" and reason or "not needed for these parameters"
      end
    end
    out[s.index] = p
  end
  return out
end

local function step_end_event(s, rec, status, duration_ms, extra)
  local ev = {
    type = "step_end", index = s.index, name = s.name, status = status,
    duration_ms = duration_ms or 0, destructive = s.destructive,
  }
  if #rec.changes > 0 then ev.changes = rec.changes end
  if next(rec.outputs) then ev.outputs = rec.outputs end
  if #rec.notes > 0 then ev.notes = rec.notes end
  if #rec.evidence > 0 then ev.evidence = rec.evidence end
  for k, v in pairs(extra or {}) do ev[k] = v end
  return ev
end

-- Runs the steps. env = {host, aws, opts (host.options()), values (parsed params), file}.
-- Returns the exit code and a one-line message for stderr (or nil).
function M.run(d, env)
  local host, aws, opts = env.host, env.aws, env.opts
  calls.install(host)
  local function emit(ev) host.send("event", { json = util.json(ev) }) end
  local function log(level, text) host.send("log", { level = level, text = text }) end

  local region = opts.region
  if (region == nil or region == "") and aws and aws.region then
    local ok, r = pcall(aws.region)
    if ok then region = r end
  end
  local current
  local run = {
    host = host, aws = aws, params = env.values, state = {}, dry_run = opts.dry_run and true or false,
    ticket = env.values.ticket, run_id = opts.run_id, region = region, yes = opts.yes and true or false,
    log = log,
    -- --resume, even when no step finished: the earlier attempt may still have saved evidence.
    resumed = type(opts.resume) == "table",
  }
  run.followup = function(text) emit({ type = "followup", text = text }) end
  run.evidence = context.evidence_store(run, function() return current end)

  local resume_done = (type(opts.resume) == "table" and type(opts.resume.done) == "table") and opts.resume.done or {}
  local step_names = {}
  for i, s in ipairs(d.steps) do step_names[i] = s.name end
  emit({
    type = "run_start", runbook = d.name, file = env.file or opts.runbook_file,
    params = require("ir.params").public(env.values), ticket = run.ticket, dry_run = run.dry_run,
    run_id = run.run_id, region = region, steps = step_names, time = util.utc(),
    resumed = next(resume_done) ~= nil or nil,
  })
  local function finish(status, exit, reason)
    emit({ type = "run_end", status = status, exit = exit, time = util.utc(), reason = reason })
    return exit
  end

  local p = plan(d, run, resume_done)
  if not run.dry_run and not run.yes and not opts.interactive then
    for _, s in ipairs(d.steps) do
      if s.destructive and p[s.index].runs then
        local msg = "refusing to run: step " .. s.index .. " \"" .. s.name .. "\" changes resources and " ..
          "there is no terminal to confirm on; rerun with --yes, or with --dry-run to see the plan"
        return finish("refused", M.EXIT_REFUSED, msg), msg
      end
    end
  end

  if aws and aws.client then
    local ok, r = pcall(function() return aws.client("sts"):GetCallerIdentity({}) end)
    if ok and type(r) == "table" then
      run.account = r.Account
      emit({ type = "identity", arn = r.Arn, account = r.Account, user_id = r.UserId })
    elseif is_credentials_error(r) then
      local msg = "credentials: " .. util.one_line(util.error_text(r))
      return finish("failed", M.EXIT_CREDENTIALS, msg), msg
    else
      log("warn", "could not identify the caller (sts:GetCallerIdentity): " .. util.one_line(util.error_text(r)))
      emit({ type = "identity", error = util.one_line(util.error_text(r)) })
    end
  end

  for _, s in ipairs(d.steps) do
    local outputs = resume_done[s.name]
    if type(outputs) == "table" then for k, v in pairs(outputs) do run.state[k] = v end end
  end

  local failed, refused, message = false, false, nil
  for _, s in ipairs(d.steps) do
    local rec = { name = s.name, changes = {}, outputs = {}, notes = {}, evidence = {} }
    local ps = p[s.index]
    if ps.resumed ~= nil then
      if type(ps.resumed) == "table" then rec.outputs = ps.resumed end
      emit({ type = "step_start", index = s.index, name = s.name, destructive = s.destructive })
      rec.notes[1] = "done in the run being resumed; not repeated"
      emit(step_end_event(s, rec, "done (resumed)", 0, { resumed = true }))
    elseif not ps.runs then
      rec.notes[1] = "skipped: " .. ps.reason
      emit({ type = "step_start", index = s.index, name = s.name, destructive = s.destructive })
      emit(step_end_event(s, rec, ps.failed and "failed" or "skipped", 0, ps.failed and { error = ps.reason } or nil))
      if ps.failed then failed = true; break end
    else
      if s.destructive and not run.dry_run and not run.yes then
        local prompt = s.confirm or ("Step " .. s.index .. ": " .. s.name .. ". Proceed?")
        local reply = host.request("confirm", { prompt = prompt })
        if type(reply) ~= "table" or reply.answer ~= "yes" then
          refused = true
          message = "stopped: step " .. s.index .. " \"" .. s.name .. "\" was not confirmed" ..
            ((type(reply) == "table" and reply.answer == "notty") and " (no terminal to ask on; use --yes)" or "")
          break
        end
      end
      emit({ type = "step_start", index = s.index, name = s.name, destructive = s.destructive })
      current = rec
      local t0 = now_ms(host)
      local sink = calls.start()
      local ok, err = pcall(s.run, context.new(run, rec))
      calls.stop()
      current = nil
      local extra = { calls = sink.calls }
      if #sink.planned > 0 then extra.planned = sink.planned end
      local status
      if ok then
        status = (run.dry_run and (s.destructive or #sink.planned > 0)) and "dry-run" or "done"
      elseif is_credentials_error(err) then
        status = "failed"
        extra.error = util.one_line(util.error_text(err))
        emit(step_end_event(s, rec, status, now_ms(host) - t0, extra))
        return finish("failed", M.EXIT_CREDENTIALS), "credentials: " .. extra.error
      else
        status = "failed"
        extra.error = util.one_line(util.error_text(err))
        if type(err) == "table" and err.code then extra.error_code = tostring(err.code) end
        -- The step_end event carries the error to the progress line and the report.
        log("debug", "step " .. s.index .. " \"" .. s.name .. "\" failed: " .. extra.error)
      end
      emit(step_end_event(s, rec, status, now_ms(host) - t0, extra))
      if not ok then
        failed = true
        if not s.continue_on_error then
          message = "step " .. s.index .. " \"" .. s.name .. "\" failed: " .. extra.error
          break
        end
      end
    end
  end

  for _, f in ipairs(d.followups) do
    local text = f
    if type(f) == "function" then
      local scratch = { name = "followups", changes = {}, outputs = {}, notes = {}, evidence = {} }
      local ok, res = pcall(f, context.new(run, scratch))
      if not ok then
        log("warn", "a follow-up function failed: " .. util.one_line(util.error_text(res)))
        res = nil
      end
      text = res
    end
    if type(text) == "string" and text ~= "" then run.followup(text)
    elseif type(text) == "table" then
      for _, t in ipairs(text) do if type(t) == "string" then run.followup(t) end end
    end
  end

  if refused then return finish("refused", M.EXIT_REFUSED, message), message end
  if failed then return finish("failed", M.EXIT_FAILED, message), message end
  return finish("succeeded", M.EXIT_OK), nil
end

return M

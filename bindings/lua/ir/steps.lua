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

-- What to check when the first call (sts:GetCallerIdentity) fails for a reason no step can
-- fix: one line naming the setting, or nil for other errors.
local IDENTITY_HINTS = {
  SignatureDoesNotMatch = "AWS rejected the request signature: check AWS_SECRET_ACCESS_KEY (or the profile's aws_secret_access_key)",
  InvalidClientTokenId = "AWS does not know the access key: check AWS_ACCESS_KEY_ID and AWS_SESSION_TOKEN, or the profile (--profile, AWS_PROFILE)",
  UnrecognizedClientException = "AWS does not know the access key: check AWS_ACCESS_KEY_ID, or the profile (--profile, AWS_PROFILE)",
  InvalidAccessKeyId = "AWS does not know the access key: check AWS_ACCESS_KEY_ID, or the profile (--profile, AWS_PROFILE)",
  AuthFailure = "AWS could not authenticate the request: check the access key and secret, or the profile (--profile, AWS_PROFILE)",
  ExpiredToken = "the session credentials have expired: refresh them (AWS_SESSION_TOKEN, or the profile)",
  ExpiredTokenException = "the session credentials have expired: refresh them (AWS_SESSION_TOKEN, or the profile)",
  TransportError = "could not reach the AWS endpoint: check --endpoint-url (or AWS_ENDPOINT_URL), --region and the network",
}
local function identity_problem(e)
  if type(e) ~= "table" then return nil end
  local hint = IDENTITY_HINTS[tostring(e.code)]
  if not hint then return nil end
  return hint .. " (" .. util.one_line(util.error_text(e)) .. ")"
end

-- The message handler for steps: a string error keeps its own position (or none, when the
-- runbook raised it at level 0 on purpose); an error object (an AWS error, error{code=...})
-- gets the position of the innermost runbook frame, found without the debug library: at a
-- level L, error("", L) prefixes that frame's "chunk:line:". Trusted modules are skipped.
local Located = {}
local function locate(e)
  if type(e) == "string" or getmetatable(e) == Located then return e end
  local where
  for level = 3, 60 do
    local _, m = pcall(error, "", level)
    if type(m) == "string" and m ~= "" and not m:find("^%[irhost%]/") then where = m; break end
  end
  return setmetatable({ err = e, where = where }, Located)
end
local function unlocate(e)
  if getmetatable(e) == Located then return e.err, e.where end
  return e
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
-- Returns the exit code, a one-line message (or nil) and, for exit 1, the stderr line.
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
  -- Planned before run_start, so the report can tell a step skipped by design (its `when`)
  -- from one a failure or a refusal kept from running.
  local p = plan(d, run, resume_done)
  local will_run = {}
  for _, s in ipairs(d.steps) do if p[s.index].runs then will_run[#will_run + 1] = s.name end end
  emit({
    type = "run_start", runbook = d.name, file = env.file or opts.runbook_file,
    params = require("ir.params").public(env.values), ticket = run.ticket, dry_run = run.dry_run,
    run_id = run.run_id, region = region, steps = step_names, will_run = util.array(will_run), time = util.utc(),
    t_ms = now_ms(host),
    resumed = next(resume_done) ~= nil or nil,
  })
  local function finish(status, exit, reason, extra)
    local ev = { type = "run_end", status = status, exit = exit, time = util.utc(), reason = reason }
    for k, v in pairs(extra or {}) do ev[k] = v end
    emit(ev)
    return exit
  end

  if not run.dry_run and not run.yes and not opts.interactive then
    for _, s in ipairs(d.steps) do
      if s.destructive and p[s.index].runs then
        local msg = "refusing to run: step " .. s.index .. " \"" .. s.name .. "\" changes resources and " ..
          "there is no terminal to confirm on; rerun with --yes, or with --dry-run to see the plan"
        return finish("refused", M.EXIT_REFUSED, msg), msg
      end
    end
  end

  if aws and aws.client and require("ir.decl").uses_aws(d, env.values) then
    local ok, r = pcall(function() return aws.client("sts"):GetCallerIdentity({}) end)
    if ok and type(r) == "table" then
      run.account = r.Account
      emit({ type = "identity", arn = r.Arn, account = r.Account, user_id = r.UserId })
    elseif is_credentials_error(r) then
      local msg = "credentials: " .. util.one_line(util.error_text(r))
      return finish("failed", M.EXIT_CREDENTIALS, msg), msg
    elseif identity_problem(r) then
      local msg = "stopped before any step: " .. identity_problem(r)
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

  local failed, refused, message, refused_step = false, false, nil, nil
  local continued = {}   -- "step N failed: ..." of continue_on_error steps
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
          refused, refused_step = true, s.index
          message = "stopped: step " .. s.index .. " \"" .. s.name .. "\" was not confirmed" ..
            ((type(reply) == "table" and reply.answer == "notty") and " (no terminal to ask on; use --yes)" or "")
          break
        end
      end
      local t0 = now_ms(host)
      emit({ type = "step_start", index = s.index, name = s.name, destructive = s.destructive, time = util.utc(), t_ms = t0 })
      current = rec
      local sink = calls.start()
      local ok, err = xpcall(s.run, locate, context.new(run, rec))
      local where
      err, where = unlocate(err)
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
        if where and not extra.error:find(where, 1, true) then extra.error = where .. extra.error end
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
        continued[#continued + 1] = "step " .. s.index .. " \"" .. s.name .. "\" failed: " .. extra.error
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

  if refused then return finish("refused", M.EXIT_REFUSED, message, { step = refused_step }), message end
  if failed then
    -- The stderr line: the failed step's own line above already shows its error, unless
    -- the run went on past it (continue_on_error), when this line must say what failed.
    local resume = "after fixing the cause, continue with --resume " ..
      ((opts.run_dir and opts.run_dir ~= "") and opts.run_dir or "<the run directory>")
    local line
    if message then
      line = message:match("^(step %d+ \".-\" failed)") or message
      line = line .. "; " .. resume
    else
      message = table.concat(continued, "; ") .. (#continued == 1 and " (the steps after it ran)" or " (the other steps ran)")
      line = message .. "; " .. resume
    end
    return finish("failed", M.EXIT_FAILED, message), message, line
  end
  return finish("succeeded", M.EXIT_OK), nil
end

return M

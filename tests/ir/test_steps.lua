-- ir.main in mode run/help/describe/check against a fake broker: step statuses, events,
-- continue_on_error, resume, dry run, refusal, confirmation, evidence, declaration errors.
local ROOT = os.getenv("IRHOST_ROOT") or "."
local T = dofile(ROOT .. "/tests/ir/tap.lua")
local F = dofile(ROOT .. "/tests/ir/fake.lua")
local ir = require("ir")

local identity = { Arn = "arn:aws:iam::111122223333:user/alice", Account = "111122223333", UserId = "AIDA" }

local function opts(over)
  local o = { mode = "run", args = {}, run_id = "run-1", runbook_file = "runbooks/t.lua", interactive = false, yes = true }
  for k, v in pairs(over or {}) do o[k] = v end
  return o
end

local function setup(over, answers, handlers, mutating)
  local h = F.host(opts(over), answers)
  handlers = handlers or {}
  handlers["sts:GetCallerIdentity"] = handlers["sts:GetCallerIdentity"] or identity
  local a = F.aws(h, handlers, mutating)
  return h, a
end

local trace
local function book(steps, extra)
  local d = { name = "t", description = "test runbook", permissions = { "ec2:StopInstances" }, steps = steps,
    params = { instance = { required = true } } }
  for k, v in pairs(extra or {}) do d[k] = v end
  return ir.runbook(d)
end

local function step(name, fn, more)
  local s = { name = name, run = function(ctx) trace[#trace + 1] = name; if fn then return fn(ctx) end end }
  for k, v in pairs(more or {}) do s[k] = v end
  return s
end

T.case("a successful run", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1", "--ticket", "IR-7" } })
  local d = book({
    step("one", function(ctx)
      ctx.changed{ resource = "i-1", action = "ModifyInstanceAttribute", before = "false", after = "true" }
      ctx.output("volumes", { "vol-1" })
      ctx.info("note %d", 1)
      ctx.warn("careful")
      ctx.followup("rotate keys")
      T.eq(ctx.params.instance, "i-1", "ctx.params")
      T.eq(ctx.ticket, "IR-7", "ctx.ticket")
      T.eq(ctx.run_id, "run-1", "ctx.run_id")
      T.eq(ctx.region, "eu-west-1", "ctx.region from aws.region()")
      T.eq(ctx.dry_run, false, "ctx.dry_run")
    end),
    step("two", function(ctx) T.eq(ctx.state.volumes[1], "vol-1", "outputs shared through ctx.state") end),
  }, { followups = { "static follow-up", function(ctx) return "dynamic " .. ctx.params.instance end } })
  local code = ir.main(d, { host = h, aws = a })
  T.eq(code, 0, "exit 0")
  T.eq(table.concat(trace, ","), "one,two", "steps ran in order")
  local perms = table.concat(h.declared.permissions, ",")
  T.eq(perms, "ec2:StopInstances,sts:GetCallerIdentity", "declared the runbook's permissions plus sts:GetCallerIdentity")
  local types = {}
  for _, e in ipairs(h.events) do types[#types + 1] = e.type end
  T.eq(table.concat(types, ","),
    "run_start,identity,step_start,followup,step_end,step_start,step_end,followup,followup,run_end", "event sequence")
  local rs = F.events_of(h, "run_start")[1]
  T.eq(rs.runbook, "t", "run_start.runbook")
  T.eq(rs.params.instance, "i-1", "run_start.params")
  T.eq(rs.ticket, "IR-7", "run_start.ticket")
  T.eq(#rs.steps, 2, "run_start.steps")
  T.eq(F.events_of(h, "identity")[1].arn, identity.Arn, "identity event")
  local e1 = F.step_end(h, "one")
  T.eq(e1.status, "done", "step_end status")
  T.eq(e1.changes[1].after, "true", "changes recorded")
  T.eq(e1.outputs.volumes[1], "vol-1", "outputs recorded")
  T.eq(e1.notes[1], "note 1", "ctx.info is a note")
  T.eq(e1.notes[2], "warning: careful", "ctx.warn is a warning note")
  T.ok(type(e1.duration_ms) == "number", "duration recorded")
  local fu = F.events_of(h, "followup")
  T.eq(fu[3].text, "dynamic i-1", "follow-up functions")
  local re = F.events_of(h, "run_end")[1]
  T.eq(re.status, "succeeded", "run_end status")
  T.eq(re.exit, 0, "run_end exit")
end)

T.case("a failing step stops the run", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" } }, nil,
    { ["ec2:DescribeInstances"] = F.aws(nil, {}).err("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist") })
  local d = book({
    step("one", function() a.client("ec2"):DescribeInstances{ InstanceIds = { "i-1" } } end),
    step("two"),
  })
  local code, msg = ir.main(d, { host = h, aws = a })
  T.eq(code, 1, "exit 1")
  T.eq(table.concat(trace, ","), "one", "the next step did not run")
  local e = F.step_end(h, "one")
  T.eq(e.status, "failed", "failed status")
  T.has(e.error, "InvalidInstanceID.NotFound", "error carries the AWS code")
  T.eq(e.error_code, "InvalidInstanceID.NotFound", "error_code field")
  T.eq(F.step_end(h, "two"), nil, "no step_end for a step not run")
  T.eq(F.events_of(h, "run_end")[1].status, "failed", "run failed")
  T.has(msg, "step 1 \"one\" failed", "message names the step")
  local err_line = F.output_text(h, "stderr")
  T.has(err_line, "step 1 \"one\" failed; after fixing the cause, continue with --resume", "stderr suggests --resume")
  T.ok(not err_line:find("InvalidInstanceID", 1, true), "the error is not repeated: the progress line shows step_end.error")
end)

T.case("continue_on_error", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" } })
  local d = book({ step("one", function() error("boom") end, { continue_on_error = true }), step("two") })
  local code = ir.main(d, { host = h, aws = a })
  T.eq(code, 1, "exit 1 when a continue_on_error step failed")
  T.eq(table.concat(trace, ","), "one,two", "the run went on")
  T.has(F.step_end(h, "one").error, "boom", "error recorded")
  T.eq(F.step_end(h, "two").status, "done", "later step done")
end)

T.case("when: conditional steps", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" } })
  local d = book({ step("one", nil, { when = function(ctx) return ctx.params.instance == "x", "only for x" end }), step("two") })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "exit 0")
  T.eq(table.concat(trace, ","), "two", "skipped step did not run")
  local e = F.step_end(h, "one")
  T.eq(e.status, "skipped", "skipped status")
  T.eq(e.notes[1], "skipped: only for x", "reason recorded")
end)

T.case("resume skips steps recorded done and restores their outputs", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" }, resume = { done = { one = { group = "sg-9" } } } })
  local d = book({ step("one"), step("two", function(ctx) T.eq(ctx.state.group, "sg-9", "resumed outputs in ctx.state") end) })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "exit 0")
  T.eq(table.concat(trace, ","), "two", "done step not repeated")
  T.eq(F.step_end(h, "one").status, "done (resumed)", "status done (resumed)")
  T.eq(F.step_end(h, "one").outputs.group, "sg-9", "resumed step keeps its outputs")
  T.eq(F.events_of(h, "run_start")[1].resumed, true, "run_start marks a resume")
end)

T.case("dry run: destructive steps run with mutating calls planned", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" }, dry_run = true, yes = false },
    nil, { ["ec2:DescribeInstances"] = { Reservations = {} } }, { ["ec2:StopInstances"] = true })
  local d = book({
    step("look", function() a.client("ec2"):DescribeInstances{} end),
    step("stop", function(ctx)
      local r = a.client("ec2"):StopInstances{ InstanceIds = { "i-1" } }
      T.ok(r.dry_run, "mutating call returns {dry_run = true}")
      ctx.changed{ resource = "i-1", action = "StopInstances", before = "running", after = "stopped" }
    end, { destructive = true }),
  })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "exit 0 without --yes or a TTY: nothing changes in a dry run")
  T.eq(F.step_end(h, "look").status, "done", "read-only step done")
  local e = F.step_end(h, "stop")
  T.eq(e.status, "dry-run", "destructive step status dry-run")
  T.eq(e.planned[1].operation, "StopInstances", "planned call listed")
  T.eq(e.planned[1].params.InstanceIds[1], "i-1", "planned call params")
  T.eq(e.changes[1].planned, true, "changes marked planned")
  T.eq(#F.events_of(h, "run_start") == 1 and F.events_of(h, "run_start")[1].dry_run, true, "run_start.dry_run")
  local confirms = 0
  for _, r in ipairs(h.requests) do if r.kind == "confirm" then confirms = confirms + 1 end end
  T.eq(confirms, 0, "no confirmation asked in a dry run")
end)

T.case("async calls (aws.parallel) are observed too", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" }, dry_run = true })
  local pending, n = {}, 0
  h.call_async = function(req) n = n + 1; pending[n] = req; return n end
  h.wait_any = function(ids)
    local id = ids[1]
    local req = pending[id]
    return id, (req.mutating and { error = "dryrun" } or { status = "200" })
  end
  local d = book({ step("fan-out", function()
    local ids = { h.call_async({ service = "ec2", operation = "CreateTags", params = '{"Resources":["i-1"]}', mutating = true }),
                  h.call_async({ service = "ec2", operation = "DescribeTags", params = "{}" }) }
    h.wait_any({ ids[1] }); h.wait_any({ ids[2] })
  end) })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "exit 0")
  local e = F.step_end(h, "fan-out")
  T.eq(e.calls, 2, "both async calls counted")
  T.eq(#(e.planned or {}), 1, "the mutating one planned")
  T.eq(e.planned and e.planned[1].params.Resources[1], "i-1", "with its params")
end)

T.case("refusal without --yes and without a TTY", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" }, yes = false, interactive = false })
  local d = book({ step("look"), step("stop", nil, { destructive = true }) })
  local code, msg = ir.main(d, { host = h, aws = a })
  T.eq(code, 5, "exit 5")
  T.eq(#trace, 0, "nothing ran, not even the read-only step")
  T.eq(#h.calls, 0, "no AWS call made")
  T.has(msg, "--yes", "message says how to proceed")
  T.eq(F.events_of(h, "run_end")[1].status, "refused", "run_end refused")
end)

T.case("a destructive step that will not run does not cause a refusal", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" }, yes = false, interactive = false })
  local d = book({ step("look"), step("stop", nil, { destructive = true, when = function() return false end }) })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "exit 0")
  T.eq(table.concat(trace, ","), "look", "read-only step ran")
end)

T.case("confirmation on a TTY", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" }, yes = false, interactive = true }, { confirm = "yes" })
  local d = book({ step("stop", nil, { destructive = true, confirm = "Stop it?" }) })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "yes: exit 0")
  T.eq(trace[1], "stop", "confirmed step ran")
  local prompt
  for _, r in ipairs(h.requests) do if r.kind == "confirm" then prompt = r.fields.prompt end end
  T.eq(prompt, "Stop it?", "the step's prompt")
  trace = {}
  h, a = setup({ args = { "--instance", "i-1" }, yes = false, interactive = true }, { confirm = "no" })
  d = book({ step("look"), step("stop", nil, { destructive = true }), step("after") })
  T.eq(ir.main(d, { host = h, aws = a }), 5, "no: exit 5")
  T.eq(table.concat(trace, ","), "look", "steps before ran; the refused one and later did not")
  T.eq(F.events_of(h, "run_end")[1].status, "refused", "refused")
end)

T.case("evidence", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1", "--ticket", "IR 9", "--evidence-bucket", "ir-evidence" } }, nil,
    { ["s3:PutObject"] = { VersionId = "v1", ETag = '"abc"' } }, { ["s3:PutObject"] = true })
  local sums = {}
  local d = book({ step("save", function(ctx)
    sums[1] = ctx.evidence:save("instance.json", { b = 1, a = { 1, 2 } })
    sums[2] = ctx.evidence:save("console.txt", "hello")
  end) })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "exit 0")
  T.eq(h.evidence["instance.json"], '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n', "tables saved as pretty, sorted JSON")
  T.eq(h.evidence["console.txt"], "hello", "strings saved as text")
  local crypto = require("irhost.crypto")
  T.eq(sums[2], crypto.hex(crypto.sha256("hello")), "save returns the sha256")
  local perms = table.concat(h.declared.permissions, ",")
  T.has(perms, "s3:PutObject", "--evidence-bucket declares s3:PutObject")
  local puts = {}
  for _, c in ipairs(h.calls) do if c.operation == "PutObject" then puts[#puts + 1] = require("irhost.json").decode(c.params) end end
  T.eq(#puts, 2, "each file uploaded")
  T.eq(puts[1].Key, "IR_9/run-1/evidence/instance.json", "key holds the ticket and run id")
  T.eq(puts[1].Bucket, "ir-evidence", "bucket")
  local ev = F.step_end(h, "save").evidence
  T.eq(ev[1].s3.version_id, "v1", "VersionId recorded")
  T.eq(ev[1].s3.etag, "abc", "ETag recorded")
end)

T.case("evidence upload failure is a warning, the local copy stays", function()
  local h, a = setup({ args = { "--instance", "i-1", "--evidence-bucket", "missing-bucket" } }, nil,
    { ["s3:PutObject"] = F.aws(nil, {}).err("NoSuchBucket", "The specified bucket does not exist") })
  local d = book({ step("save", function(ctx) ctx.evidence:save("a.txt", "x") end) })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "exit 0")
  local e = F.step_end(h, "save")
  T.has(e.notes[1], "NoSuchBucket", "warning names the S3 error")
  T.eq(h.evidence["a.txt"], "x", "local evidence saved")
end)

T.case("ctx reaches no broker channel or trusted module", function()
  local h, a = setup({ args = { "--instance", "i-1" } })
  local found = {}
  local d = book({ step("look", function(ctx)
    local seen = {}
    local function walk(t, depth)
      if type(t) ~= "table" or seen[t] or depth > 6 then return end
      seen[t] = true
      if t == h or t == a then found[#found + 1] = "host or aws" end
      if getmetatable(t) then walk(getmetatable(t), depth + 1) end
      for _, v in pairs(t) do walk(v, depth + 1) end
    end
    walk(ctx, 0)
  end) })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "exit 0")
  T.eq(#found, 0, "nothing in ctx (tables, metatables) leads to the host channel or the aws module")
end)

T.case("broker-refused evidence name fails the step", function()
  local h, a = setup({ args = { "--instance", "i-1" } }, { evidence_error = "bad name" })
  local d = book({ step("save", function(ctx) ctx.evidence:save("../x", "x") end) })
  T.eq(ir.main(d, { host = h, aws = a }), 1, "exit 1")
  T.has(F.step_end(h, "save").error, "bad name", "error says why")
end)

T.case("usage errors exit 2 with one line and the help hint", function()
  local h, a = setup({ args = { "--instnace", "i-1" } })
  local code, msg = ir.main(book({ step("one") }), { host = h, aws = a })
  T.eq(code, 2, "exit 2")
  T.eq(msg, "unknown option --instnace (did you mean --instance?)", "message")
  T.eq(F.output_text(h, "stderr"), "irhost: unknown option --instnace (did you mean --instance?)\n  see irhost runbooks/t.lua --help\n", "stderr")
  T.eq(#h.events, 0, "no events for a usage error")
  T.eq(h.declared, nil, "nothing declared")
end)

T.case("help, describe, check", function()
  local h = F.host(opts({ mode = "help" }))
  local d = book({ step("one"), step("stop", nil, { destructive = true }) })
  T.eq(ir.main(d, { host = h }), 0, "help exit 0")
  local text = F.output_text(h, "stdout")
  T.has(text, "t: test runbook", "help: description")
  T.has(text, "--instance STRING", "help: params")
  T.has(text, "--ticket", "help: conventional params")
  T.has(text, "2. stop  (changes resources", "help: destructive step marked")
  h = F.host(opts({ mode = "describe" }))
  T.eq(ir.main(d, { host = h }), 0, "describe exit 0")
  text = F.output_text(h, "stdout")
  T.has(text, "permissions:\n  ec2:StopInstances", "describe: permissions")
  T.has(text, "2. stop [destructive]", "describe: steps")
  h = F.host(opts({ mode = "describe", json = true }))
  ir.main(d, { host = h })
  local j = require("irhost.json").decode(F.output_text(h, "stdout"))
  T.eq(j.steps[2].destructive, true, "describe --json")
  h = F.host(opts({ mode = "check" }))
  T.eq(ir.main(d, { host = h }), 0, "check exit 0")
  T.eq(#h.outputs + #h.events, 0, "check runs nothing")
end)

T.case("declaration errors name the field", function()
  local cases = {
    { {}, "name must be" },
    { { name = "x", description = "d", permissions = {}, steps = {} }, "steps must be a non-empty list" },
    { { name = "x", description = "d", permissions = { "ec2 Describe" }, steps = { step("a") } }, "permissions[1]: 'ec2 Describe' is not an IAM action" },
    { { name = "x", description = "d", permissions = {}, steps = { { name = "a" } } }, "steps[1] (a).run must be a function(ctx)" },
    { { name = "x", description = "d", permissions = {}, steps = { step("a"), step("a") } }, "steps[2] (a): the name is used by another step" },
    { { name = "x", description = "d", permissions = {}, steps = { step("a", nil, { destrutive = true }) } }, "unknown field destrutive (did you mean destructive?)" },
    { { name = "x", description = "d", permissions = {}, steps = { step("a") }, parms = {} }, "unknown field parms (did you mean params?)" },
    { { name = "x", description = "d", permissions = {}, steps = { step("a") }, rates = { ec2 = -1 } }, "rates.ec2 must be a positive number" },
  }
  for _, c in ipairs(cases) do
    local ok, err = pcall(ir.runbook, c[1])
    T.ok(not ok and tostring(err):find(c[2], 1, true), "ir.runbook rejects: " .. c[2], tostring(err))
  end
  local ok, err = pcall(ir.runbook, { name = "x", description = "d", permissions = {}, steps = { step("a") } })
  T.ok(ok, "a minimal declaration is valid", err)
end)

T.case("validate: checks across params are usage errors", function()
  local h, a = setup({ args = { "--instance", "i-1" } })
  local d = book({ step("one") }, { validate = function(p) if not p.ticket then return "give --ticket" end end })
  local code, msg = ir.main(d, { host = h, aws = a })
  T.eq(code, 2, "exit 2")
  T.eq(msg, "give --ticket", "the runbook's message")
  T.has(F.output_text(h, "stderr"), "see irhost runbooks/t.lua --help", "with the hint")
  h, a = setup({ args = { "--instance", "i-1", "--ticket", "X" } })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "valid params run")
end)

T.case("ctx.sleep and ctx.confirm", function()
  local h, a = setup({ args = { "--instance", "i-1" }, yes = false, interactive = true }, { confirm = "no" })
  local slept, answer
  h.sleep_ms = function(ms) slept = ms end
  local d = book({ step("one", function(ctx) ctx.sleep(1.5); answer = ctx.confirm("sure?") end) })
  T.eq(ir.main(d, { host = h, aws = a }), 0, "exit 0")
  T.eq(slept, 1500, "ctx.sleep sleeps through the host")
  T.eq(answer, false, "ctx.confirm returns the user's no")
  local bad = book({ step("one", function(ctx) ctx.sleep(-1) end) })
  h, a = setup({ args = { "--instance", "i-1" } })
  T.eq(ir.main(bad, { host = h, aws = a }), 1, "a bad sleep fails the step")
end)

T.case("the region the broker resolved", function()
  local h, a = setup({ args = { "--instance", "i-1" } }, { region = "ap-south-1" })
  local seen
  T.eq(ir.main(book({ step("one", function(ctx) seen = ctx.region end) }), { host = h, aws = a }), 0, "exit 0")
  T.eq(seen, "ap-south-1", "ctx.region from the DECLARE reply when --region is absent")
  T.eq(F.events_of(h, "run_start")[1].region, "ap-south-1", "run_start.region")
  h, a = setup({ args = { "--instance", "i-1" }, region = "eu-north-1" }, { region = "ap-south-1" })
  ir.main(book({ step("one", function(ctx) seen = ctx.region end) }), { host = h, aws = a })
  T.eq(seen, "eu-north-1", "--region wins")
end)

T.case("broker refusing the declaration", function()
  local h, a = setup({ args = { "--instance", "i-1" } }, { declare_error = "unknown action" })
  local code = ir.main(book({ step("one") }), { host = h, aws = a })
  T.eq(code, 2, "exit 2")
end)

T.case("credentials failure exits 4", function()
  local h, a = setup({ args = { "--instance", "i-1" } }, nil,
    { ["sts:GetCallerIdentity"] = setmetatable({ code = "CredentialsError", message = "no credentials found" },
      getmetatable(F.aws(nil, {}).err("x"))) })
  T.eq(ir.main(book({ step("one") }), { host = h, aws = a }), 4, "exit 4")
end)

T.case("the first call fails on the credentials: exit 4 before any step, naming what to check", function()
  local E = F.aws(nil, {}).err
  for code, want in pairs({
    SignatureDoesNotMatch = "AWS_SECRET_ACCESS_KEY", InvalidClientTokenId = "AWS_ACCESS_KEY_ID",
    UnrecognizedClientException = "--profile", TransportError = "--endpoint-url",
  }) do
    trace = {}
    local h, a = setup({ args = { "--instance", "i-1" } }, nil, { ["sts:GetCallerIdentity"] = E(code, "rejected") })
    local d = book({ step("one") })
    local rc, msg = ir.main(d, { host = h, aws = a })
    T.eq(rc, 4, code .. ": exit 4")
    T.eq(#trace, 0, code .. ": no step ran")
    T.has(msg or "", want, code .. ": names " .. want)
    T.ok(not (msg or ""):find("\n"), code .. ": one line")
    T.has(F.output_text(h, "stderr"), want, code .. ": on stderr")
  end
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" } }, nil, { ["sts:GetCallerIdentity"] = E("Throttling", "slow down") })
  T.eq(ir.main(book({ step("one") }), { host = h, aws = a }), 0, "another error only warns: the steps run")
end)

T.case("a continue_on_error failure: later steps run, the run fails naming it", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" }, run_dir = "/tmp/r1" })
  local d = book({
    step("isolate", function() error("1 of 2 ENI(s) NOT isolated: eni-2", 0) end, { continue_on_error = true }),
    step("snapshot"), step("stop"),
  })
  local rc, msg = ir.main(d, { host = h, aws = a })
  T.eq(rc, 1, "exit 1")
  T.eq(table.concat(trace, ","), "isolate,snapshot,stop", "the later steps ran")
  T.has(msg or "", "eni-2", "the message names what failed")
  local err_line = F.output_text(h, "stderr")
  T.has(err_line, "NOT isolated: eni-2", "stderr says which ENI")
  T.has(err_line, "--resume /tmp/r1", "and how to continue")
end)

T.case("run_start lists the steps that will run; a refusal names its step", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" }, yes = false, interactive = true }, { confirm = "no" })
  local d = book({
    step("look"),
    step("optional", nil, { when = function() return false, "only with --x" end }),
    step("stop", nil, { destructive = true }),
    step("after"),
  })
  T.eq(ir.main(d, { host = h, aws = a }), 5, "exit 5")
  local rs = F.events_of(h, "run_start")[1]
  T.eq(table.concat(rs.will_run, ","), "look,stop,after", "will_run leaves out the step skipped by design")
  T.eq(F.events_of(h, "run_end")[1].step, 3, "run_end.step: the refused step")
end)

T.case("error objects and a bad __tostring still get file:line", function()
  trace = {}
  local h, a = setup({ args = { "--instance", "i-1" } })
  local d = book({ step("one", function() error({ code = "X" }) end, { continue_on_error = true }),
    step("two", function() error(setmetatable({}, { __tostring = function() error("boom") end })) end, { continue_on_error = true }),
    step("three", function() error(setmetatable({ message = "m" }, { __tostring = function() return {} end })) end) })
  T.eq(ir.main(d, { host = h, aws = a }), 1, "exit 1")
  T.like(F.step_end(h, "one").error, "test_steps%.lua:%d+: X", "error{code=...} located")
  T.eq(F.step_end(h, "one").error_code, "X", "its code kept")
  T.like(F.step_end(h, "two").error, "test_steps%.lua:%d+: .*__tostring failed", "a raising __tostring located")
  T.like(F.step_end(h, "three").error, "test_steps%.lua:%d+: m", "a non-string __tostring falls back to message")
end)

return T.done()

-- ir.report.markdown over records like the broker's report.json: a success, a dry run, a
-- failure, a runner that died mid-step, and a partial record.
local ROOT = os.getenv("IRHOST_ROOT") or "."
local T = dofile(ROOT .. "/tests/ir/tap.lua")
local report = require("ir.report")

local function base(events, extra)
  local r = { version = 1, events = events, evidence = {
    { name = "instance.json", sha256 = string.rep("a", 64), size = 1234 } },
    calls = { calls = 12, mutating = 5, planned = 0, retries = 1, errors = 0 }, exit = 0,
    runner = { status = "exited", reason = "" } }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local start = { type = "run_start", runbook = "ec2-compromise", file = "runbooks/ec2.lua", ticket = "IR-42",
  params = { instance = "i-0abc", mode = "offline", regions = { "a", "b" } }, dry_run = false, run_id = "r1",
  region = "eu-west-1", time = "2026-12-03T10:00:00Z",
  steps = { "Capture instance metadata", "Isolate", "Stop instance" } }
local ident = { type = "identity", arn = "arn:aws:iam::111122223333:user/alice", account = "111122223333" }

T.case("a successful run", function()
  local md = report.markdown(base({
    start, ident,
    { type = "step_start", index = 1, name = "Capture instance metadata" },
    { type = "step_end", index = 1, name = "Capture instance metadata", status = "done", duration_ms = 1500,
      evidence = { { name = "instance.json", sha256 = string.rep("a", 64), size = 1234,
        s3 = { bucket = "ev", key = "IR-42/r1/evidence/instance.json", version_id = "v7", etag = "e1" } } } },
    { type = "step_start", index = 2, name = "Isolate" },
    { type = "step_end", index = 2, name = "Isolate", status = "done", duration_ms = 300,
      changes = { { resource = "eni-1", action = "ModifyNetworkInterfaceAttribute", before = { "sg-1" }, after = { "sg-iso" } } },
      notes = { "ICMP | tracked flows remain" } },
    { type = "step_start", index = 3, name = "Stop instance" },
    { type = "step_end", index = 3, name = "Stop instance", status = "done", duration_ms = 65000 },
    { type = "followup", text = "Rotate the instance role's credentials" },
    { type = "run_end", status = "succeeded", exit = 0, time = "2026-12-03T10:01:10Z" },
  }))
  T.has(md, "# Incident response: IR-42 — ec2-compromise", "title: ticket and runbook")
  T.has(md, "| Run by | arn:aws:iam::111122223333:user/alice (account 111122223333) |", "who ran it")
  T.has(md, "| Started | 2026-12-03T10:00:00Z |", "when")
  T.has(md, "**succeeded** (exit 0)", "outcome")
  T.has(md, "| --instance | i-0abc |", "params")
  T.has(md, "| --regions | a, b |", "list params")
  T.has(md, "| 1 | Capture instance metadata | ✓ done | 1.5 s |", "step row with duration")
  T.has(md, "| 3 | Stop instance | ✓ done | 1m05s |", "long durations")
  T.has(md, '- `eni-1` ModifyNetworkInterfaceAttribute: `["sg-1"]` → `["sg-iso"]`', "change before -> after")
  T.has(md, "- ICMP | tracked flows remain", "notes")
  T.has(md, "| instance.json | `" .. string.rep("a", 64) .. "` | 1234 | s3://ev/IR-42/r1/evidence/instance.json version v7 etag e1 |", "evidence with hash and S3 copy")
  T.has(md, "- [ ] Rotate the instance role's credentials", "follow-ups as a checklist")
  T.has(md, "12 calls, 5 mutating", "call counts")
  T.ok(not md:find("NOT done", 1, true), "no not-done section on success")
end)

T.case("a dry run", function()
  local s = {}
  for k, v in pairs(start) do s[k] = v end
  s.dry_run = true
  local md = report.markdown(base({ s, ident,
    { type = "step_start", index = 1, name = "Capture instance metadata" },
    { type = "step_end", index = 1, name = "Capture instance metadata", status = "done", duration_ms = 10 },
    { type = "step_start", index = 2, name = "Isolate" },
    { type = "step_end", index = 2, name = "Isolate", status = "dry-run", duration_ms = 10,
      changes = { { resource = "eni-1", action = "ModifyNetworkInterfaceAttribute", before = "sg-1", after = "sg-iso", planned = true } },
      planned = { { service = "ec2", operation = "ModifyNetworkInterfaceAttribute", params = { NetworkInterfaceId = "eni-1", Groups = { "sg-iso" } } } } },
    { type = "run_end", status = "succeeded", exit = 0 },
  }))
  T.has(md, "**dry run**", "dry run stated")
  T.has(md, "| 2 | Isolate | ○ dry-run |", "dry-run status")
  T.has(md, "Would change:", "changes worded as planned")
  T.has(md, '- ec2:ModifyNetworkInterfaceAttribute `{"Groups":["sg-iso"],"NetworkInterfaceId":"eni-1"}`', "planned call listed")
end)

T.case("a failed run says what was not done", function()
  local md = report.markdown(base({ start, ident,
    { type = "step_start", index = 1, name = "Capture instance metadata" },
    { type = "step_end", index = 1, name = "Capture instance metadata", status = "done", duration_ms = 10 },
    { type = "step_start", index = 2, name = "Isolate" },
    { type = "step_end", index = 2, name = "Isolate", status = "failed", duration_ms = 10,
      error = "InvalidGroup.NotFound: The security group 'sg-x' does not exist" },
    { type = "run_end", status = "failed", exit = 1 },
  }, { exit = 1 }))
  T.has(md, "**failed** (exit 1)", "outcome failed")
  T.has(md, "## What was NOT done", "not-done section")
  T.has(md, 'Step 2 "Isolate" failed: InvalidGroup.NotFound', "failed step listed with its error")
  T.has(md, 'Step 3 "Stop instance" was not run', "steps not run listed")
  T.has(md, "--resume", "how to continue")
  T.has(md, "**Error:** InvalidGroup.NotFound", "error in the step details")
end)

T.case("a refused run says why", function()
  local md = report.markdown(base({ start,
    { type = "run_end", status = "refused", exit = 5, reason = "refusing to run: step 3 \"Isolate\" changes resources" } }, { exit = 5 }))
  T.has(md, "**refused**", "outcome")
  T.has(md, 'The run was refused (refusing to run: step 3 "Isolate" changes resources)', "reason shown")
  T.has(md, 'Step 1 "Capture instance metadata" was not run', "nothing ran")
end)

T.case("the runner died mid-step", function()
  local md = report.markdown(base({ start,
    { type = "step_start", index = 1, name = "Capture instance metadata" },
    { type = "runner_died", reason = "killed by signal 11 (segmentation fault)" },
  }, { exit = 3, runner = { status = "died", reason = "killed by signal 11" } }))
  T.has(md, "**runner died**", "outcome")
  T.has(md, "| 1 | Capture instance metadata | ✗ interrupted |", "open step interrupted")
  T.has(md, 'Step 1 "Capture instance metadata" was interrupted', "not done: interrupted step")
  T.has(md, 'Step 2 "Isolate" was not run', "not done: later steps")
  T.has(md, "signal 11", "reason shown")
end)

T.case("numbers decoded as floats read as integers", function()
  local md = report.markdown(base({ start,
    { type = "step_end", index = 1.0, name = "Capture instance metadata", status = "done", duration_ms = 1500.0 },
    { type = "run_end", status = "succeeded", exit = 0.0 } }, { exit = 0.0,
    evidence = { { name = "a.json", sha256 = "ab", size = 1234.0 } }, calls = { calls = 12.0, mutating = 5.0 } }))
  T.has(md, "(exit 0)", "exit code")
  T.has(md, "| 1 | Capture instance metadata |", "step index")
  T.has(md, "| a.json | `ab` | 1234 |", "evidence size")
  T.has(md, "12 calls, 5 mutating", "call counts")
end)

T.case("what was NOT done leaves out steps skipped by design", function()
  local s = { type = "run_start", runbook = "ec2-compromise", ticket = "IR-1", run_id = "r1",
    steps = { "Capture", "Isolate", "Detach Elastic IPs", "Stop", "Release" }, will_run = { "Capture", "Isolate", "Stop" } }
  local md = report.markdown(base({ s,
    { type = "step_start", index = 1, name = "Capture" },
    { type = "step_end", index = 1, name = "Capture", status = "done", duration_ms = 10 },
    { type = "step_start", index = 2, name = "Isolate" },
    { type = "step_end", index = 2, name = "Isolate", status = "failed", duration_ms = 10, error = "boom" },
    { type = "run_end", status = "failed", exit = 1 } }, { exit = 1 }))
  T.has(md, 'Step 4 "Stop" was not run', "a step that would have run")
  T.ok(not md:find("Detach Elastic IPs\" was not run", 1, true), "a step skipped by design is not listed")
  T.ok(not md:find("Release\" was not run", 1, true), "nor the release")
end)

T.case("a no at a confirmation prompt: the step was refused by the operator", function()
  local s = { type = "run_start", runbook = "ec2-compromise", ticket = "IR-1", run_id = "r1",
    steps = { "Capture", "Isolate", "Snapshot", "Release" }, will_run = { "Capture", "Isolate", "Snapshot" } }
  local md = report.markdown(base({ s,
    { type = "step_start", index = 1, name = "Capture" },
    { type = "step_end", index = 1, name = "Capture", status = "done", duration_ms = 10 },
    { type = "run_end", status = "refused", exit = 5, step = 2, reason = "stopped: step 2 \"Isolate\" was not confirmed" } }, { exit = 5 }))
  T.has(md, 'Step 2 "Isolate" was refused by the operator', "the refused step")
  T.has(md, 'Step 3 "Snapshot" was not run', "the steps after it")
  T.ok(not md:find('"Release" was not run', 1, true), "not the step skipped by design")
end)

T.case("a step stopped at the wall-clock limit shows its elapsed time", function()
  local s = { type = "run_start", runbook = "x", run_id = "r1", steps = { "Wait" }, t_ms = 1000000 }
  local md = report.markdown(base({ s,
    { type = "step_start", index = 1, name = "Wait", t_ms = 1003000 },
    { type = "step_end", index = 1, name = "Wait", status = "failed", duration_ms = 0, error = "wall-clock limit of 60 s exceeded" },
    { type = "runner_died", reason = "wall-clock limit of 60 s exceeded (raise it with --timeout SECONDS)" },
  }, { exit = 3, runner = { status = "limit", reason = "wall-clock limit of 60 s exceeded" } }))
  T.has(md, "about 57.0 s (stopped at the wall-clock limit)", "elapsed, not 0 ms")
  T.ok(not md:find("| 0 ms |", 1, true), "no 0 ms")
end)

T.case("one call, one retry, one error: singular", function()
  local md = report.markdown(base({ start, { type = "run_end", status = "succeeded", exit = 0 } },
    { calls = { calls = 1, mutating = 0, planned = 0, retries = 1, errors = 1 } }))
  T.has(md, "1 call, 0 mutating, 0 planned (dry run), 1 retry, 1 error;", "singular")
end)

T.case("a partial record never fails", function()
  local ok, md = pcall(report.markdown, {})
  T.ok(ok and type(md) == "string", "empty record", md)
  ok, md = pcall(report.markdown, { events = { { type = "step_end", name = "x|y", status = "done" }, 42, "junk" } })
  T.ok(ok and md:find("x\\|y", 1, true), "junk events ignored, pipes escaped", md)
  ok, md = pcall(report.markdown, nil)
  T.ok(ok, "nil record", md)
end)

return T.done()

-- ctx.evidence across --resume, against a fake broker that, like the run directory, never
-- writes a name twice: a resumed attempt's copy goes under resumed-<UTC time>/, the step
-- records both names, S3 gets the copy's key; outside a resume a taken name still fails.
local ROOT = os.getenv("IRHOST_ROOT") or "."
local T = dofile(ROOT .. "/tests/ir/tap.lua")
local F = dofile(ROOT .. "/tests/ir/fake.lua")
local ir = require("ir")
local evidence = require("ir.evidence")

local identity = { Arn = "arn:aws:iam::111122223333:user/alice", Account = "111122223333", UserId = "AIDA" }

local function setup(over, answers, handlers, mutating)
  local o = { mode = "run", args = { "--instance", "i-1" }, run_id = "run-1", runbook_file = "runbooks/t.lua",
    interactive = false, yes = true }
  for k, v in pairs(over or {}) do o[k] = v end
  local h = F.host(o, answers)
  handlers = handlers or {}
  handlers["sts:GetCallerIdentity"] = identity
  return h, F.aws(h, handlers, mutating)
end

local function book(fn)
  return ir.runbook({ name = "t", description = "test runbook", permissions = {},
    params = { instance = { required = true } }, steps = { { name = "save", run = fn } } })
end

local COPY = "^resumed%-%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ/"

T.case("resumed run: a name the earlier attempt took gets a resumed-<time>/ copy", function()
  local got = {}
  local h, a = setup({ resume = { done = {} } }, { existing = { ["a.txt"] = true, ["logs/b.json"] = true } })
  local code = ir.main(book(function(ctx)
    got.sha, got.name = ctx.evidence:save("a.txt", "second attempt")
    got.sha2, got.name2 = ctx.evidence:save("logs/b.json", { n = 2 })
    got.sha3, got.name3 = ctx.evidence:save("new.txt", "only now")
  end), { host = h, aws = a })
  T.eq(code, 0, "the step succeeds (exit 0)")
  T.like(got.name, COPY .. "a%.txt$", "save returns the copy's name")
  T.eq(h.evidence[got.name], "second attempt", "the copy holds this attempt's content")
  T.eq(got.name2:match("^(.-)/"), got.name:match("^(.-)/"), "one attempt's copies share one folder")
  T.eq(got.name3, "new.txt", "a name not taken is saved as is")
  local crypto = require("irhost.crypto")
  T.eq(got.sha, crypto.hex(crypto.sha256("second attempt")), "save still returns the sha256")
  local e = F.step_end(h, "save")
  T.eq(e.evidence[1].name, got.name, "the step records the copy")
  T.eq(e.evidence[1].copy_of, "a.txt", "and which earlier file it stands next to")
  T.eq(e.evidence[3].copy_of, nil, "no copy_of for a fresh name")
  T.has(e.notes[1], "evidence a.txt was saved by the run being resumed; this attempt's copy is " .. got.name,
    "a note in the step says so")
end)

T.case("resumed run: the same name twice in one attempt still fails", function()
  local h, a = setup({ resume = { done = {} } }, { existing = { ["a.txt"] = true } })
  local code = ir.main(book(function(ctx)
    ctx.evidence:save("a.txt", "one")
    ctx.evidence:save("a.txt", "two")
  end), { host = h, aws = a })
  T.eq(code, 1, "exit 1")
  T.has(F.step_end(h, "save").error, "evidence/a.txt already exists (evidence is never overwritten)",
    "the broker's reason reaches the error")
end)

T.case("not resumed: a taken name fails with the broker's message", function()
  local h, a = setup(nil, { existing = { ["a.txt"] = true } })
  local code = ir.main(book(function(ctx) ctx.evidence:save("a.txt", "x") end), { host = h, aws = a })
  T.eq(code, 1, "exit 1")
  T.has(F.step_end(h, "save").error, "evidence a.txt: evidence/a.txt already exists", "error names the file")
  T.eq(h.evidence["a.txt"], nil, "nothing written")
end)

T.case("resumed run: other refusals are not turned into copies", function()
  local h, a = setup({ resume = { done = {} } }, { evidence_error = "refused" })
  local code = ir.main(book(function(ctx) ctx.evidence:save("../x", "x") end), { host = h, aws = a })
  T.eq(code, 1, "exit 1")
  local n = 0
  for _, r in ipairs(h.requests) do if r.kind == "evidence" then n = n + 1 end end
  T.eq(n, 1, "one request only: no copy attempted")
end)

T.case("resumed run with --evidence-bucket: the copy is uploaded under its own key", function()
  local h, a = setup({ resume = { done = {} }, args = { "--instance", "i-1", "--ticket", "IR-1", "--evidence-bucket", "ir-evidence" } },
    { existing = { ["a.txt"] = true } }, { ["s3:PutObject"] = { VersionId = "v2" } }, { ["s3:PutObject"] = true })
  local name
  T.eq(ir.main(book(function(ctx) local _; _, name = ctx.evidence:save("a.txt", "x") end), { host = h, aws = a }), 0, "exit 0")
  local key
  for _, c in ipairs(h.calls) do
    if c.operation == "PutObject" then key = require("irhost.json").decode(c.params).Key end
  end
  T.eq(key, "IR-1/run-1/evidence/" .. name, "the S3 key is the copy's, never the earlier object's")
end)

T.case("resumed_name", function()
  T.eq(evidence.resumed_name("20261203T101500Z", 1, "a/b.json"), "resumed-20261203T101500Z/a/b.json", "first")
  T.eq(evidence.resumed_name("20261203T101500Z", 2, "a.txt"), "resumed-20261203T101500Z-2/a.txt",
    "a second attempt within the same second")
end)

T.case("copies from an attempt in the same second take the next folder", function()
  local h, a = setup({ resume = { done = {} } }, { existing = { ["a.txt"] = true } })
  -- Everything resumed-*/a.txt-like is taken in the first folder: the copy goes to -2.
  local orig = h.request
  h.request = function(kind, fields)
    if kind == "evidence" and fields.name:match("^resumed%-%d+T%d+Z/") then
      return { error = "exists", message = "evidence/" .. fields.name .. " already exists" }
    end
    return orig(kind, fields)
  end
  local name
  T.eq(ir.main(book(function(ctx) local _; _, name = ctx.evidence:save("a.txt", "x") end), { host = h, aws = a }), 0, "exit 0")
  T.like(name, "^resumed%-%d+T%d+Z%-2/a%.txt$", "the -2 folder")
end)

T.case("report.md marks a resumed copy next to the earlier file", function()
  local sha = string.rep("b", 64)
  local md = require("ir.report").markdown({ version = 1, exit = 0, runner = { status = "exited", reason = "" },
    evidence = { { name = "a.txt", sha256 = sha, size = 1 }, { name = "resumed-20261203T101500Z/a.txt", sha256 = sha, size = 2 } },
    events = {
      { type = "run_start", runbook = "t", file = "t.lua", steps = { "save" }, params = {} },
      { type = "step_start", index = 1, name = "save" },
      { type = "step_end", index = 1, name = "save", status = "done", evidence = {
        { name = "resumed-20261203T101500Z/a.txt", sha256 = sha, size = 2, copy_of = "a.txt" } } },
      { type = "run_end", status = "succeeded", exit = 0 },
    } })
  T.has(md, "| a.txt | `" .. sha .. "` | 1 |", "the earlier attempt's file")
  T.has(md, "| resumed-20261203T101500Z/a.txt (saved on resume; a.txt is the earlier attempt's) | `" .. sha .. "` | 2 |",
    "the copy, saying what it stands next to")
end)

return T.done()

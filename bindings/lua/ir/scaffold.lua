-- ir.scaffold: `irhost new NAME`, the text of a new runbook and of its test. The skeleton
-- passes `irhost check --strict` as written (tests/check/test_policy_new.lua proves it), so
-- an author starts from something correct and edits.
--
--   files(name) -> {{path = "NAME.lua", content}, {path = "tests/NAME_test.lua", content}}
--                  or nil, message. The caller writes them and never overwrites a file.

local M = {}

local runbook_template = [=[
-- @NAME@: what this runbook responds to, in one line (edit me).
--   irhost @NAME@.lua --instance i-0123456789abcdef0 --ticket IR-1 --dry-run
--   irhost check --strict @NAME@.lua       irhost test tests/@NAME@_test.lua
-- docs/authoring.md explains params, steps, ctx, evidence and permissions.
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "@NAME@",
  description = "Capture and tag one EC2 instance (edit me)",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "the instance to act on" },
  },
  -- Every AWS call the steps make, as "service:Operation"; the broker refuses others and
  -- `irhost policy @NAME@.lua` turns this list into the responder role's IAM policy.
  permissions = { "ec2:DescribeInstances", "ec2:CreateTags" },
  steps = {
    {
      name = "Capture the instance",
      run = function(ctx)
        local r = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        local res = r.Reservations[1]
        local inst = res and res.Instances[1]
        if not inst then error("instance " .. ctx.params.instance .. " not found") end
        ctx.evidence:save("instance.json", inst)
        ctx.output("state", inst.State and inst.State.Name)
      end,
    },
    {
      name = "Tag the instance",
      destructive = true,  -- asks for confirmation unless --yes; planned only in --dry-run
      run = function(ctx)
        ec2:CreateTags{
          Resources = { ctx.params.instance },
          Tags = { { Key = "irhost:ticket", Value = ctx.ticket or "none" } },
        }
        ctx.changed{ resource = ctx.params.instance, action = "CreateTags", after = "irhost:ticket" }
      end,
    },
  },
}
]=]

local test_template = [=[
-- Tests for @NAME@.lua, with no network:  irhost test tests/@NAME@_test.lua
-- stub() answers one AWS operation (the response is checked against the model's output
-- shape; `expect` checks the request's params); run() runs the runbook with command-line
-- arguments and returns {exit, steps = {[name] = {status, outputs, changes}}, calls, report}.
local RUNBOOK = "../@NAME@.lua"
local ID = "i-0123456789abcdef0"

test("captures and tags the instance", function()
  stub("ec2", "DescribeInstances", {
    Reservations = { { Instances = { { InstanceId = ID, State = { Name = "running" } } } } },
  }, { expect = { InstanceIds = { ID } } })
  stub("ec2", "CreateTags", {}, { expect = { Resources = { ID } } })
  local r = run(RUNBOOK, { "--instance", ID, "--ticket", "IR-1", "--yes" })
  expect_eq(r.exit, 0)
  expect_calls(r, { "ec2:DescribeInstances", "ec2:CreateTags" })
  expect_eq(r.steps["Capture the instance"].outputs.state, "running")
end)

test("an unknown instance fails the first step and changes nothing", function()
  stub("ec2", "DescribeInstances", { error = { code = "InvalidInstanceID.NotFound", status = 400,
    message = "The instance ID '" .. ID .. "' does not exist" } })
  local r = run(RUNBOOK, { "--instance", ID, "--yes" })
  expect_eq(r.exit, 1)
  expect_eq(r.steps["Capture the instance"].status, "failed")
  expect_calls(r, { "ec2:DescribeInstances" })
end)
]=]

-- Runbook names become file names and the declaration's name.
local function valid_name(name)
  return type(name) == "string" and #name <= 64 and name:match("^[%a][%w_-]*$") ~= nil
end

function M.files(name)
  if not valid_name(name) then
    return nil, "irhost new: '" .. tostring(name) ..
      "' is not a runbook name (a letter, then letters, digits, '-' or '_'; at most 64)"
  end
  local function fill(t) return (t:gsub("@NAME@", name)) end
  return {
    { path = name .. ".lua", content = fill(runbook_template) },
    { path = "tests/" .. name .. "_test.lua", content = fill(test_template) },
  }
end

return M

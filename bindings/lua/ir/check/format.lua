-- Output formats of `irhost check`: text (`file:line:col: error|warning: message`, what
-- editors and CI annotators read), json, and SARIF 2.1.0 for code-scanning tools.
-- Each diagnostic is {file, line, col, severity = "error"|"warning", rule, message}.

local util = require("ir.util")

local M = {}

-- One line per rule, for SARIF's rule table and the docs.
M.rules = {
  ["syntax"] = "The file does not compile as Lua 5.4.",
  ["declaration"] = "The runbook declaration (ir.runbook{...}) is missing or invalid.",
  ["unknown-global"] = "A global the runbook sandbox does not provide.",
  ["unknown-field"] = "A member the sandbox's library table does not have.",
  ["read-only"] = "An assignment into a read-only sandbox module.",
  ["global-set"] = "A global variable set by the runbook (declare it local).",
  ["unused-local"] = "A local variable or function that is never read.",
  ["shadowed-local"] = "A local that hides another local or argument of the same name.",
  ["aws-service"] = "aws.client names a service irhost has no model for.",
  ["aws-call"] = "An AWS call whose operation or literal parameters do not match the model.",
  ["permission"] = "A declared permission that is not a known IAM action.",
  ["permission-missing"] = "An AWS call that no declared permission allows.",
  ["permission-unused"] = "A declared permission that no call in the file uses.",
  ["runtime"] = "Loading the runbook in the sandbox failed.",
}

local function counts(diags)
  local e, w = 0, 0
  for _, d in ipairs(diags) do
    if d.severity == "error" then e = e + 1 else w = w + 1 end
  end
  return e, w
end
M.counts = counts

local function plural(n, word) return n .. " " .. word .. (n == 1 and "" or "s") end

-- The summary line: "2 errors, 1 warning in 3 files".
function M.summary(diags, nfiles)
  local e, w = counts(diags)
  return plural(e, "error") .. ", " .. plural(w, "warning") .. " in " .. plural(nfiles, "file")
end

function M.text(diags)
  local out = {}
  for _, d in ipairs(diags) do
    out[#out + 1] = string.format("%s:%d:%d: %s: %s\n", d.file, d.line, d.col, d.severity, d.message)
  end
  return table.concat(out)
end

function M.json(diags, nfiles)
  local e, w = counts(diags)
  local list = util.array()
  for _, d in ipairs(diags) do
    list[#list + 1] = { file = d.file, line = d.line, column = d.col, severity = d.severity,
      rule = d.rule, message = d.message }
  end
  return util.pretty_json({ files = nfiles, errors = e, warnings = w, diagnostics = list })
end

function M.sarif(diags)
  local used, rules, index = {}, util.array(), {}
  for _, d in ipairs(diags) do used[d.rule] = true end
  for _, id in ipairs(util.sorted_keys(M.rules)) do
    if used[id] then
      rules[#rules + 1] = { id = id, shortDescription = { text = M.rules[id] } }
      index[id] = #rules - 1
    end
  end
  local results = util.array()
  for _, d in ipairs(diags) do
    results[#results + 1] = {
      ruleId = d.rule,
      ruleIndex = index[d.rule],
      level = d.severity,
      message = { text = d.message },
      locations = util.array({ {
        physicalLocation = {
          artifactLocation = { uri = d.file },
          region = { startLine = d.line, startColumn = d.col },
        },
      } }),
    }
  end
  return util.pretty_json({
    ["$schema"] = "https://json.schemastore.org/sarif-2.1.0.json",
    version = "2.1.0",
    runs = util.array({ {
      tool = { driver = { name = "irhost check", rules = rules } },
      results = results,
    } }),
  })
end

return M

-- ir: the runbook framework. A runbook file returns ir.runbook{...}; the runner then calls
-- ir.main(declaration), which answers --help, describe and check, or runs the steps.
-- Authoring guide: docs/authoring.md.
local util = require("ir.util")
local decl = require("ir.decl")
local params = require("ir.params")

local ir = {}

local validated = setmetatable({}, { __mode = "k" })   -- declaration -> normalized form
local refused = setmetatable({}, { __mode = "k" })     -- declaration -> "file:line: message"

-- The runner's channel, when this is a runbook run (not check, test or a trusted script).
local function running_host()
  local ok, host = pcall(require, "irhost.host")
  if not ok or type(host) ~= "table" or not host.options then return nil end
  local opts = host.options()
  local mode = type(opts) == "table" and opts.mode
  if mode ~= "run" and mode ~= "help" and mode ~= "describe" then return nil end
  return host, opts
end

-- Where in the runbook file the declaration error is: `return ir.runbook{...}` is a tail
-- call, so no frame holds the line; the static checker finds the field in the source,
-- which the broker hands out as the runbook's own module. "file: msg" when it cannot.
local function locate_declaration_error(host, file, msg)
  local name = file:match("([^/]+)%.lua$")
  local reply = name and not name:find(".", 1, true) and host.request("require", { name = name, from = file })
  if type(reply) == "table" and type(reply.source) == "string" then
    local ok, diags = pcall(function() return require("ir.check").check_source(file, reply.source) end)
    for _, d in ipairs(ok and diags or {}) do
      if d.severity == "error" and d.line and (d.file == nil or d.file == file) then
        return file .. ":" .. d.line .. ": runbook declaration: " .. msg
      end
    end
  end
  return file .. ": runbook declaration: " .. msg
end

-- Validates a declaration and returns it unchanged; raises naming the bad field. In a
-- run, a bad declaration is a usage error (exit 2, file:line), so it is kept for ir.main
-- instead of raised (a raise from the main chunk is exit 1).
function ir.runbook(d)
  local n, err = decl.validate(d)
  if not n then
    local host, opts = running_host()
    if host and type(d) == "table" and opts.runbook_file then
      refused[d] = locate_declaration_error(host, opts.runbook_file, err)
      return d
    end
    error("runbook declaration: " .. err, 2)
  end
  validated[d] = n
  return d
end

-- The normalized form of a declaration made by ir.runbook, or nil.
function ir.normalized(d)
  return validated[d]
end

local function out(host, stream, text)
  host.send("output", { stream = stream, text = text })
end

local function help_text(n, file)
  local lines = {
    n.name .. ": " .. n.description, "",
    "usage: irhost " .. file .. " [options] [host options]", "", "options:",
  }
  for _, l in ipairs(params.help_lines(n.specs, n.param_names)) do lines[#lines + 1] = l end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "steps:"
  for _, s in ipairs(n.steps) do
    lines[#lines + 1] = string.format("  %d. %s%s", s.index, s.name,
      s.destructive and "  (changes resources: asks for confirmation unless --yes; planned only in --dry-run)" or "")
    if s.description then lines[#lines + 1] = "     " .. s.description end
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "host options (--dry-run, --yes, --region, --profile, --out, --resume, ...): irhost help"
  return table.concat(lines, "\n") .. "\n"
end

local function describe(n, as_json)
  local ps = {}
  for _, name in ipairs(n.param_names) do
    local s = n.specs[name]
    ps[#ps + 1] = {
      name = name, flag = params.flag(name), type = s.type, required = s.required or false,
      default = s.default, choices = s.choices and util.array(util.copy(s.choices)) or nil,
      pattern = s.pattern, help = s.help, value = params.value_label(s), min = s.min, max = s.max,
    }
  end
  local steps = {}
  for _, s in ipairs(n.steps) do
    steps[#steps + 1] = {
      index = s.index, name = s.name, destructive = s.destructive,
      continue_on_error = s.continue_on_error, conditional = s.when ~= nil, description = s.description,
    }
  end
  local t = {
    name = n.name, description = n.description, params = util.array(ps),
    permissions = util.array(util.copy(n.permissions)), steps = util.array(steps),
  }
  if as_json then return util.pretty_json(t) end
  local lines = { "name: " .. n.name, "description: " .. n.description, "params:" }
  for _, l in ipairs(params.help_lines(n.specs, n.param_names)) do lines[#lines + 1] = l end
  lines[#lines + 1] = "permissions:"
  for _, p in ipairs(n.permissions) do lines[#lines + 1] = "  " .. p end
  lines[#lines + 1] = "steps:"
  for _, s in ipairs(n.steps) do
    local flags = {}
    if s.destructive then flags[#flags + 1] = "destructive" end
    if s.continue_on_error then flags[#flags + 1] = "continue_on_error" end
    if s.when then flags[#flags + 1] = "conditional" end
    lines[#lines + 1] = string.format("  %d. %s%s", s.index, s.name,
      #flags > 0 and (" [" .. table.concat(flags, ", ") .. "]") or "")
  end
  return table.concat(lines, "\n") .. "\n"
end

-- The permissions the broker must allow: the runbook's plus what the framework itself calls.
function ir.permissions(n, values)
  local perms, seen = {}, {}
  local function add(p) if not seen[p] then seen[p] = true; perms[#perms + 1] = p end end
  for _, p in ipairs(n.permissions) do add(p) end
  -- A runbook that makes no AWS call needs no identity, credentials or region.
  if require("ir.decl").uses_aws(n, values) then add("sts:GetCallerIdentity") end
  if values and values.evidence_bucket then add("s3:PutObject") end
  return perms
end

-- Runs a declaration in the mode the host chose; returns the process exit code and, for
-- a usage error or a refusal, the one-line message (also written to stderr).
function ir.main(d, env)
  env = env or {}
  local host = env.host or require("irhost.host")
  local n = validated[d]
  if not n and refused[d] then
    out(host, "stderr", "irhost: " .. refused[d] .. "\n  (irhost check FILE finds such errors before an incident)\n")
    return 2, refused[d]
  end
  if not n then
    local v, err = decl.validate(d)
    if not v then
      local msg = "the runbook must return ir.runbook{...}: " .. err
      out(host, "stderr", "irhost: " .. msg .. "\n")
      return 2, msg
    end
    n = v
  end
  local opts = host.options()
  local file = opts.runbook_file or "RUNBOOK"
  local mode = opts.mode or "run"
  if mode == "help" then out(host, "stdout", help_text(n, file)); return 0 end
  if mode == "describe" then out(host, "stdout", describe(n, opts.json)); return 0 end
  if mode == "check" then return 0 end
  if mode ~= "run" then
    out(host, "stderr", "irhost: unknown runner mode " .. tostring(mode) .. "\n")
    return 2, "unknown runner mode " .. tostring(mode)
  end

  local function read_file(path)
    local reply = host.request("read_file", { path = path })
    if type(reply) ~= "table" then return nil, "no reply" end
    if reply.error then return nil, reply.message or reply.error end
    return reply.content
  end
  local values, perr = params.parse(n.specs, opts.args or {}, read_file)
  if not values then
    out(host, "stderr", "irhost: " .. perr .. "\n  see irhost " .. file .. " --help\n")
    return 2, perr
  end

  if n.validate then
    local ok, verr = pcall(n.validate, values)
    if not ok or verr then
      local msg = util.one_line(util.error_text(verr))
      out(host, "stderr", "irhost: " .. msg .. "\n  see irhost " .. file .. " --help\n")
      return 2, msg
    end
  end

  local rates = util.copy(n.rates)
  local reply = host.request("declare", { json = util.json({
    name = n.name, description = n.description,
    permissions = util.array(ir.permissions(n, values)), rates = rates,
  }) })
  if type(reply) == "table" and reply.error then
    local msg = "the broker refused the declaration: " .. tostring(reply.message or reply.error)
    out(host, "stderr", "irhost: " .. msg .. "\n")
    return 2, msg
  end
  -- Only the broker resolves the region from the environment and config files (after the
  -- fork); it may say which one in its reply.
  if type(reply) == "table" and (opts.region == nil or opts.region == "") and reply.region and reply.region ~= "" then
    opts.region = reply.region
  end

  local aws = env.aws
  if aws == nil then
    local ok, m = pcall(require, "aws")
    aws = ok and m or nil
  end
  local code, msg, line = require("ir.steps").run(n, { host = host, aws = aws, opts = opts, values = values, file = file })
  line = line or msg
  if line and code ~= 0 then out(host, "stderr", "irhost: " .. line .. "\n") end
  return code, msg
end

-- Decodes base64 (EC2 console output and screenshots come that way); nil, message on bad input.
function ir.base64_decode(s)
  if type(s) ~= "string" then return nil, "ir.base64_decode: expected a string" end
  return require("irhost.crypto").unbase64(s)
end

-- Submodules a runbook may use through `ir`.
ir.finding = require("ir.finding")

return ir

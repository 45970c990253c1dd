-- ir.check: `irhost check FILE...`, the static checker a team's CI runs on its runbooks.
-- Reads each file's source (handed over by the broker: check needs no credentials, no
-- network and no file access) and reports, without running any runbook code: syntax
-- errors, the declaration's problems (validated by ir.decl), globals the sandbox does not
-- provide, unused and shadowed locals, literal AWS calls checked against the embedded
-- models, and declared permissions (validity, coverage of every call, unused ones).
--
--   run{files = {{path=, source=, runtime_error=?, declaration=?}...}, strict=bool, format="text"|"json"|
--       "sarif", write=?, load_module=?} -> exit code (0 clean, 1 errors, or warnings
--       under strict). load_module(name, runbook_path) -> source, path reads a module the
--       runbook requires; by default the broker's REQUIRE.
--   check_source(path, source, opts) -> diagnostics (sorted by line, column)
--   analyze(path, source, opts) -> {diagnostics, declaration, calls} (for ir.policy)

local parser = require("ir.check.parser")
local scope = require("ir.check.scope")
local declaration = require("ir.check.declaration")
local calls = require("ir.check.calls")
local permissions = require("ir.check.permissions")
local format = require("ir.check.format")

local M = {}

local Diag = {}
Diag.__index = Diag
function Diag:add(severity, rule, line, col, message)
  local key = line .. ":" .. col .. ":" .. message
  if self.seen[key] then return end
  self.seen[key] = true
  self.list[#self.list + 1] = { file = self.file, line = line, col = col, severity = severity,
    rule = rule, message = message }
end

-- Lua's own compiler is the authority on syntax; the parser only adds the column.
local function syntax_error(path, source, diag)
  local fn, err = load(source, "=" .. path, "t", {})
  if fn then return false end
  local line, msg = tostring(err):match("^.-:(%d+): (.*)$")
  line = tonumber(line) or 1
  msg = msg or tostring(err)
  local col = 1
  local ok, perr = pcall(parser.parse, source)
  if not ok and type(perr) == "table" and perr.line == line then col = perr.col end
  diag:add("error", "syntax", line, col, msg)
  return true
end

-- A message from loading the runbook in the sandbox ("file:12: ir.runbook: ..."), reported
-- at its line when it names one.
local function runtime_error(path, text, diag)
  local line, msg = text:match("^[^\n]-:(%d+): (.*)$")
  diag:add("error", "runtime", tonumber(line) or 1, 1, (msg or text):gsub("\n.*", ""))
  return path
end

local builtin_modules = { ir = true, aws = true, json = true }

-- The runner's way to read a module next to the runbook or in its lib/: the broker's
-- REQUIRE, which applies the sandbox's own resolution rules.
local function broker_module(name, from)
  local ok, host = pcall(require, "irhost.host")
  if not ok then return nil end
  local r = host.request("require", { name = name, from = from })
  if type(r) ~= "table" or not r.source then return nil end
  return r.source, (r.chunkname or name):gsub("^[@=]", "")
end

-- Loads, parses and scope-checks every module the chunk requires (transitively), so
-- clients passed to their functions are followed. Returns the units and whether every
-- require could be followed.
local function load_modules(block, path, opts, new_diag)
  local units, loaded, complete = {}, {}, true
  local load_module = opts.load_module or broker_module
  local function scan(b)
    calls.walk(b, function(e)
      if e.tag == "Call" and e.func.tag == "Name" and e.func.name == "require" and not e.func.binding then
        if not calls.is_require(e) then complete = false; return end
        local name = e.args[1].value
        if builtin_modules[name] or loaded[name] then return end
        loaded[name] = true
        local src, mpath = load_module(name, path)
        if not src then complete = false; return end
        local ok, mblock = pcall(parser.parse, src)
        if not ok then complete = false; return end
        local mdiag = new_diag(mpath or name)
        scope.analyze(mblock, mdiag)
        units[#units + 1] = { block = mblock, diag = mdiag, name = name }
        scan(mblock)
      end
    end)
  end
  scan(block)
  return units, complete
end

local function by_position(a, b)
  if a.file ~= b.file then return a.file < b.file end
  if a.line ~= b.line then return a.line < b.line end
  if a.col ~= b.col then return a.col < b.col end
  return a.message < b.message
end

-- Analyses one file. opts.module: a library module (no declaration expected; default when
-- the path has a lib/ segment). opts.runtime_error: what loading it in the sandbox said.
-- opts.declaration: the table the runbook returned in the sandbox, for what the source
-- builds at run time (a permissions list assembled from modules).
-- Returns {diagnostics (sorted), declaration = ir.check.declaration info or nil,
-- calls = ir.check.calls result or nil, modules = {{path, diagnostics}...},
-- requires_followed = every require was read, complete = and every client use was seen}.
function M.analyze(path, source, opts)
  opts = opts or {}
  local diag = setmetatable({ file = path, list = {}, seen = {} }, Diag)
  local result = { diagnostics = diag.list }
  if opts.runtime_error then runtime_error(path, opts.runtime_error, diag) end
  if not syntax_error(path, source, diag) then
    local ok, block = pcall(parser.parse, source)
    if not ok then
      local e = type(block) == "table" and block or { line = 1, col = 1, message = tostring(block) }
      diag:add("error", "syntax", e.line, e.col, e.message)
    else
      local module = opts.module
      if module == nil then module = ("/" .. path):find("/lib/") ~= nil end
      scope.analyze(block, diag)
      local info = declaration.read(block, diag, { module = module })
      -- Whatever the source builds at run time (a permissions list or any other field
      -- taken from a module), the declaration the sandbox evaluated fills in.
      local n
      if opts.declaration and not (info.permissions and info.normalized) then
        n = require("ir.decl").validate(opts.declaration)
      end
      if not info.permissions and n then
        -- The list the sandbox evaluated, placed at the field.
        local at = info.permissions_at or info.call or { line = 1, col = 1 }
        info.permissions = {}
        for i, p in ipairs(n.permissions) do
          info.permissions[i] = { action = p, line = at.line, col = at.col }
        end
      end
      info.normalized = info.normalized or n or nil
      local function new_diag(p) return setmetatable({ file = p, list = {}, seen = {} }, Diag) end
      local modules, complete = load_modules(block, path, opts, new_diag)
      local units = { { block = block, diag = diag } }
      for _, u in ipairs(modules) do units[#units + 1] = u end
      local found = calls.analyze_program(units)
      result.requires_followed = complete
      complete = complete and not next(found.escaped)
      result.complete = complete
      permissions.check(info.permissions, found, diag, complete)
      result.declaration, result.calls = info, found
      result.modules = {}
      for _, u in ipairs(modules) do
        table.sort(u.diag.list, by_position)
        result.modules[#result.modules + 1] = { path = u.diag.file, diagnostics = u.diag.list }
      end
    end
  end
  table.sort(diag.list, by_position)
  return result
end

-- Checks one file; returns its diagnostics sorted by line and column, then those of the
-- modules it requires (each file's own, sorted).
function M.check_source(path, source, opts)
  local a = M.analyze(path, source, opts)
  local out = {}
  for _, d in ipairs(a.diagnostics) do out[#out + 1] = d end
  for _, m in ipairs(a.modules or {}) do
    for _, d in ipairs(m.diagnostics) do out[#out + 1] = d end
  end
  return out
end

local function default_write(stream, text)
  local host = require("irhost.host")
  host.send("output", { stream = stream, text = text })
end

-- Checks every file and writes the report; returns the exit code.
function M.run(opts)
  local files = opts.files or {}
  local write = opts.write or default_write
  local fmt = opts.format or "text"
  if not format[fmt] or fmt == "rules" or fmt == "counts" or fmt == "summary" then
    write("stderr", "irhost check: unknown format '" .. tostring(fmt) .. "' (text, json, sarif)\n")
    return 2
  end
  local all, seen = {}, {}
  for _, f in ipairs(files) do
    local diags = M.check_source(f.path, f.source, { runtime_error = f.runtime_error,
      module = f.module, load_module = opts.load_module, declaration = f.declaration })
    for _, d in ipairs(diags) do
      -- Runbooks sharing a lib/ module report its problems once.
      local key = d.file .. ":" .. d.line .. ":" .. d.col .. ":" .. d.message
      if not seen[key] then seen[key] = true; all[#all + 1] = d end
    end
  end
  local out = format[fmt](all, #files)
  if out ~= "" then write("stdout", out) end
  if fmt == "text" then write("stderr", "irhost check: " .. format.summary(all, #files) .. "\n") end
  local errors, warnings = format.counts(all)
  if errors > 0 or (opts.strict and warnings > 0) then return 1 end
  return 0
end

return M

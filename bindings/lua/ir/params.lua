-- ir.params: the runbook's typed command-line parameters: validating their declaration,
-- parsing `--name value` / `--name=value` / `--flag` / `--no-flag` against it, and the
-- help table. Errors are one line; the caller adds the `see irhost RUNBOOK --help` hint.
local util = require("ir.util")

local M = {}

M.types = { string = true, number = true, integer = true, boolean = true, list = true, file = true }

-- Parameters every runbook gets unless it declares them itself.
M.conventional = {
  ticket = { type = "string", metavar = "ID", help = "incident ticket id (recorded in tags, evidence keys and the report)" },
  evidence_bucket = { type = "string", metavar = "BUCKET", pattern = "^[a-z0-9][a-z0-9.-]+[a-z0-9]$",
    help = "also upload each evidence file to s3://BUCKET/<ticket>/<run id>/" },
}

local spec_fields = {
  type = true, required = true, default = true, choices = true, pattern = true, help = true,
  metavar = true, min = true, max = true,
}

-- The flag for a param key: evidence_bucket -> --evidence-bucket.
function M.flag(name) return "--" .. name:gsub("_", "-") end

-- The host's own options (docs/cli.md: run options, and `irhost policy`'s, which share the
-- command line with runbook params). The host takes them first, so a param of that name
-- could never be given: a declaration error, not a silently dead param.
M.HOST_OPTIONS = {
  "region", "profile", "endpoint-url", "out", "resume", "dry-run", "yes", "json", "quiet", "verbose",
  "timeout", "memory-limit", "max-instructions", "max-calls", "max-mutating-calls", "rate", "help", "version",
  "resources", "account", "partition",
}
local host_option = {}
for _, o in ipairs(M.HOST_OPTIONS) do host_option[o] = true end

-- Validates and normalizes one param spec; returns the spec or nil, message.
local function check_spec(name, spec)
  local where = "params." .. name
  if type(name) ~= "string" or not name:match("^[%a][%w_]*$") then
    return nil, "params: key " .. tostring(name) .. " must be an identifier (letters, digits, _)"
  end
  if host_option[name:gsub("_", "-")] then
    return nil, where .. ": " .. M.flag(name) .. " is a host option (irhost help), so the runbook would never " ..
      "receive it; choose another name (e.g. " .. name .. "_name or target_" .. name .. ")"
  end
  if type(spec) ~= "table" then return nil, where .. " must be a table" end
  for k in pairs(spec) do
    if not spec_fields[k] then
      local hint = type(k) == "string" and util.did_you_mean(k, util.sorted_keys(spec_fields))
      return nil, where .. ": unknown field " .. tostring(k) .. (hint and (" (did you mean " .. hint .. "?)") or "")
    end
  end
  local s = util.copy(spec)
  if s.type == nil then
    if s.choices then s.type = "string"
    elseif type(s.default) == "boolean" then s.type = "boolean"
    elseif math.type(s.default) == "integer" then s.type = "integer"
    elseif type(s.default) == "number" then s.type = "number"
    else s.type = "string" end
  end
  if not M.types[s.type] then
    return nil, where .. ".type: unknown type " .. tostring(s.type) ..
      " (string, number, integer, boolean, list, file)"
  end
  if s.choices ~= nil then
    if type(s.choices) ~= "table" or #s.choices == 0 then
      return nil, where .. ".choices must be a non-empty list of strings"
    end
    for _, c in ipairs(s.choices) do
      if type(c) ~= "string" then return nil, where .. ".choices must hold strings" end
    end
  end
  if s.pattern ~= nil then
    if type(s.pattern) ~= "string" then return nil, where .. ".pattern must be a Lua pattern string" end
    local ok, err = pcall(string.find, "", s.pattern)
    if not ok then return nil, where .. ".pattern: " .. util.one_line(err) end
  end
  if s.help ~= nil and type(s.help) ~= "string" then return nil, where .. ".help must be a string" end
  if s.required and s.default ~= nil then
    return nil, where .. ": a required param cannot have a default"
  end
  if s.type == "boolean" and s.required then
    return nil, where .. ": a boolean flag cannot be required"
  end
  if s.default ~= nil then
    local ok, err = M.check_value(name, s, s.default)
    if not ok then return nil, where .. ".default: " .. err end
  end
  return s
end

-- Checks an already typed value against spec (choices, pattern, min/max).
function M.check_value(name, spec, v)
  local t = spec.type
  if t == "list" then
    if type(v) ~= "table" then return nil, "must be a list" end
    for _, item in ipairs(v) do
      local ok, err = M.check_value(name, { type = "string", choices = spec.choices, pattern = spec.pattern }, item)
      if not ok then return nil, err end
    end
    return true
  end
  if t == "boolean" then
    if type(v) ~= "boolean" then return nil, "must be true or false" end
    return true
  end
  if t == "number" or t == "integer" then
    if type(v) ~= "number" or (t == "integer" and math.type(v) ~= "integer") then
      return nil, "must be " .. (t == "integer" and "an integer" or "a number")
    end
    if spec.min and v < spec.min then return nil, "must be at least " .. spec.min end
    if spec.max and v > spec.max then return nil, "must be at most " .. spec.max end
    return true
  end
  if type(v) ~= "string" then return nil, "must be a string" end
  if spec.choices then
    local found = false
    for _, c in ipairs(spec.choices) do if c == v then found = true end end
    if not found then return nil, "must be one of " .. table.concat(spec.choices, ", ") end
  end
  if spec.pattern and not v:find(spec.pattern) then
    return nil, "does not match " .. spec.pattern
  end
  return true
end

-- Validates a declaration's params table and adds the conventional ones.
-- Returns {name = spec}, {ordered names} or nil, message.
function M.declare(params)
  if params ~= nil and type(params) ~= "table" then return nil, "params must be a table" end
  local out, names = {}, {}
  for name, spec in pairs(params or {}) do
    local s, err = check_spec(name, spec)
    if not s then return nil, err end
    out[name] = s
  end
  for name, spec in pairs(M.conventional) do
    if not out[name] then out[name] = check_spec(name, spec) end
  end
  for name in pairs(out) do names[#names + 1] = name end
  table.sort(names, function(a, b)
    -- Required first, then declared order is unknowable in a hash: alphabetical.
    local ra, rb = out[a].required and 0 or 1, out[b].required and 0 or 1
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  return out, names
end

local function convert(name, spec, raw)
  local flag = M.flag(name)
  local t = spec.type
  if t == "number" or t == "integer" then
    local v = tonumber(raw)
    if v == nil then return nil, flag .. ": '" .. raw .. "' is not a number" end
    if t == "integer" then
      if math.type(v) ~= "integer" then
        if v ~= math.floor(v) then return nil, flag .. ": '" .. raw .. "' is not an integer" end
        v = math.tointeger(v)
      end
    end
    return v
  end
  if t == "boolean" then
    local l = raw:lower()
    if l == "true" or l == "yes" or l == "1" then return true end
    if l == "false" or l == "no" or l == "0" then return false end
    return nil, flag .. ": '" .. raw .. "' is not true or false"
  end
  return raw
end

-- Parses args (a list of strings) against specs from M.declare. read_file(path) returns
-- content or nil, message (file params). Returns values (defaults applied) or nil, message.
function M.parse(specs, args, read_file)
  local values, seen = {}, {}
  local by_flag, flags = {}, {}
  for name, spec in pairs(specs) do
    local f = M.flag(name)
    by_flag[f] = name; flags[#flags + 1] = f
    if spec.type == "boolean" then by_flag["--no-" .. f:sub(3)] = name end
  end
  table.sort(flags)
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      if args[i + 1] then return nil, "unexpected argument '" .. args[i + 1] .. "'" end
      break
    end
    if a:sub(1, 2) ~= "--" or #a < 3 then
      return nil, "unexpected argument '" .. a .. "' (parameters are given as --name value)"
    end
    local key, inline = a:match("^(%-%-[^=]+)=(.*)$")
    key = key or a
    local norm = key:gsub("_", "-")
    local name = by_flag[norm]
    if not name then
      local hint = util.did_you_mean(norm, flags)
      return nil, "unknown option " .. key .. (hint and (" (did you mean " .. hint .. "?)") or "")
    end
    local spec = specs[name]
    local raw
    if spec.type == "boolean" then
      if norm ~= M.flag(name) then
        if inline then return nil, norm .. " takes no value" end
        raw = "false"
      else
        raw = inline or "true"
      end
    else
      raw = inline
      if raw == nil then
        raw = args[i + 1]
        if raw == nil or (raw:sub(1, 2) == "--" and #raw > 2) then
          return nil, M.flag(name) .. " needs a value"
        end
        i = i + 1
      end
    end
    local v, err = convert(name, spec, raw)
    if v == nil then return nil, err end
    if spec.type == "list" then
      local list = values[name] or {}
      for item in (v .. ","):gmatch("([^,]*),") do
        item = item:match("^%s*(.-)%s*$")
        if item ~= "" then list[#list + 1] = item end
      end
      values[name] = list
    else
      if seen[name] and values[name] ~= v and spec.type ~= "boolean" then
        return nil, M.flag(name) .. " given twice with different values"
      end
      values[name] = v
    end
    seen[name] = true
    i = i + 1
  end
  for name, spec in pairs(specs) do
    local v = values[name]
    if v == nil then
      if spec.required then
        return nil, "missing required option " .. M.flag(name) ..
          (spec.help and (" (" .. spec.help .. ")") or "")
      end
      if spec.default ~= nil then
        v = spec.default
        if type(v) == "table" then v = util.copy(v) end
        values[name] = v
      elseif spec.type == "boolean" then
        values[name] = false
      end
    else
      local ok, err = M.check_value(name, spec, v)
      if not ok then
        local shown = type(v) == "table" and table.concat(v, ",") or tostring(v)
        return nil, M.flag(name) .. ": '" .. shown .. "' " .. err
      end
      if spec.type == "file" then
        local content, ferr = read_file(v)
        if content == nil then return nil, M.flag(name) .. ": cannot read " .. v .. ": " .. tostring(ferr) end
        values[name] = { path = v, content = content }
      end
    end
  end
  return values
end

-- The values as they go in events and the report: files by path, nothing else changed.
function M.public(values)
  local out = {}
  for k, v in pairs(values) do
    if type(v) == "table" and v.path and v.content then out[k] = v.path
    elseif type(v) == "table" then out[k] = util.array(util.copy(v))
    else out[k] = v end
  end
  return out
end

local function type_label(spec)
  if spec.choices then return table.concat(spec.choices, "|") end
  if spec.type == "boolean" then return "" end
  if spec.metavar then return spec.metavar end
  if spec.type == "list" then return "A,B,..." end
  if spec.type == "file" then return "FILE" end
  return spec.type:upper()
end

-- The placeholder for a param's value in help and docs ("ID", "a|b", "FILE"; "" for a flag).
M.value_label = type_label

-- The help text's params section: one line per param, aligned.
function M.help_lines(specs, names)
  local rows, width = {}, 0
  for _, name in ipairs(names) do
    local spec = specs[name]
    local label = M.flag(name)
    local tl = type_label(spec)
    if tl ~= "" then label = label .. " " .. tl end
    local extra = {}
    if spec.required then extra[#extra + 1] = "required" end
    if spec.default ~= nil and spec.type ~= "boolean" then
      local d = type(spec.default) == "table" and table.concat(spec.default, ",") or tostring(spec.default)
      extra[#extra + 1] = "default " .. d
    end
    if spec.type == "list" then extra[#extra + 1] = "repeatable" end
    local text = spec.help or ""
    if #extra > 0 then text = text .. (text ~= "" and " " or "") .. "(" .. table.concat(extra, ", ") .. ")" end
    rows[#rows + 1] = { label, text }
    if #label > width then width = #label end
  end
  local lines = {}
  for _, r in ipairs(rows) do
    lines[#lines + 1] = "  " .. r[1] .. string.rep(" ", width - #r[1] + 2) .. r[2]
  end
  return lines
end

return M

-- Parameter validation against an operation's input shape, before anything is sent.
-- Errors name the path: "Tags[1].Key: required".
local util = require "aws.util"
local json = require "irhost.json"
local pattern = require "aws.pattern"

local M = {}

local function distance(a, b)
  a, b = a:lower(), b:lower()
  if math.abs(#a - #b) > 3 then return 99 end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- The closest member name to a misspelled one, or nil.
function M.suggest(name, members)
  local best, bestd = nil, math.huge
  for m in pairs(members) do
    local d = distance(name, m)
    if m:lower() == name:lower() then d = 0 end
    if d < bestd then best, bestd = m, d end
  end
  if best and bestd <= math.max(2, #name // 3) then return best end
  return nil
end

local function join(path, key)
  if path == "" then return key end
  return path .. "." .. key
end

local function typename(v)
  if v == json.null then return "null" end
  if math.type(v) then return math.type(v) == "integer" and "integer" or "number" end
  return type(v)
end

local check

local function check_range(shape, n, path, what)
  if shape.min and n < shape.min then
    return string.format("%s: %s %s is below the minimum %s", path, what, tostring(n), tostring(shape.min))
  end
  if shape.max and n > shape.max then
    return string.format("%s: %s %s is above the maximum %s", path, what, tostring(n), tostring(shape.max))
  end
end

local checkers = {}

function checkers.structure(model, shape, v, path)
  if type(v) ~= "table" then return path .. ": expected a table (structure), got " .. typename(v) end
  local members = shape.members or {}
  for k, val in pairs(v) do
    if type(k) ~= "string" then
      return join(path, tostring(k)) .. ": unexpected key (structures take member names)"
    end
    local ref = members[k]
    if not ref then
      local s = M.suggest(k, members)
      return join(path, k) .. ": unknown member" .. (s and (" (did you mean " .. s .. "?)") or "")
    end
    local err = check(model, ref, val, join(path, k))
    if err then return err end
  end
  for _, r in ipairs(shape.required or {}) do
    if v[r] == nil then return join(path, r) .. ": required" end
  end
  if shape.union then
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    if n > 1 then return (path == "" and "params" or path) .. ": a union takes exactly one member" end
  end
end

function checkers.list(model, shape, v, path)
  if type(v) ~= "table" or not util.is_sequence(v) then
    return path .. ": expected a list (a Lua sequence), got " .. typename(v)
  end
  local err = check_range(shape, #v, path, "length")
  if err then return err end
  local ms = model.shapes[shape.member.shape]
  if ms.type == "string" and not ms.enum and not ms.min and not ms.max and not ms.pattern then
    -- The common case (ids, names, values): only the type to check.
    for i = 1, #v do
      if type(v[i]) ~= "string" then return path .. "[" .. i .. "]: expected a string, got " .. typename(v[i]) end
    end
    return nil
  end
  for i, item in ipairs(v) do
    err = check(model, shape.member, item, path .. "[" .. i .. "]")
    if err then return err end
  end
end

function checkers.map(model, shape, v, path)
  if type(v) ~= "table" then return path .. ": expected a table (map), got " .. typename(v) end
  for k, val in pairs(v) do
    if type(k) ~= "string" then return path .. ": map keys must be strings" end
    local err = check(model, shape.key, k, path .. "[" .. string.format("%q", k) .. "]")
      or check(model, shape.value, val, path .. "[" .. string.format("%q", k) .. "]")
    if err then return err end
  end
end

function checkers.string(model, shape, v, path)
  if type(v) ~= "string" then return path .. ": expected a string, got " .. typename(v) end
  if shape.enum then
    local ok = false
    for _, e in ipairs(shape.enum) do if e == v then ok = true break end end
    if not ok then
      local list = table.concat(shape.enum, ", ", 1, math.min(#shape.enum, 12))
      return string.format("%s: %q is not one of: %s%s", path, v, list, #shape.enum > 12 and ", ..." or "")
    end
  end
  if shape.min and utf8.len(v) and utf8.len(v) < shape.min then
    return string.format("%s: must be at least %d characters", path, shape.min)
  end
  if shape.max and (utf8.len(v) or #v) > shape.max then
    return string.format("%s: must be at most %d characters", path, shape.max)
  end
  -- The value is not quoted: it may be a secret (passwords have patterns too).
  if shape.pattern and pattern.check(shape.pattern, v) == false then
    return string.format("%s: does not match the model's pattern %s", path, shape.pattern)
  end
end

local function integer_check(model, shape, v, path)
  if math.type(v) == "float" and math.tointeger(v) then v = math.tointeger(v) end
  if math.type(v) ~= "integer" then return path .. ": expected an integer, got " .. typename(v) end
  return check_range(shape, v, path, "value")
end
checkers.integer, checkers.long, checkers.short, checkers.byte = integer_check, integer_check, integer_check, integer_check

local function float_check(model, shape, v, path)
  if type(v) ~= "number" then return path .. ": expected a number, got " .. typename(v) end
  return check_range(shape, v, path, "value")
end
checkers.float, checkers.double = float_check, float_check

function checkers.boolean(model, shape, v, path)
  if type(v) ~= "boolean" then return path .. ": expected a boolean, got " .. typename(v) end
end

function checkers.blob(model, shape, v, path)
  if type(v) ~= "string" then return path .. ": expected a string (blob), got " .. typename(v) end
end

function checkers.timestamp(model, shape, v, path)
  if type(v) == "number" then return end
  if type(v) == "string" and util.parse_time(v) then return end
  return path .. ": expected a timestamp (ISO-8601 string or epoch seconds), got " .. typename(v)
end

function checkers.document() end

check = function(model, ref, v, path)
  local shape = model:shape(ref)
  local f = checkers[shape.type]
  if shape.document then return end
  if f then return f(model, shape, v, path) end
end

-- Returns nil when params fit the operation's input shape, else "path: problem".
function M.params(model, op, params)
  if params ~= nil and type(params) ~= "table" then return "params: expected a table, got " .. typename(params) end
  params = params or {}
  if not op.input then
    if next(params) ~= nil then return "params: this operation takes no parameters" end
    return nil
  end
  return check(model, op.input, params, "")
end

return M

-- JSON <-> shaped values, by the model: the json and rest-json protocols' bodies.
local json = require "irhost.json"
local util = require "aws.util"

local M = {}
-- Members bound to the HTTP head are not read from the body (uri/querystring ones are).
local HEAD_LOCATIONS = { header = true, headers = true, statusCode = true }
local null = json.null

local SPECIAL = { NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge }

local parse
local function parse_structure(model, shape, v)
  if type(v) ~= "table" then return nil end
  local out = {}
  for name, ref in pairs(shape.members or {}) do
    if not HEAD_LOCATIONS[ref.location] then
      local x = v[ref.locationName or name]
      if x ~= nil and x ~= null then out[name] = parse(model, ref, x) end
    end
  end
  return out
end

-- Shapes a decoded JSON value by the member reference ref.
parse = function(model, ref, v)
  local shape = model.shapes[ref.shape]
  local t = shape.type
  if shape.document then return v end
  if t == "structure" then return parse_structure(model, shape, v) end
  if t == "list" then
    if type(v) ~= "table" then return nil end
    local out = {}
    for i = 1, #v do
      if v[i] ~= null then out[#out + 1] = parse(model, shape.member, v[i]) end
    end
    return out
  end
  if t == "map" then
    if type(v) ~= "table" then return nil end
    local out = {}
    for k, x in pairs(v) do
      if x ~= null then out[k] = parse(model, shape.value, x) end
    end
    return out
  end
  if t == "timestamp" then
    local ts = util.parse_time(v)
    return ts and util.iso8601(ts) or v
  end
  if t == "blob" then return type(v) == "string" and util.unbase64(v) or v end
  if t == "float" or t == "double" then
    if type(v) == "string" and SPECIAL[v] then return SPECIAL[v] end
    return tonumber(v)
  end
  if t == "integer" or t == "long" or t == "short" or t == "byte" then
    local n = tonumber(v)
    return n and (math.tointeger(n) or n)
  end
  return v
end
M.parse = parse
M.parse_structure = parse_structure

local serialize
-- A Lua value for json.encode from the params value v of member reference ref.
serialize = function(model, ref, v, default_ts)
  local shape = model.shapes[ref.shape]
  local t = shape.type
  if shape.document then return v end
  if t == "structure" then
    local out = {}
    for name, val in pairs(v) do
      local mref = shape.members[name]
      if mref and val ~= nil and not mref.location then
        out[mref.locationName or name] = serialize(model, mref, val, default_ts)
      end
    end
    return out
  end
  if t == "list" then
    local out = json.array()
    for i = 1, #v do out[i] = serialize(model, shape.member, v[i], default_ts) end
    return out
  end
  if t == "map" then
    local out = {}
    for k, val in pairs(v) do out[k] = serialize(model, shape.value, val, default_ts) end
    return out
  end
  if t == "timestamp" then
    return util.format_time(util.parse_time(v), ref.timestampFormat or shape.timestampFormat or default_ts or "unixTimestamp")
  end
  if t == "blob" then return util.base64(v) end
  if (t == "float" or t == "double") and type(v) == "number" then
    if v ~= v then return "NaN" end
    if v == math.huge then return "Infinity" end
    if v == -math.huge then return "-Infinity" end
  end
  if (t == "integer" or t == "long" or t == "short" or t == "byte") and math.tointeger(v) then
    return math.tointeger(v)
  end
  return v
end
M.serialize = serialize

return M

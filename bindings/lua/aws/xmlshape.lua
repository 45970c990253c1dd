-- XML <-> shaped values, by the model: reading irhost.xml trees into results (query, ec2,
-- rest-xml responses) and writing rest-xml request bodies.
local util = require "aws.util"

local M = {}
-- Members bound to the HTTP head are not read from the body (uri/querystring ones are).
local HEAD_LOCATIONS = { header = true, headers = true, statusCode = true }

local scalar = {}
function scalar.string(_, text) return text end
function scalar.boolean(_, text) return text == "true" end
function scalar.blob(_, text) return util.unbase64(text) end
local function int(_, text) local n = tonumber(text); return n and (math.tointeger(n) or n) end
scalar.integer, scalar.long, scalar.short, scalar.byte = int, int, int, int
local SPECIAL = { NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge }
local function float(_, text)
  if SPECIAL[text] then return SPECIAL[text] end
  return tonumber(text)
end
scalar.float, scalar.double = float, float
function scalar.timestamp(_, text)
  -- Fast path for what AWS sends most: "2024-01-02T03:04:05Z" / "...05.000Z".
  local n = #text
  if (n == 20 or n == 24) and text:byte(n) == 90 and text:find("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d") then
    if n == 20 then return text end
    if text:sub(20, 23) == ".000" then return text:sub(1, 19) .. "Z" end
  end
  local t = util.parse_time(text)
  if not t then return text end
  return util.iso8601(t)
end

local parse

-- The element name a member is found under (botocore's _member_key_name).
local function member_xml_name(model, ref, name)
  local shape = model.shapes[ref.shape]
  if shape.type == "list" and (ref.flattened or shape.flattened) then
    if shape.member.locationName then return shape.member.locationName end
  end
  return ref.locationName or name
end
M.member_xml_name = member_xml_name

-- Per structure shape, once: element name -> member, and the attribute members.
local compiled = setmetatable({}, { __mode = "k" })
local function compile(model, shape)
  local info = compiled[shape]
  if info then return info end
  info = { by_xml = {}, attrs = {} }
  local alias = {}
  for name, ref in pairs(shape.members or {}) do
    if ref.xmlAttribute then
      info.attrs[#info.attrs + 1] = { name = name, ref = ref, attr = ref.locationName or name }
    elseif not HEAD_LOCATIONS[ref.location] then
      local mshape = model.shapes[ref.shape]
      local flat = (mshape.type == "list" or mshape.type == "map") and (ref.flattened or mshape.flattened) and mshape.type
      local entry = { name = name, ref = ref, shape = mshape, flat = flat }
      info.by_xml[member_xml_name(model, ref, name)] = entry
      if flat == "list" then alias[#alias + 1] = { ref.locationName or name, entry } end
    end
  end
  -- Flattened list items are named after the list's member (botocore, the legacy models:
  -- SQS <Message>) or after the structure member (Smithy): read both unless that clashes.
  for _, a in ipairs(alias) do
    if info.by_xml[a[1]] == nil then info.by_xml[a[1]] = a[2] end
  end
  compiled[shape] = info
  return info
end

local function map_entry(model, shape, entry, out)
  if type(entry) ~= "table" then return end
  local kname = shape.key.locationName or "key"
  local vname = shape.value.locationName or "value"
  local k, v
  for i = 1, #entry, 2 do
    local n = entry[i]
    if n == kname then k = entry[i + 1]
    elseif n == vname then v = parse(model, shape.value, entry[i + 1]) end
  end
  if type(k) == "string" then out[k] = v end
end

local function parse_structure(model, shape, node)
  local out = {}
  if type(node) ~= "table" then return out end
  local info = compile(model, shape)
  local by_xml = info.by_xml
  for i = 1, #node, 2 do
    local m = by_xml[node[i]]
    if m then
      local name = m.name
      if m.flat == "list" then
        local acc = out[name]
        if not acc then acc = {}; out[name] = acc end
        local v = parse(model, m.shape.member, node[i + 1])
        if v ~= nil then acc[#acc + 1] = v end
      elseif m.flat == "map" then
        local acc = out[name]
        if not acc then acc = {}; out[name] = acc end
        map_entry(model, m.shape, node[i + 1], acc)
      elseif out[name] == nil then
        out[name] = parse(model, m.ref, node[i + 1])
      end
    end
  end
  local attrs = node.attrs
  if attrs then
    for _, a in ipairs(info.attrs) do
      local v = attrs[a.attr]
      if v then out[a.name] = parse(model, a.ref, v) end
    end
  end
  return out
end

-- Shapes an element value (string or table, see bindings/lxml.c) by member reference ref.
parse = function(model, ref, node)
  local shape = model.shapes[ref.shape]
  local t = shape.type
  if t == "structure" then return parse_structure(model, shape, node) end
  if t == "list" then
    local out = {}
    if type(node) ~= "table" then return out end
    local tag = shape.member.locationName or "member"
    local mref = shape.member
    for i = 1, #node, 2 do
      if node[i] == tag then
        local v = parse(model, mref, node[i + 1])
        if v ~= nil then out[#out + 1] = v end
      end
    end
    return out
  end
  if t == "map" then
    local out = {}
    if type(node) ~= "table" then return out end
    for i = 1, #node, 2 do
      if node[i] == "entry" then map_entry(model, shape, node[i + 1], out) end
    end
    return out
  end
  local text = node
  if type(node) == "table" then
    text = node.text
    if text == nil then return nil end
  end
  if t == "string" then return text end
  local f = scalar[t]
  if f then return f(shape, text) end
  return text
end
M.parse = parse
M.parse_structure = parse_structure
M.scalar = scalar

-- Value of the first child element called name (nil if none or node is a leaf).
function M.child(node, name)
  if type(node) ~= "table" then return nil end
  for i = 1, #node, 2 do
    if node[i] == name then return node[i + 1] end
  end
  return nil
end

-- Text of a leaf value (string, or a table with attributes), or nil.
function M.text(v)
  if type(v) == "string" then return v end
  if type(v) == "table" then return v.text end
  return nil
end

---------------------------------------------------------------------------------------------
-- Writing

local function escape(s, attr)
  s = s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub("\r", "&#xD;")
  if attr then s = s:gsub('"', "&quot;"):gsub("\n", "&#xA;") end
  return s
end

local function scalar_text(model, ref, shape, v)
  local t = shape.type
  if t == "boolean" then return util.bool_text(v) end
  if t == "timestamp" then
    return tostring(util.format_time(util.parse_time(v), ref.timestampFormat or shape.timestampFormat or "iso8601"))
  end
  if t == "blob" then return util.base64(v) end
  if type(v) == "number" then return util.number_text(v) end
  return tostring(v)
end

local function ns_attr(ns)
  if not ns then return "" end
  local name = "xmlns" .. (ns.prefix and (":" .. ns.prefix) or "")
  return string.format(' %s="%s"', name, escape(ns.uri or "", true))
end

local write

local function write_structure(buf, model, ref, shape, name, v)
  local attrs = { ns_attr(ref.xmlNamespace or shape.xmlNamespace) }
  local body = {}
  for _, key in ipairs(util.sorted_keys(v)) do
    local mref = shape.members[key]
    local val = v[key]
    if mref and val ~= nil then
      if mref.xmlAttribute then
        local mshape = model.shapes[mref.shape]
        attrs[#attrs + 1] = string.format(' %s="%s"', mref.locationName or key,
          escape(scalar_text(model, mref, mshape, val), true))
      else
        write(body, model, mref, mref.locationName or key, val)
      end
    end
  end
  buf[#buf + 1] = "<" .. name .. table.concat(attrs) .. ">"
  buf[#buf + 1] = table.concat(body)
  buf[#buf + 1] = "</" .. name .. ">"
end

-- Appends the XML for value v of member reference ref, as element `name`, to buf.
write = function(buf, model, ref, name, v)
  local shape = model.shapes[ref.shape]
  local t = shape.type
  if t == "structure" then return write_structure(buf, model, ref, shape, name, v) end
  if t == "list" then
    if ref.flattened or shape.flattened then
      for _, item in ipairs(v) do write(buf, model, shape.member, name, item) end
    else
      buf[#buf + 1] = "<" .. name .. ns_attr(ref.xmlNamespace) .. ">"
      for _, item in ipairs(v) do write(buf, model, shape.member, shape.member.locationName or "member", item) end
      buf[#buf + 1] = "</" .. name .. ">"
    end
    return
  end
  if t == "map" then
    local kname = shape.key.locationName or "key"
    local vname = shape.value.locationName or "value"
    local flat = ref.flattened or shape.flattened
    if not flat then buf[#buf + 1] = "<" .. name .. ns_attr(ref.xmlNamespace) .. ">" end
    for _, k in ipairs(util.sorted_keys(v)) do
      buf[#buf + 1] = flat and ("<" .. name .. ">") or "<entry>"
      write(buf, model, shape.key, kname, k)
      write(buf, model, shape.value, vname, v[k])
      buf[#buf + 1] = flat and ("</" .. name .. ">") or "</entry>"
    end
    if not flat then buf[#buf + 1] = "</" .. name .. ">" end
    return
  end
  buf[#buf + 1] = "<" .. name .. ns_attr(ref.xmlNamespace) .. ">" .. escape(scalar_text(model, ref, shape, v)) .. "</" .. name .. ">"
end

-- The XML document for v shaped by ref, with root element `name`.
function M.document(model, ref, name, v)
  local buf = {}
  write(buf, model, ref, name, v)
  return table.concat(buf)
end

return M

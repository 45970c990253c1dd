-- The query and ec2 protocols: form-encoded requests (Action=...&Version=...), XML responses.
-- ec2 differs in member names (queryName, then capitalised locationName), lists (always
-- flattened, no ".member"), empty lists (omitted) and the error envelope.
local util = require "aws.util"
local xml = require "irhost.xml"
local xmlshape = require "aws.xmlshape"
local errors = require "aws.errors"

local M = {}
local urlencode = util.urlencode
-- "1", "2", ...: list indexes as text, formatted once.
local INDEX = setmetatable({}, { __index = function(t, i) local s = tostring(i); t[i] = s; return s end })

local function scalar_text(model, ref, shape, v)
  local t = shape.type
  if t == "string" then return v end
  if t == "boolean" then return util.bool_text(v) end
  if t == "timestamp" then
    return tostring(util.format_time(util.parse_time(v), ref.timestampFormat or shape.timestampFormat or "iso8601"))
  end
  if t == "blob" then return util.base64(v) end
  if type(v) == "number" then return util.number_text(v) end
  return tostring(v)
end

local function member_name(ec2, ref, key)
  if ec2 then
    if ref.queryName then return ref.queryName end
    if ref.locationName then return ref.locationName:sub(1, 1):upper() .. ref.locationName:sub(2) end
    return key
  end
  return ref.locationName or key
end

local add
local function add_structure(out, model, shape, v, prefix, ec2)
  for _, key in ipairs(util.sorted_keys(v)) do
    local ref = shape.members[key]
    if ref and v[key] ~= nil then
      local name = member_name(ec2, ref, key)
      add(out, model, ref, v[key], prefix == "" and name or (prefix .. "." .. name), ec2)
    end
  end
end

-- Appends "name=value" pairs for value v of member reference ref under prefix to out.
add = function(out, model, ref, v, prefix, ec2)
  local shape = model.shapes[ref.shape]
  local t = shape.type
  if t == "structure" then return add_structure(out, model, shape, v, prefix, ec2) end
  if t == "list" then
    if #v == 0 then
      if not ec2 then out[#out + 1] = urlencode(prefix) .. "=" end
      return
    end
    local list_prefix
    if ec2 then
      list_prefix = prefix
    elseif ref.flattened or shape.flattened then
      list_prefix = prefix
      if shape.member.locationName then
        list_prefix = prefix:gsub("[^.]*$", "") .. shape.member.locationName
      end
    else
      list_prefix = prefix .. "." .. (shape.member.locationName or "member")
    end
    local ms = model.shapes[shape.member.shape]
    if ms.type == "string" then
      -- The common case (ids, names, values): one string per item.
      local p = urlencode(list_prefix) .. "."
      local n = #out
      for i = 1, #v do out[n + i] = p .. INDEX[i] .. "=" .. urlencode(v[i]) end
      return
    end
    for i, item in ipairs(v) do add(out, model, shape.member, item, list_prefix .. "." .. i, ec2) end
    return
  end
  if t == "map" then
    local full = (ref.flattened or shape.flattened) and prefix or (prefix .. ".entry")
    local kname = shape.key.locationName or "key"
    local vname = shape.value.locationName or "value"
    for i, k in ipairs(util.sorted_keys(v)) do
      local p = full .. "." .. i
      add(out, model, shape.key, k, p .. "." .. kname, ec2)
      add(out, model, shape.value, v[k], p .. "." .. vname, ec2)
    end
    return
  end
  out[#out + 1] = urlencode(prefix) .. "=" .. urlencode(scalar_text(model, ref, shape, v))
end

-- The form body for an operation: Action, Version and the params.
function M.form(model, op, params, ec2)
  local parts = { "Action=" .. urlencode(op.name), "Version=" .. urlencode(model.metadata.apiVersion or "") }
  if op.input and params then add(parts, model, op.input, params, "", ec2) end
  return table.concat(parts, "&")
end

function M.serialize(model, op, params, ec2)
  return {
    method = (op.http and op.http.method) or "POST",
    path = (op.http and op.http.requestUri) or "/",
    query = "",
    headers = { ["content-type"] = "application/x-www-form-urlencoded" },
    body = M.form(model, op, params, ec2),
  }
end

-- Shapes a successful response body by the operation's output.
function M.parse(model, op, status, headers, body, ec2)
  if not op.output or body == nil or body:match("^%s*$") then return {} end
  local doc, err = xml.parse(body)
  if not doc then return nil, err end
  local node = doc[2]
  if not ec2 then
    -- The result sits in <OpResult>; models name it resultWrapper, test models may not.
    node = xmlshape.child(node, op.output.resultWrapper or (op.name .. "Result")) or node
  end
  return xmlshape.parse_structure(model, model:shape(op.output), node)
end

-- Code, message, request id and modeled fields of an error response.
function M.parse_error(model, op, status, headers, body, ec2)
  local doc = xml.parse(body or "")
  local info = { status = status }
  if not doc then
    info.code = errors.code_for_status(status)
    info.message = (body and #body > 0) and body:sub(1, 200) or nil
    return info
  end
  local root_name, root = doc[1], doc[2]
  local child, text = xmlshape.child, xmlshape.text
  local err_node
  if ec2 then
    err_node = child(child(root, "Errors"), "Error")
    info.request_id = text(child(root, "RequestID") or child(root, "RequestId"))
  else
    err_node = child(root, "Error") or (root_name == "Error" and root)
    info.request_id = text(child(root, "RequestId"))
  end
  err_node = err_node or root
  info.code = text(child(err_node, "Code")) or errors.code_for_status(status)
  info.message = text(child(err_node, "Message"))
  local shape_name = errors.modeled_shape(model, op, info.code)
  if shape_name then
    info.fields = xmlshape.parse_structure(model, model.shapes[shape_name], err_node)
  end
  return info
end

return M

-- The rest-json protocol: HTTP bindings from the model, JSON bodies.
local json = require "irhost.json"
local jsonshape = require "aws.jsonshape"
local rest = require "aws.protocols.rest"
local jsonproto = require "aws.protocols.json"

local M = {}

function M.serialize(model, op, params)
  params = params or {}
  local req, body_params, has_body = rest.bind(model, op, params)
  local input = op.input and model:shape(op.input)
  local pname, pref, pshape, streaming = rest.payload(model, input)
  local ctype
  if pname then
    local v = params[pname]
    if streaming then
      req.body = v ~= nil and tostring(v) or ""
      if v ~= nil then ctype = pshape.type == "string" and "text/plain" or "application/octet-stream" end
    elseif v ~= nil then
      req.body = json.encode(jsonshape.serialize(model, pref, v))
      ctype = "application/json"
    else
      req.body = "{}"
      ctype = "application/json"
    end
  elseif has_body then
    req.body = json.encode(jsonshape.serialize(model, op.input, body_params))
    ctype = "application/json"
  else
    local needs_empty = false
    for _, ref in pairs(input and input.members or {}) do
      if not ref.location then needs_empty = true break end
    end
    req.body = needs_empty and "{}" or ""
    if needs_empty then ctype = "application/json" end
  end
  if ctype and not req.headers["content-type"] then req.headers["content-type"] = ctype end
  return req
end

function M.parse(model, op, status, headers, body)
  local out = {}
  if not op.output then return out end
  local shape = model:shape(op.output)
  rest.parse_head(model, shape, status, headers, out)
  local pname, pref, _, streaming = rest.payload(model, shape)
  if pname then
    if streaming then
      out[pname] = body or ""
    elseif body and body ~= "" then
      local v, err = jsonproto.decode(body)
      if v == nil then return nil, err end
      out[pname] = jsonshape.parse(model, pref, v)
    end
    return out
  end
  if body and body ~= "" then
    local v, err = jsonproto.decode(body)
    if v == nil then return nil, err end
    local parsed = jsonshape.parse_structure(model, shape, v) or {}
    for k, val in pairs(parsed) do out[k] = val end
  end
  return out
end

function M.parse_error(model, op, status, headers, body)
  local info = jsonproto.parse_error(model, op, status, headers, body)
  local shape_name = info.fields and require("aws.errors").modeled_shape(model, op, info.code)
  if shape_name then rest.parse_head(model, model.shapes[shape_name], status, headers, info.fields) end
  return info
end

return M

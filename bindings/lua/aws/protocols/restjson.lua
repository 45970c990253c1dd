-- The rest-json protocol: HTTP bindings from the model, JSON bodies.
local json = require "irhost.json"
local jsonshape = require "aws.jsonshape"
local rest = require "aws.protocols.rest"
local jsonproto = require "aws.protocols.json"

local M = {}

-- How rest-json puts a request's body together (rest.serialize does the HTTP bindings).
local codec = {
  payload = function(model, ref, _, value)
    return json.encode(jsonshape.serialize(model, ref, value)), "application/json"
  end,
  no_payload = function() return "{}", "application/json" end,
  members = function(model, op, _, members)
    return json.encode(jsonshape.serialize(model, op.input, members)), "application/json"
  end,
  -- An input with body members but none set still sends "{}"; one with none sends nothing.
  no_body = function(input)
    for _, ref in pairs(input and input.members or {}) do
      if not ref.location then return "{}", "application/json" end
    end
    return ""
  end,
}

-- Reading a response body: rest.parse does the HTTP bindings and the streaming payload.
codec.decode = jsonproto.decode
function codec.parse_payload(model, ref, v) return jsonshape.parse(model, ref, v) end
function codec.parse_members(model, shape, v, out)
  for k, val in pairs(jsonshape.parse_structure(model, shape, v) or {}) do out[k] = val end
end

function M.serialize(model, op, params)
  return rest.serialize(model, op, params, codec)
end

function M.parse(model, op, status, headers, body)
  return rest.parse(model, op, status, headers, body, codec)
end

function M.parse_error(model, op, status, headers, body)
  local info = jsonproto.parse_error(model, op, status, headers, body)
  local shape_name = info.fields and require("aws.errors").modeled_shape(model, op, info.code)
  if shape_name then rest.parse_head(model, model.shapes[shape_name], status, headers, info.fields) end
  return info
end

return M

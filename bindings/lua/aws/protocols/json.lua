-- The json protocol (1.0 and 1.1): POST / with X-Amz-Target, JSON bodies both ways.
local json = require "irhost.json"
local jsonshape = require "aws.jsonshape"
local errors = require "aws.errors"

local M = {}

function M.serialize(model, op, params)
  local md = model.metadata
  local body = {}
  if op.input and params then body = jsonshape.serialize(model, op.input, params) end
  local headers = {
    ["content-type"] = "application/x-amz-json-" .. (md.jsonVersion or "1.0"),
  }
  if md.targetPrefix then headers["x-amz-target"] = md.targetPrefix .. "." .. op.name end
  return {
    method = (op.http and op.http.method) or "POST",
    path = (op.http and op.http.requestUri) or "/",
    query = "",
    headers = headers,
    body = json.encode(body),
  }
end

local function decode(body)
  if body == nil or body == "" then return {} end
  local ok, v = pcall(json.decode, body)
  if not ok then return nil, v end
  return v
end
M.decode = decode

function M.parse(model, op, status, headers, body)
  if not op.output then return {} end
  local v, err = decode(body)
  if v == nil then return nil, err end
  return jsonshape.parse_structure(model, model:shape(op.output), v) or {}
end

-- "aws.protocoltests#FooError:http://..." -> "FooError"
local function clean_code(code)
  if type(code) ~= "string" then return nil end
  code = code:match("^([^:]*)") or code
  code = code:match("#(.*)$") or code
  return code
end
M.clean_code = clean_code

-- Error fields for json and rest-json responses.
function M.parse_error(model, op, status, headers, body)
  local v = decode(body)
  if type(v) ~= "table" then v = {} end
  local info = { status = status }
  info.code = clean_code(headers["x-amzn-errortype"]) or clean_code(v.__type) or clean_code(v.code)
    or clean_code(v.Code) or errors.code_for_status(status)
  local msg = v.message or v.Message or v.errorMessage
  info.message = type(msg) == "string" and msg or nil
  info.request_id = headers["x-amzn-requestid"] or headers["x-amz-request-id"]
  local shape_name = errors.modeled_shape(model, op, info.code)
  if shape_name then
    info.fields = jsonshape.parse_structure(model, model.shapes[shape_name], v)
  end
  return info, v
end

return M

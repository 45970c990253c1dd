-- The rest-xml protocol (S3, s3control, ...): HTTP bindings from the model, XML bodies.
local xml = require "irhost.xml"
local xmlshape = require "aws.xmlshape"
local rest = require "aws.protocols.rest"
local errors = require "aws.errors"

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
      req.body = xmlshape.document(model, pref, pref.locationName or pshape.locationName or pref.shape, v)
      ctype = "application/xml"
    else
      req.body = ""
    end
  elseif has_body then
    local root = op.input.locationName or input.locationName or op.input.shape
    req.body = xmlshape.document(model, op.input, root, body_params)
    ctype = "application/xml"
  else
    req.body = ""
  end
  if ctype and not req.headers["content-type"] then req.headers["content-type"] = ctype end
  return req
end

-- S3 answers some operations with 200 and an <Error> document.
local function is_error_document(body)
  return body and body:find("<Error>", 1, true) and body:match("^%s*<%?xml[^>]*>%s*<Error>")
    or (body and body:match("^%s*<Error>"))
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
      local doc, err = xml.parse(body)
      if not doc then return nil, err end
      out[pname] = xmlshape.parse(model, pref, doc[2])
    end
    return out
  end
  if body and body ~= "" then
    local doc, err = xml.parse(body)
    if not doc then return nil, err end
    local parsed = xmlshape.parse_structure(model, shape, doc[2])
    for k, v in pairs(parsed) do out[k] = v end
  end
  return out
end

function M.is_error_200(body) return is_error_document(body) and true or false end

function M.parse_error(model, op, status, headers, body)
  local info = { status = status }
  info.request_id = headers["x-amz-request-id"] or headers["x-amzn-requestid"]
  local doc = (body and body ~= "") and xml.parse(body) or nil
  if not doc then
    info.code = errors.code_for_status(status)
    return info
  end
  local child, text = xmlshape.child, xmlshape.text
  local root_name, root = doc[1], doc[2]
  local err_node = root_name == "Error" and root or child(root, "Error") or root
  info.code = text(child(err_node, "Code")) or errors.code_for_status(status)
  info.message = text(child(err_node, "Message"))
  info.request_id = info.request_id or text(child(err_node, "RequestId") or child(root, "RequestId"))
  local shape_name = errors.modeled_shape(model, op, info.code)
  if shape_name then
    local shape = model.shapes[shape_name]
    info.fields = xmlshape.parse_structure(model, shape, err_node)
    rest.parse_head(model, shape, status, headers, info.fields)
  end
  return info
end

return M

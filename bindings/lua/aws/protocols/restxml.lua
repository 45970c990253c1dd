-- The rest-xml protocol (S3, s3control, ...): HTTP bindings from the model, XML bodies.
local xml = require "irhost.xml"
local xmlshape = require "aws.xmlshape"
local rest = require "aws.protocols.rest"
local errors = require "aws.errors"

local M = {}

-- How rest-xml puts a request's body together (rest.serialize does the HTTP bindings).
local codec = {
  payload = function(model, ref, shape, value)
    return xmlshape.document(model, ref, ref.locationName or shape.locationName or ref.shape, value), "application/xml"
  end,
  no_payload = function() return "" end,
  members = function(model, op, input, members)
    local root = op.input.locationName or input.locationName or op.input.shape
    return xmlshape.document(model, op.input, root, members), "application/xml"
  end,
  no_body = function() return "" end,
}

-- Reading a response body: rest.parse does the HTTP bindings and the streaming payload.
codec.decode = xml.parse
function codec.parse_payload(model, ref, doc) return xmlshape.parse(model, ref, doc[2]) end
function codec.parse_members(model, shape, doc, out)
  if type(doc[2]) == "string" then
    -- A bare text root (S3 GetBucketLocation's <LocationConstraint>region</...>, empty
    -- for us-east-1) is the member of that name, not a structure.
    for name, ref in pairs(shape.members or {}) do
      if (ref.locationName or name) == doc[1] then out[name] = doc[2] end
    end
    return
  end
  for k, v in pairs(xmlshape.parse_structure(model, shape, doc[2])) do out[k] = v end
end

function M.serialize(model, op, params)
  return rest.serialize(model, op, params, codec)
end

-- S3 answers some operations with 200 and an <Error> document.
local function is_error_document(body)
  return body and body:find("<Error>", 1, true) and body:match("^%s*<%?xml[^>]*>%s*<Error>")
    or (body and body:match("^%s*<Error>"))
end

function M.parse(model, op, status, headers, body)
  return rest.parse(model, op, status, headers, body, codec)
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

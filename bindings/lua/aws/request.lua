-- From (model, operation, params) to the CALL request table, and from a CALL result back to a
-- shaped result or an error object. The one path every client call and the protocol
-- compliance runner take.
local util = require "aws.util"
local crypto = require "irhost.crypto"
local errors = require "aws.errors"

local M = {}

local PROTOCOLS = {
  query = "aws.protocols.query",
  ec2 = "aws.protocols.ec2",
  json = "aws.protocols.json",
  ["rest-json"] = "aws.protocols.restjson",
  ["rest-xml"] = "aws.protocols.restxml",
}

function M.protocol(model)
  local name = PROTOCOLS[model.metadata.protocol]
  if not name then error("aws: unsupported protocol " .. tostring(model.metadata.protocol), 2) end
  return require(name)
end

-- Copies params and fills idempotency tokens the caller left out.
local function with_tokens(model, op, params)
  if not op.input then return params end
  local shape = model:shape(op.input)
  local out = params
  for name, ref in pairs(shape.members or {}) do
    if ref.idempotencyToken and (params == nil or params[name] == nil) then
      if out == params then
        out = {}
        for k, v in pairs(params or {}) do out[k] = v end
      end
      out[name] = crypto.uuid4()
    end
  end
  return out
end

-- The serialized request: {method, path, query, headers, body, host_prefix}.
function M.build(model, op, params)
  params = with_tokens(model, op, params or {})
  local req = M.protocol(model).serialize(model, op, params)
  req.host_prefix = require("aws.protocols.rest").host_prefix(model, op, params)
  local checksum = op.httpChecksumRequired or (op.httpChecksum and op.httpChecksum.requestChecksumRequired)
  if checksum and req.body and not req.headers["content-md5"] then
    req.headers["content-md5"] = util.base64(crypto.md5(req.body))
  end
  return req, params
end

-- Turns a response into (result) or (nil, error info {code, message, status, request_id, fields}).
function M.parse(model, op, status, headers, body)
  local proto = M.protocol(model)
  headers = headers or {}
  local is_error = status >= 300
  -- S3 can answer 200 and then fail (CopyObject, UploadPartCopy, CompleteMultipartUpload):
  -- an <Error> document where the output is XML. Never for a raw payload (GetObject of a
  -- file that happens to be such a document).
  if not is_error and status == 200 and model.metadata.protocol == "rest-xml" and proto.is_error_200(body) then
    local out = op.output and model.shapes[op.output.shape]
    local streaming = out and out.payload and select(4, require("aws.protocols.rest").payload(model, out))
    if not streaming then is_error = true end
  end
  if is_error then return nil, proto.parse_error(model, op, status, headers, body) end
  local result, err = proto.parse(model, op, status, headers, body)
  if result == nil then
    return nil, { code = "MalformedResponse", message = tostring(err), status = status, retryable = false }
  end
  return result
end

-- Shaped result for a response, or raises an error object (level 3: the runbook's call).
function M.result(model, op, service, status, headers, body)
  local result, info = M.parse(model, op, status, headers, body)
  if result then return result end
  if not info.request_id and headers then
    info.request_id = headers["x-amzn-requestid"] or headers["x-amz-request-id"]
  end
  return nil, errors.new(info, service, op.name)
end

return M

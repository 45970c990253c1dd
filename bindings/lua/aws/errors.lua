-- AWS error objects: what a failed call raises. Fields: code, message, status, request_id,
-- retryable, service, operation (and fields: the error shape's modeled members).
local M = {}

local Error = {}
Error.__index = Error
Error.__name = "aws.error"

function Error.__tostring(e)
  local s = string.format("%s:%s failed: %s", e.service or "?", e.operation or "?", e.code or "Error")
  if e.message and e.message ~= "" then s = s .. ": " .. e.message end
  local extra = {}
  if e.status then extra[#extra + 1] = "HTTP " .. tostring(e.status) end
  if e.request_id then extra[#extra + 1] = "request id " .. e.request_id end
  if #extra > 0 then s = s .. " (" .. table.concat(extra, ", ") .. ")" end
  return s
end

local RETRYABLE = {
  Throttling = true, ThrottlingException = true, ThrottledException = true,
  RequestThrottledException = true, TooManyRequestsException = true,
  ProvisionedThroughputExceededException = true, TransactionInProgressException = true,
  RequestLimitExceeded = true, BandwidthLimitExceeded = true, LimitExceededException = false,
  RequestThrottled = true, SlowDown = true, PriorRequestNotComplete = true,
  EC2ThrottledException = true, RequestTimeout = true, RequestTimeoutException = true,
  InternalError = true, InternalFailure = true, ServiceUnavailable = true,
  IDPCommunicationError = true,
}

local STATUS_CODES = {
  [400] = "BadRequest", [401] = "Unauthorized", [403] = "Forbidden", [404] = "NotFound",
  [405] = "MethodNotAllowed", [409] = "Conflict", [412] = "PreconditionFailed",
  [413] = "RequestEntityTooLarge", [429] = "TooManyRequests", [500] = "InternalError",
  [502] = "BadGateway", [503] = "ServiceUnavailable", [504] = "GatewayTimeout",
}

-- The code to use when a response carries none (S3 HEAD errors have no body).
function M.code_for_status(status)
  return STATUS_CODES[status] or ("Http" .. tostring(status))
end

-- The error shape name for a code among the operation's errors (or any exception shape).
function M.modeled_shape(model, op, code)
  if not code then return nil end
  for _, e in ipairs(op.errors or {}) do
    local name = type(e) == "table" and e.shape or e
    local shape = model.shapes[name]
    if name == code or (shape and shape.error and shape.error.code == code) then return name end
  end
  local shape = model.shapes[code]
  if shape and shape.exception then return code end
  return nil
end

-- Builds an error object from parsed fields {code, message, status, request_id, fields}.
function M.new(info, service, operation)
  local retryable = info.retryable
  if retryable == nil then
    retryable = RETRYABLE[info.code] or (info.status ~= nil and info.status >= 500) or info.status == 429
  end
  return setmetatable({
    code = info.code or "Error",
    message = info.message or "",
    status = info.status,
    request_id = info.request_id,
    retryable = retryable and true or false,
    service = service,
    operation = operation,
    fields = info.fields or {},
  }, Error)
end

-- Is e an AWS error object (and, when code is given, with that code)?
function M.is_error(e, code)
  if getmetatable(e) ~= Error then return false end
  if code == nil then return true end
  return e.code == code
end

M.Error = Error
return M

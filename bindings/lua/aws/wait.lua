-- client:wait(waiter, params[, {timeout, delay, max_attempts}]): polls the waiter's
-- operation until an acceptor says success (returns the last result) or failure (raises a
-- WaiterFailed error), or time runs out (WaiterTimeout). Progress goes to the run log.
local jmespath = require "aws.jmespath"
local errors = require "aws.errors"
local transport = require "aws.transport"

local M = {}

local function all_equal(v, expected)
  if type(v) ~= "table" or #v == 0 then return false end
  for i = 1, #v do if v[i] ~= expected then return false end end
  return true
end

local function any_equal(v, expected)
  if type(v) ~= "table" then return false end
  for i = 1, #v do if v[i] == expected then return true end end
  return false
end

-- The state ("success", "failure", "retry") the first matching acceptor gives, or nil.
function M.match(acceptors, result, err)
  for _, a in ipairs(acceptors) do
    local m = a.matcher
    local hit = false
    if m == "error" then
      if a.expected == true then hit = err ~= nil
      elseif a.expected == false then hit = err == nil
      else hit = err ~= nil and err.code == a.expected end
    elseif m == "status" then
      local status = err and err.status or (result and 200)
      hit = status == a.expected
    elseif result ~= nil then
      local v = jmespath.search(a.argument, result)
      if m == "path" then hit = v == a.expected
      elseif m == "pathAll" then hit = all_equal(v, a.expected)
      elseif m == "pathAny" then hit = any_equal(v, a.expected) end
    end
    if hit then return a.state, a end
  end
  return nil
end

local function log(text)
  local ok, host = pcall(transport.host)
  if ok and host and host.send then pcall(host.send, "log", { level = "info", text = text }) end
end

local function now_ms(host)
  if host and host.now_ms then return host.now_ms() end
  return math.floor(os.time() * 1000)
end

function M.wait(client, waiter, params, opts)
  local model = client._model
  local w = model.waiters[waiter]
  if not w then
    local names = {}
    for n in pairs(model.waiters) do names[n] = true end
    local s = require("aws.validate").suggest(tostring(waiter), names)
    error(string.format("%s: no waiter %s%s", client._service, tostring(waiter), s and (" (did you mean " .. s .. "?)") or ""), 3)
  end
  if opts ~= nil and type(opts) ~= "table" then error("wait: options must be a table", 3) end
  opts = opts or {}
  local delay = opts.delay or w.delay or 15
  local max_attempts = opts.max_attempts or (opts.timeout and math.huge) or w.maxAttempts or 40
  local timeout = opts.timeout or delay * max_attempts
  local host = transport.host()
  local started = now_ms(host)
  local attempt = 0
  while true do
    attempt = attempt + 1
    local result, err = client:try(w.operation, params)
    if result and result.dry_run then return result end
    if err ~= nil and not errors.is_error(err) then error(err, 0) end
    local state, acceptor = M.match(w.acceptors, result, err)
    if state == "success" then
      log(string.format("%s:%s: %s reached after %d attempt(s)", client._service, w.operation, waiter, attempt))
      return result or {}
    end
    if state == "failure" then
      error(errors.new({ code = "WaiterFailed", message = string.format("%s reached a failure state (%s %s)",
        waiter, acceptor.matcher, tostring(acceptor.expected)), status = err and err.status }, client._service, w.operation), 2)
    end
    if state == nil and err then error(err, 2) end
    local elapsed = (now_ms(host) - started) / 1000
    if attempt >= max_attempts or elapsed + delay >= timeout then
      error(errors.new({ code = "WaiterTimeout", message = string.format("%s not reached after %d attempt(s), %.0f s",
        waiter, attempt, elapsed) }, client._service, w.operation), 2)
    end
    log(string.format("waiting for %s (%s:%s), attempt %d, %.0f s elapsed", waiter, client._service, w.operation, attempt, elapsed))
    host.sleep_ms(math.floor(delay * 1000))
  end
end

return M

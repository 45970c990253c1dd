-- Sends CALL requests to the broker through irhost.host. Inside an aws.parallel task the
-- call is asynchronous and the task yields to the scheduler; elsewhere it blocks.
-- irhost.host's functions are looked up at each call (ir.calls wraps them).
local M = {}

local tasks = setmetatable({}, { __mode = "k" })  -- coroutines aws.parallel runs

function M.host()
  return require "irhost.host"
end

function M.mark_task(co) tasks[co] = true end

-- Sends req; returns the CALL_RESULT table.
function M.call(req)
  local host = M.host()
  local co, main = coroutine.running()
  if not main and tasks[co] and host.call_async then
    local id = host.call_async(req)
    return coroutine.yield("irhost.call", id)
  end
  return host.call(req)
end

return M

-- ir.calls: watches the runner's channel to the broker so each step knows which AWS calls
-- it made and which mutating ones the broker skipped as planned in a dry run. It wraps the
-- functions of the shared `irhost.host` table once; the aws clients look them up there at
-- call time, so every call, including aws.parallel fan-out, passes through here.
local util = require("ir.util")

local M = {}

local sink            -- the current step's record: {calls = n, planned = {...}}
local pending = {}    -- async call id -> request, until its result arrives

local function planned_entry(req)
  local params = req.params and util.decode(req.params) or nil
  return { service = req.service, operation = req.operation, params = params or util.array() }
end

local function observe(req, res)
  if not sink then return end
  sink.calls = sink.calls + 1
  if type(res) == "table" and res.error == "dryrun" then
    sink.planned[#sink.planned + 1] = planned_entry(req)
  end
end

-- Installs the wrappers on host (idempotent).
function M.install(host)
  if host.__ir_observed then return end
  local call, call_async, wait, wait_any = host.call, host.call_async, host.wait, host.wait_any
  if call then
    host.call = function(req)
      local res = call(req)
      observe(req, res)
      return res
    end
  end
  if call_async then
    host.call_async = function(req)
      local id = call_async(req)
      if id ~= nil then pending[id] = req end
      return id
    end
  end
  if wait then
    host.wait = function(id)
      local res = wait(id)
      local req = pending[id]
      pending[id] = nil
      if req then observe(req, res) end
      return res
    end
  end
  if wait_any then
    host.wait_any = function(ids)
      local id, res = wait_any(ids)
      local req = id ~= nil and pending[id]
      if req then pending[id] = nil; observe(req, res) end
      return id, res
    end
  end
  host.__ir_observed = true
end

-- Starts recording into a fresh record and returns it; M.stop() ends recording.
function M.start()
  sink = { calls = 0, planned = {} }
  return sink
end

function M.stop()
  local s = sink
  sink = nil
  return s
end

return M

-- Test doubles for the ir framework: an `irhost.host` that records what the framework
-- sends, and a minimal `aws` whose clients answer from a table of handlers and pass every
-- request through host.call (so the framework's call observer sees them, as in the runner).
local json = require("irhost.json")
local crypto = require("irhost.crypto")

local F = {}

-- opts: the host.options() table; answers: {confirm = "yes"|"no"|"notty", files = {path = text},
-- declare_error = text, evidence_error = text, existing = {[evidence name] = true} (saved by an earlier attempt)}
function F.host(opts, answers)
  answers = answers or {}
  local h = { events = {}, logs = {}, outputs = {}, requests = {}, calls = {}, evidence = {}, declared = nil }
  h.options = function() return opts end
  h.now_ms = function() return 1000 end
  h.send = function(kind, fields)
    if kind == "event" then h.events[#h.events + 1] = json.decode(fields.json)
    elseif kind == "log" then h.logs[#h.logs + 1] = fields
    elseif kind == "output" then h.outputs[#h.outputs + 1] = fields
    else error("unexpected one-way message " .. tostring(kind)) end
  end
  h.request = function(kind, fields)
    h.requests[#h.requests + 1] = { kind = kind, fields = fields }
    if kind == "declare" then
      h.declared = json.decode(fields.json)
      if answers.declare_error then return { error = answers.declare_error } end
      return { ok = "1", region = answers.region }
    elseif kind == "confirm" then
      return { answer = answers.confirm or "notty" }
    elseif kind == "read_file" then
      local c = (answers.files or {})[fields.path]
      if c then return { content = c } end
      return { error = "refused", message = "not a file named on the command line" }
    elseif kind == "evidence" then
      if answers.evidence_error then return { error = answers.evidence_error } end
      -- Like the run directory: a name is never written twice (also across attempts).
      if h.evidence[fields.name] or (answers.existing or {})[fields.name] then
        return { error = "exists", message = "evidence/" .. fields.name .. " already exists (evidence is never overwritten)" }
      end
      local sum = crypto.hex(crypto.sha256(fields.content))
      h.evidence[fields.name] = fields.content
      return { sha256 = sum, path = "evidence/" .. fields.name, size = tostring(#fields.content) }
    end
    error("unexpected request " .. tostring(kind))
  end
  -- The transport: the fake aws clients below call this.
  h.call = function(req)
    h.calls[#h.calls + 1] = req
    if opts.dry_run and req.mutating then return { error = "dryrun", message = "planned" } end
    return { status = "200", body = "" }
  end
  return h
end

local err_mt = { __tostring = function(e) return e.code .. ": " .. e.message end }

-- handlers: {["ec2:DescribeInstances"] = function(params) return result end | result table}
-- mutating: {["ec2:StopInstances"] = true}; an entry returning F.err(code) raises that error.
function F.aws(host, handlers, mutating)
  local A = {}
  function A.err(code, message)
    return setmetatable({ code = code, message = message or code, is_error = true }, err_mt)
  end
  function A.region() return "eu-west-1" end
  function A.client(service)
    return setmetatable({}, { __index = function(_, op)
      return function(_, params)
        local key = service .. ":" .. op
        local res = host.call({ service = service, operation = op, params = json.encode(params or {}),
          mutating = (mutating or {})[key] })
        if res.error == "dryrun" then return { dry_run = true } end
        local h = handlers[key]
        if h == nil then error(A.err("UnknownOperation", "no fake handler for " .. key)) end
        if type(h) == "function" then h = h(params) end
        if type(h) == "table" and getmetatable(h) == err_mt then error(h) end
        return h
      end
    end })
  end
  return A
end

function F.events_of(h, typ)
  local out = {}
  for _, e in ipairs(h.events) do if e.type == typ then out[#out + 1] = e end end
  return out
end

function F.step_end(h, name)
  for _, e in ipairs(h.events) do
    if e.type == "step_end" and e.name == name then return e end
  end
end

function F.output_text(h, stream)
  local parts = {}
  for _, o in ipairs(h.outputs) do if o.stream == stream then parts[#parts + 1] = o.text end end
  return table.concat(parts)
end

return F

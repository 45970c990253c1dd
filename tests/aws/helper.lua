-- TAP and a fake irhost.host for the aws module tests (run by irhost-lua from the repo root:
-- dofile(IRHOST_ROOT .. "/tests/aws/helper.lua")).
local M = {}

local n, failed = 0, 0

function M.ok(cond, name, detail)
  n = n + 1
  if cond then
    print(string.format("ok %d - %s", n, name))
  else
    failed = failed + 1
    print(string.format("not ok %d - %s", n, name))
    if detail ~= nil then print("#   " .. tostring(detail):gsub("\n", "\n#   ")) end
  end
  return cond
end

function M.eq(got, want, name)
  return M.ok(got == want, name, string.format("got %s, want %s", tostring(got), tostring(want)))
end

-- Passes when f raises an error whose text (tostring) contains `pattern` (plain).
function M.raises(f, pattern, name)
  local ok, err = pcall(f)
  local text = tostring(err)
  return M.ok(not ok and text:find(pattern, 1, true) ~= nil, name,
    ok and "no error raised" or ("error was: " .. text))
end

function M.done()
  print(string.format("# %d tests, %d failed", n, failed))
  return failed == 0 and 0 or 1
end

-- A fake irhost.host. respond(req) returns the CALL_RESULT (status as a string, like the
-- real channel). Records requests, logs and sleeps.
function M.fake_host(respond)
  local h = { requests = {}, logs = {}, slept = 0, clock = 0, pending = {}, next_id = 1 }
  function h.call(req)
    h.requests[#h.requests + 1] = req
    return respond(req, #h.requests)
  end
  function h.call_async(req)
    local id = h.next_id
    h.next_id = id + 1
    h.requests[#h.requests + 1] = req
    h.pending[id] = respond(req, #h.requests)
    return id
  end
  function h.wait_any(ids)
    -- Answer in reverse order, to show results are matched by id, not by order.
    local pick = ids[1]
    for _, id in ipairs(ids) do if id > pick then pick = id end end
    local res = h.pending[pick]
    h.pending[pick] = nil
    return pick, res
  end
  function h.wait(id) local r = h.pending[id]; h.pending[id] = nil; return r end
  function h.send(kind, fields) if kind == "log" then h.logs[#h.logs + 1] = fields.text end end
  function h.request(kind, fields) h.last_request = { kind, fields }; return { handle = "irhost-secret-" .. string.rep("0", 32), url = "https://x" } end
  function h.options() return { region = "eu-west-1" } end
  function h.now_ms() return h.clock end
  function h.sleep_ms(ms) h.slept = h.slept + ms; h.clock = h.clock + ms end
  return h
end

-- Installs a fake host and returns it and a fresh aws module.
function M.setup(respond)
  local h = M.fake_host(respond)
  package.loaded["irhost.host"] = h
  return h, require "aws"
end

function M.xml_ok(body) return { status = "200", headers = {}, body = body } end
function M.json_ok(body) return { status = "200", headers = {}, body = body } end


-- Minimal valid params for a shape: required members only, values that satisfy enums and
-- length/range limits (patterns are not checked by validation).
function M.sample(model, ref, depth)
  depth = depth or 0
  local shape = model.shapes[ref.shape]
  local ty = shape.type
  if ty == "structure" then
    local out = {}
    if depth > 6 then return out end
    for _, name in ipairs(shape.required or {}) do
      out[name] = M.sample(model, shape.members[name], depth + 1)
    end
    return out
  elseif ty == "list" then
    local n = math.max(shape.min or 1, 1)
    local out = {}
    for i = 1, n do out[i] = M.sample(model, shape.member, depth + 1) end
    return out
  elseif ty == "map" then
    return { [M.sample(model, shape.key, depth + 1)] = M.sample(model, shape.value, depth + 1) }
  elseif ty == "string" then
    if shape.enum then return shape.enum[1] end
    return string.rep("x", math.max(shape.min or 1, 1))
  elseif ty == "integer" or ty == "long" or ty == "short" or ty == "byte" then
    return math.tointeger(shape.min or 1) or 1
  elseif ty == "float" or ty == "double" then
    return shape.min or 1.5
  elseif ty == "boolean" then return true
  elseif ty == "timestamp" then return "2024-01-02T03:04:05Z"
  elseif ty == "blob" then return string.rep("b", math.max(shape.min or 1, 1))
  end
  return "x"
end

return M

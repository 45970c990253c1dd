-- The runbook declaration, read statically for `irhost check`: finds the `ir.runbook{...}`
-- the chunk returns, evaluates its literal parts without running any runbook code, and
-- validates it with the framework's own validator (ir.decl), so the rules live in one
-- place. Positions of every literal field are kept to point each message at its line.

local decl = require("ir.decl")

local M = {}

-- Stands for a value only known at run time (a call result, an upvalue, ...).
local DYNAMIC = setmetatable({}, { __name = "dynamic", __tostring = function() return "<dynamic>" end })
M.DYNAMIC = DYNAMIC

local function placeholder_function() end

local function is_runbook_call(e)
  return e and e.tag == "Call" and e.func.tag == "Index" and e.func.obj.tag == "Name"
    and e.func.obj.name == "ir" and not e.func.obj.binding
    and e.func.key.tag == "String" and e.func.key.value == "runbook"
end

-- The one expression a local holds, when it is assigned exactly once.
local function single_value(e)
  if e.tag == "Name" and e.binding and #e.binding.values == 1 and e.binding.values[1] then
    return e.binding.values[1]
  end
end

-- Evaluates expression e statically. pos[tbl][key] = {line, col} for every table built.
local function evaluate(e, pos, depth)
  depth = depth or 0
  if depth > 50 then return DYNAMIC end
  local tag = e.tag
  if tag == "String" or tag == "Number" then return e.value end
  if tag == "True" then return true end
  if tag == "False" then return false end
  if tag == "Nil" then return nil end
  if tag == "Function" then return placeholder_function end
  if tag == "Paren" then return evaluate(e.expr, pos, depth + 1) end
  if tag == "Unop" and e.op == "-" and e.expr.tag == "Number" then return -e.expr.value end
  if tag == "Binop" and e.op == ".." then
    local l, r = evaluate(e.left, pos, depth + 1), evaluate(e.right, pos, depth + 1)
    if (type(l) == "string" or type(l) == "number") and (type(r) == "string" or type(r) == "number") then
      return l .. r
    end
    return DYNAMIC
  end
  if tag == "Table" then
    local t, where, n = {}, {}, 0
    pos[t] = where
    for _, it in ipairs(e.items) do
      local k
      if it.kind == "pos" then n = n + 1; k = n
      elseif it.kind == "named" then k = it.key
      else
        k = evaluate(it.key, pos, depth + 1)
        if k == nil or k == DYNAMIC then return DYNAMIC end
      end
      local v = evaluate(it.value, pos, depth + 1)
      if v == DYNAMIC then
        -- A dynamic function value (a step's run = helper.fn) is still a function.
        local ve = single_value(it.value) or it.value
        if ve.tag == "Function" or (ve.tag == "Index" and k == "run") then v = placeholder_function end
      end
      t[k] = v
      where[k] = { line = it.line, col = it.col, value = it.value }
    end
    return t
  end
  if tag == "Name" then
    if e.binding and e.binding.kind == "function" then return placeholder_function end
    local v = single_value(e)
    local b = e.binding
    -- A table changed after it is built (perms[#perms + 1] = p) is only known at run time.
    if v and b.writes == 0 and not (v.tag == "Table" and (b.mutated or b.as_arg)) then
      return evaluate(v, pos, depth + 1)
    end
  end
  return DYNAMIC
end

local function contains_dynamic(v, seen)
  if v == DYNAMIC then return true end
  if type(v) ~= "table" then return false end
  seen = seen or {}
  if seen[v] then return false end
  seen[v] = true
  for k, x in pairs(v) do
    if contains_dynamic(k, seen) or contains_dynamic(x, seen) then return true end
  end
  return false
end

-- Finds the position of the field a validator message names ("params.mode.default: ...",
-- "steps[2] (Stop): ...", "permissions[3]: ...").
local function locate(message, value, pos, fallback)
  local path = message:match("^([%w_%.%[%]]+)") or ""
  local best, cur = fallback, value
  for seg in path:gmatch("[^%.]+") do
    local name, rest = seg:match("^([%a_][%w_]*)(.*)$")
    if not name then break end
    if type(cur) ~= "table" or not pos[cur] or not pos[cur][name] then break end
    best, cur = pos[cur][name], cur[name]
    for i in rest:gmatch("%[(%d+)%]") do
      i = tonumber(i)
      if type(cur) ~= "table" or not pos[cur] or not pos[cur][i] then break end
      best, cur = pos[cur][i], cur[i]
    end
  end
  return best
end

-- Finds the declaration in block (the analysed chunk). Returns info =
-- {call = node or nil, value = table or DYNAMIC, pos, permissions = {{action, line, col}}
-- or nil when not static, normalized = ir.decl's normalized form when fully static and
-- valid}. Reports problems through diag.
function M.read(block, diag, opts)
  local info = { pos = {} }
  local last = block[#block]
  local ret = last and last.tag == "Return" and last.exprs[1]
  if ret and not is_runbook_call(ret) then ret = single_value(ret) or ret end
  if not is_runbook_call(ret) then
    if not opts.module then
      local line, col = 1, 1
      if last then line, col = last.line, last.col end
      diag:add("error", "declaration", line, col, "the runbook must end with `return ir.runbook{...}`")
    end
    return info
  end
  info.call = ret
  local arg = ret.args[1]
  if #ret.args ~= 1 or not arg then
    diag:add("error", "declaration", ret.line, ret.col, "ir.runbook expects one table")
    return info
  end
  local value = evaluate(arg, info.pos)
  info.value = value
  if type(value) ~= "table" then
    return info
  end
  info.permissions_at = info.pos[value].permissions
  -- Declared permissions with their positions, when written literally.
  local perms = value.permissions
  if type(perms) == "table" and not contains_dynamic(perms) then
    info.permissions = {}
    for i, p in ipairs(perms) do
      local at = info.pos[perms][i]
      info.permissions[i] = { action = p, line = at.line, col = at.col }
    end
  end
  if not contains_dynamic(value) then
    -- Permissions are checked against the models by ir.check.permissions, with more
    -- detail; validating the rest with a neutral list lets one run report both.
    local rest = {}
    for k, v in pairs(value) do rest[k] = v end
    if rest.permissions ~= nil and info.permissions then rest.permissions = {} end
    info.pos[rest] = info.pos[value]
    local ok, err = decl.validate(rest)
    if not ok then
      local at = locate(err, rest, info.pos, { line = ret.line, col = ret.col })
      diag:add("error", "declaration", at.line, at.col, "ir.runbook: " .. err)
    end
    info.valid = ok and true or false
    if ok and info.permissions then
      local list, seen = {}, {}
      for _, p in ipairs(info.permissions) do
        if not seen[p.action] then seen[p.action] = true; list[#list + 1] = p.action end
      end
      ok.permissions = list
    end
    info.normalized = ok or nil
  end
  return info
end

return M

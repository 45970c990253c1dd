-- Literal AWS calls for `irhost check`: finds `aws.client("svc")` values (in locals,
-- chained, or made by a client factory `local function s3() return aws.client("s3") end`,
-- and followed into the functions they are passed to, `pcall(helper, client)` too), the
-- operations invoked on them (`ec2:DescribeInstances{...}`, snake_case,
-- `:paginate("Op", p)`, `:wait("Waiter", p)`), and checks each against the embedded model:
-- unknown service or operation, unknown or missing required parameters in literal tables
-- (nested structures and lists too), each with a "did you mean".
-- Needs the Name bindings set by ir.check.scope.

local models = require("ir.check.models")
local util = require("ir.util")

local M = {}

-- Client methods that are not operations (bindings/lua/aws/client.lua): they take an
-- operation or waiter name as their first argument, or need no check.
local client_methods = { paginate = "operation", call = "operation", try = "operation",
  wait = "waiter", operations = "none" }

local function hint(word, candidates)
  local h = util.did_you_mean(word, candidates)
  return h and (" (did you mean '" .. h .. "'?)") or ""
end

local function is_aws_client_call(e)
  return e.tag == "Call" and e.func.tag == "Index" and e.func.obj.tag == "Name"
    and e.func.obj.name == "aws" and not e.func.obj.binding
    and e.func.key.tag == "String" and e.func.key.value == "client"
end

-- Walks every expression node of the chunk, calling visit(node), and every statement,
-- calling visit_stat(statement) when given.
local function walk(block, visit, visit_stat)
  local stat, expr
  local function exprs(l) for _, e in ipairs(l) do expr(e) end end
  local function body(b) for _, s in ipairs(b) do stat(s) end end
  expr = function(e)
    if type(e) ~= "table" or not e.tag then return end
    visit(e)
    local t = e.tag
    if t == "Index" then expr(e.obj); expr(e.key)
    elseif t == "Call" then expr(e.func); exprs(e.args)
    elseif t == "Invoke" then expr(e.obj); exprs(e.args)
    elseif t == "Function" then body(e.body)
    elseif t == "Table" then
      for _, it in ipairs(e.items) do if it.kind == "keyed" then expr(it.key) end; expr(it.value) end
    elseif t == "Binop" then expr(e.left); expr(e.right)
    elseif t == "Unop" or t == "Paren" then expr(e.expr)
    end
  end
  stat = function(s)
    if visit_stat then visit_stat(s) end
    local t = s.tag
    if t == "Local" then exprs(s.exprs)
    elseif t == "Assign" then exprs(s.targets); exprs(s.exprs)
    elseif t == "CallStat" then expr(s.call)
    elseif t == "Do" then body(s.body)
    elseif t == "While" then expr(s.cond); body(s.body)
    elseif t == "Repeat" then body(s.body); expr(s.cond)
    elseif t == "If" then
      for i, c in ipairs(s.conds) do expr(c); body(s.blocks[i]) end
      if s.orelse then body(s.orelse) end
    elseif t == "Fornum" then expr(s.start); expr(s.stop); expr(s.step); body(s.body)
    elseif t == "Forin" then exprs(s.exprs); body(s.body)
    elseif t == "FunctionStat" then expr(s.target); body(s.func.body)
    elseif t == "LocalFunction" then body(s.func.body)
    elseif t == "Return" then exprs(s.exprs)
    end
  end
  body(block)
end

M.walk = walk

-- Checks literal table `t` against structure shape `shape` of model m; `path` names it.
local function check_structure(m, shape, t, path, report)
  local members = shape.members or {}
  local names
  local complete = true
  local present = {}
  for _, it in ipairs(t.items) do
    if it.kind == "named" then
      present[it.key] = true
      local ref = members[it.key]
      if not ref then
        if not names then
          names = {}
          for k in pairs(members) do names[#names + 1] = k end
          table.sort(names)
        end
        report(it.line, it.col, path .. ": unknown parameter '" .. it.key .. "'" .. hint(it.key, names))
      else
        local sub = models.shape(m, ref)
        M.check_value(m, sub, it.value, path .. "." .. it.key, report)
      end
    else
      complete = false  -- [expr] = v or positional items: keys not known statically
    end
  end
  if complete then
    local missing = {}
    for _, r in ipairs(shape.required or {}) do
      if not present[r] then missing[#missing + 1] = r end
    end
    table.sort(missing)
    for _, r in ipairs(missing) do
      report(t.line, t.col, path .. ": missing required parameter '" .. r .. "'")
    end
  end
end

-- Checks expression e as a value of shape (only literal tables are looked into).
function M.check_value(m, shape, e, path, report)
  if not shape or e.tag ~= "Table" then return end
  if shape.type == "structure" then
    check_structure(m, shape, e, path, report)
  elseif shape.type == "list" then
    local member, n = models.shape(m, shape.member), 0
    for _, it in ipairs(e.items) do
      if it.kind == "pos" then
        n = n + 1
        M.check_value(m, member, it.value, path .. "[" .. n .. "]", report)
      end
    end
  end
end

local function is_require(e)
  return e.tag == "Call" and e.func.tag == "Name" and e.func.name == "require" and not e.func.binding
    and e.args[1] and e.args[1].tag == "String"
end
M.is_require = is_require

-- The local table a module returns (`local M = {} ... return M`), as its binding.
local function export_binding(block)
  local last = block[#block]
  local r = last and last.tag == "Return" and last.exprs[1]
  return r and r.tag == "Name" and r.binding or nil
end

-- {name = Function node} for the functions a module exports on its returned table.
local function exports_of(block)
  local b = export_binding(block)
  local out = {}
  if not b then return out end
  local init = b.values[1]
  if init and init.tag == "Table" then
    for _, it in ipairs(init.items) do
      if it.kind == "named" and it.value.tag == "Function" then out[it.key] = it.value end
    end
  end
  for _, s in ipairs(block) do
    local t, f
    if s.tag == "FunctionStat" and not s.is_method then t, f = s.target, s.func
    elseif s.tag == "Assign" and #s.targets == 1 and s.exprs[1] and s.exprs[1].tag == "Function" then
      t, f = s.targets[1], s.exprs[1]
    end
    if t and t.tag == "Index" and t.obj.tag == "Name" and t.obj.binding == b and t.key.tag == "String" then
      out[t.key.value] = f
    end
  end
  return out
end

-- The Return statements of a function's own body (not those of functions nested in it).
local function returns_of(fn)
  local out = {}
  local function body(b)
    for _, s in ipairs(b) do
      local t = s.tag
      if t == "Return" then out[#out + 1] = s
      elseif t == "Do" or t == "While" or t == "Repeat" or t == "Fornum" or t == "Forin" then body(s.body)
      elseif t == "If" then
        for _, blk in ipairs(s.blocks) do body(blk) end
        if s.orelse then body(s.orelse) end
      end
    end
  end
  body(fn.body)
  return out
end

-- A client factory (`local function s3() return aws.client("s3") end`): every return of
-- the function is one aws.client call of the same literal service. Marks the function
-- with that service and the returned calls as followed (through the factory's calls).
local function mark_factory(fn)
  local rets, svc = returns_of(fn), nil
  if #rets == 0 then return end
  for _, r in ipairs(rets) do
    local e = #r.exprs == 1 and r.exprs[1]
    if not (e and is_aws_client_call(e) and e.args[1] and e.args[1].tag == "String"
        and models.load(e.args[1].value)) then return end
    if svc and e.args[1].value ~= svc then return end
    svc = e.args[1].value
  end
  fn.factory_service = svc
  for _, r in ipairs(rets) do r.exprs[1].factory_return = true end
end

-- Finds the calls in a program: units[1] is the runbook, the others the modules it
-- requires (each {block, diag, name}). Clients reach functions as arguments (in the same
-- file or across `require`) and are followed there. Returns {calls = {{service,
-- operation, line, col, params = the literal params Table node or nil}...}, escaped =
-- {service = true} for clients used where check cannot follow, unresolved = true when a
-- call named an unknown operation or waiter}.
function M.analyze_program(units)
  local result = { calls = {}, escaped = {} }
  local services_list
  local by_name = {}
  for _, u in ipairs(units) do
    u.exports = exports_of(u.block)
    u.export_binding = export_binding(u.block)
    if u.name then by_name[u.name] = u end
  end

  -- The unit a module-valued expression stands for (`local facts = require("lib.facts")`).
  local function module_of(e)
    if is_require(e) then return by_name[e.args[1].value] end
    if e.tag == "Name" and e.binding and #e.binding.values == 1 and e.binding.values[1] then
      local v = e.binding.values[1]
      if is_require(v) then return by_name[v.args[1].value] end
    end
  end
  -- The Function node a call goes to, when check can tell.
  local function callee(e, unit)
    local f = e.func
    if f.tag == "Name" and f.binding and #f.binding.values == 1 then
      local v = f.binding.values[1]
      if v and v.tag == "Function" then return v end
    elseif f.tag == "Index" and f.key.tag == "String" then
      local mod = module_of(f.obj)
      if mod then return mod.exports[f.key.value] end
      if f.obj.tag == "Name" and f.obj.binding and f.obj.binding == unit.export_binding then
        return unit.exports[f.key.value]
      end
    end
  end

  for _, u in ipairs(units) do
    walk(u.block, function(e) if e.tag == "Function" then mark_factory(e) end end, function(st)
      if st.tag == "LocalFunction" or st.tag == "FunctionStat" then mark_factory(st.func) end
    end)
  end

  -- Two expressions for the same client: one variable, or calls of one client factory.
  local function same_client(a, b, unit)
    if a.tag == "Name" and b.tag == "Name" then return a.binding ~= nil and a.binding == b.binding end
    if a.tag == "Call" and b.tag == "Call" then
      local fa = callee(a, unit)
      return fa ~= nil and fa.factory_service ~= nil and fa == callee(b, unit)
    end
    return false
  end

  -- Arguments flow into the parameters of the functions they are passed to.
  local flows = {}
  for _, u in ipairs(units) do
    walk(u.block, function(e)
      local fn, first = nil, 1
      if e.tag == "Call" and e.func.tag == "Name" and e.func.name == "pcall" and not e.func.binding then
        -- pcall(ec2.StopInstances, ec2, params): the call, made safely.
        local f, self_arg = e.args[1], e.args[2]
        if f and self_arg and f.tag == "Index" and f.key.tag == "String" and same_client(f.obj, self_arg, u) then
          self_arg.tracked = true
          f.pcall_args = { table.unpack(e.args, 3) }
        end
        -- pcall(helper, client, ...): the arguments after the function flow into it.
        fn, first = f and callee({ func = f }, u), 2
      elseif e.tag == "Call" then
        fn = callee(e, u)
        if e.func.tag == "Name" then e.func.called = true end
      end
      if e.tag == "Call" then
        e.callee_fn = callee(e, u)
        if fn then
          for i = first, #e.args do
            local arg = e.args[i]
            local p = fn.params[i - first + 1]
            if p and p.binding then
              p.binding.values[#p.binding.values + 1] = arg
              arg.tracked = true
              flows[#flows + 1] = { arg = arg, param = p.binding }
            end
          end
        end
      elseif e.tag == "Invoke" or (e.tag == "Index" and e.key.tag == "String") then
        e.obj.tracked = true
        if e.obj.tag == "Name" then e.obj.invoked = true end
      end
    end)
  end

  -- The service of a client-valued expression, nil, or UNREACHABLE for a parameter of a
  -- function nothing in the program calls (its values cannot disagree with the others).
  local UNREACHABLE = {}
  local service_of
  local function binding_service(b)
    if b.client_service ~= nil then return b.client_service or nil end
    if b.kind == "param" and #b.values == 0 then return UNREACHABLE end
    b.client_service = false  -- guards against cycles
    local svc, any = nil, false
    for _, v in ipairs(b.values) do
      local s = v and service_of(v)
      if s ~= UNREACHABLE then
        if not s or (svc and s ~= svc) then svc = nil; any = true; break end
        svc, any = s, true
      end
    end
    if not any then b.client_service = nil; return UNREACHABLE end
    b.client_service = svc or false
    return svc
  end
  service_of = function(e)
    if e.tag == "Paren" then return service_of(e.expr) end
    if e.tag == "Call" and e.callee_fn and e.callee_fn.factory_service then return e.callee_fn.factory_service end
    if is_aws_client_call(e) then
      local a = e.args[1]
      return a and a.tag == "String" and models.load(a.value) and a.value or nil
    end
    if e.tag == "Name" and e.binding then return binding_service(e.binding) end
  end
  local function client_service(e)
    local s = service_of(e)
    if s == UNREACHABLE then return nil end
    return s
  end

  -- A client passed where the parameter also receives other values is not followed.
  for _, f in ipairs(flows) do
    local svc = client_service(f.arg)
    if svc and service_of({ tag = "Name", binding = f.param }) ~= svc then result.escaped[svc] = true end
  end

  -- The literal strings an expression can hold: a string, or a variable (a helper's
  -- parameter) every value of which is one; nil when any value is not literal.
  local function literal_strings(e, depth)
    if e.tag == "String" then return { e } end
    if e.tag ~= "Name" or not e.binding or (depth or 0) > 10 or #e.binding.values == 0 then return nil end
    local out = {}
    for _, v in ipairs(e.binding.values) do
      local sub = v and literal_strings(v, (depth or 0) + 1)
      if not sub then return nil end
      for _, x in ipairs(sub) do out[#out + 1] = x end
    end
    return out
  end

  for _, u in ipairs(units) do
    local diag = u.diag
    local function report_at(line, col, msg) diag:add("error", "aws-call", line, col, msg) end
    local function add_call(svc, op, line, col, params)
      result.calls[#result.calls + 1] = { service = svc, operation = op, line = line, col = col,
        params = params and params.tag == "Table" and params or nil, unit = u }
    end
    local function check_params(m, svc, op, args, first)
      local p = args[first]
      if p then return M.check_value(m, models.input(m, op), p, svc .. ":" .. op, report_at) end
      local shape = models.input(m, op)
      local missing = {}
      for _, r in ipairs(shape and shape.required or {}) do missing[#missing + 1] = r end
      table.sort(missing)
      for _, r in ipairs(missing) do
        report_at(args.line, args.col, svc .. ":" .. op .. ": missing required parameter '" .. r .. "'")
      end
    end

    -- A call of `method` on a client of svc with args; at = where to report it.
    local function operation_call(svc, method, args, at)
      local m = models.load(svc)
      local kind = client_methods[method]
      if kind == "none" then return end
      local line, col = at.line, at.col
      if kind then
        local names = args[1] and literal_strings(args[1])
        if not names then result.escaped[svc] = true; return end
        local rest = { line = line, col = col, table.unpack(args, 2) }
        for _, a in ipairs(names) do
          if kind == "operation" then
            local op = models.operation(m, a.value)
            if not op then
              report_at(a.line, a.col, "unknown operation '" .. a.value .. "' for " .. svc ..
                hint(a.value, models.operation_names(m)))
              result.unresolved = true
            else
              add_call(svc, op, line, col, args[2])
              check_params(m, svc, op, rest, 1)
            end
          else
            local w = m.waiters[a.value]
            if not w then
              local wnames = {}
              for k in pairs(m.waiters) do wnames[#wnames + 1] = k end
              table.sort(wnames)
              report_at(a.line, a.col, "unknown waiter '" .. a.value .. "' for " .. svc .. hint(a.value, wnames))
              result.unresolved = true
            else
              add_call(svc, w.operation, line, col, args[2])
              if args[2] then check_params(m, svc, w.operation, rest, 1) end
            end
          end
        end
        return
      end
      local op = models.operation(m, method)
      if not op then
        report_at(line, col, "unknown operation '" .. method .. "' for " .. svc ..
          hint(method, method:find("^%l") and models.snake_names(m) or models.operation_names(m)))
        result.unresolved = true
        return
      end
      add_call(svc, op, line, col, args[1])
      check_params(m, svc, op, { line = line, col = col, table.unpack(args) }, 1)
    end

    local function visit(e)
      if is_aws_client_call(e) then
        local a = e.args[1]
        if a and a.tag == "String" and not models.load(a.value) then
          services_list = services_list or models.services()
          diag:add("error", "aws-service", a.line, a.col, "unknown AWS service '" .. a.value .. "'" ..
            hint(a.value, services_list) .. "; irhost embeds: " .. table.concat(services_list, ", "))
        elseif a and a.tag == "String" and not (e.tracked or e.bound or e.factory_return) then
          result.escaped[a.value] = true
        end
        return
      end
      if e.tag == "Call" and e.callee_fn and e.callee_fn.factory_service and not (e.tracked or e.bound) then
        result.escaped[e.callee_fn.factory_service] = true
        return
      end
      if e.tag == "Name" and e.binding and not e.called then
        -- A client factory handed on as a value: its clients go where check cannot see.
        for _, v in ipairs(e.binding.values) do
          if v and v.factory_service then result.escaped[v.factory_service] = true end
        end
      end
      if e.tag == "Name" and e.binding and not (e.invoked or e.assigned or e.tracked or e.bound) then
        local svc = client_service(e)
        if svc then result.escaped[svc] = true end
        return
      end
      if e.tag == "Index" and e.key.tag == "String" then
        local svc = client_service(e.obj)
        if not svc then return end
        if e.pcall_args then return operation_call(svc, e.key.value, e.pcall_args, e.key) end
        -- `ec2.StopInstances` as a value handed on: a call to it, parameters unseen.
        local op = not client_methods[e.key.value] and models.operation(models.load(svc), e.key.value)
        if op then add_call(svc, op, e.key.line, e.key.col) end
        return
      end
      if e.tag ~= "Invoke" then return end
      local svc = client_service(e.obj)
      if svc then operation_call(svc, e.method, e.args, e) end
    end

    -- A client bound straight to a local variable is followed through that variable; one
    -- stored in a table field or a global is not.
    walk(u.block, function() end, function(st)
      if st.tag == "Local" then
        for _, x in ipairs(st.exprs) do x.bound = true end
      elseif st.tag == "Assign" then
        for i, x in ipairs(st.exprs) do
          local t = st.targets[i]
          if t and t.tag == "Name" and t.binding then x.bound = true end
        end
      end
    end)
    walk(u.block, visit)
  end
  return result
end

-- One file, no modules: analyze_program for a single chunk.
function M.analyze(block, diag)
  return M.analyze_program({ { block = block, diag = diag } })
end

return M

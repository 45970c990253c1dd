-- Scope analysis for `irhost check`: resolves every name in the AST (ir.check.parser) to
-- a local binding or a global, and reports globals the sandbox does not provide, unknown
-- members of its library tables (`aws.clinet`), unused locals and shadowed locals.
--
-- Side effects on the AST, for later passes: each Name node that refers to a local gets
-- `binding`; each binding is {name, line, col, kind, reads, values = {expr|false...}}
-- where values lists every expression assigned to it (false when not statically known),
-- mutated = a field was assigned (t[k] = v), as_arg = it was passed to a function.

local sandbox = require("ir.check.sandbox")
local util = require("ir.util")

local M = {}

local function hint(word, candidates)
  local h = util.did_you_mean(word, candidates)
  return h and (" (did you mean '" .. h .. "'?)") or ""
end

local function sorted(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- Walks block (the chunk) and reports through diag:add(severity, rule, line, col, message).
function M.analyze(block, diag)
  local scopes = {}
  local global_reads, global_sets = {}, {}

  local function open_scope() scopes[#scopes + 1] = { vars = {}, order = {} } end
  local function close_scope()
    local s = table.remove(scopes)
    for _, b in ipairs(s.order) do
      if b.reads == 0 and not b.name:match("^_") and (b.kind == "local" or b.kind == "function") then
        if b.kind == "function" then
          diag:add("warning", "unused-local", b.line, b.col, "unused local function '" .. b.name .. "'")
        elseif b.writes > 0 then
          diag:add("warning", "unused-local", b.line, b.col,
            "local '" .. b.name .. "' is assigned but never read")
        else
          diag:add("warning", "unused-local", b.line, b.col, "unused local '" .. b.name .. "'")
        end
      end
    end
  end
  local function resolve(name)
    for i = #scopes, 1, -1 do
      local b = scopes[i].vars[name]
      if b then return b end
    end
  end
  local function declare(n, kind, value)
    if n.name ~= "_" and not n.implicit then
      local prev = resolve(n.name)
      if prev and prev.name ~= "_" then
        local what = prev.kind == "param" and "argument" or "local"
        diag:add("warning", "shadowed-local", n.line, n.col, "local '" .. n.name .. "' shadows " ..
          what .. " '" .. n.name .. "' on line " .. prev.line)
      end
    end
    -- A parameter's values are the arguments of the calls ir.check.calls resolves.
    local values = {}
    if kind ~= "param" then values[1] = value == nil and false or value end
    local b = { name = n.name, line = n.line, col = n.col, kind = kind, reads = 0, writes = 0,
      values = values }
    local s = scopes[#scopes]
    s.vars[n.name] = b
    s.order[#s.order + 1] = b
    n.binding = b
    return b
  end

  local expr, block_stats

  local function exprs(list) for _, e in ipairs(list) do expr(e) end end

  local function func(f)
    open_scope()
    for _, p in ipairs(f.params) do declare(p, "param") end
    block_stats(f.body)
    close_scope()
  end

  -- A name read: a local, or a global to check once every global set is known.
  local function read_name(e)
    local b = resolve(e.name)
    if b then b.reads = b.reads + 1; e.binding = b; return end
    global_reads[#global_reads + 1] = e
  end

  local function table_items(t)
    for _, it in ipairs(t.items) do
      if it.kind == "keyed" then expr(it.key) end
      expr(it.value)
    end
  end

  expr = function(e)
    local tag = e.tag
    if tag == "Name" then read_name(e)
    elseif tag == "Index" then
      expr(e.obj); expr(e.key)
      if e.obj.tag == "Name" and not e.obj.binding and e.key.tag == "String" then
        e.obj.member = e.key  -- checked with the global read below
      end
    elseif tag == "Call" or tag == "Invoke" then
      if tag == "Call" then expr(e.func) else expr(e.obj) end
      exprs(e.args)
      -- A table handed to a function may be changed there (table.insert(perms, p)).
      for _, a in ipairs(e.args) do if a.tag == "Name" and a.binding then a.binding.as_arg = true end end
    elseif tag == "Function" then func(e)
    elseif tag == "Table" then table_items(e)
    elseif tag == "Binop" then expr(e.left); expr(e.right)
    elseif tag == "Unop" or tag == "Paren" then expr(e.expr)
    end
  end

  local function assign_target(t, value)
    t.assigned = true  -- a write, not a use of the old value
    if t.tag == "Name" then
      local b = resolve(t.name)
      if b then
        b.writes = b.writes + 1
        b.values[#b.values + 1] = value or false
        t.binding = b
      else
        global_sets[t.name] = global_sets[t.name] or t
      end
    else
      expr(t.obj); expr(t.key)
      if t.obj.tag == "Name" and t.obj.binding then t.obj.binding.mutated = true end
      if t.obj.tag == "Name" and not t.obj.binding and sandbox.is_global(t.obj.name)
          and sandbox.members(t.obj.name) then
        diag:add("error", "read-only", t.line, t.col, "'" .. t.obj.name .. "' is read-only in the sandbox")
      end
    end
  end

  -- The value assigned to target i: its expression (for a call, the call's first
  -- result), or false when a multi-value call or nothing supplies it.
  local function value_for(list, i)
    return list[i] or false
  end

  local stat_handlers = {
    Local = function(s)
      exprs(s.exprs)
      for i, n in ipairs(s.names) do
        local b = declare(n, "local", value_for(s.exprs, i))
        if n.attrib == "close" then b.reads = b.reads + 1 end  -- closing is its use
      end
    end,
    Assign = function(s)
      exprs(s.exprs)
      for i, t in ipairs(s.targets) do assign_target(t, value_for(s.exprs, i)) end
    end,
    CallStat = function(s) expr(s.call) end,
    Do = function(s) open_scope(); block_stats(s.body); close_scope() end,
    While = function(s) expr(s.cond); open_scope(); block_stats(s.body); close_scope() end,
    Repeat = function(s)
      open_scope(); block_stats(s.body); expr(s.cond); close_scope()
    end,
    If = function(s)
      for i, c in ipairs(s.conds) do
        expr(c); open_scope(); block_stats(s.blocks[i]); close_scope()
      end
      if s.orelse then open_scope(); block_stats(s.orelse); close_scope() end
    end,
    Fornum = function(s)
      expr(s.start); expr(s.stop); if s.step then expr(s.step) end
      open_scope(); declare(s.var, "for"); block_stats(s.body); close_scope()
    end,
    Forin = function(s)
      exprs(s.exprs)
      open_scope()
      for _, v in ipairs(s.vars) do declare(v, "for") end
      block_stats(s.body)
      close_scope()
    end,
    FunctionStat = function(s)
      assign_target(s.target, s.func)
      func(s.func)
    end,
    LocalFunction = function(s)
      declare(s.name, "function", s.func)
      func(s.func)
    end,
    Return = function(s) exprs(s.exprs) end,
  }

  block_stats = function(body)
    for _, s in ipairs(body) do
      local h = stat_handlers[s.tag]
      if h then h(s) end
    end
  end

  open_scope()
  -- The main chunk is a vararg function with the upvalue _ENV.
  block_stats(block)
  close_scope()

  local sandbox_names = sandbox.global_names()
  for _, e in ipairs(global_reads) do
    local name = e.name
    if sandbox.is_global(name) then
      local members = sandbox.members(name)
      local key = e.member
      if members and key and not members[key.value] then
        local why = sandbox.withheld_members[name]
        local msg = "unknown field '" .. key.value .. "' in '" .. name .. "'" .. hint(key.value, sorted(members))
        if why and hint(key.value, sorted(members)) == "" then msg = msg .. ": " .. why end
        diag:add("error", "unknown-field", key.line, key.col, msg)
      end
    elseif not global_sets[name] then
      local why = sandbox.withheld[name]
      local msg = "unknown global '" .. name .. "'"
      local h = hint(name, sandbox_names)
      if why then msg = msg .. ": " .. why
      elseif h ~= "" then msg = msg .. h
      else msg = msg .. " (the sandbox does not provide it)" end
      diag:add("error", "unknown-global", e.line, e.col, msg)
    end
  end
  for name, t in pairs(global_sets) do
    if not sandbox.is_global(name) then
      diag:add("warning", "global-set", t.line, t.col,
        "setting global '" .. name .. "': declare it local")
    end
  end
end

return M

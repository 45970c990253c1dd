-- Lua 5.4 parser for `irhost check`: a recursive-descent parser over ir.check.lexer
-- tokens producing a small AST. Every node is a table with `tag`, `line` and `col`.
--
-- Statements: Local{names={{name,line,col,attrib}}, exprs}, Assign{targets, exprs},
--   CallStat{call}, Do{body}, While{cond, body}, Repeat{body, cond},
--   If{conds, blocks, orelse}, Fornum{var, start, stop, step, body},
--   Forin{vars, exprs, body}, FunctionStat{target, func, is_method},
--   LocalFunction{name, func}, Return{exprs}, Break, Goto{label}, Label{label}.
-- Expressions: Nil, True, False, Number{value}, String{value}, Dots,
--   Function{params, is_vararg, body}, Table{items={{kind="pos"|"named"|"keyed", key,
--   value, line, col}}}, Binop{op, left, right}, Unop{op, expr}, Paren{expr},
--   Name{name}, Index{obj, key}, Call{func, args}, Invoke{obj, method, mline, mcol, args}.
-- Blocks are arrays of statements. Function params are Name-like {name, line, col}.
-- Index and Call nodes sit where their whole expression starts; Invoke nodes at the
-- method name (mline/mcol too), which is what a message about the call points at.

local lexer = require("ir.check.lexer")

local M = {}

local binary_priority = {
  ["+"] = { 10, 10 }, ["-"] = { 10, 10 }, ["*"] = { 11, 11 }, ["%"] = { 11, 11 },
  ["^"] = { 14, 13 }, ["/"] = { 11, 11 }, ["//"] = { 11, 11 }, ["&"] = { 6, 6 },
  ["|"] = { 4, 4 }, ["~"] = { 5, 5 }, ["<<"] = { 7, 7 }, [">>"] = { 7, 7 },
  [".."] = { 9, 8 }, ["=="] = { 3, 3 }, ["<"] = { 3, 3 }, ["<="] = { 3, 3 },
  ["~="] = { 3, 3 }, [">"] = { 3, 3 }, [">="] = { 3, 3 }, ["and"] = { 2, 2 },
  ["or"] = { 1, 1 },
}
local unary_priority = 12
local block_end = { ["else"] = true, ["elseif"] = true, ["end"] = true, ["until"] = true,
  eof = true }

local function token_text(t)
  if t.type == "eof" then return "<eof>" end
  if t.type == "string" or t.type == "name" or t.type == "number" then
    return tostring(t.value)
  end
  return t.type
end

-- Parses src and returns the chunk's block (an array of statements), or raises
-- {line=, col=, message=} on a syntax error.
function M.parse(src)
  local toks = lexer.tokenize(src)
  local i = 1
  local tok = toks[1]

  local function fail(t, message)
    error({ line = t.line, col = t.col, message = message .. " near '" .. token_text(t) .. "'" }, 0)
  end
  local function next_tok() i = i + 1; tok = toks[i] end
  local function check(ty) if tok.type == ty then local t = tok; next_tok(); return t end end
  local function expect(ty, what)
    if tok.type ~= ty then fail(tok, "'" .. (what or ty) .. "' expected") end
    local t = tok; next_tok(); return t
  end
  local function expect_match(ty, open, open_tok)
    if tok.type ~= ty then
      if open_tok.line == tok.line then fail(tok, "'" .. ty .. "' expected") end
      fail(tok, "'" .. ty .. "' expected (to close '" .. open .. "' at line " .. open_tok.line .. ")")
    end
    next_tok()
  end
  local function node(tag, t, fields)
    fields = fields or {}
    fields.tag, fields.line, fields.col = tag, t.line, t.col
    return fields
  end

  local expr, block

  local function name_tok()
    local t = expect("name", "<name>")
    return { name = t.value, line = t.line, col = t.col }
  end

  local function func_body(t, is_method)
    local params, is_vararg = {}, false
    if is_method then params[1] = { name = "self", line = t.line, col = t.col, implicit = true } end
    expect("(")
    if tok.type ~= ")" then
      repeat
        if tok.type == "..." then next_tok(); is_vararg = true; break end
        params[#params + 1] = name_tok()
      until not check(",")
    end
    expect(")")
    local body = block()
    expect_match("end", "function", t)
    return node("Function", t, { params = params, is_vararg = is_vararg, body = body })
  end

  local function table_constructor()
    local t = expect("{")
    local items = {}
    while tok.type ~= "}" do
      local it = tok
      if tok.type == "[" then
        next_tok()
        local key = expr()
        expect("]")
        expect("=")
        items[#items + 1] = { kind = "keyed", key = key, value = expr(), line = it.line, col = it.col }
      elseif tok.type == "name" and toks[i + 1].type == "=" then
        local k = tok.value
        next_tok(); next_tok()
        items[#items + 1] = { kind = "named", key = k, value = expr(), line = it.line, col = it.col }
      else
        items[#items + 1] = { kind = "pos", value = expr(), line = it.line, col = it.col }
      end
      if not check(",") and not check(";") then break end
    end
    expect_match("}", "{", t)
    return node("Table", t, { items = items })
  end

  local function call_args()
    local t = tok
    if t.type == "string" then next_tok(); return { node("String", t, { value = t.value }) } end
    if t.type == "{" then return { table_constructor() } end
    if t.type ~= "(" then fail(t, "function arguments expected") end
    next_tok()
    local args = {}
    if tok.type ~= ")" then
      repeat args[#args + 1] = expr() until not check(",")
    end
    expect_match(")", "(", t)
    return args
  end

  local function primary_expr()
    local t = tok
    if t.type == "name" then next_tok(); return node("Name", t, { name = t.value }) end
    if t.type == "(" then
      next_tok()
      local e = expr()
      expect_match(")", "(", t)
      return node("Paren", t, { expr = e })
    end
    fail(t, "unexpected symbol")
  end

  local function suffixed_expr()
    local e = primary_expr()
    while true do
      local t = tok
      if t.type == "." then
        next_tok()
        local n = name_tok()
        e = node("Index", e, { obj = e, key = { tag = "String", value = n.name, line = n.line, col = n.col } })
      elseif t.type == "[" then
        next_tok()
        local k = expr()
        expect("]")
        e = node("Index", e, { obj = e, key = k })
      elseif t.type == ":" then
        next_tok()
        local n = name_tok()
        e = node("Invoke", t, { obj = e, method = n.name, mline = n.line, mcol = n.col, args = call_args() })
        e.line, e.col = n.line, n.col
      elseif t.type == "(" or t.type == "string" or t.type == "{" then
        e = node("Call", t, { func = e, args = call_args() })
        e.line, e.col = e.func.line, e.func.col
      else
        return e
      end
    end
  end

  local function simple_expr()
    local t = tok
    local ty = t.type
    if ty == "number" then next_tok(); return node("Number", t, { value = t.value }) end
    if ty == "string" then next_tok(); return node("String", t, { value = t.value }) end
    if ty == "nil" then next_tok(); return node("Nil", t) end
    if ty == "true" then next_tok(); return node("True", t) end
    if ty == "false" then next_tok(); return node("False", t) end
    if ty == "..." then next_tok(); return node("Dots", t) end
    if ty == "{" then return table_constructor() end
    if ty == "function" then next_tok(); return func_body(t, false) end
    return suffixed_expr()
  end

  local function sub_expr(limit)
    local e
    local t = tok
    if t.type == "not" or t.type == "-" or t.type == "#" or t.type == "~" then
      next_tok()
      e = node("Unop", t, { op = t.type, expr = sub_expr(unary_priority) })
    else
      e = simple_expr()
    end
    while true do
      local op = tok.type
      local prio = binary_priority[op]
      if not prio or prio[1] <= limit then break end
      local ot = tok
      next_tok()
      e = node("Binop", ot, { op = op, left = e, right = sub_expr(prio[2]) })
    end
    return e
  end
  expr = function() return sub_expr(0) end

  local function expr_list()
    local l = { expr() }
    while check(",") do l[#l + 1] = expr() end
    return l
  end

  local statement

  block = function()
    local body = {}
    while not block_end[tok.type] do
      if tok.type == "return" then
        local t = tok
        next_tok()
        local exprs = {}
        if not block_end[tok.type] and tok.type ~= ";" then exprs = expr_list() end
        check(";")
        body[#body + 1] = node("Return", t, { exprs = exprs })
        break
      end
      local s = statement()
      if s then body[#body + 1] = s end
    end
    return body
  end

  local function for_stat(t)
    local first = name_tok()
    if tok.type == "=" then
      next_tok()
      local start = expr()
      expect(",")
      local stop = expr()
      local step = check(",") and expr() or nil
      expect("do")
      local body = block()
      expect_match("end", "for", t)
      return node("Fornum", t, { var = first, start = start, stop = stop, step = step, body = body })
    end
    if tok.type ~= "," and tok.type ~= "in" then fail(tok, "'=' or 'in' expected") end
    local vars = { first }
    while check(",") do vars[#vars + 1] = name_tok() end
    expect("in")
    local exprs = expr_list()
    expect("do")
    local body = block()
    expect_match("end", "for", t)
    return node("Forin", t, { vars = vars, exprs = exprs, body = body })
  end

  local function if_stat(t)
    local conds, blocks, orelse = {}, {}, nil
    conds[1] = expr(); expect("then"); blocks[1] = block()
    while tok.type == "elseif" do
      next_tok()
      conds[#conds + 1] = expr(); expect("then"); blocks[#blocks + 1] = block()
    end
    if check("else") then orelse = block() end
    expect_match("end", "if", t)
    return node("If", t, { conds = conds, blocks = blocks, orelse = orelse })
  end

  local function local_stat(t)
    if check("function") then
      local n = name_tok()
      return node("LocalFunction", t, { name = n, func = func_body(t, false) })
    end
    local names = {}
    repeat
      local n = name_tok()
      if check("<") then
        local a = expect("name", "<name>")
        if a.value ~= "const" and a.value ~= "close" then
          fail(a, "unknown attribute '" .. a.value .. "'")
        end
        n.attrib = a.value
        expect(">")
      end
      names[#names + 1] = n
    until not check(",")
    local exprs = {}
    if check("=") then exprs = expr_list() end
    return node("Local", t, { names = names, exprs = exprs })
  end

  local function function_stat(t)
    local n = name_tok()
    local target = { tag = "Name", name = n.name, line = n.line, col = n.col }
    local is_method = false
    while tok.type == "." or tok.type == ":" do
      local sep = tok.type
      next_tok()
      local k = name_tok()
      target = { tag = "Index", obj = target, line = k.line, col = k.col,
        key = { tag = "String", value = k.name, line = k.line, col = k.col } }
      if sep == ":" then is_method = true; break end
    end
    return node("FunctionStat", t, { target = target, is_method = is_method, func = func_body(t, is_method) })
  end

  statement = function()
    local t = tok
    local ty = t.type
    if ty == ";" then next_tok(); return nil end
    if ty == "if" then next_tok(); return if_stat(t) end
    if ty == "while" then
      next_tok()
      local cond = expr()
      expect("do")
      local body = block()
      expect_match("end", "while", t)
      return node("While", t, { cond = cond, body = body })
    end
    if ty == "do" then
      next_tok()
      local body = block()
      expect_match("end", "do", t)
      return node("Do", t, { body = body })
    end
    if ty == "for" then next_tok(); return for_stat(t) end
    if ty == "repeat" then
      next_tok()
      local body = block()
      expect_match("until", "repeat", t)
      return node("Repeat", t, { body = body, cond = expr() })
    end
    if ty == "function" then next_tok(); return function_stat(t) end
    if ty == "local" then next_tok(); return local_stat(t) end
    if ty == "::" then
      next_tok()
      local n = name_tok()
      expect("::")
      return node("Label", t, { label = n.name })
    end
    if ty == "break" then next_tok(); return node("Break", t) end
    if ty == "goto" then next_tok(); return node("Goto", t, { label = name_tok().name }) end
    local e = suffixed_expr()
    if tok.type == "=" or tok.type == "," then
      local targets = { e }
      while check(",") do targets[#targets + 1] = suffixed_expr() end
      for _, tg in ipairs(targets) do
        if tg.tag ~= "Name" and tg.tag ~= "Index" then fail(tok, "syntax error") end
      end
      expect("=")
      return node("Assign", t, { targets = targets, exprs = expr_list() })
    end
    if e.tag ~= "Call" and e.tag ~= "Invoke" then fail(tok, "syntax error") end
    return node("CallStat", t, { call = e })
  end

  local body = block()
  if tok.type ~= "eof" then fail(tok, "'<eof>' expected") end
  return body
end

return M

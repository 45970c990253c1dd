-- The JMESPath subset the AWS paginator and waiter definitions use: identifiers, sub-
-- expressions, [] flatten and [?filter] projections, [N] (negative too) indexes, literals
-- (`json` and 'raw'), comparisons, !, &&, ||, parentheses and length(). search() raises on
-- anything else, so an unsupported expression fails loudly rather than matching wrongly.
local json = require "irhost.json"

local M = {}

local function lex(s)
  local toks, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c:match("%s") then i = i + 1
    elseif c:match("[%a_]") then
      local id = s:match("^[%w_]+", i)
      toks[#toks + 1] = { "id", id }
      i = i + #id
    elseif c:match("%d") or (c == "-" and s:sub(i + 1, i + 1):match("%d")) then
      local n = s:match("^%-?%d+", i)
      toks[#toks + 1] = { "num", tonumber(n) }
      i = i + #n
    elseif c == "`" then
      local j = s:find("`", i + 1, true) or error("jmespath: unterminated literal in " .. s)
      toks[#toks + 1] = { "lit", json.decode(s:sub(i + 1, j - 1)) }
      i = j + 1
    elseif c == "'" then
      local j = s:find("'", i + 1, true) or error("jmespath: unterminated string in " .. s)
      toks[#toks + 1] = { "lit", s:sub(i + 1, j - 1) }
      i = j + 1
    elseif c == '"' then
      local j = s:find('"', i + 1, true) or error("jmespath: unterminated identifier in " .. s)
      toks[#toks + 1] = { "id", s:sub(i + 1, j - 1) }
      i = j + 1
    else
      local two = s:sub(i, i + 1)
      if two == "==" or two == "!=" or two == ">=" or two == "<=" or two == "&&" or two == "||" or two == "[]" or two == "[?" then
        toks[#toks + 1] = { two }
        i = i + 2
      elseif c:match("[%.%[%]%(%)<>!,@]") then
        toks[#toks + 1] = { c }
        i = i + 1
      else
        error("jmespath: unexpected '" .. c .. "' in " .. s)
      end
    end
  end
  toks[#toks + 1] = { "eof" }
  return toks
end

local BP = { eof = 0, ["]"] = 0, [")"] = 0, [","] = 0, ["||"] = 2, ["&&"] = 3,
  ["=="] = 5, ["!="] = 5, [">"] = 5, ["<"] = 5, [">="] = 5, ["<="] = 5,
  ["!"] = 7, ["[]"] = 9, ["[?"] = 21, ["."] = 40, ["["] = 55 }
local PROJECTION_STOP = 10

local Parser = {}
Parser.__index = Parser

function Parser:peek() return self.toks[self.i][1] end
function Parser:next() local t = self.toks[self.i]; self.i = self.i + 1; return t end
function Parser:expect(k)
  local t = self:next()
  if t[1] ~= k then error("jmespath: expected " .. k .. " in " .. self.src) end
  return t
end

function Parser:expr(rbp)
  local left = self:nud(self:next())
  while rbp < (BP[self:peek()] or 0) do left = self:led(self:next(), left) end
  return left
end

-- The right side of a projection: what applies to each element.
function Parser:projection_rhs(bp)
  local k = self:peek()
  if (BP[k] or 0) < PROJECTION_STOP then return { "current" } end
  if k == "." then self:next(); return self:dot_rhs(bp) end
  if k == "[" or k == "[?" or k == "[]" then return self:expr(bp) end
  error("jmespath: unexpected token after projection in " .. self.src)
end

function Parser:dot_rhs(bp)
  local k = self:peek()
  if k == "id" then return self:expr(bp) end
  error("jmespath: expected an identifier after '.' in " .. self.src)
end

function Parser:nud(t)
  local k = t[1]
  if k == "id" then
    if self:peek() == "(" then
      self:next()
      local args = {}
      if self:peek() ~= ")" then
        repeat
          args[#args + 1] = self:expr(0)
        until self:peek() ~= "," or not self:next()
      end
      self:expect(")")
      return { "call", t[2], args }
    end
    return { "field", t[2] }
  end
  if k == "lit" then return { "lit", t[2] } end
  if k == "@" then return { "current" } end
  if k == "!" then return { "not", self:expr(BP["!"]) } end
  if k == "(" then local e = self:expr(0); self:expect(")"); return e end
  if k == "[]" then return { "flatten", { "current" }, self:projection_rhs(BP["[]"]) } end
  if k == "[" then
    local n = self:expect("num")[2]
    self:expect("]")
    return { "index", { "current" }, n }
  end
  if k == "[?" then
    local cond = self:expr(0)
    self:expect("]")
    return { "filter", { "current" }, cond, self:projection_rhs(BP["[?"]) }
  end
  error("jmespath: unexpected token " .. k .. " in " .. self.src)
end

function Parser:led(t, left)
  local k = t[1]
  if k == "." then return { "sub", left, self:dot_rhs(BP["."]) } end
  if k == "[]" then return { "flatten", left, self:projection_rhs(BP["[]"]) } end
  if k == "[" then
    local n = self:expect("num")[2]
    self:expect("]")
    return { "index", left, n }
  end
  if k == "[?" then
    local cond = self:expr(0)
    self:expect("]")
    return { "filter", left, cond, self:projection_rhs(BP["[?"]) }
  end
  if k == "||" then return { "or", left, self:expr(BP["||"]) } end
  if k == "&&" then return { "and", left, self:expr(BP["&&"]) } end
  if BP[k] == 5 then return { "cmp", k, left, self:expr(5) } end
  error("jmespath: unexpected token " .. k .. " in " .. self.src)
end

local cache = {}
function M.compile(src)
  local ast = cache[src]
  if ast then return ast end
  local p = setmetatable({ toks = lex(src), i = 1, src = src }, Parser)
  ast = p:expr(0)
  if p:peek() ~= "eof" then error("jmespath: trailing tokens in " .. src) end
  cache[src] = ast
  return ast
end

local function is_list(v) return type(v) == "table" and (v[1] ~= nil or next(v) == nil) end
local function truthy(v)
  if v == nil or v == false or v == json.null or v == "" then return false end
  if type(v) == "table" and next(v) == nil then return false end
  return true
end

local eval
local function project(list, rhs)
  if type(list) ~= "table" then return nil end
  local out = {}
  for i = 1, #list do
    local v = eval(rhs, list[i])
    if v ~= nil and v ~= json.null then out[#out + 1] = v end
  end
  return out
end

eval = function(node, data)
  local k = node[1]
  if k == "current" then return data end
  if k == "field" then
    if type(data) ~= "table" then return nil end
    return data[node[2]]
  end
  if k == "lit" then return node[2] end
  if k == "sub" then
    local l = eval(node[2], data)
    if l == nil then return nil end
    return eval(node[3], l)
  end
  if k == "index" then
    local l = eval(node[2], data)
    if not is_list(l) then return nil end
    local n = node[3]
    if n < 0 then n = #l + n end
    return l[n + 1]
  end
  if k == "flatten" then
    local l = eval(node[2], data)
    if not is_list(l) then return nil end
    local flat = {}
    for i = 1, #l do
      local v = l[i]
      if is_list(v) and type(v) == "table" and (v[1] ~= nil) then
        for j = 1, #v do flat[#flat + 1] = v[j] end
      elseif v ~= nil then
        flat[#flat + 1] = v
      end
    end
    return project(flat, node[3])
  end
  if k == "filter" then
    local l = eval(node[2], data)
    if not is_list(l) then return nil end
    local kept = {}
    for i = 1, #l do
      if truthy(eval(node[3], l[i])) then kept[#kept + 1] = l[i] end
    end
    return project(kept, node[4])
  end
  if k == "or" then
    local l = eval(node[2], data)
    if truthy(l) then return l end
    return eval(node[3], data)
  end
  if k == "and" then
    local l = eval(node[2], data)
    if not truthy(l) then return l end
    return eval(node[3], data)
  end
  if k == "not" then return not truthy(eval(node[2], data)) end
  if k == "cmp" then
    local a, b = eval(node[3], data), eval(node[4], data)
    local op = node[2]
    if op == "==" then return a == b end
    if op == "!=" then return a ~= b end
    if type(a) ~= "number" or type(b) ~= "number" then return nil end
    if op == ">" then return a > b end
    if op == "<" then return a < b end
    if op == ">=" then return a >= b end
    return a <= b
  end
  if k == "call" then
    if node[2] == "length" then
      local v = eval(node[3][1], data)
      if type(v) == "string" then return utf8.len(v) or #v end
      if type(v) == "table" then
        if v[1] ~= nil then return #v end
        local n = 0
        for _ in pairs(v) do n = n + 1 end
        return n
      end
      return nil
    end
    error("jmespath: unsupported function " .. node[2])
  end
  error("jmespath: bad node " .. tostring(k))
end

-- Evaluates expression src against data.
function M.search(src, data)
  return eval(M.compile(src), data)
end

return M

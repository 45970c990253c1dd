-- The `pattern` trait of the AWS models: Java-style regular expressions that must match the
-- whole value, as the services apply them ("Member must satisfy regular expression pattern:
-- [\w+=,.@-]*" is AWS rejecting "has space" for that pattern).
-- A small backtracking matcher over code points for the syntax the models use: literals,
-- ., classes with ranges and \d \w \s \uXXXX (surrogate pairs too) \p{..}, groups, (?:),
-- (?=), (?!), |, ^, $, * + ? {n,m}. check() answers true, false, or nil when it cannot
-- decide (syntax it does not know, \p{..} against non-ASCII text, a step budget spent):
-- validation rejects only on false, so a gap here never blocks a valid call.
local M = {}

local STEP_BUDGET = 200000
local MAX_CHARS = 20000

local function utf8_codes(s)
  local out = {}
  for _, c in utf8.codes(s) do out[#out + 1] = c end
  return out
end

local Parser = {}
Parser.__index = Parser

local function unsupported(why) error({ unsupported = why }, 0) end

function Parser:peek(o) return self.p[self.i + (o or 0)] end
function Parser:take() local c = self.p[self.i]; self.i = self.i + 1; return c end

local function cp(ch) return utf8.codepoint(ch) end
local A, Z, a, z, D0, D9 = cp "A", cp "Z", cp "a", cp "z", cp "0", cp "9"
local function is_digit(c) return c >= D0 and c <= D9 end
local function is_word(c) return (c >= A and c <= Z) or (c >= a and c <= z) or is_digit(c) or c == 95 end
local function is_space(c) return c == 32 or (c >= 9 and c <= 13) end

-- Unicode categories, exactly for ASCII; beyond ASCII the answer is unknown.
local PROPS = {
  L = function(c) return (c >= A and c <= Z) or (c >= a and c <= z) end,
  N = function(c) return is_digit(c) end,
  Z = function(c) return c == 32 end,
  P = function(c) return (c >= 33 and c <= 47 and c ~= 36 and c ~= 43) or (c >= 58 and c <= 64 and c ~= 60 and c ~= 61 and c ~= 62)
    or (c >= 91 and c <= 96 and c ~= 94 and c ~= 96) or c == 123 or c == 125 end,
  S = function(c) return c == 36 or c == 43 or c == 60 or c == 61 or c == 62 or c == 94 or c == 96 or c == 124 or c == 126 end,
}
PROPS.M = function() return false end
PROPS.Lu = function(c) return c >= A and c <= Z end
PROPS.Ll = function(c) return c >= a and c <= z end
PROPS.Nd = PROPS.N

-- An escape after "\": returns a predicate item {fn=...} or a code point.
function Parser:escape()
  local c = self:take()
  if not c then unsupported("trailing backslash") end
  local ch = utf8.char(c)
  if ch == "d" then return { fn = is_digit } end
  if ch == "D" then return { fn = function(x) return not is_digit(x) end } end
  if ch == "w" then return { fn = is_word } end
  if ch == "W" then return { fn = function(x) return not is_word(x) end } end
  if ch == "s" then return { fn = is_space } end
  if ch == "S" then return { fn = function(x) return not is_space(x) end } end
  if ch == "t" then return 9 end
  if ch == "n" then return 10 end
  if ch == "r" then return 13 end
  if ch == "f" then return 12 end
  if ch == "u" then
    local hex = ""
    for _ = 1, 4 do hex = hex .. utf8.char(self:take() or unsupported("bad \\u")) end
    local v = tonumber(hex, 16) or unsupported("bad \\u")
    if v >= 0xD800 and v <= 0xDBFF and self:peek() == 92 and self:peek(1) == cp "u" then
      local save = self.i
      self.i = self.i + 2
      local hex2 = ""
      for _ = 1, 4 do hex2 = hex2 .. utf8.char(self:take() or 48) end
      local lo = tonumber(hex2, 16)
      if lo and lo >= 0xDC00 and lo <= 0xDFFF then return 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00) end
      self.i = save
    end
    return v
  end
  if ch == "p" or ch == "P" then
    if self:take() ~= cp "{" then unsupported("\\p without braces") end
    local name = ""
    while self:peek() and self:peek() ~= cp "}" do name = name .. utf8.char(self:take()) end
    self:take()
    name = name:gsub("^Is", "")
    local f = PROPS[name] or unsupported("\\p{" .. name .. "}")
    local neg = ch == "P"
    return { fn = function(x)
      if x >= 128 then error({ unknown = true }, 0) end
      if neg then return not f(x) end
      return f(x)
    end }
  end
  if ch:match("%d") then unsupported("backreference") end
  if ch:match("%a") then unsupported("\\" .. ch) end
  return c
end

function Parser:class()
  local neg = false
  if self:peek() == cp "^" then neg = true; self:take() end
  local items, first = {}, true
  while true do
    local c = self:take()
    if not c then unsupported("unterminated class") end
    if c == cp "]" and not first then break end
    first = false
    local item
    if c == 92 then item = self:escape()
    elseif c == cp "[" then unsupported("nested class")
    else item = c end
    if type(item) == "number" and self:peek() == cp "-" and self:peek(1) and self:peek(1) ~= cp "]" then
      self:take()
      local hi = self:take()
      if hi == 92 then hi = self:escape() end
      if type(hi) ~= "number" then unsupported("class range to a class") end
      items[#items + 1] = { lo = item, hi = hi }
    elseif type(item) == "number" then
      items[#items + 1] = { lo = item, hi = item }
    else
      items[#items + 1] = item
    end
  end
  return { t = "set", items = items, neg = neg }
end

function Parser:atom()
  local c = self:take()
  if c == cp "(" then
    local kind = "group"
    if self:peek() == cp "?" then
      self:take()
      local k = self:take()
      if k == cp ":" then kind = "group"
      elseif k == cp "=" then kind = "ahead"
      elseif k == cp "!" then kind = "notahead"
      else unsupported("(?" .. utf8.char(k or 63)) end
    end
    local inner = self:alt()
    if self:take() ~= cp ")" then unsupported("unbalanced (") end
    return { t = kind, node = inner }
  end
  if c == cp "[" then return self:class() end
  if c == cp "." then return { t = "set", items = { { fn = function(x) return x ~= 10 and x ~= 13 end } }, neg = false } end
  if c == cp "^" then return { t = "bol" } end
  if c == cp "$" then return { t = "eol" } end
  if c == 92 then
    local e = self:escape()
    if type(e) == "number" then return { t = "set", items = { { lo = e, hi = e } }, neg = false } end
    return { t = "set", items = { e }, neg = false }
  end
  return { t = "set", items = { { lo = c, hi = c } }, neg = false }
end

function Parser:number()
  local n = ""
  while self:peek() and is_digit(self:peek()) do n = n .. utf8.char(self:take()) end
  return tonumber(n)
end

function Parser:quantified()
  local atom = self:atom()
  local c = self:peek()
  local lo, hi
  if c == cp "*" then lo, hi = 0, math.huge
  elseif c == cp "+" then lo, hi = 1, math.huge
  elseif c == cp "?" then lo, hi = 0, 1
  elseif c == cp "{" and self:peek(1) and is_digit(self:peek(1)) then
    self:take()
    lo = self:number()
    hi = lo
    if self:peek() == cp "," then
      self:take()
      hi = self:number() or math.huge
    end
    if self:peek() ~= cp "}" then unsupported("bad {n,m}") end
  else
    return atom
  end
  self:take()
  if self:peek() == cp "?" or self:peek() == cp "+" then self:take() end  -- lazy/possessive: same yes/no
  return { t = "rep", node = atom, lo = lo, hi = hi }
end

function Parser:seq()
  local items = {}
  while self:peek() and self:peek() ~= cp "|" and self:peek() ~= cp ")" do
    items[#items + 1] = self:quantified()
  end
  return { t = "seq", items = items }
end

function Parser:alt()
  local alts = { self:seq() }
  while self:peek() == cp "|" do
    self:take()
    alts[#alts + 1] = self:seq()
  end
  if #alts == 1 then return alts[1] end
  return { t = "alt", alts = alts }
end

local function set_has(node, c)
  local hit = false
  for _, it in ipairs(node.items) do
    if it.fn then
      if it.fn(c) then hit = true break end
    elseif c >= it.lo and c <= it.hi then
      hit = true
      break
    end
  end
  if node.neg then return not hit end
  return hit
end

-- m(node, s, i, k): does node match s at i, with continuation k(j)?
local m
local function budget(st)
  st.steps = st.steps + 1
  if st.steps > STEP_BUDGET then error({ unknown = true }, 0) end
end

m = function(node, st, i, k)
  budget(st)
  local t, s = node.t, st.s
  if t == "set" then
    local c = s[i]
    if c and set_has(node, c) then return k(i + 1) end
    return false
  elseif t == "seq" then
    local items = node.items
    local function step(n, j)
      if n > #items then return k(j) end
      return m(items[n], st, j, function(j2) return step(n + 1, j2) end)
    end
    return step(1, i)
  elseif t == "alt" then
    for _, alt in ipairs(node.alts) do
      if m(alt, st, i, k) then return true end
    end
    return false
  elseif t == "group" then
    return m(node.node, st, i, k)
  elseif t == "ahead" then
    if m(node.node, st, i, function() return true end) then return k(i) end
    return false
  elseif t == "notahead" then
    if m(node.node, st, i, function() return true end) then return false end
    return k(i)
  elseif t == "bol" then
    if i == 1 then return k(i) end
    return false
  elseif t == "eol" then
    if i == #s + 1 or (i == #s and s[i] == 10) then return k(i) end
    return false
  elseif t == "rep" then
    local inner, lo, hi = node.node, node.lo, node.hi
    local function rep(count, j)
      if count < hi then
        local ok = m(inner, st, j, function(j2)
          if j2 == j then return false end  -- an empty iteration adds nothing
          return rep(count + 1, j2)
        end)
        if ok then return true end
      end
      if count >= lo then return k(j) end
      return false
    end
    return rep(0, i)
  end
  return false
end

local compiled = {}

-- Does the model pattern match text? true, false, or nil (cannot decide).
function M.check(pattern, text)
  local prog = compiled[pattern]
  if prog == nil then
    local ok, res = pcall(function()
      local p = setmetatable({ p = utf8_codes(pattern), i = 1 }, Parser)
      local node = p:alt()
      if p.i <= #p.p then unsupported("trailing " .. utf8.char(p.p[p.i])) end
      return node
    end)
    prog = ok and res or false
    compiled[pattern] = prog
  end
  if not prog then return nil end
  if not utf8.len(text) or #text > MAX_CHARS then return nil end
  local st = { s = utf8_codes(text), steps = 0 }
  local last = #st.s + 1
  local ok, res = pcall(m, prog, st, 1, function(j) return j == last end)
  if not ok then return nil end
  return res
end

return M

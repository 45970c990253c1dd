-- Lua 5.4 lexer for `irhost check`: turns source text into tokens carrying line:col.
-- Every token is {type, value, line, col}; type is "name", "string", "number", "eof",
-- or the keyword/operator text itself. Comments are skipped. Errors are raised as
-- {line=, col=, message=} tables so the parser can report them in place.

local M = {}

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not
  or repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end
M.keywords = keywords

-- Operators by length; the longest match wins, so "..." beats ".." and ".".
local ops = { {}, {}, {} }
for o in ([[... .. == ~= <= >= << >> // :: + - * / % ^ # & ~ | < > = ( ) { } [ ] ; : , .]]):gmatch("%S+") do
  ops[#o][o] = true
end

-- Byte -> what may start there.
local byte_class = { [10] = "nl", [13] = "nl", [32] = "ws", [9] = "ws", [12] = "ws", [11] = "ws", [95] = "name" }
for b = 65, 90 do byte_class[b] = "name" end
for b = 97, 122 do byte_class[b] = "name" end
for b = 48, 57 do byte_class[b] = "digit" end

local simple_escapes = { n = "\n", t = "\t", r = "\r", a = "\a", b = "\b", f = "\f",
  v = "\v", ["\\"] = "\\", ['"'] = '"', ["'"] = "'" }

local function fail(line, col, message)
  error({ line = line, col = col, message = message }, 0)
end

-- Returns an array of tokens for src (a string).
function M.tokenize(src)
  local toks, n = {}, 0
  local pos, line, line_start = 1, 1, 1
  local len = #src

  local function col_of(p) return p - line_start + 1 end
  local function push(ty, value, p, l, c)
    n = n + 1
    toks[n] = { type = ty, value = value, line = l or line, col = c or col_of(p) }
  end
  -- Advances over newlines inside [from, to], keeping line accounting right.
  local function count_lines(from, to)
    local p = from
    while true do
      local nl = src:find("[\r\n]", p)
      if not nl or nl > to then return end
      local c, d = src:sub(nl, nl), src:sub(nl + 1, nl + 1)
      if (d == "\r" or d == "\n") and d ~= c and nl + 1 <= to then nl = nl + 1 end
      line = line + 1
      line_start = nl + 1
      p = nl + 1
    end
  end

  -- A long bracket "[==[" at p: returns its content and the position after it.
  local function long_bracket(p, what)
    local eqs = src:match("^%[(=*)%[", p)
    if not eqs then return nil end
    local sl, sc = line, col_of(p)
    local open_end = p + #eqs + 1
    local close = src:find("]" .. eqs .. "]", open_end + 1, true)
    if not close then fail(sl, sc, "unfinished long " .. what) end
    local body = src:sub(open_end + 1, close - 1)
    count_lines(p, close)
    body = body:gsub("^\r\n", ""):gsub("^\n\r", ""):gsub("^[\r\n]", "")
    return body, close + #eqs + 2
  end

  local function read_string(p, quote)
    local sl, sc = line, col_of(p)
    local buf, i = {}, p + 1
    while true do
      local c = src:sub(i, i)
      if c == "" or c == "\n" or c == "\r" then fail(sl, sc, "unfinished string") end
      if c == quote then break end
      if c == "\\" then
        local e = src:sub(i + 1, i + 1)
        if simple_escapes[e] then
          buf[#buf + 1] = simple_escapes[e]; i = i + 2
        elseif e == "\n" or e == "\r" then
          buf[#buf + 1] = "\n"
          local f = src:sub(i + 2, i + 2)
          local skip = ((f == "\n" or f == "\r") and f ~= e) and 3 or 2
          line = line + 1; line_start = i + skip
          i = i + skip
        elseif e == "x" then
          local hex = src:match("^%x%x", i + 2)
          if not hex then fail(line, col_of(i), "hexadecimal digit expected") end
          buf[#buf + 1] = string.char(tonumber(hex, 16)); i = i + 4
        elseif e == "z" then
          local _, ws_end = src:find("^%s*", i + 2)
          count_lines(i + 2, ws_end)
          i = ws_end + 1
        elseif e:match("%d") then
          local digits = src:match("^%d%d?%d?", i + 1)
          local v = tonumber(digits)
          if v > 255 then fail(line, col_of(i), "decimal escape too large") end
          buf[#buf + 1] = string.char(v); i = i + 1 + #digits
        elseif e == "u" then
          local hex = src:match("^{(%x+)}", i + 2)
          if not hex then fail(line, col_of(i), "missing '{' or '}' in \\u{xxxx}") end
          local v = tonumber(hex, 16)
          if v > 0x7FFFFFFF then fail(line, col_of(i), "UTF-8 value too large") end
          buf[#buf + 1] = utf8.char(v); i = i + 4 + #hex
        else
          fail(line, col_of(i), "invalid escape sequence '\\" .. e .. "'")
        end
      else
        local run_end = src:find("[\\\r\n" .. quote .. "]", i) or (len + 1)
        buf[#buf + 1] = src:sub(i, run_end - 1)
        i = run_end
      end
    end
    push("string", table.concat(buf), p, sl, sc)
    return i + 1
  end

  local function read_number(p)
    local text = src:match("^0[xX][%x%.]*[pP][%+%-]?%d+", p)
      or src:match("^0[xX][%x%.]*", p)
      or src:match("^[%d%.]+[eE][%+%-]?%d+", p)
      or src:match("^[%d%.]+", p)
    -- Lua reads the longest run of alphanumerics as one numeral: "3x" is malformed.
    local tail = src:match("^[%w_]+", p + #text)
    local v = tonumber(text)
    if tail or not v then
      fail(line, col_of(p), "malformed number near '" .. text .. (tail or "") .. "'")
    end
    push("number", v, p)
    return p + #text
  end

  if src:sub(1, 1) == "#" then  -- a shebang line, as lua.c allows
    pos = src:find("\n", 1, true) or len + 1
  end

  local byte, find, match, sub = string.byte, string.find, string.match, string.sub
  while pos <= len do
    local b = byte(src, pos)
    local class = byte_class[b]
    if class == "nl" then
      local d = byte(src, pos + 1)
      pos = pos + (((d == 10 or d == 13) and d ~= b) and 2 or 1)
      line = line + 1; line_start = pos
    elseif class == "ws" then
      local _, e = find(src, "^[ \t\f\v]+", pos)
      pos = e + 1
    elseif class == "name" then
      local word = match(src, "^[%w_]+", pos)
      n = n + 1
      toks[n] = { type = keywords[word] and word or "name", value = word, line = line, col = pos - line_start + 1 }
      pos = pos + #word
    elseif b == 45 and byte(src, pos + 1) == 45 then  -- "--"
      local _, after = long_bracket(pos + 2, "comment")
      if after then pos = after else pos = find(src, "[\r\n]", pos) or len + 1 end
    elseif class == "digit" or (b == 46 and match(src, "^%d", pos + 1)) then
      pos = read_number(pos)
    elseif b == 34 or b == 39 then
      pos = read_string(pos, sub(src, pos, pos))
    elseif b == 91 and match(src, "^%[=*%[", pos) then
      local sl, sc = line, col_of(pos)
      local body, after = long_bracket(pos, "string")
      push("string", body, pos, sl, sc)
      pos = after
    else
      local op
      for k = 3, 1, -1 do
        local o = sub(src, pos, pos + k - 1)
        if ops[k][o] then op = o; break end
      end
      if not op then fail(line, col_of(pos), "unexpected symbol near '" .. sub(src, pos, pos) .. "'") end
      n = n + 1
      toks[n] = { type = op, value = op, line = line, col = pos - line_start + 1 }
      pos = pos + #op
    end
  end
  push("eof", "<eof>", pos)
  return toks
end

return M

-- ir.util: small helpers the framework shares: deterministic JSON (compact or pretty,
-- keys sorted, so evidence files diff cleanly), "did you mean", UTC time, text shaping.
local M = {}

local json_ok, json = pcall(require, "irhost.json")
if not json_ok then json = {} end

-- Marks a table as a JSON array even when empty.
local array_mt = { __name = "ir.array" }
function M.array(t)
  return setmetatable(t or {}, array_mt)
end

local function is_null(v)
  return v == json.null or (type(v) == "userdata" and tostring(v):find("^userdata: %(nil%)") ~= nil)
end

local function is_array(t)
  local mt = getmetatable(t)
  if mt == array_mt or (json.array_mt and mt == json.array_mt) then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end
M.is_array = is_array

local escapes = {
  ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end
M.quote = quote

local function number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", math.floor(v)) end
  return string.format("%.17g", v)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    return a < b
  end)
  return keys
end
M.sorted_keys = sorted_keys

local function encode(v, indent, depth, seen, out)
  local tv = type(v)
  if v == nil or is_null(v) then out[#out + 1] = "null"
  elseif tv == "boolean" then out[#out + 1] = tostring(v)
  elseif tv == "number" then out[#out + 1] = number(v)
  elseif tv == "string" then out[#out + 1] = quote(v)
  elseif tv == "table" then
    if seen[v] then error("ir: cannot encode a table that contains itself as JSON", 0) end
    if depth > 100 then error("ir: JSON nesting deeper than 100 levels", 0) end
    seen[v] = true
    local nl, pad, pad_in, colon = "", "", "", ":"
    if indent then
      nl = "\n"; pad = string.rep(indent, depth); pad_in = pad .. indent; colon = ": "
    end
    if is_array(v) then
      if #v == 0 then out[#out + 1] = "[]" else
        out[#out + 1] = "[" .. nl
        for i = 1, #v do
          out[#out + 1] = pad_in
          encode(v[i], indent, depth + 1, seen, out)
          out[#out + 1] = (i < #v and "," or "") .. nl
        end
        out[#out + 1] = pad .. "]"
      end
    else
      local keys = sorted_keys(v)
      if #keys == 0 then out[#out + 1] = "{}" else
        out[#out + 1] = "{" .. nl
        for i, k in ipairs(keys) do
          out[#out + 1] = pad_in .. quote(tostring(k)) .. colon
          encode(v[k], indent, depth + 1, seen, out)
          out[#out + 1] = (i < #keys and "," or "") .. nl
        end
        out[#out + 1] = pad .. "}"
      end
    end
    seen[v] = nil
  else
    out[#out + 1] = quote("<" .. tv .. ">")
  end
end

-- Compact JSON, keys sorted. Functions and other non-data values become "<function>".
function M.json(v)
  local out = {}
  encode(v, nil, 0, {}, out)
  return table.concat(out)
end

-- Pretty JSON (two-space indent, keys sorted, trailing newline): what evidence files hold.
function M.pretty_json(v)
  local out = {}
  encode(v, "  ", 0, {}, out)
  out[#out + 1] = "\n"
  return table.concat(out)
end

-- Decodes JSON text through the guarded irhost.json; returns value or nil, message.
function M.decode(text)
  if not json.decode then return nil, "irhost.json is not available" end
  local ok, v = pcall(json.decode, text)
  if not ok then return nil, tostring(v) end
  return v
end

M.null = json.null

-- Levenshtein distance, for "did you mean".
local function distance(a, b)
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end

-- The candidate closest to word when it is close enough to be a likely typo, else nil.
function M.did_you_mean(word, candidates)
  local best, best_d
  for _, c in ipairs(candidates) do
    local d = distance(word:lower(), c:lower())
    if not best_d or d < best_d then best, best_d = c, d end
  end
  if best and best_d <= math.max(2, #word // 3) then return best end
  return nil
end

-- "2026-12-03T16:31:41Z" for epoch seconds t (now when nil).
function M.utc(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t and math.floor(t) or os.time())
end

-- One line: newlines folded, trimmed.
function M.one_line(s)
  return (tostring(s):gsub("%s*\n%s*", " "):gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Error values from runbook code, aws errors (tables with __tostring) and plain strings.
function M.error_text(e)
  if type(e) == "table" then
    local mt = getmetatable(e)
    if type(mt) == "table" and mt.__tostring then
      -- A runbook's own __tostring may raise or return a non-string: fall back to the fields.
      local ok, s = pcall(tostring, e)
      if ok and type(s) == "string" then return s end
    end
    if rawget(e, "code") ~= nil or rawget(e, "message") ~= nil then
      local code, message = rawget(e, "code"), rawget(e, "message")
      return (code ~= nil and (M.error_text(code) .. ": ") or "") .. (message ~= nil and M.error_text(message) or "")
    end
    if type(mt) == "table" and mt.__tostring then return "an error object whose __tostring failed" end
    local ok, j = pcall(M.json, e)
    return ok and j or "an error object (a table)"
  end
  return tostring(e)
end

-- Shallow copy.
function M.copy(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

return M

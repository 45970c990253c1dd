-- Small helpers shared by the aws modules: timestamps, percent-encoding, base64, snake_case.
local crypto = require "irhost.crypto"

local M = {}

-- Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8,
  Sep = 9, Oct = 10, Nov = 11, Dec = 12 }
local MONTH_NAMES = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local DAY_NAMES = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" }

local function epoch_of(y, mo, d, h, mi, s)
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
end

-- Parses an ISO-8601 / RFC 3339 date-time, an RFC 822/1123 HTTP date or epoch seconds (as
-- a number or numeric string) into epoch seconds (an integer unless there are fractions).
-- Returns nil for anything else.
function M.parse_time(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  local n = tonumber(v)
  if n and v:match("^%s*%-?[%d.]+%s*$") then return math.tointeger(n) or n end
  local y, mo, d, h, mi, s, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if y then
    local frac = 0
    local f, tz = rest:match("^%.(%d+)(.*)$")
    if f then frac = tonumber("0." .. f); rest = tz end
    local off = 0
    if rest ~= "" and rest ~= "Z" and rest ~= "z" then
      local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
      if not sign then return nil end
      off = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "+" and 1 or -1)
    end
    local t = epoch_of(tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)) - off
    if frac ~= 0 then return t + frac end
    return t
  end
  local dd, mon, yy, hh, mm, ss, f2 = v:match("^%a+, (%d+) (%a+) (%d%d%d%d) (%d%d):(%d%d):(%d%d)(%.?%d*) GMT$")
  if dd and MONTHS[mon] then
    local t = epoch_of(tonumber(yy), MONTHS[mon], tonumber(dd), tonumber(hh), tonumber(mm), tonumber(ss))
    if f2 ~= "" and f2 ~= "." and tonumber("0" .. f2) ~= 0 then return t + tonumber("0" .. f2) end
    return t
  end
  local only = v:match("^(%d%d%d%d%-%d%d%-%d%d)$")
  if only then return M.parse_time(only .. "T00:00:00Z") end
  return nil
end

local function split_time(t)
  local secs = math.floor(t)
  local frac = t - secs
  local days = secs // 86400
  local rem = secs - days * 86400
  local y, m, d = civil_from_days(days)
  return y, m, d, rem // 3600, rem % 3600 // 60, rem % 60, frac, days
end

-- ISO-8601 UTC ("2024-01-02T03:04:05Z", with milliseconds when there are fractions).
function M.iso8601(t)
  local y, m, d, h, mi, s, frac = split_time(t)
  if frac > 0 then
    local ms = math.floor(frac * 1000 + 0.5)
    if ms >= 1000 then ms = 999 end
    return string.format("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, h, mi, s, ms)
  end
  return string.format("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, h, mi, s)
end

-- RFC 7231 HTTP date ("Tue, 29 Apr 2014 18:30:38 GMT").
function M.http_date(t)
  local y, m, d, h, mi, s, _, days = split_time(t)
  return string.format("%s, %02d %s %04d %02d:%02d:%02d GMT", DAY_NAMES[days % 7 + 1], d,
    MONTH_NAMES[m], y, h, mi, s)
end

-- Epoch seconds as a number: integer when whole, else at most millisecond precision.
function M.epoch(t)
  local i = math.tointeger(t)
  if i then return i end
  if t == math.floor(t) then return math.tointeger(math.floor(t)) end
  return math.floor(t * 1000 + 0.5) / 1000
end

-- Formats a timestamp parameter for the wire: fmt is "iso8601", "rfc822" or "unixTimestamp".
function M.format_time(t, fmt)
  if fmt == "rfc822" then return M.http_date(t) end
  if fmt == "unixTimestamp" then return M.epoch(t) end
  return M.iso8601(t)
end

-- RFC 3986 percent-encoding; `safe` lists extra characters left alone (e.g. "/").
M.urlencode = crypto.urlencode

function M.urldecode(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

M.base64 = crypto.base64
function M.unbase64(s)
  local v = crypto.unbase64((s:gsub("%s", "")))
  return v or s
end

-- "DescribeInstances" -> "describe_instances", "GetIAMRole" -> "get_iam_role".
function M.snake(name)
  local s = name:gsub("(.)(%u%l+)", "%1_%2"):gsub("([%l%d])(%u)", "%1_%2")
  return s:lower()
end

-- Formats a number the way AWS wire formats want it (no "1e+20", no trailing ".0" loss).
function M.number_text(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v then return "NaN" end
  if v == math.huge then return "Infinity" end
  if v == -math.huge then return "-Infinity" end
  local i = math.tointeger(v)
  if i then return tostring(i) .. ".0" end
  local s = string.format("%.15g", v)
  if tonumber(s) ~= v then s = string.format("%.17g", v) end
  return s
end

function M.bool_text(v) return v and "true" or "false" end

-- Is t a Lua sequence (1..n, no holes, no other keys)?
function M.is_sequence(t)
  if type(t) ~= "table" then return false end
  local n = #t
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

return M

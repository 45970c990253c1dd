-- The review window of the identity runbooks: --since as a duration ("36h", "7d", "2w",
-- "90m") or an ISO-8601 UTC time, turned into epoch seconds and back. CloudTrail's event
-- history only goes back 90 days, so a longer window is cut there, and said so.
local M = {}

M.MAX_DAYS = 90
M.DEFAULT = "7d"

local UNITS = { m = 60, h = 3600, d = 86400, w = 7 * 86400 }

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

-- "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]" to epoch seconds; nil when it is not such a time.
function M.epoch(iso)
  if type(iso) ~= "string" then return nil end
  local y, mo, d, h, mi, s, rest = iso:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then
    y, mo, d = iso:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
    if not y then return nil end
    h, mi, s, rest = 0, 0, 0, ""
  end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then return nil end
  rest = rest:gsub("^[.,]%d+", "")
  local offset = 0
  if rest ~= "" and rest ~= "Z" and rest ~= "z" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "+" and 1 or -1)
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
end

-- Epoch seconds to "YYYY-MM-DDTHH:MM:SSZ".
function M.iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t)) end

-- The current UTC time as ISO-8601 with Z (what aws:TokenIssueTime is compared with).
function M.now_iso() return M.iso(os.time()) end

-- Parses --since against now (epoch). Returns start epoch, or nil, message.
function M.start(since, now)
  now = now or os.time()
  since = since or M.DEFAULT
  local n, unit = since:match("^(%d+)([mhdw])$")
  local t
  if n then
    t = now - tonumber(n) * UNITS[unit]
  else
    t = M.epoch(since)
    if not t then
      return nil, "--since: '" .. since .. "' is neither a duration (90m, 36h, 7d, 2w) nor an ISO-8601 time"
    end
  end
  if t >= now then return nil, "--since: '" .. since .. "' is not in the past" end
  return t
end

-- The window {start, finish (epoch), start_iso, end_iso, clipped} for --since, cut at
-- CloudTrail's 90 days.
function M.window(since, now)
  now = now or os.time()
  local t, err = M.start(since, now)
  if not t then error(err, 0) end
  local floor, clipped = now - M.MAX_DAYS * 86400, false
  if t < floor then t, clipped = floor, true end
  return { start = t, finish = now, start_iso = M.iso(t), end_iso = M.iso(now), clipped = clipped }
end

-- The --since param every identity runbook declares.
M.PARAM = { default = M.DEFAULT, metavar = "DURATION|TIME",
  help = "start of the review window: 90m, 36h, 7d, 2w or an ISO-8601 UTC time (CloudTrail keeps 90 days)" }

-- For a runbook's validate: nil, or what is wrong with --since.
function M.validate(p)
  local t, err = M.start(p.since)
  if not t then return err end
end

-- The window of run ctx (its --since, now).
function M.of(ctx) return M.window(ctx.params.since) end

-- Is the ISO time iso at or after the window's start?
function M.within(win, iso)
  local t = M.epoch(iso)
  return t ~= nil and t >= win.start
end

return M

-- Tags that mark what an irhost run did, so a rerun, a --resume or a --release can find
-- its own work again instead of trusting memory. One place for every key.
local M = {}

M.TICKET = "irhost:ticket"
M.RUN_ID = "irhost:run-id"
M.STATUS = "irhost:status"                    -- quarantined | released
M.AT = "irhost:quarantined-at"
M.PURPOSE = "irhost:purpose"                  -- on the groups irhost creates
M.INSTANCE = "irhost:instance"                -- on snapshots
M.DEVICE = "irhost:device"
M.ORIGINAL_GROUPS = "irhost:original-groups"  -- on each ENI, before irhost moves it
M.NACL_ENTRIES = "irhost:nacl-entries"        -- on the instance: acl-id:rule:in|out,...
M.ASG = "irhost:asg"                          -- on the instance: the group it was detached from
M.ASG_SUSPENDED = "irhost:asg-suspended"      -- processes this run suspended

-- {{Key=, Value=}...} -> {key = value}
function M.map(list)
  local out = {}
  for _, t in ipairs(list or {}) do if t.Key then out[t.Key] = t.Value end end
  return out
end

-- {key = value} -> {{Key=, Value=}...}, sorted by key
function M.list(map)
  local keys, out = {}, {}
  for k in pairs(map) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do out[#out + 1] = { Key = k, Value = tostring(map[k]) } end
  return out
end

-- "a,b" -> {"a", "b"}
function M.split(s)
  local out = {}
  for item in tostring(s or ""):gmatch("[^,]+") do out[#out + 1] = item end
  return out
end

function M.join(list) return table.concat(list or {}, ",") end

-- The tags every resource irhost creates carries.
function M.base(ctx, extra)
  local t = { [M.RUN_ID] = ctx.run_id or "unknown" }
  if ctx.ticket then t[M.TICKET] = ctx.ticket end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

return M

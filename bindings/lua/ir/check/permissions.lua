-- Declared permissions for `irhost check`: each must be an IAM action in syntax, under a
-- service prefix irhost knows, naming an action that exists; every literal AWS call must be
-- covered by one; a permission no call uses is a warning (when every call is visible).

local iam = require("ir.check.iam")
local util = require("ir.util")

local M = {}

local function hint(word, candidates, prefix)
  local h = util.did_you_mean(word, candidates)
  return h and (" (did you mean '" .. (prefix or "") .. h .. "'?)") or ""
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- Reports invalid entries of perms ({{action, line, col}}); returns the valid ones.
local function validate(perms, diag)
  local prefixes = iam.prefixes()
  local prefix_names = sorted_keys(prefixes)
  local valid = {}
  for _, p in ipairs(perms) do
    local a = p.action
    local function bad(msg) diag:add("error", "permission", p.line, p.col, msg) end
    if type(a) ~= "string" or not iam.valid_syntax(a) then
      bad("permission '" .. tostring(a) .. "' is not an IAM action like \"ec2:DescribeInstances\"")
    elseif a == "*" then
      valid[#valid + 1] = p
    else
      local prefix, action = a:match("^([^:]+):(.+)$")
      if not prefixes[prefix] then
        local real = iam.prefix(prefix)
        if real then
          bad("'" .. prefix .. "' is not an IAM service prefix: write \"" .. real .. ":" .. action .. "\"")
          -- The intent is clear: count it as the corrected action so the calls it was
          -- meant for are not reported a second time.
          valid[#valid + 1] = { action = real .. ":" .. action, line = p.line, col = p.col }
        else
          bad("unknown IAM service prefix '" .. prefix .. "' in '" .. a .. "'" .. hint(prefix, prefix_names))
        end
      else
        local names, set = iam.actions_of(prefix)
        if action:find("[*?]") then
          local any = false
          for _, n in ipairs(names) do
            if iam.allows(prefix .. ":" .. action, iam.prefixes()[prefix][1], n) then any = true; break end
          end
          if any then valid[#valid + 1] = p
          else bad("permission '" .. a .. "' matches no " .. prefix .. " action") end
        elseif not set[action] then
          local ops = iam.operations_for_iam_action(prefix, action)
          if #ops > 0 then
            bad("'" .. a .. "' is an IAM action name; irhost permissions name the API operations it " ..
              "authorizes (the broker allows by operation): " .. prefix .. ":" ..
              table.concat(ops, ", " .. prefix .. ":"))
          else
            bad("unknown action '" .. a .. "'" .. hint(action, names, prefix .. ":"))
          end
        else
          valid[#valid + 1] = p
        end
      end
    end
  end
  return valid
end

-- Checks declared permissions (nil when not static) against the calls found.
-- complete: every call of the file is visible (no client escapes, no local modules).
function M.check(perms, calls, diag, complete)
  if not perms then return end
  local valid = validate(perms, diag)
  local used = {}
  for _, c in ipairs(calls.calls) do
    local covered = false
    for _, p in ipairs(valid) do
      if iam.allows(p.action, c.service, c.operation) then covered = true; used[p] = true end
    end
    if not covered and iam.implicit_actions[iam.prefix(c.service) .. ":" .. c.operation] then covered = true end
    if not covered then
      -- A call in a module is reported where it is, naming the runbook it serves.
      local want = iam.prefix(c.service) .. ":" .. c.operation
      local d = c.unit and c.unit.diag or diag
      d:add("error", "permission-missing", c.line, c.col, "call " .. c.service .. ":" ..
        c.operation .. " needs \"" .. want .. "\" in the declared permissions" ..
        (d ~= diag and (" of " .. diag.file) or ""))
    end
  end
  if not complete or calls.unresolved then return end
  for _, p in ipairs(valid) do
    local prefix = p.action:match("^([^:]+):")
    local hidden = false
    for _, s in ipairs(prefix and iam.prefixes()[prefix] or {}) do
      if calls.escaped[s] then hidden = true end
    end
    if not used[p] and not hidden and p.action ~= "*" and not iam.framework_actions[p.action] then
      diag:add("warning", "permission-unused", p.line, p.col,
        "declared permission '" .. p.action .. "' is not used by any call in this file")
    end
  end
end

return M

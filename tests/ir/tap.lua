-- TAP for the ir Lua suites (run by irhost-lua from the repository root).
local T = { n = 0, failed = 0 }

function T.ok(cond, name, why)
  T.n = T.n + 1
  if cond then
    print(("ok %d - %s"):format(T.n, name))
  else
    T.failed = T.failed + 1
    print(("not ok %d - %s"):format(T.n, name))
    if why then for line in tostring(why):gmatch("[^\n]+") do print("#   " .. line) end end
  end
  return cond
end

function T.eq(got, want, name)
  return T.ok(got == want, name, "got:  " .. tostring(got) .. "\nwant: " .. tostring(want))
end

function T.like(s, pattern, name)
  return T.ok(type(s) == "string" and s:find(pattern) ~= nil, name,
    "got:  " .. tostring(s) .. "\nwant a match for: " .. pattern)
end

function T.has(s, plain, name)
  return T.ok(type(s) == "string" and s:find(plain, 1, true) ~= nil, name,
    "got:  " .. tostring(s) .. "\nwant it to contain: " .. plain)
end

-- Runs fn as one group; an error inside fails it instead of ending the suite.
function T.case(name, fn)
  local ok, err = pcall(fn)
  if not ok then T.ok(false, name .. " (raised)", err) end
end

function T.done()
  return T.failed == 0 and 0 or 1
end

return T

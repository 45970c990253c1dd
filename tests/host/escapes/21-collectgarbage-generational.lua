-- Generational mode has a known Lua 5.4.4 bug: refused.
-- expect-exit: 1
-- expect: collectgarbage('generational') is not allowed
collectgarbage("generational")

-- Unbounded recursion: a clean Lua stack overflow error, no crash.
-- expect-exit: 1
-- expect: stack overflow
local function f(n) return 1 + f(n + 1) end
f(1)

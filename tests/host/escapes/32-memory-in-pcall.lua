-- pcall cannot swallow the memory limit either.
-- args: --memory-limit 32
-- expect-exit: 3
-- expect: memory limit of 32 MB exceeded
for i = 1, 10 do pcall(string.rep, "x", 1 << 30) end
local t = {}
for i = 1, 100 do t[i] = i end

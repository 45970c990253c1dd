-- A table that grows without end hits the memory limit.
-- args: --memory-limit 32
-- expect-exit: 3
-- expect: memory limit of 32 MB exceeded
local t = {}
for i = 1, 1e9 do t[i] = i end

-- A gigabyte string: the capped allocator refuses it.
-- expect-exit: 3
-- expect: memory limit of 256 MB exceeded
local s = string.rep("x", 1 << 30)

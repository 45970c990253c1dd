-- string.dump is gone from the real string table too (reached through a string's methods).
-- expect-exit: 1
-- expect: attempt to call a nil value (method 'dump')
local s = ("x"):dump()

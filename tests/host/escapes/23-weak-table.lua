-- Weak tables (__mode) are refused (Lua 5.4.4 crashers under memory pressure).
-- expect-exit: 1
-- expect: __mode is not allowed in runbooks
local cache = setmetatable({}, { __mode = "k" })

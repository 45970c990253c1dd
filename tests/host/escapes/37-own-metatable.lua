-- A runbook's own metatables stay usable, but __mode cannot be sneaked in after setmetatable
-- through the table's getmetatable either: the weak mode is refused when the table is set.
-- expect-exit: 1
-- expect: __mode is not allowed in runbooks
local mt = { __index = function(_, k) return k .. "!" end }
local t = setmetatable({}, mt)
assert(t.x == "x!" and getmetatable(t) == mt, "own metatable works")
setmetatable({}, { __mode = "v" })

-- The string metatable is locked: getmetatable("") gives a marker, not the table.
-- expect-exit: 1
-- expect: attempt to index a string value
local mt = getmetatable("")
mt.__index = { dump = function() end }

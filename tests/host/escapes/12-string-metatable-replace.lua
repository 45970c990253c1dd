-- setmetatable works on tables only, so the string metatable cannot be swapped.
-- expect-exit: 1
-- expect: bad argument #1 to 'setmetatable' (table expected, got string)
setmetatable("", { __index = function() return "owned" end })

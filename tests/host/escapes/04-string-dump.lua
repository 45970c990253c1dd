-- string.dump would produce bytecode: it does not exist.
-- expect-exit: 1
-- expect: attempt to call a nil value (field 'dump')
local code = string.dump(function() return 1 end)

-- A __gc finalizer that loops would run with hooks off: refused at setmetatable.
-- expect-exit: 1
-- expect: __gc is not allowed in runbooks
setmetatable({}, { __gc = function() while true do end end })
collectgarbage()

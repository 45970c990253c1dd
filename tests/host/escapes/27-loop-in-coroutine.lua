-- Coroutines inherit the count hook.
-- args: --max-instructions 2000000
-- expect-exit: 3
-- expect: instruction limit of 2000000 exceeded
local co = coroutine.wrap(function() while true do end end)
while true do pcall(co) end

-- A chain of 20000 coroutine.close calls segfaults stock Lua 5.4.4 (C stack overflow): refused at depth 16.
-- expect-exit: 1
-- expect: coroutine.close nested more than 16 deep
local coro = false
for i = 1, 20000 do
  local previous = coro
  coro = coroutine.create(function()
    local cc <close> = setmetatable({}, { __close = function()
      if previous then
        local ok, err = coroutine.close(previous)
        if not ok then error(err, 0) end
      end
    end })
    coroutine.yield()
  end)
  coroutine.resume(coro)
end
local ok, err = coroutine.close(coro)
error(err, 0)

-- Bytecode through load() in the default mode: Lua's own text-only check refuses it.
-- expect-exit: 1
-- expect: attempt to load a binary chunk
local f, err = load("\27LuaT\0\25\147\13\10\26\10\4\8\8")
if f then error("ESCAPED: load accepted a binary chunk") end
error(err)

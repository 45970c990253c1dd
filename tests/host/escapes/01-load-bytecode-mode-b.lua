-- Bytecode through load() with mode "b": refused, whatever the bytes.
-- expect-exit: 1
-- expect: binary chunks are not allowed
local f, err = load("\27LuaT\0\25\147\13\10\26\10\4\8\8", "bytes", "b")
if f then error("ESCAPED: load accepted a binary chunk") end
error(err)

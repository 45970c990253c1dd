-- Bytecode through a reader function (pieces): refused on the first piece.
-- expect-exit: 1
-- expect: attempt to load a binary chunk
local pieces = { "\27Lua", "T\0\25\147\13\10\26\10" }
local i = 0
local f, err = load(function() i = i + 1; return pieces[i] end)
if f then error("ESCAPED: load accepted a binary chunk") end
error(err)

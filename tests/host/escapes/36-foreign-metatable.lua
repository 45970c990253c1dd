-- A metatable made by trusted code (a JSON array's) is seen read-only: no __mode added later.
-- expect-exit: 1
-- expect: attempt to change a read-only built-in table (field '__mode')
local mt = getmetatable(json.array({}))
mt.__mode = "k"

-- io through _G: there is no io.
-- expect-exit: 1
-- expect: attempt to index a nil value (field 'io')
local f = _G.io.open("/etc/passwd")

-- debug through _ENV: there is no debug library.
-- expect-exit: 1
-- expect: attempt to index a nil value (global 'debug')
local reg = _ENV.debug.getregistry()

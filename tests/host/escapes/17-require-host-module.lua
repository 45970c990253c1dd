-- The trusted channel to the broker (irhost.host) is not reachable through require.
-- expect-exit: 1
-- expect: module 'irhost.host' not found
local host = require("irhost.host")

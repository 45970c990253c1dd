-- require finds runbook-local modules only: no io, no C libraries.
-- expect-exit: 1
-- expect: module 'io' not found
local io = require("io")

-- os.getenv would read the broker's environment (credentials): it does not exist.
-- expect-exit: 1
-- expect: attempt to call a nil value (field 'getenv')
local k = os.getenv("AWS_SECRET_ACCESS_KEY")

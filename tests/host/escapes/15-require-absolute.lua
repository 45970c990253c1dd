-- require of an absolute path is refused before the broker is asked.
-- expect-exit: 1
-- expect: is not a module name
require("/etc/passwd")

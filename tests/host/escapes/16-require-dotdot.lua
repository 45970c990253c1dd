-- require of a ../ path is refused.
-- expect-exit: 1
-- expect: is not a module name
require("../../../etc/passwd")

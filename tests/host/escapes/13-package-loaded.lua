-- package (and package.loaded, package.loadlib) does not exist.
-- expect-exit: 1
-- expect: attempt to index a nil value (global 'package')
local io = package.loaded.io

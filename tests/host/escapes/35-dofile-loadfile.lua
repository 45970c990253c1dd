-- dofile and loadfile do not exist.
-- expect-exit: 1
-- expect: attempt to call a nil value (global 'loadfile')
loadfile("/etc/passwd")

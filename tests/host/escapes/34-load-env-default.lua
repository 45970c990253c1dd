-- load() gives new chunks the sandbox environment, never the host's globals.
-- expect-exit: 1
-- expect: attempt to index a nil value (global 'io')
load("return io.open('/etc/passwd')")()

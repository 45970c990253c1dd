-- os.exit would end the runner without a report: it does not exist.
-- expect-exit: 1
-- expect: attempt to call a nil value (field 'exit')
os.exit(0)

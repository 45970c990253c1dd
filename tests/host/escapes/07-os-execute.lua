-- os has time/clock/date/difftime only.
-- expect-exit: 1
-- expect: attempt to call a nil value (field 'execute')
os.execute("id")

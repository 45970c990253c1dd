-- collectgarbage can collect and count, not stop the collector or switch modes.
-- expect-exit: 1
-- expect: collectgarbage('stop') is not allowed
collectgarbage("stop")

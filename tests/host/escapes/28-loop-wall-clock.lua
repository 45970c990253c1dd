-- Without an instruction limit, the broker's wall clock ends the runner.
-- args: --timeout 1
-- expect-exit: 3
-- expect: wall-clock limit of 1 s exceeded
while true do end

-- An endless loop in the main chunk: the instruction limit stops it.
-- args: --max-instructions 2000000
-- expect-exit: 3
-- expect: instruction limit of 2000000 exceeded
while true do end

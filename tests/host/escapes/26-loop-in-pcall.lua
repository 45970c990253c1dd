-- pcall cannot swallow the instruction limit: the hook keeps firing once tripped.
-- args: --max-instructions 2000000
-- expect-exit: 3
-- expect: instruction limit of 2000000 exceeded
while true do
  pcall(function() while true do end end)
end

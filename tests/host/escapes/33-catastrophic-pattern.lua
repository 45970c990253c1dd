-- A backtracking pattern runs inside C, where hooks do not fire: the wall clock ends it.
-- args: --timeout 1 --max-instructions 100000000
-- expect-exit: 3
-- expect: wall-clock limit of 1 s exceeded
string.find(string.rep("a", 60), string.rep("a*", 60) .. "b")

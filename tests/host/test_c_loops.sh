#!/bin/bash
# Work that runs inside one C function, where the instruction hook cannot fire, must not
# hold the run until the wall clock: string.rep of an empty string any number of times is
# "" at once, a count no memory limit could hold is refused at once (string.rep trips the
# memory limit, table.move raises an error), and files the broker reads for the runner
# (--gate FILE here, a FIFO) or the runbook itself must be regular files, never a blocking open.
source "$IRHOST_ROOT/tests/host/env.sh"

cat >"$tmp/loops.lua" <<'LUA'
return ir.runbook {
  name = "c-loops", description = "loops inside C functions", params = {}, permissions = {},
  steps = { { name = "Loops", run = function(ctx)
    assert(string.rep("", 2^62) == "" and string.rep("", 2^62, "") == "" and ("x"):rep(0) == "")
    assert(("ab"):rep(3, "-") == "ab-ab-ab" and string.rep("", 3, ",") == ",,")
    local ok, e = pcall(table.move, {1}, 1, 2^62, 2)
    assert(not ok and tostring(e):find("more elements than the memory limit could hold", 1, true), tostring(e))
    ok, e = pcall(table.move, {}, math.mininteger, -1, 1)
    assert(not ok, "a range wider than the integers is refused")
    local t = table.move({1, 2, 3}, 1, 3, 2)
    assert(t[1] == 1 and t[2] == 1 and t[3] == 2 and t[4] == 3)
    assert(#table.move({}, 1, 0, 1) == 0)
    ctx.output("ok", true)
  end } },
}
LUA
run loops "$tmp/loops.lua" --out "$tmp/loops" --timeout 20
check "empty string.rep and refused table.move return at once (exit 0, not the wall clock)" test "$rc" -eq 0
check "no limit message" bash -c "! grep -q 'limit' '$tmp/loops.err'"

cat >"$tmp/rep.lua" <<'LUA'
return ir.runbook {
  name = "c-rep", description = "a repeat no memory limit holds, under pcall", params = {}, permissions = {},
  steps = { { name = "Rep", run = function() pcall(string.rep, "ab", 1 << 40, ",") end } },
}
LUA
run rep "$tmp/rep.lua" --out "$tmp/rep" --timeout 20
check "string.rep past the memory limit: exit 3 naming the limit, even under pcall" \
  bash -c "[ $rc -eq 3 ] && grep -qF 'memory limit of 256 MB exceeded' '$tmp/rep.err'"

mkfifo "$tmp/fifo"
timeout 30 "$IRHOST" "$FIX/evidence_resume.lua" --gate "$tmp/fifo" --out "$tmp/fifo-run" >"$tmp/fifo.out" 2>"$tmp/fifo.err" </dev/null
rc=$?
check "a FIFO as a file param: refused at once (exit 2, not blocked)" test "$rc" -eq 2
check "the message says it is not a regular file" has fifo err "is not a regular file"
timeout 30 "$IRHOST" "$tmp/fifo" >"$tmp/fifo2.out" 2>"$tmp/fifo2.err" </dev/null
rc=$?
check "a FIFO as the runbook: refused at once (exit 2)" bash -c "[ $rc -eq 2 ] && grep -q 'not a regular file' '$tmp/fifo2.err'"
check "no stack dump or sanitizer report" bash -c "! grep -qE 'stack traceback|AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.err '$tmp'/*.out"

#!/bin/bash
# Limits hit inside a runbook step (where the framework runs the step under pcall):
# the limit still ends the run with exit 3, a message naming it, and a report.
source "$IRHOST_ROOT/tests/host/env.sh"

limit_case() {
  local name="$1" want="$2"; shift 2
  run "$name" "$FIX/loop_step.lua" --out "$tmp/$name" "$@"
  check "$name: exit 3" test "$rc" -eq 3
  check "$name: the message names the limit and how to raise it" has "$name" err "$want"
  check "$name: report says limit, the step failed" "$PYTHON" -c "
import json
r = json.load(open('$tmp/$name/report.json'))
assert r['exit'] == 3 and r['runner']['status'] == 'limit', r['runner']
ends = [e for e in r['events'] if e['type'] == 'step_end' and e['name'] == 'Spin']
assert ends and ends[-1]['status'] == 'failed', ends
"
  check "$name: no stack dump" clean "$name"
}
limit_case "instruction limit in a step" "instruction limit of 3000000 exceeded (raise it with --max-instructions N)" --max-instructions 3000000
limit_case "wall clock in a step" "wall-clock limit of 1 s exceeded (raise it with --timeout SECONDS)" --timeout 1

# Memory: a step that allocates without end, under the framework's pcall.
cat >"$tmp/memory.lua" <<'LUA'
return ir.runbook {
  name = "memory", description = "allocates forever", params = {}, permissions = {},
  steps = { { name = "Grow", run = function() local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(64) .. i end end } },
}
LUA
run memory "$tmp/memory.lua" --out "$tmp/memory" --memory-limit 32
check "memory limit in a step: exit 3, named" bash -c "[ $rc -eq 3 ] && grep -q 'memory limit of 32 MB exceeded (raise it with --memory-limit MB)' '$tmp/memory.err'"
check "memory limit in a step: report written" grep -q '"exit":3' "$tmp/memory/report.json"

# The default limits are the documented ones.
check "default memory limit is 256 MB" bash -c "'$IRHOST' help | grep -q 'Lua memory limit (default 256)'"
check "default wall clock is 900 s" bash -c "'$IRHOST' help | grep -q 'wall-clock limit (default 900)'"

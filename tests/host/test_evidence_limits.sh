#!/bin/bash
# Evidence limits: the run's evidence is capped in total (--max-evidence MB, default
# 2048, all attempts of a resumed run together); a refusal names the evidence, the cap and
# how to raise it, and reaches the runbook's error; a NUL byte in a name is refused, never
# cut short.
source "$IRHOST_ROOT/tests/host/env.sh"

cat >"$tmp/big.lua" <<'LUA'
return ir.runbook {
  name = "big-evidence", description = "saves 1 MB files", params = { n = { type = "integer", default = 3 } },
  permissions = {},
  steps = { { name = "Save", run = function(ctx)
    for i = 1, ctx.params.n do ctx.evidence:save("part" .. i .. ".bin", string.rep("x", 1024 * 1024)) end
  end } },
}
LUA
run cap "$tmp/big.lua" --max-evidence 2 --out "$tmp/cap"
check "over --max-evidence: the step fails (exit 1)" test "$rc" -eq 1
check "the error names the evidence, the cap and how to raise it" \
  has cap err "evidence part3.bin (1048576 bytes) refused: the run's evidence would exceed --max-evidence 2 MB"
check "the files under the cap are kept, the refused one is not" \
  bash -c "[ -s '$tmp/cap/evidence/part2.bin' ] && [ ! -e '$tmp/cap/evidence/part3.bin' ]"
run fits "$tmp/big.lua" --max-evidence 3 --out "$tmp/fits"
check "exactly at the cap: kept (exit 0)" test "$rc" -eq 0
run bad_cap "$tmp/big.lua" --max-evidence 0 --out "$tmp/bad_cap"
check "--max-evidence 0: a usage error (exit 2)" bash -c "[ $rc -eq 2 ] && grep -qF -- \"--max-evidence: '0' is not a size in MB\" '$tmp/bad_cap.err'"
check "--max-evidence is in the help with its default" bash -c "'$IRHOST' help | grep -q -- '--max-evidence MB .*(default 2048)'"

cat >"$tmp/nul.lua" <<'LUA'
return ir.runbook {
  name = "nul-name", description = "a NUL in an evidence name", params = {}, permissions = {},
  steps = { { name = "Save", run = function(ctx) ctx.evidence:save("ok.txt\0../../escape", "x") end } },
}
LUA
run nul "$tmp/nul.lua" --out "$tmp/nul"
check "a NUL in an evidence name: the step fails (exit 1)" test "$rc" -eq 1
check "the broker's reason reaches the error" has nul err "evidence name refused: it holds a NUL byte"
check "nothing was saved under the cut-short name" test ! -e "$tmp/nul/evidence/ok.txt"
check "no stack dump or sanitizer report" bash -c "! grep -qE 'stack traceback|AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.err '$tmp'/*.out"

#!/bin/bash
# Sandbox escape attempts: every tests/host/escapes/*.lua runs as a runbook's main chunk
# and again as the body of a step, and must be refused with its expected exit code and
# message (its "-- expect-exit:" and "-- expect:" lines), with no crash, no Lua stack dump,
# no sanitizer report, and a report written.
source "$IRHOST_ROOT/tests/host/env.sh"

# as_step FILE: the snippet as the body of a step of a real runbook (same sandbox, run by `ir`).
as_step() {
  echo 'return ir.runbook { name = "escape", description = "an escape attempt in a step", params = {},'
  echo '  permissions = {}, steps = { { name = "Escape", run = function(ctx)'
  cat "$1"
  echo 'end } } }'
}
for where in chunk step; do
  for f in tests/host/escapes/*.lua; do
    name=$(basename "$f" .lua)
    want_rc=$(sed -n 's/^-- expect-exit: //p' "$f")
    want_msg=$(sed -n 's/^-- expect: //p' "$f")
    read -r -a args <<<"$(sed -n 's/^-- args: //p' "$f")"
    file="$f"
    if [ "$where" = step ]; then file="$tmp/$name.step.lua"; as_step "$f" >"$file"; fi
    out="$tmp/$where-$name"
    "$IRHOST" "$file" --out "$out" "${args[@]}" >"$out.out" 2>"$out.err" </dev/null
    rc=$?
    problems=""
    [ "$rc" -eq "$want_rc" ] || problems+=" exit $rc (want $want_rc);"
    grep -qF -- "$want_msg" "$out.err" || problems+=" stderr lacks '$want_msg';"
    grep -q "ESCAPED" "$out.err" && problems+=" escaped;"
    grep -qE "AddressSanitizer|runtime error:|stack traceback" "$out.err" && problems+=" crash or stack dump;"
    [ -s "$out/report.json" ] && [ -s "$out/report.md" ] || problems+=" no report;"
    [ -s "$out.out" ] && problems+=" wrote to stdout;"
    if [ -z "$problems" ]; then ok "escape $name refused (in the $where)"
    else fail "escape $name (in the $where):$problems"; sed 's/^/#   /' "$out.err" | head -5; fi
  done
done
n=$(ls tests/host/escapes/*.lua | wc -l)
check "at least 25 escape attempts ($n)" test "$n" -ge 25

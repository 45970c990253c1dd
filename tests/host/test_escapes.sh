#!/bin/bash
# Sandbox escape attempts: every tests/host/escapes/*.lua runs as a runbook and must be
# refused with its expected exit code and message (its "-- expect-exit:" and "-- expect:"
# lines), with no crash, no Lua stack dump, no sanitizer report, and a report written.
source "$IRHOST_ROOT/tests/lib/tap.sh"
cd "$IRHOST_ROOT"
tmp=$(tmpdir); trap 'rm -rf "$tmp"' EXIT
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:9
for f in tests/host/escapes/*.lua; do
  name=$(basename "$f" .lua)
  want_rc=$(sed -n 's/^-- expect-exit: //p' "$f")
  want_msg=$(sed -n 's/^-- expect: //p' "$f")
  read -r -a args <<<"$(sed -n 's/^-- args: //p' "$f")"
  "$IRHOST" "$f" --out "$tmp/$name" "${args[@]}" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
  problems=""
  [ "$rc" -eq "$want_rc" ] || problems+=" exit $rc (want $want_rc);"
  grep -qF -- "$want_msg" "$tmp/$name.err" || problems+=" stderr lacks '$want_msg';"
  grep -q "ESCAPED" "$tmp/$name.err" && problems+=" escaped;"
  grep -qE "AddressSanitizer|runtime error:|stack traceback" "$tmp/$name.err" && problems+=" crash or stack dump;"
  [ -s "$tmp/$name/report.json" ] && [ -s "$tmp/$name/report.md" ] || problems+=" no report;"
  [ -s "$tmp/$name.out" ] && problems+=" wrote to stdout;"
  if [ -z "$problems" ]; then ok "escape $name refused"
  else fail "escape $name:$problems"; sed 's/^/#   /' "$tmp/$name.err" | head -5; fi
done
n=$(ls tests/host/escapes/*.lua | wc -l)
check "at least 25 escape attempts ($n)" test "$n" -ge 25

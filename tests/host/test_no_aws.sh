#!/bin/bash
# A runbook that declares no AWS action runs with no credentials, no region and no
# network: the framework does not even ask who the caller is.
source "$(dirname "$0")/../lib/tap.sh"
dir=$(tmpdir)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
env -i PATH=/usr/bin:/bin HOME="$dir" ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
  "$IRHOST" "$IRHOST_ROOT/runbooks/examples/hello.lua" --name Alice --out "$dir/run" >"$dir/out" 2>"$dir/err"
rc=$?
check "hello.lua runs with no AWS configuration at all (exit $rc)" [ "$rc" -eq 0 ]
check "its evidence is saved" [ -s "$dir/run/evidence/greeting.txt" ] || ls -R "$dir/run" | sed 's/^/# /'
check "no AWS call was made or attempted" [ ! -s "$dir/run/audit.jsonl" ]
if grep -q '"type":"identity"' "$dir/run/report.json"; then fail "no identity lookup"; else ok "no identity lookup"; fi

#!/bin/bash
# AWS SDK protocol compliance: every case of ../shared/aws-protocol-tests (input and output,
# all six protocol files) through the Lua runner, which prints one TAP line per case and
# counts per protocol. Cases on the upstream ignore list print as SKIP.
set -u
source "$IRHOST_ROOT/tests/lib/tap.sh"
suites="$IRHOST_SHARED/aws-protocol-tests"
if [ ! -d "$suites" ]; then
  skip "protocol compliance suites" "$suites is absent (plain clone without ../shared)"
  exit 0
fi
files=()
for d in input output; do
  for p in ec2 query json json_1_0 rest-json rest-xml; do files+=("$suites/$d/$p.json"); done
done
"$IRHOST_LUA" "$IRHOST_ROOT/tests/protocol/run.lua" "${files[@]}"

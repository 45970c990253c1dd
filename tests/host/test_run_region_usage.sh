#!/bin/bash
# Two things a run tells or leaves: the run's region in its report when it comes from the
# environment or the profile (the broker's DECLARE reply), and no directory of its own in
# ./irhost-runs after a usage error (exit 2).
source "$IRHOST_ROOT/tests/host/env.sh"
unset AWS_REGION AWS_DEFAULT_REGION
# region_of DIR: the region in DIR/report.json's run_start event ("" when absent).
region_of() {
  "$PYTHON" -c "import json,sys; r=json.load(open(sys.argv[1])); print(next((e.get('region') or '') for e in r['events'] if e['type']=='run_start'))" "$1/report.json" 2>/dev/null
}

# ---------------------------------------------------------------- region

AWS_REGION=eu-west-3 "$IRHOST" "$HELLO" --name A --out "$tmp/r1" >/dev/null 2>&1
check "AWS_REGION: the report's run_start carries it" test "$(region_of "$tmp/r1")" = eu-west-3
check "AWS_REGION: report.md shows it" grep -q '| Region | eu-west-3 |' "$tmp/r1/report.md"
AWS_DEFAULT_REGION=ap-south-1 "$IRHOST" "$HELLO" --name A --out "$tmp/r2" >/dev/null 2>&1
check "AWS_DEFAULT_REGION: the report carries it" test "$(region_of "$tmp/r2")" = ap-south-1
printf '[profile west]\nregion = us-west-2\n' >"$tmp/config"
AWS_CONFIG_FILE="$tmp/config" AWS_PROFILE=west "$IRHOST" "$HELLO" --name A --out "$tmp/r3" >/dev/null 2>&1
check "the profile's region: the report carries it" test "$(region_of "$tmp/r3")" = us-west-2
AWS_REGION=eu-west-3 "$IRHOST" "$HELLO" --name A --region eu-central-1 --out "$tmp/r4" >/dev/null 2>&1
check "--region still wins" test "$(region_of "$tmp/r4")" = eu-central-1
# No region anywhere (IMDS disabled by the test runner): the declaration is still accepted.
"$IRHOST" "$HELLO" --name A --out "$tmp/r5" >"$tmp/r5.out" 2>"$tmp/r5.err"
check "no region: the run still has its report, with no region in it" \
  bash -c "[ -s '$tmp/r5/report.json' ] && [ -z '$(region_of "$tmp/r5")' ] && grep -q '\"type\":\"run_start\"' '$tmp/r5/report.json'"
check "no region: the declaration is not refused" bash -c "! grep -q 'refused the declaration' '$tmp/r5.err'"

# ---------------------------------------------------------------- usage errors leave no run directory

mkdir "$tmp/cwd"
# in_cwd NAME ARGS...: runs $IRHOST in $tmp/cwd; leaves $tmp/NAME.out/.err and $rc.
in_cwd() { local n="$1"; shift; (cd "$tmp/cwd" && "$IRHOST" "$@" >"$tmp/$n.out" 2>"$tmp/$n.err" </dev/null); rc=$?; }
H="$IRHOST_ROOT/$HELLO"
in_cwd u1 "$H" --name A --bogus 1
check "unknown runbook flag: exit 2, no ./irhost-runs" bash -c "[ $rc -eq 2 ] && [ ! -e '$tmp/cwd/irhost-runs' ]"
in_cwd u2 "$H"
check "missing required param: exit 2, no ./irhost-runs" bash -c "[ $rc -eq 2 ] && [ ! -e '$tmp/cwd/irhost-runs' ]"
in_cwd u3 "$H" --name A --count many
check "bad value: exit 2, no ./irhost-runs" bash -c "[ $rc -eq 2 ] && [ ! -e '$tmp/cwd/irhost-runs' ]"
in_cwd u4 "$IRHOST_ROOT/$FIX/syntax_error.lua"
check "runbook with a syntax error: exit 2, no ./irhost-runs" bash -c "[ $rc -eq 2 ] && [ ! -e '$tmp/cwd/irhost-runs' ]"
in_cwd u5 "$H" --name A --count many --json
check "--json with a usage error: the report on stdout, no ./irhost-runs" \
  bash -c "[ $rc -eq 2 ] && [ ! -e '$tmp/cwd/irhost-runs' ] && grep -q '\"exit\":2' '$tmp/u5.out'"
check "usage errors: the message says what to fix" has u3 err "--count"

AWS_REGION=eu-west-3 in_cwd ok1 "$H" --name A --quiet
check "a run that ran keeps its directory" bash -c "[ $rc -eq 0 ] && [ \$(ls '$tmp/cwd/irhost-runs' | wc -l) -eq 1 ]"
in_cwd u6 "$H" --name A --bogus 1
check "a usage error after it: ./irhost-runs keeps only the earlier run" \
  bash -c "[ $rc -eq 2 ] && [ \$(ls '$tmp/cwd/irhost-runs' | wc -l) -eq 1 ]"
in_cwd u7 "$H" --name A --count many --out given
check "--out DIR named by the user keeps its report after a usage error" \
  bash -c "[ $rc -eq 2 ] && [ -s '$tmp/cwd/given/report.json' ]"
# A run that failed for another reason (no credentials: exit 4) keeps its directory.
rm -rf "$tmp/cwd/irhost-runs"
(cd "$tmp/cwd" && env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_REGION=eu-west-3 HOME="$tmp" \
  "$IRHOST" "$H" --name A --quiet >/dev/null 2>&1 </dev/null); rc=$?
check "a run that ended with exit $rc (not a usage error) keeps its directory" \
  bash -c "[ $rc -ne 2 ] && [ -d '$tmp/cwd/irhost-runs' ] && [ \$(ls '$tmp/cwd/irhost-runs' | wc -l) -eq 1 ]"
check "no output holds the secret key" bash -c "! grep -rqF -- '$AWS_SECRET_ACCESS_KEY' '$tmp'"

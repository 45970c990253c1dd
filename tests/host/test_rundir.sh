#!/bin/bash
# What a run leaves behind: the run directory, evidence with SHA256SUMS, the reports,
# --json on stdout, the default directory name, and --resume.
source "$IRHOST_ROOT/tests/host/env.sh"

d="$tmp/run1"
run first "$HELLO" --name Alice --count 3 --out "$d"
check "hello runs: exit 0" test "$rc" -eq 0
check "run directory is 0700" test "$(stat -c %a "$d")" = 700
for f in report.json report.md run.log SHA256SUMS evidence/greeting.txt; do check "run directory has $f" test -s "$d/$f"; done
check "evidence file is 0600" test "$(stat -c %a "$d/evidence/greeting.txt")" = 600
check "SHA256SUMS verifies the evidence" bash -c "cd '$d' && sha256sum --quiet -c SHA256SUMS"
check "report.json is JSON with version, events, evidence, calls, exit, runner" \
  "$PYTHON" -c "
import json, sys
r = json.load(open('$d/report.json'))
assert r['version'] == 1 and r['exit'] == 0 and r['runner']['status'] == 'ok', r
types = [e['type'] for e in r['events']]
assert types[0] == 'run_start' and types[-1] == 'run_end', types
assert types.count('step_end') == 3, types
assert r['evidence'][0]['name'] == 'greeting.txt' and len(r['evidence'][0]['sha256']) == 64
assert set(r['calls']) >= {'calls', 'mutating', 'planned', 'retries', 'errors'}
"
check "report.md names the runbook and its steps" bash -c "grep -q hello '$d/report.md' && grep -q 'Save the greeting as evidence' '$d/report.md'"

run again "$HELLO" --name Alice --out "$d"
check "--out on a finished run is refused (exit 2, hint --resume)" bash -c "[ $rc -eq 2 ] && grep -q -- '--resume' '$tmp/again.err'"

# --json: the report on stdout and nothing else.
run json "$HELLO" --name Bob --out "$tmp/run2" --json
check "--json: stdout is exactly report.json" bash -c "[ $rc -eq 0 ] && cmp -s '$tmp/json.out' '$tmp/run2/report.json'"
check "--json: stdout parses as JSON" "$PYTHON" -c "import json; json.load(open('$tmp/json.out'))"
run json_help "$HELLO" --name Bob --out "$tmp/run3" --json --count nope
check "--json with a usage error: stdout is still only the report" bash -c "[ $rc -eq 2 ] && cmp -s '$tmp/json_help.out' '$tmp/run3/report.json'"

# Default directory: ./irhost-runs/<UTC timestamp>-<runbook>/
mkdir "$tmp/cwd"
(cd "$tmp/cwd" && "$IRHOST" "$IRHOST_ROOT/$HELLO" --name C --quiet </dev/null)
check "default run directory is irhost-runs/<UTC YYYYmmddTHHMMSSZ>-hello" \
  bash -c "ls '$tmp/cwd/irhost-runs' | grep -Eq '^[0-9]{8}T[0-9]{6}Z-hello$'"

# A failed run still writes its reports; --resume skips what finished.
run spin "$FIX/loop_step.lua" --out "$tmp/run4" --timeout 2
check "a step that hits the wall clock: exit 3" test "$rc" -eq 3
check "the limit is named, with how to raise it" has spin err "wall-clock limit of 2 s exceeded (raise it with --timeout SECONDS)"
check "report after the kill: runner status limit, open step failed, runner_died event" \
  "$PYTHON" -c "
import json
r = json.load(open('$tmp/run4/report.json'))
assert r['exit'] == 3 and r['runner']['status'] == 'limit', r['runner']
ends = [e for e in r['events'] if e['type'] == 'step_end']
assert ends[0]['status'] == 'done' and ends[-1]['name'] == 'Spin' and ends[-1]['status'] == 'failed', ends
assert r['events'][-1]['type'] == 'runner_died'
"
check "report.md exists after the kill" test -s "$tmp/run4/report.md"
run resume "$FIX/loop_step.lua" --resume "$tmp/run4" --timeout 2
check "--resume continues in the same directory (exit 3 again, same dir)" bash -c "[ $rc -eq 3 ] && grep -q 'run directory: $tmp/run4' '$tmp/resume.err'"
check "--resume: the finished step is not run again" \
  "$PYTHON" -c "
import json
r = json.load(open('$tmp/run4/report.json'))
i = [e['type'] for e in r['events']].index('resume')
after = [e for e in r['events'][i:] if e['type'] == 'step_end' and e['name'] == 'First']
assert after and after[0]['status'].startswith('done') and after[0].get('resumed'), after
assert after[0]['outputs'] == {'first': 1}, after
"
run resume2 "$FIX/loop_step.lua" --resume "$tmp/run4" --timeout 2
check "a second --resume still knows the step finished" \
  "$PYTHON" -c "
import json
r = json.load(open('$tmp/run4/report.json'))
i = len(r['events']) - 1 - [e['type'] for e in r['events']][::-1].index('resume')
after = [e for e in r['events'][i:] if e['type'] == 'step_end' and e['name'] == 'First']
assert after and after[0].get('resumed'), after
"
run resume_bad "$HELLO" --name A --resume "$tmp/cwd"
check "--resume of a directory without a report: exit 2" bash -c "[ $rc -eq 2 ] && grep -q 'no readable report.json' '$tmp/resume_bad.err'"

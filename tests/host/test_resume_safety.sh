#!/bin/bash
# --resume acts only on the run it continues: another runbook, other params, or --dry-run
# over a real run are refused (exit 2, one line, the run directory untouched); params left
# out are taken from the run directory; the resumed report keeps the earlier attempt's
# record (its changes, start time and calls) and says each follow-up once.
source "$IRHOST_ROOT/tests/host/env.sh"
RC="$FIX/resume_changes.lua"
# json_check DIR PYTHON-CODE: runs the code with r = DIR/report.json.
json_check() { "$PYTHON" -c "import json, sys; r = json.load(open('$1/report.json')); $2"; }
# sums DIR: a fingerprint of the run directory's reports.
sums() { cat "$1/report.json" "$1/report.md" | sha256sum; }

echo fail >"$tmp/gate"
d="$tmp/run"
run first "$RC" --target i-0aaa --ticket IR-1 --gate "$tmp/gate" --out "$d"
check "the first attempt fails in its last step (exit 1)" test "$rc" -eq 1
before=$(sums "$d")

# Other params: refused before any step runs, nothing written.
run other "$RC" --target i-0bbb --ticket IR-2 --gate "$tmp/gate" --resume "$d"
check "other params: exit 2" test "$rc" -eq 2
check "other params: one line naming the param and what to do" \
  bash -c "[ \$(wc -l <'$tmp/other.err') -eq 1 ] && grep -qF -- '--target was i-0aaa there, i-0bbb here' '$tmp/other.err' && grep -qF 'give the same params, or none' '$tmp/other.err'"
check "other params: the run's reports are untouched" test "$(sums "$d")" = "$before"
check "other params: no step ran (no new event in the run log)" bash -c "! grep -q 'i-0bbb' '$d/run.log'"

# Another runbook file on the run directory: refused before anything runs.
run hello "$HELLO" --name A --resume "$d"
check "another runbook: exit 2, one line" bash -c "[ $rc -eq 2 ] && [ \$(wc -l <'$tmp/hello.err') -eq 1 ]"
check "another runbook: the message names the run's runbook" has hello err "is a run of $RC"
check "another runbook: the run's reports are untouched" test "$(sums "$d")" = "$before"

# --dry-run over a real run.
run dry "$RC" --dry-run --resume "$d"
check "--dry-run --resume of a real run: exit 2, says why" bash -c "[ $rc -eq 2 ] && grep -qF 'continues a real run: --dry-run cannot resume it' '$tmp/dry.err'"
check "--dry-run: the run's reports are untouched" test "$(sums "$d")" = "$before"

# No params: taken from the run directory; the same params given again also work.
echo pass >"$tmp/gate"
run resume "$RC" --resume "$d"
check "no params on resume: they come from the run directory (exit 0)" test "$rc" -eq 0
check "the resume says which params it took" has resume err "resuming with the run's params: --gate=$tmp/gate --target=i-0aaa --ticket=IR-1"
check "the report keeps the first attempt's change in the resumed step" json_check "$d" "
ends = [e for e in r['events'] if e['type'] == 'step_end' and e['name'] == 'Contain']
assert ends[-1]['status'] == 'done (resumed)', ends
assert ends[-1]['changes'] and ends[-1]['changes'][0]['resource'] == 'i-0aaa', ends[-1]"
check "report.md still lists the change" grep -q 'i-0aaa' "$d/report.md"
check "the start time is the first attempt's, the resume's is kept beside it" json_check "$d" "
starts = [e for e in r['events'] if e['type'] == 'run_start']
assert len(starts) == 2 and starts[1]['time'] == starts[0]['time'] and starts[1].get('resumed_at'), starts"
check "each follow-up once" json_check "$d" "
f = [e['text'] for e in r['events'] if e['type'] == 'followup']
assert f == ['Review i-0aaa with its owner'], f"
check "calls count both attempts' audit lines" json_check "$d" "
n = sum(1 for _ in open('$d/audit.jsonl'))
assert n >= 2 and r['calls']['calls'] == n, (n, r['calls'])"

# The same params given explicitly are fine too.
echo fail >"$tmp/gate2"
run f2 "$RC" --target i-0ccc --gate "$tmp/gate2" --out "$tmp/run2"
echo pass >"$tmp/gate2"
run r2 "$RC" --gate "$tmp/gate2" --target i-0ccc --resume "$tmp/run2"
check "the same params given again: exit 0" test "$rc" -eq 0
check "no stack dump or sanitizer report" bash -c "! grep -qE 'stack traceback|AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.err '$tmp'/*.out"

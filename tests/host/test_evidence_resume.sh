#!/bin/bash
# Evidence and --resume: a step that saved evidence and then failed runs again on resume;
# its new copies go under evidence/resumed-<UTC time>/, nothing is overwritten, the report
# names both; a name saved twice in one attempt, or a bad name, fails with the broker's reason.
source "$IRHOST_ROOT/tests/host/env.sh"
EV="$FIX/evidence_resume.lua"
# gate NAME fail|pass: a --gate file for the fixture (the params stay the same across a resume).
gate() { echo "$2" >"$tmp/gate-$1"; echo "$tmp/gate-$1"; }

# json_check DIR PYTHON-CODE: runs the code with r = DIR/report.json.
json_check() { "$PYTHON" -c "import json, sys; r = json.load(open('$1/report.json')); $2"; }

d="$tmp/run"
g=$(gate run fail)
run first "$EV" --gate "$g" --out "$d"
check "the first attempt fails after saving evidence (exit 1)" test "$rc" -eq 1
check "its evidence is there" bash -c "[ \"\$(cat '$d/evidence/a.txt')\" = 'attempt that failed' ] && test -s '$d/evidence/logs/b.json'"

gate run pass >/dev/null
run resume "$EV" --resume "$d"
check "--resume reruns the failed step and succeeds (exit 0)" test "$rc" -eq 0
check "no evidence refusal on resume" bash -c "! grep -q 'already exists' '$tmp/resume.err'"
check "the earlier attempt's file is not overwritten" test "$(cat "$d/evidence/a.txt")" = "attempt that failed"
copy=$(cd "$d/evidence" && ls -d resumed-* 2>/dev/null)
check "the rerun's copies go to evidence/resumed-<UTC time>/" \
  bash -c "echo '$copy' | grep -Eq '^resumed-[0-9]{8}T[0-9]{6}Z$'"
check "the copy holds the rerun's content, nested names kept" \
  bash -c "[ \"\$(cat '$d/evidence/$copy/a.txt')\" = 'attempt that finished' ] && test -s '$d/evidence/$copy/logs/b.json'"
check "a finished step is not rerun: one first.txt" test "$(find "$d/evidence" -name first.txt | wc -l)" -eq 1
check "SHA256SUMS lists all five files and verifies" \
  bash -c "[ \$(wc -l <'$d/SHA256SUMS') -eq 5 ] && cd '$d' && sha256sum --quiet -c SHA256SUMS"
check "report.json keeps both copies in its evidence list" json_check "$d" "
names = [e['name'] for e in r['evidence']]
assert 'a.txt' in names and '$copy/a.txt' in names and '$copy/logs/b.json' in names, names"
check "the rerun's step_end records the copy, what it copies, and a note" json_check "$d" "
ends = [e for e in r['events'] if e['type'] == 'step_end' and e['name'] == 'Collect']
last = ends[-1]
assert last['status'] == 'done', last
ev = {e['name']: e for e in last['evidence']}
assert ev['$copy/a.txt']['copy_of'] == 'a.txt', ev
assert last['outputs']['stored_as'] == '$copy/a.txt', last
assert any('a.txt was saved by the run being resumed' in n and '$copy/a.txt' in n for n in last['notes']), last"
check "report.md names both files" \
  bash -c "grep -qF '| a.txt |' '$d/report.md' && grep -qF '| $copy/a.txt (saved on resume; a.txt is the earlier attempt' '$d/report.md'"

# A second failed resume and a third: each attempt keeps its own copy.
d2="$tmp/run2"
g2=$(gate run2 fail)
run f2 "$EV" --gate "$g2" --out "$d2"
run r2 "$EV" --gate "$g2" --resume "$d2"
check "a resumed attempt that fails again: exit 1, no refusal" bash -c "[ $rc -eq 1 ] && ! grep -q 'already exists' '$tmp/r2.err'"
gate run2 pass >/dev/null
run r3 "$EV" --resume "$d2"
check "the next resume succeeds" test "$rc" -eq 0
check "three attempts, three copies of a.txt, all different files" \
  bash -c "[ \$(find '$d2/evidence' -name a.txt -type f | wc -l) -eq 3 ] && cd '$d2' && sha256sum --quiet -c SHA256SUMS"

# The same name twice within one attempt is a runbook bug: the broker's reason reaches Lua.
run twice "$EV" --twice --out "$tmp/run3"
check "a name saved twice in one run fails the step (exit 1)" test "$rc" -eq 1
check "the error says the file exists and is never overwritten" has twice err "evidence/a.txt already exists (evidence is never overwritten)"
run f4 "$EV" --twice --gate "$(gate run4 fail)" --out "$tmp/run4"
run twice_resumed "$EV" --resume "$tmp/run4"
check "on resume too, the second save in the same attempt fails" \
  bash -c "[ $rc -eq 1 ] && grep -qF 'already exists (evidence is never overwritten)' '$tmp/twice_resumed.err'"
run bad "$EV" --bad --out "$tmp/run5"
check "a bad name fails with the broker's reason" \
  bash -c "[ $rc -eq 1 ] && grep -qF \"evidence name '../escape' refused: use letters, digits\" '$tmp/bad.err'"
check "no stack dump or sanitizer report" bash -c "! grep -qE 'stack traceback|AddressSanitizer|runtime error:|LeakSanitizer' '$tmp'/*.err '$tmp'/*.out"

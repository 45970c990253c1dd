#!/bin/bash
# A runner that crashes or is killed mid-step: the broker still writes report.json and
# report.md, marks the open step failed, and exits 3. (A Lua 5.4.4 crasher reachable from
# a runbook is refused by the sandbox, see escapes/24: so the crash is delivered as a
# signal, exactly what the broker would see from a real one.)
source "$IRHOST_ROOT/tests/host/env.sh"

# start_spin NAME: starts the looping fixture in the background; sets $bpid and $rpid.
start_spin() {
  "$IRHOST" "$FIX/loop_step.lua" --out "$tmp/$1" --timeout 60 >"$tmp/$1.out" 2>"$tmp/$1.err" </dev/null &
  bpid=$!
  rpid=""
  for _ in $(seq 1 200); do
    rpid=$(tr -d ' ' <"/proc/$bpid/task/$bpid/children" 2>/dev/null)
    [ -n "$rpid" ] && break
    sleep 0.05
  done
  sleep 1   # well inside the endless step by now
}

for sig in SEGV KILL BUS; do
  start_spin "crash-$sig"
  if [ -z "$rpid" ]; then fail "SIG$sig: no runner process found"; kill "$bpid"; wait "$bpid"; continue; fi
  kill -"$sig" "$rpid"
  wait "$bpid"; rc=$?
  check "runner killed by SIG$sig: exit 3" test "$rc" -eq 3
  check "SIG$sig: the broker says the runner crashed" grep -Eq "the runner (crashed|ended without finishing)" "$tmp/crash-$sig.err"
  check "SIG$sig: report.json and report.md written" test -s "$tmp/crash-$sig/report.json" -a -s "$tmp/crash-$sig/report.md"
  check "SIG$sig: report says crashed, the open step failed, runner_died last" "$PYTHON" -c "
import json
r = json.load(open('$tmp/crash-$sig/report.json'))
assert r['exit'] == 3 and r['runner']['status'] == 'crashed', r['runner']
ends = [e for e in r['events'] if e['type'] == 'step_end']
assert ends[-1]['name'] == 'Spin' and ends[-1]['status'] == 'failed', ends
assert r['events'][-1]['type'] == 'runner_died'
"
done

# Ctrl-C: the broker stops the runner, still writes the report, exits 130.
start_spin interrupt
kill -INT "$bpid"
wait "$bpid"; rc=$?
check "SIGINT to the broker: exit 130 and a report saying interrupted" bash -c "[ $rc -eq 130 ] && grep -q '\"status\":\"interrupted\"' '$tmp/interrupt/report.json'"
check "SIGINT: no runner left behind" bash -c "! kill -0 $rpid 2>/dev/null"

# SIGTERM or SIGHUP to the whole process group (timeout(1), a cancelled CI job, a closed
# terminal) reaches the runner too: the run was interrupted (exit 130), not crashed, and
# the message names the signal, not Ctrl-C.
for sig in TERM HUP; do
  setsid "$IRHOST" "$FIX/loop_step.lua" --out "$tmp/group-$sig" --timeout 60 >"$tmp/group-$sig.out" 2>"$tmp/group-$sig.err" </dev/null &
  bpid=$!
  for _ in $(seq 1 200); do [ -n "$(tr -d ' ' <"/proc/$bpid/task/$bpid/children" 2>/dev/null)" ] && break; sleep 0.05; done
  sleep 1
  kill -"$sig" -- -"$bpid"
  wait "$bpid"; rc=$?
  check "SIG$sig to the process group: exit 130" test "$rc" -eq 130
  check "SIG$sig to the process group: report says interrupted, not crashed" "$PYTHON" -c "
import json
r = json.load(open('$tmp/group-$sig/report.json'))
assert r['exit'] == 130 and r['runner']['status'] == 'interrupted', r['runner']"
  check "SIG$sig: the message names SIG$sig and not Ctrl-C" \
    bash -c "grep -q 'SIG$sig' '$tmp/group-$sig.err' && ! grep -q 'Ctrl-C' '$tmp/group-$sig.err' && ! grep -q crashed '$tmp/group-$sig.err'"
done
timeout 2 "$IRHOST" "$FIX/loop_step.lua" --out "$tmp/timeout1" --timeout 60 >"$tmp/timeout1.out" 2>"$tmp/timeout1.err" </dev/null
check "timeout(1): the report says interrupted by SIGTERM" \
  bash -c "grep -q '\"status\":\"interrupted\"' '$tmp/timeout1/report.json' && grep -q 'SIGTERM' '$tmp/timeout1.err'"

#!/bin/bash
# On a terminal (a pseudo-terminal from script(1)): colours on stderr, and destructive
# steps ask on /dev/tty; "n" refuses (exit 5), "y" runs the step.
source "$IRHOST_ROOT/tests/host/env.sh"
if ! command -v script >/dev/null; then skip "terminal tests" "script(1) is not installed"; exit 0; fi

# on_tty NAME ANSWER ARGS...: runs irhost on a pty, typing ANSWER once it has asked.
on_tty() {
  local n="$1" answer="$2"; shift 2
  local cmd; printf -v cmd '%q ' "$IRHOST" "$@"
  { for _ in $(seq 1 100); do grep -q 'Proceed' "$tmp/$n.tty" 2>/dev/null && break; sleep 0.1; done
    printf '%s\r' "$answer"; sleep 1; } | timeout 60 script -qec "$cmd" /dev/null >"$tmp/$n.tty" 2>&1
  rc=$?
}

on_tty refuse n "$FIX/destructive.lua" --out "$tmp/r1"
check "the prompt names the step and asks y/N" grep -q 'Change something. Proceed? \[y/N\]' "$tmp/refuse.tty"
check "answering n refuses: exit 5, the step did not run" bash -c "[ $rc -eq 5 ] && grep -q '\"exit\":5' '$tmp/r1/report.json' && ! grep -q '\"action\":\"Change\"' '$tmp/r1/report.json'"
check "colours on a terminal" grep -q $'\033\[32m' "$tmp/refuse.tty"
on_tty accept y "$FIX/destructive.lua" --out "$tmp/r2"
check "answering y runs the step: exit 0, the change is in the report" bash -c "[ $rc -eq 0 ] && grep -q '\"action\":\"Change\"' '$tmp/r2/report.json'"
NO_COLOR=1 on_tty nocolor y "$FIX/destructive.lua" --out "$tmp/r3"
check "NO_COLOR: the run still works" test "$rc" -eq 0
check "NO_COLOR turns colours off" bash -c "! grep -qF \$'\\033[3' '$tmp/nocolor.tty'"
check "(and the colour check can see colours)" bash -c "grep -qF \$'\\033[3' '$tmp/refuse.tty'"

# TAP helpers for shell test suites: source it, then call ok/fail/skip/check.
# shellcheck shell=bash
TAP_N=0
ok()   { TAP_N=$((TAP_N+1)); echo "ok $TAP_N - $*"; }
fail() { TAP_N=$((TAP_N+1)); echo "not ok $TAP_N - $*"; }
skip() { TAP_N=$((TAP_N+1)); echo "ok $TAP_N - $1 # SKIP ${2:-}"; }
# check NAME CMD...: passes when CMD exits 0.
check() { local n="$1"; shift; if "$@"; then ok "$n"; else fail "$n"; fi; }
# expect_rc NAME RC CMD...: passes when CMD exits with RC.
expect_rc() { local n="$1" want="$2"; shift 2; "$@"; local rc=$?; if [ "$rc" -eq "$want" ]; then ok "$n"; else fail "$n (exit $rc, want $want)"; fi; }
tmpdir() { mktemp -d "${TMPDIR:-/tmp}/irhost-test.XXXXXX"; }

#!/bin/bash
# Runs every test suite and prints one summary line: "N passed, N failed[, N skipped]".
# A suite prints TAP lines ("ok - name", "not ok - name", "ok - name # SKIP why");
# a suite that exits non-zero without reporting a failure counts as one failure.
# Usage: tests/run.sh [PATTERN]   (only suites whose path contains PATTERN)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export IRHOST_ROOT="$ROOT"
BUILD="${BUILD:-build}"
export IRHOST="${IRHOST:-$ROOT/$BUILD/asan/irhost}"
export IRHOST_REL="$ROOT/$BUILD/rel/irhost"
export IRHOST_LUA="${IRHOST_LUA:-$ROOT/$BUILD/asan/irhost-lua}"
export IRHOST_LUA_REL="$ROOT/$BUILD/rel/irhost-lua"
export PYTHON=/usr/bin/python3
export IRHOST_SHARED="${IRHOST_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp}"
export PYTHONDONTWRITEBYTECODE=1
# Nothing in the tests may query a real instance metadata service.
export AWS_EC2_METADATA_DISABLED=true
pattern="${1:-}"
logdir="$ROOT/$BUILD/test-logs"
rm -rf "$logdir"; mkdir -p "$logdir"

suites=()
for b in "$BUILD"/asan/unit/test_*; do [ -x "$b" ] && suites+=("$b"); done
while IFS= read -r f; do suites+=("$f"); done < <(find tests -path tests/fakeaws/worlds -prune -o -type f \
    \( -name 'test_*.sh' -o -name 'test_*.py' -o -name 'test_*.lua' \) -print | grep -v '/runbook-tests/' | sort)

pass=0; fail=0; skip=0
for s in "${suites[@]}"; do
  [ -n "$pattern" ] && [[ "$s" != *"$pattern"* ]] && continue
  log="$logdir/$(echo "$s" | tr '/' '_').log"
  start=$(date +%s)
  case "$s" in
    *.sh)  timeout 1200 bash "$s" >"$log" 2>&1 ;;
    *.py)  timeout 1200 "$PYTHON" "$s" >"$log" 2>&1 ;;
    *.lua) timeout 1200 "$IRHOST_LUA" "$s" >"$log" 2>&1 ;;
    *)     timeout 1200 "$s" >"$log" 2>&1 ;;
  esac
  rc=$?
  p=$(grep -cE '^ok ' "$log" | tr -d ' ')
  sk=$(grep -cE '^ok .*# *(SKIP|skip)' "$log" | tr -d ' ')
  f=$(grep -cE '^not ok ' "$log" | tr -d ' ')
  p=$((p - sk))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1; echo "not ok - $s exited with status $rc" >>"$log"
  fi
  if [ $((p + f + sk)) -eq 0 ]; then
    f=1; echo "not ok - $s reported no test" >>"$log"
  fi
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + sk))
  status="ok"; [ "$f" -gt 0 ] && status="FAIL"
  printf '%-4s %-55s %4d passed %3d failed %3d skipped (%ss)\n' "$status" "$s" "$p" "$f" "$sk" $(( $(date +%s) - start ))
  if [ "$f" -gt 0 ]; then
    grep -E '^not ok ' "$log" | head -20 | sed 's/^/     /'
    echo "     (full log: $log)"
    tail -n 15 "$log" | sed 's/^/     | /'
  fi
done
summary="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && summary="$summary, $skip skipped"
echo "$summary"
[ "$fail" -eq 0 ]

#!/bin/bash
# The command line: subcommands, host options, usage errors (exit 2, one line + hint).
source "$IRHOST_ROOT/tests/host/env.sh"

run version version
check "version: exit 0, names irhost and Lua" bash -c "[ $rc -eq 0 ] && grep -q '^irhost [0-9.]* (Lua 5.4' '$tmp/version.out'"
run help help
check "help: exit 0, usage on stdout" bash -c "[ $rc -eq 0 ] && grep -q 'usage:' '$tmp/help.out' && grep -q -- '--max-mutating-calls' '$tmp/help.out'"
run bare
check "no arguments: usage, exit 0" bash -c "[ $rc -eq 0 ] && grep -q 'usage:' '$tmp/bare.out'"

# Usage errors: exit 2, one line, a hint, no crash.
usage_error() {
  local name="$1" want="$2"; shift 2
  run "$name" "$@"
  if [ "$rc" -eq 2 ] && has "$name" err "$want" && clean "$name" && [ ! -s "$tmp/$name.out" ]; then ok "$name: exit 2, '$want'"
  else fail "$name: exit $rc"; sed 's/^/#   /' "$tmp/$name.err" | head -5; fi
}
usage_error "unknown host flag before the runbook" "unknown option --bogus" --bogus "$HELLO"
usage_error "unknown runbook flag" "--bogus" "$HELLO" --name A --bogus 1 --out "$tmp/o1"
usage_error "missing required param" "--name" "$HELLO" --out "$tmp/o2"
usage_error "param fails its pattern" "--name" "$HELLO" --name 'bad;value' --out "$tmp/o3"
usage_error "param not in choices" "--style" "$HELLO" --name A --style weird --out "$tmp/o4"
usage_error "integer param gets text" "--count" "$HELLO" --name A --count many --out "$tmp/o5"
usage_error "missing runbook file" "cannot read runbook" "$tmp/nope.lua"
usage_error "runbook is a directory" "not a regular file" "$tmp"
usage_error "bad --timeout" "--timeout: 'soon' is not a number" "$HELLO" --timeout soon
usage_error "bad --memory-limit" "--memory-limit: '1' is not a size" "$HELLO" --memory-limit 1
usage_error "bad --rate" "--rate: 'ec2' is not SERVICE=N/s" "$HELLO" --rate ec2
usage_error "--region without value" "--region needs a value" "$HELLO" --region
usage_error "flag with a value" "--dry-run takes no value" "$HELLO" --dry-run=yes
usage_error "--quiet with --verbose" "contradict" "$HELLO" --quiet --verbose
usage_error "check without files" "check needs at least one" check
usage_error "describe without a runbook" "describe takes one runbook" describe
usage_error "syntax error" "syntax_error.lua:3:" "$FIX/syntax_error.lua" --out "$tmp/o6"
usage_error "not a runbook" "must end with \`return ir.runbook{...}\`" "$FIX/no_declaration.lua" --out "$tmp/o7"
printf '\033LuaT\000\031\223\r\n' >"$tmp/bytecode.lua"
usage_error "bytecode runbook" "compiled Lua bytecode" "$tmp/bytecode.lua"
for n in "unknown host flag before the runbook" "missing runbook file" "bad --timeout" "syntax error" "bytecode runbook"; do
  check "$n: the error is one line" test "$(lines "$n")" -eq 1
done
check "syntax error: a report is still written" test -s "$tmp/o6/report.json"

run runtime "$FIX/runtime_error.lua" --out "$tmp/o8"
check "runtime error in the main chunk: exit 1, file:line, no stack dump" \
  bash -c "[ $rc -eq 1 ] && grep -q 'runtime_error.lua:3: attempt to index a nil value' '$tmp/runtime.err' && ! grep -q traceback '$tmp/runtime.err'"

# Runbook help, describe, check.
run rbhelp "$HELLO" --help
check "RUNBOOK --help: exit 0, description and params on stdout" \
  bash -c "[ $rc -eq 0 ] && grep -q 'Greets someone' '$tmp/rbhelp.out' && grep -q -- '--name' '$tmp/rbhelp.out' && grep -q -- '--count' '$tmp/rbhelp.out'"
run rbhelp2 -h "$HELLO"
check "-h before the runbook works too" bash -c "[ $rc -eq 0 ] && grep -q 'Greets someone' '$tmp/rbhelp2.out'"
mkdir "$tmp/cwd"
(cd "$tmp/cwd" && "$IRHOST" "$IRHOST_ROOT/$HELLO" --help >/dev/null 2>&1)
check "--help makes no run directory" test ! -e "$tmp/cwd/irhost-runs"
run describe describe "$HELLO"
check "describe: name, params, permissions, steps" \
  bash -c "[ $rc -eq 0 ] && grep -q 'name: hello' '$tmp/describe.out' && grep -q 'permissions:' '$tmp/describe.out' && grep -q 'Save the greeting as evidence' '$tmp/describe.out'"
run check_ok check "$HELLO" "$FIX/destructive.lua"
check "check of good runbooks: exit 0" test "$rc" -eq 0
run check_bad check "$HELLO" "$FIX/syntax_error.lua"
check "check with a syntax error: exit 1, file:line:col on stdout" bash -c "[ $rc -eq 1 ] && grep -q 'syntax_error.lua:3:11: error:' '$tmp/check_bad.out'"

# Option order, --name=value, and `--`.
run order --out "$tmp/o9" --quiet "$HELLO" --count=4 --name Bob
check "host options before the runbook, --name=value form" bash -c "[ $rc -eq 0 ] && grep -q '\"sum\":10' '$tmp/o9/report.json' && grep -q 'Hello, Bob!' '$tmp/o9/report.json'"
run dashdash "$HELLO" --out "$tmp/o10" --name Bob -- --dry-run
check "-- ends host options (--dry-run after it goes to the runbook)" bash -c "[ $rc -eq 2 ] && grep -q -- '--dry-run' '$tmp/dashdash.err'"
run quiet "$HELLO" --name A --out "$tmp/o11" --quiet
check "--quiet: nothing on stderr or stdout for a good run" bash -c "[ $rc -eq 0 ] && [ ! -s '$tmp/quiet.err' ] && [ ! -s '$tmp/quiet.out' ]"

# Progress and prints.
run progress "$HELLO" --name A --out "$tmp/o12"
check "progress: one line per step with ✓ and the run directory" \
  bash -c "[ $rc -eq 0 ] && [ \$(grep -c '✓' '$tmp/progress.err') -eq 3 ] && grep -q 'run directory: $tmp/o12' '$tmp/progress.err' && [ ! -s '$tmp/progress.out' ]"
check "no colour codes when stderr is not a terminal" bash -c "! grep -q $'\033' '$tmp/progress.err'"
run prints "$FIX/prints.lua" --out "$tmp/o13"
check "print goes to stderr and run.log, not stdout" \
  bash -c "[ $rc -eq 0 ] && grep -q 'hello from print	42' '$tmp/prints.err' && grep -q 'printed in a step' '$tmp/o13/run.log' && [ ! -s '$tmp/prints.out' ]"
check "require finds lib/ and dotted sub-folder modules" bash -c "grep -q '\"double\":42' '$tmp/o13/report.json' && grep -q '\"helper\":\"sub.helper\"' '$tmp/o13/report.json'"
run reqmiss "$FIX/requires_missing.lua" --out "$tmp/o14"
check "require of a missing module: exit 1, names it" bash -c "[ $rc -eq 1 ] && grep -q \"module 'does_not_exist' not found\" '$tmp/reqmiss.err'"

# Confirmation without a terminal.
run confirm "$FIX/destructive.lua" --out "$tmp/o15"
check "destructive step without a TTY: exit 5 (refused)" test "$rc" -eq 5
check "refusal is in the report" bash -c "grep -q '\"exit\":5' '$tmp/o15/report.json'"
run confirm_yes "$FIX/destructive.lua" --out "$tmp/o16" --yes
check "--yes runs the destructive step" bash -c "[ $rc -eq 0 ] && grep -q '\"action\":\"Change\"' '$tmp/o16/report.json'"
run confirm_dry "$FIX/destructive.lua" --out "$tmp/o17" --dry-run
check "--dry-run does not ask and does not change" bash -c "[ $rc -eq 0 ]"

for n in version help rbhelp describe order progress prints confirm; do check "$n: clean output" clean "$n"; done

# Values the CLI can judge alone are usage errors before any run directory exists.
in_dir() { local n="$1"; shift; mkdir -p "$tmp/cwd-$n"; (cd "$tmp/cwd-$n" && "$IRHOST" "$@" >"$tmp/$n.out" 2>"$tmp/$n.err" </dev/null); rc=$?; }
in_dir badregion "$IRHOST_ROOT/$HELLO" --name A --region 'eu west 1'
check "--region that is no region name: exit 2, one line, no run directory" \
  bash -c "[ $rc -eq 2 ] && [ \$(wc -l <'$tmp/badregion.err') -eq 1 ] && grep -qF -- \"--region: 'eu west 1' is not an AWS region name\" '$tmp/badregion.err' && [ ! -e '$tmp/cwd-badregion/irhost-runs' ]"
in_dir badurl "$IRHOST_ROOT/$HELLO" --name A --endpoint-url notaurl
check "--endpoint-url notaurl: exit 2, one line saying what to give, no run directory" \
  bash -c "[ $rc -eq 2 ] && [ \$(wc -l <'$tmp/badurl.err') -eq 1 ] && grep -qF 'is not a URL: give http(s)://HOST[:PORT]' '$tmp/badurl.err' && [ ! -e '$tmp/cwd-badurl/irhost-runs' ]"
run goodregion "$HELLO" --name A --region us-gov-west-1 --endpoint-url "$AWS_ENDPOINT_URL/" --out "$tmp/o20" --quiet
check "a real region name and URL are accepted" test "$rc" -eq 0
usage_error "--timeout 0" "--timeout: '0' is not a number of seconds greater than 0" "$HELLO" --timeout 0

# A missing region: one line saying what to set (and the summary), not the same text twice.
mkdir -p "$tmp/cwd-noregion"
(cd "$tmp/cwd-noregion" && env -u AWS_REGION -u AWS_DEFAULT_REGION "$IRHOST" "$IRHOST_ROOT/$FIX/whoami.lua" >"$tmp/noregion.out" 2>"$tmp/noregion.err" </dev/null); rc=$?
check "no region: exit 4" test "$rc" -eq 4
check "no region: one line saying what to set, then the summary" \
  bash -c "[ \$(wc -l <'$tmp/noregion.err') -eq 2 ] && head -1 '$tmp/noregion.err' | grep -q '^irhost: no AWS region set: use --region, set AWS_REGION'"
check "no region: no credentials/STS prefix on a configuration problem" bash -c "! grep -q 'CredentialsError\\|sts:GetCallerIdentity failed' '$tmp/noregion.err'"

# A typo of a host option: did you mean.
for typo in --dryrun --dry-rn --verbse; do
  run "typo$typo" "$HELLO" --name A "$typo" --out "$tmp/o-typo$typo"
  want=$([ "$typo" = --verbse ] && echo --verbose || echo --dry-run)
  check "$typo: exit 2 and 'did you mean $want?'" bash -c "[ $rc -eq 2 ] && grep -qF 'unknown option $typo (did you mean $want? an irhost option)' '$tmp/typo$typo.err'"
done
run typo_far "$HELLO" --name A --zzzzzz --out "$tmp/o-far"
check "a flag close to nothing gets no suggestion" bash -c "[ $rc -eq 2 ] && ! grep -q 'did you mean' '$tmp/typo_far.err'"

# --out on an existing empty directory: it becomes the run's, mode 0700.
mkdir -m 0755 "$tmp/empty-out"
run emptyout "$HELLO" --name A --out "$tmp/empty-out" --quiet
check "--out on an existing empty directory: mode 0700" bash -c "[ $rc -eq 0 ] && [ \$(stat -c %a '$tmp/empty-out') = 700 ]"

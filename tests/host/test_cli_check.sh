#!/bin/bash
# `irhost check`, `policy`, `new` and `test` end to end through the binary: the broker,
# the sandboxed runner and the trusted Lua commands (ir.check, ir.policy, ir.scaffold,
# ir.testing). The analyzers' own cases are in tests/check/.
source "$IRHOST_ROOT/tests/host/env.sh"
CORPUS=tests/check/corpus
CLEAN=tests/check/clean/contain.lua
# json_ok NAME FILE PYTHON-EXPR: FILE parses as JSON and EXPR (over `d`) is true.
json_ok() { check "$1" "$PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($3) else 1)" "$2"; }

# ---------------------------------------------------------------- check

run strict check runbooks/*.lua --strict
check "check --strict of every shipped runbook: exit 0" bash -c "[ $rc -eq 0 ] && grep -q ' 0 errors, 0 warnings in ' '$tmp/strict.err'"
check "check --strict of the shipped runbooks: clean output" clean strict
run libs check --strict runbooks/*.lua runbooks/lib/*.lua runbooks/examples/*.lua
check "check of runbooks/lib/*.lua resolves their requires from the runbooks' folder" test "$rc" -eq 0

# Every corpus case in one run: each expected line (path as given) and nothing else.
cases=("$CORPUS"/*.lua)
run corpus check "${cases[@]}"
missing=0; want=0
for f in "${cases[@]}"; do
  exp="${f%.lua}.expected"
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    want=$((want + 1))
    grep -qxF -- "$CORPUS/$line" "$tmp/corpus.out" || { missing=$((missing + 1)); echo "#   missing: $CORPUS/$line"; }
  done <"$exp"
done
check "corpus (${#cases[@]} files): exit 1" test "$rc" -eq 1
check "corpus: every expected file:line:col diagnostic is printed ($want)" test "$missing" -eq 0
check "corpus: no other diagnostic (the sandbox's load errors are not reported twice)" \
  test "$(grep -c ': \(error\|warning\): ' "$tmp/corpus.out")" -eq "$want"
check "corpus: clean output" clean corpus

# One case alone: stdout is exactly the expected line, the summary is on stderr.
run one check "$CORPUS/13-unknown-parameter.lua"
check "one broken runbook: exit 1, stdout is exactly its diagnostic" \
  bash -c "[ $rc -eq 1 ] && diff <(sed 's|^|$CORPUS/|' '$CORPUS/13-unknown-parameter.expected') '$tmp/one.out' >/dev/null"
check "one broken runbook: summary on stderr" grep -q '^irhost check: 1 error, 0 warnings in 1 file$' "$tmp/one.err"
run decl check "$CORPUS/03-param-bad-type.lua"
check "a declaration error is reported once, at the field" \
  bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$tmp/decl.out') -eq 1 ] && grep -q '03-param-bad-type.lua:9:15: error: ir.runbook:' '$tmp/decl.out'"
run warn check "$CORPUS/27-unused-local.lua"
check "warnings only: exit 0" bash -c "[ $rc -eq 0 ] && grep -q ': warning: ' '$tmp/warn.out'"
run warn_strict check --strict "$CORPUS/27-unused-local.lua"
check "warnings with --strict: exit 1" test "$rc" -eq 1

# A main chunk that fails at run time (only running it can tell) is reported at its line.
mkdir -p "$tmp/rt"
cat >"$tmp/rt/runtime.lua" <<'EOF'
local parts = { "ec2:DescribeInstances" }
local extra = parts.missing.more
return ir.runbook { name = "rt", description = "d", permissions = parts, steps = {} }
EOF
run rt check "$tmp/rt/runtime.lua"
check "a main chunk's run-time error: exit 1, file:line" \
  bash -c "[ $rc -eq 1 ] && grep -q 'runtime.lua:2:1: error: .*attempt to index a nil value' '$tmp/rt.out'"

# Several files from several folders: each one's requires resolve next to it.
mkdir -p "$tmp/a/lib" "$tmp/b"
cat >"$tmp/a/lib/perms.lua" <<'EOF'
return { "ec2:DescribeInstances" }
EOF
cat >"$tmp/a/uses_lib.lua" <<'EOF'
local perms = require("lib.perms")
local ec2 = aws.client("ec2")
return ir.runbook {
  name = "uses-lib", description = "permissions from a module", permissions = perms,
  steps = { { name = "Describe", run = function(ctx) ec2:DescribeInstances{ InstanceIds = { ctx.params.id } } end } },
  params = { id = { required = true, help = "instance" } },
}
EOF
sed 's/uses-lib/no-lib/' "$tmp/a/uses_lib.lua" >"$tmp/b/no_lib.lua"
run folders check "$tmp/a/uses_lib.lua" "$tmp/b/no_lib.lua"
check "two folders: the first file's lib/ module is found" bash -c "! grep -q 'uses_lib.lua' '$tmp/folders.out'"
check "two folders: the second file's missing module is reported against it" \
  bash -c "[ $rc -eq 1 ] && grep -q \"no_lib.lua:1:.*module 'lib.perms' not found\" '$tmp/folders.out'"

# Formats.
run sarif check --format sarif "$CORPUS/13-unknown-parameter.lua" "$CORPUS/17-missing-permission.lua"
check "--format sarif: exit 1" test "$rc" -eq 1
json_ok "--format sarif: SARIF 2.1.0 JSON with both results" "$tmp/sarif.out" \
  "d['version'] == '2.1.0' and len(d['runs'][0]['results']) == 2 and d['runs'][0]['results'][0]['locations'][0]['physicalLocation']['region']['startLine'] == 15"
run json check --format=json runbooks/ec2.lua
json_ok "--format=json: JSON with counts" "$tmp/json.out" "d['errors'] == 0 and d['files'] == 1"

# No credentials, no configuration, no network: check still works.
env -i PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" LSAN_OPTIONS="${LSAN_OPTIONS:-}" HOME="$tmp" \
  "$IRHOST" check --strict runbooks/ec2.lua >"$tmp/nocreds.out" 2>"$tmp/nocreds.err"
check "check needs no credentials or configuration" test "$?" -eq 0

# ---------------------------------------------------------------- policy

run policy policy runbooks/ec2.lua
check "policy runbooks/ec2.lua: exit 0" test "$rc" -eq 0
json_ok "policy: a valid IAM policy document (Version, Allow statements, sorted actions)" "$tmp/policy.out" \
  "d['Version'] == '2012-10-17' and all(s['Effect'] == 'Allow' and s['Action'] == sorted(s['Action']) and s['Resource'] == '*' for s in d['Statement'])"
# The calls ec2.lua can make, read by the checker (plus the framework's own identity call).
cat >"$tmp/calls.lua" <<'EOF'
local check, iam = require("ir.check"), require("ir.check.iam")
local root = os.getenv("IRHOST_ROOT")
local function read(p) local f = io.open(root .. "/" .. p, "rb"); if not f then return nil end local s = f:read("a"); f:close(); return s end
local a = check.analyze("runbooks/ec2.lua", read("runbooks/ec2.lua"), { load_module = function(name)
  local p = "runbooks/" .. name:gsub("%.", "/") .. ".lua"; return read(p), p end })
local set = { ["sts:GetCallerIdentity"] = true }
for _, c in ipairs(a.calls.calls) do set[iam.iam_action(c.service, c.operation)] = true end
local out = {}
for k in pairs(set) do out[#out + 1] = k end
table.sort(out)
print(table.concat(out, "\n"))
EOF
"$IRHOST_LUA_REL" "$tmp/calls.lua" >"$tmp/calls.txt" 2>&1
"$PYTHON" -c "import json,sys; print('\n'.join(sorted(a for s in json.load(open(sys.argv[1]))['Statement'] for a in s['Action'])))" \
  "$tmp/policy.out" >"$tmp/actions.txt"
if [ -s "$tmp/calls.txt" ] && diff "$tmp/calls.txt" "$tmp/actions.txt" >"$tmp/actions.diff"; then
  ok "policy: the actions equal the calls ec2.lua can make ($(wc -l <"$tmp/actions.txt"))"
else fail "policy: the actions equal the calls ec2.lua can make"; sed 's/^/#   /' "$tmp/actions.diff" | head; fi
for rb in runbooks/*.lua; do
  # Every shipped runbook, also those whose declaration takes a field from a module
  # (rds.lua: pattern = sql.USER_PATTERN): the sandbox's declaration fills it in.
  "$IRHOST" policy "$rb" >"$tmp/p.json" 2>"$tmp/p.err"; rc=$?
  json_ok "policy $rb: exit 0 and valid JSON" "$tmp/p.json" "$rc == 0 and len(d['Statement']) > 0"
done
# Through the binary: literal permissions, a param pattern from the runbook's lib/.
mkdir -p "$tmp/partly/lib"
echo 'return { INSTANCE = "^i%-%x+$" }' >"$tmp/partly/lib/names.lua"
cat >"$tmp/partly/partly.lua" <<'EOF'
local names = require("lib.names")
local ec2 = aws.client("ec2")
return ir.runbook {
  name = "partly-literal", description = "a pattern from a module",
  params = { id = { required = true, pattern = names.INSTANCE, help = "instance" } },
  permissions = { "ec2:DescribeInstances" },
  steps = { { name = "Describe", run = function(ctx) ec2:DescribeInstances{ InstanceIds = { ctx.params.id } } end } },
}
EOF
run partly policy "$tmp/partly/partly.lua"
json_ok "policy of a runbook with literal permissions and a pattern from lib/: exit 0" "$tmp/partly.out" \
  "$rc == 0 and d['Statement'][0]['Action'] == ['ec2:DescribeInstances']"
run narrow policy "$CLEAN" --resources --instance i-0abc1234 --evidence-bucket ir-evidence --region eu-west-1 --account 111122223333
json_ok "policy --resources: actions on the instance are narrowed to its ARN" "$tmp/narrow.out" \
  "any(s['Resource'] == 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc1234' and 'ec2:StopInstances' in s['Action'] for s in d['Statement'])"
run narrow_bad policy "$CLEAN" --resources --instance nope
check "policy with a param that fails validation: exit 2, names it" bash -c "[ $rc -eq 2 ] && grep -q 'instance' '$tmp/narrow_bad.err'"
run policy_broken policy "$CORPUS/01-syntax-missing-end.lua"
check "policy of a runbook with a syntax error: exit 2, file:line:col" \
  bash -c "[ $rc -eq 2 ] && grep -q '01-syntax-missing-end.lua:15:10:' '$tmp/policy_broken.err' && [ ! -s '$tmp/policy_broken.out' ]"

# ---------------------------------------------------------------- new and test

mkdir "$tmp/new"
(cd "$tmp/new" && "$IRHOST" new mything >"$tmp/new.out" 2>"$tmp/new.err"); rc=$?
check "new mything: exit 0, writes mything.lua and tests/mything_test.lua" \
  bash -c "[ $rc -eq 0 ] && [ -s '$tmp/new/mything.lua' ] && [ -s '$tmp/new/tests/mything_test.lua' ] && grep -q 'created mything.lua' '$tmp/new.err'"
(cd "$tmp/new" && "$IRHOST" check --strict mything.lua >"$tmp/newcheck.out" 2>&1)
check "the new runbook passes check --strict" test "$?" -eq 0
(cd "$tmp/new" && "$IRHOST" test tests/mything_test.lua >"$tmp/newtest.out" 2>&1)
check "the new runbook's test passes" bash -c "[ $? -eq 0 ] && tail -1 '$tmp/newtest.out' | grep -q '^2 passed, 0 failed$'"
sum=$(cat "$tmp/new/mything.lua" "$tmp/new/tests/mything_test.lua" | sha256sum)
(cd "$tmp/new" && "$IRHOST" new mything >"$tmp/new2.out" 2>"$tmp/new2.err"); rc=$?
check "new twice: refused (exit 1), names the file, nothing overwritten" \
  bash -c "[ $rc -eq 1 ] && grep -q 'mything.lua already exists' '$tmp/new2.err' && [ \"\$(cat '$tmp/new/mything.lua' '$tmp/new/tests/mything_test.lua' | sha256sum)\" = '$sum' ]"
touch "$tmp/new/tests/other_test.lua"
(cd "$tmp/new" && "$IRHOST" new other >/dev/null 2>"$tmp/new3.err"); rc=$?
check "new refuses when only the test file exists, and writes neither" \
  bash -c "[ $rc -eq 1 ] && [ ! -e '$tmp/new/other.lua' ] && grep -q 'tests/other_test.lua already exists' '$tmp/new3.err'"
(cd "$tmp/new" && "$IRHOST" new '../escape' >/dev/null 2>"$tmp/new4.err"); rc=$?
check "new with a path for a name: exit 2" bash -c "[ $rc -eq 2 ] && [ ! -e '$tmp/escape.lua' ] && grep -q 'is not a runbook name' '$tmp/new4.err'"

run tests test runbooks/tests/*_test.lua
check "test runbooks/tests/*_test.lua: exit 0, ends with N passed, 0 failed" \
  bash -c "[ $rc -eq 0 ] && tail -1 '$tmp/tests.out' | grep -qE '^[1-9][0-9]* passed, 0 failed$'"
check "test: clean output" clean tests

sed 's/expect_eq(r.exit, 0)/expect_eq(r.exit, 7)/' "$tmp/new/tests/mything_test.lua" >"$tmp/new/tests/broken_test.lua"
(cd "$tmp/new" && "$IRHOST" test tests/broken_test.lua >"$tmp/broken.out" 2>&1); rc=$?
check "a broken test fails: exit 1, 'not ok' with the line, '1 passed, 1 failed'" \
  bash -c "[ $rc -eq 1 ] && grep -q '^not ok - tests/broken_test.lua: captures and tags' '$tmp/broken.out' && grep -q 'broken_test.lua:[0-9]*: value: expected 7, got 0' '$tmp/broken.out' && tail -1 '$tmp/broken.out' | grep -q '^1 passed, 1 failed$'"

cat >"$tmp/new/tests/escape_test.lua" <<'EOF'
test("reads a file outside the runbook folder", function()
  local r = run("/etc/hostname", {})
  expect(r ~= nil)
end)
EOF
(cd "$tmp/new" && "$IRHOST" test tests/escape_test.lua >"$tmp/escape.out" 2>&1); rc=$?
check "a test cannot read files outside its runbook folder" \
  bash -c "[ $rc -eq 1 ] && grep -q 'refused: /etc/hostname is outside the folders of the test files' '$tmp/escape.out'"
# The runbooks a test runs, and the test file itself, get the sandbox's guarded
# setmetatable (host/luaenv.c): no __gc / __mode metatables (Lua 5.4.4 crashers).
cat >"$tmp/new/gc.lua" <<'EOF'
local t = setmetatable({}, { __gc = function() end })
return ir.runbook { name = "gc", description = "d", permissions = {}, steps = { { name = "S", run = function() end } } }
EOF
cat >"$tmp/new/tests/gc_test.lua" <<'EOF'
test("a runbook with a __gc metatable", function()
  local r = run("../gc.lua", {})
  expect_match(r.message or "", "__gc is not allowed")
end)
test("a test file with a __mode metatable", function()
  expect_error(function() setmetatable({}, { __mode = "k" }) end, "__mode is not allowed")
end)
test("collectgarbage is the guarded one", function()
  expect_error(function() collectgarbage("generational") end, "is not allowed in runbooks")
end)
EOF
(cd "$tmp/new" && "$IRHOST" test tests/gc_test.lua >"$tmp/gc.out" 2>&1); rc=$?
check "test: runbooks and test files get the sandbox's guarded setmetatable (no __gc, no __mode)" \
  bash -c "[ $rc -eq 0 ] && tail -1 '$tmp/gc.out' | grep -q '^3 passed, 0 failed$'"
check "test with guarded metatables: clean output" bash -c "! grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' '$tmp/gc.out'"

# check, policy and test stop a main chunk that never ends (default 60 s, --timeout wins).
cat >"$tmp/new/spin.lua" <<'EOF'
while true do end
EOF
for cmd in check policy; do
  (cd "$tmp/new" && "$IRHOST" $cmd spin.lua --timeout 1 >"$tmp/spin_$cmd.out" 2>"$tmp/spin_$cmd.err"); rc=$?
  check "$cmd of a runbook whose main chunk loops, --timeout 1: exit 3, names the limit" \
    bash -c "[ $rc -eq 3 ] && grep -q 'wall-clock limit of 1 s exceeded' '$tmp/spin_$cmd.err'"
done
printf 'test("spins", function() run("../spin.lua", {}) end)\n' >"$tmp/new/tests/spin_test.lua"
(cd "$tmp/new" && "$IRHOST" test tests/spin_test.lua --timeout 1 >"$tmp/spin_test.out" 2>&1); rc=$?
check "test of a runbook whose main chunk loops, --timeout 1: exit 3" \
  bash -c "[ $rc -eq 3 ] && grep -q 'wall-clock limit of 1 s exceeded' '$tmp/spin_test.out'"

run test_missing test "$tmp/none_test.lua"
check "test of a missing file: exit 2" bash -c "[ $rc -eq 2 ] && grep -q 'cannot read test file' '$tmp/test_missing.err'"

# ---------------------------------------------------------------- usage and secrets

usage() {
  local name="$1" want="$2"; shift 2
  run "$name" "$@"
  if [ "$rc" -eq 2 ] && has "$name" err "$want" && clean "$name"; then ok "$name: exit 2, '$want'"
  else fail "$name: exit $rc"; sed 's/^/#   /' "$tmp/$name.err" | head -3; fi
}
usage "check --format xml" "'xml' is not text, json or sarif" check --format xml runbooks/ec2.lua
usage "check with an unknown option" "unknown option --bogus for check" check --bogus runbooks/ec2.lua
usage "policy without a runbook" "policy takes a runbook file" policy
usage "policy --account with a bad id" "12-digit" policy runbooks/ec2.lua --account 12
usage "new without a name" "new takes one runbook name" new
usage "test without files" "test needs at least one test file" test
run help help
check "help lists check, policy, test and new with their options" \
  bash -c "grep -q 'irhost check FILE... \[--strict\] \[--format text|json|sarif\]' '$tmp/help.out' && grep -q 'irhost policy RUNBOOK \[--resources\]' '$tmp/help.out' && grep -q 'irhost test FILE' '$tmp/help.out' && grep -q 'irhost new NAME' '$tmp/help.out'"
check "help shows the 60 s default of check, policy and test" grep -q 'check, policy and test: wall-clock limit 60 s unless --timeout' "$tmp/help.out"
check "no output of these commands holds the secret key" bash -c "! grep -rqF -- '$AWS_SECRET_ACCESS_KEY' '$tmp'"

#!/bin/bash
# docs/runbooks.md is generated from the runbooks (scripts/gendocs.sh over `irhost
# describe`): regenerate it into a temporary file and fail while the committed page differs.
source "$IRHOST_ROOT/tests/lib/tap.sh"
cd "$IRHOST_ROOT" || exit 1
tmp=$(tmpdir); trap 'rm -rf "$tmp"' EXIT
bin="$IRHOST_REL"; [ -x "$bin" ] || bin="$IRHOST"

IRHOST="$bin" scripts/gendocs.sh "$tmp/runbooks.md" 2>"$tmp/gen.err"
check "scripts/gendocs.sh runs" test "$?" -eq 0 -a -s "$tmp/runbooks.md"
if [ -f docs/runbooks.md ] && cmp -s "$tmp/runbooks.md" docs/runbooks.md; then
  ok "docs/runbooks.md is current"
else
  fail "docs/runbooks.md is stale or missing: run scripts/gendocs.sh (after building ./irhost, or with IRHOST=path/to/irhost) and commit docs/runbooks.md"
  diff -u docs/runbooks.md "$tmp/runbooks.md" 2>&1 | head -40 | sed 's/^/#   /'
fi
missing=""
for f in runbooks/*.lua; do
  grep -qF "| \`$f\` |" "$tmp/runbooks.md" || missing="$missing $f"
done
check "one section per runbooks/*.lua${missing:+ (missing:$missing)}" test -z "$missing"
check "sections carry params with help, permissions and steps" \
  bash -c "grep -qF '| \`--instance\` | \`ID\` |' '$tmp/runbooks.md' && grep -qF -- '- **ec2**: \`DescribeInstances\`' '$tmp/runbooks.md' \
    && grep -qF '1. **Capture instance metadata**' '$tmp/runbooks.md'"
IRHOST="$tmp/none" scripts/gendocs.sh "$tmp/x.md" 2>"$tmp/nobin.err"
check "without a binary: exit 2, says how to build or point IRHOST at one" \
  bash -c "[ $? -eq 2 ] && grep -q 'set IRHOST=' '$tmp/nobin.err' && [ ! -e '$tmp/x.md' ]"

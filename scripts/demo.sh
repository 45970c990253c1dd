#!/bin/bash
# `make demo`: contains a compromised instance of the local fake AWS (tests/fakeaws, world
# demo.json) with runbooks/ec2.lua, shows the report, and says where the run directory is.
# Nothing leaves 127.0.0.1; the credentials are the fake's test values, not AWS ones.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
IRHOST="${IRHOST:-$ROOT/irhost}"
PYTHON=/usr/bin/python3
INSTANCE="${DEMO_INSTANCE:-i-0a1b2c3d4e5f60003}"   # web-asg-a: in an Auto Scaling group, a classic ELB and a target group

[ -x "$IRHOST" ] || { echo "demo: $IRHOST is not built (run: make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/irhost-demo.XXXXXX")
fake_pid=
cleanup() {
  if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$PYTHON" tests/fakeaws/server.py --port 0 --port-file "$tmp/port" --world demo >"$tmp/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "demo: the fake AWS endpoint did not start:" >&2; cat "$tmp/fake.log" >&2; exit 1; }
port=$(cat "$tmp/port")
out="$ROOT/irhost-runs/$(date -u +%Y%m%dT%H%M%SZ)-demo"

echo "== fake AWS on http://127.0.0.1:$port (world tests/fakeaws/worlds/demo.json)"
echo "== irhost runbooks/ec2.lua --instance $INSTANCE --ticket IR-DEMO --yes"
echo
rc=0
env -i PATH=/usr/bin:/bin HOME="${HOME:-/tmp}" LANG=C.UTF-8 \
  AWS_ACCESS_KEY_ID=AKIDIRHOSTTEST \
  AWS_SECRET_ACCESS_KEY='irhost/TEST+secret/fakeaws0000000000000000' \
  AWS_REGION=us-east-1 \
  "$IRHOST" runbooks/ec2.lua --instance "$INSTANCE" --ticket IR-DEMO --yes \
    --endpoint-url "http://127.0.0.1:$port" --poll-interval 1 --out "$out" || rc=$?
echo
if [ -f "$out/report.md" ]; then
  echo "== $out/report.md (first 60 lines)"
  head -n 60 "$out/report.md"
  echo "..."
fi
echo
echo "== run directory: $out"
ls "$out" "$out/evidence" 2>/dev/null | sed 's/^/   /'
exit "$rc"

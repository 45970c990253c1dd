#!/bin/bash
# The model-driven clients against botocore doing the same work in the same run: parsing and
# shaping a 1,000-instance DescribeInstances response, validating and serializing a
# 1,000-id request, a small call's client-side cost, the peak RSS of a process that parses
# the big response, and a small call end to end against tests/fakeaws on loopback.
set -euo pipefail
ROOT="${IRHOST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$ROOT"
PY="${PYTHON:-/usr/bin/python3}"
LUA="${IRHOST_LUA:-$ROOT/build/rel/irhost-lua}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
N_LUA="${CLIENTS_BENCH_N:-20}"
N_PY="${CLIENTS_BENCH_N_PY:-5}"

echo "## AWS clients (model-driven Lua) against botocore"
echo
if [ ! -x "$LUA" ]; then echo "_skipped: $LUA not built_"; exit 0; fi
"$PY" scripts/bench/clients_gen.py "$tmp/di.xml" 1000
size_kb=$(( $(stat -c %s "$tmp/di.xml") / 1024 ))
lua_parse=$("$LUA" scripts/bench/clients_bench.lua parse "$tmp/di.xml" "$N_LUA")
lua_ser=$("$LUA" scripts/bench/clients_bench.lua serialize - "$((N_LUA * 10))")
lua_call=$("$LUA" scripts/bench/clients_bench.lua call - "$((N_LUA * 100))")
rss_kb=$("$LUA" scripts/bench/clients_bench.lua rss "$tmp/di.xml")
if "$PY" -c 'import botocore' 2>/dev/null; then
  py_parse=$("$PY" scripts/bench/clients_bench.py parse "$tmp/di.xml" "$N_PY")
  py_ser=$("$PY" scripts/bench/clients_bench.py serialize - "$((N_PY * 10))")
  py_call=$("$PY" scripts/bench/clients_bench.py call - "$((N_PY * 100))")
  pyver=$("$PY" -c 'import botocore; print(botocore.__version__)')
else
  py_parse=n/a; py_ser=n/a; py_call=n/a; pyver=n/a
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == 0) print "n/a"; else printf "%.1fx", a / b }'; }
echo "A DescribeInstances response with 1,000 instances (${size_kb} KiB of XML, built by"
echo "\`scripts/bench/clients_gen.py\`) parsed and shaped by the output shape: irhost with"
echo "expat (\`irhost.xml\`) and the Lua shaper, $N_LUA runs; botocore's \`EC2QueryParser\`, $N_PY runs."
echo "A DescribeInstances request with 1,000 instance ids validated and serialized: irhost"
echo "\`aws.validate\` + \`aws.request.build\`; botocore \`validate_parameters\` + \`serialize_to_request\`."
echo "CPU time per operation (lower is better); target: botocore / irhost >= 5x."
echo
echo "| work | irhost (ms) | botocore $pyver (ms) | botocore / irhost |"
echo "|---|---:|---:|---:|"
echo "| parse 1,000-instance DescribeInstances | $lua_parse | $py_parse | $(ratio "$py_parse" "$lua_parse") |"
echo "| serialize 1,000-id DescribeInstances | $lua_ser | $py_ser | $(ratio "$py_ser" "$lua_ser") |"
echo "| small call, client side (1 instance) | $lua_call | $py_call | $(ratio "$py_call" "$lua_call") |"
echo
echo "Small call, client side: \`ec2:DescribeInstances\` with one id, its answer given at once"
echo "(irhost: a stub \`irhost.host\` channel, so validation, serialization, params JSON and"
echo "shaping; SigV4 is the broker's, see its own section. botocore: a client whose"
echo "\`before-send\` handler answers, so validation, serialization, signing and parsing)."
echo
echo "Peak RSS of the whole \`irhost-lua\` process that loads the EC2 model, reads, parses and"
echo "shapes the 1,000-instance response and keeps the result: $(awk -v k="$rss_kb" 'BEGIN { printf "%.1f MiB", k / 1024 }') (target < 32 MiB)."

# End to end: the irhost binary (broker + runner + a runbook) and a botocore client, each
# making N DescribeInstances calls over HTTP to the same tests/fakeaws endpoint.
IRHOST_BIN="${IRHOST:-$ROOT/build/rel/irhost}"
N_E2E="${CLIENTS_BENCH_N_E2E:-40}"
echo
echo "### A small call end to end (loopback)"
echo
if [ ! -x "$IRHOST_BIN" ] || ! "$PY" -c 'import botocore' 2>/dev/null; then
  echo "_skipped: $IRHOST_BIN or botocore missing_"
  exit 0
fi
if ! e2e=$("$PY" scripts/bench/clients_e2e.py "$IRHOST_BIN" "$N_E2E" 2>"$tmp/e2e.err"); then
  echo "_skipped: the end-to-end run failed: $(tail -c 300 "$tmp/e2e.err" | tr '\n' ' ')_"
  exit 0
fi
read -r i_cpu i_wall b_cpu b_wall <<<"$e2e"
echo "$N_E2E \`ec2:DescribeInstances\` calls to \`tests/fakeaws\` (Python, it verifies every"
echo "signature with botocore: most of the wall time is the server's). irhost: a runbook run by"
echo "the release binary, cost per call from the difference between runs of $((N_E2E + 1)) and 1 calls"
echo "(start-up, identity and report excluded); CPU is the broker's and the runner's. botocore:"
echo "one client, real HTTP. The server's CPU is in neither. irhost runs with \`--rate ec2=1000/s\`:"
echo "its default per-region limit for ec2 (20 calls/s, as AWS throttles) would otherwise set the"
echo "wall time (about 26 ms a call here), and botocore has no client-side limit to match."
echo
echo "| per call | irhost | botocore $pyver | botocore / irhost |"
echo "|---|---:|---:|---:|"
echo "| client CPU (ms) | $i_cpu | $b_cpu | $(ratio "$b_cpu" "$i_cpu") |"
echo "| wall time (ms) | $i_wall | $b_wall | $(ratio "$b_wall" "$i_wall") |"

#!/bin/bash
# The model-driven clients against botocore doing the same work in the same run: parsing and
# shaping a 1,000-instance DescribeInstances response, validating and serializing a
# 1,000-id request, and the peak RSS of a process that parses the big response.
set -euo pipefail
ROOT="${IRHOST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$ROOT"
PY="${PYTHON:-/usr/bin/python3}"
LUA="${IRHOST_LUA:-$ROOT/build/rel/irhost-lua}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
N_LUA="${CLIENTS_BENCH_N:-20}"
N_PY="${CLIENTS_BENCH_N_PY:-5}"

echo "## AWS clients: parsing and serializing"
echo
if [ ! -x "$LUA" ]; then echo "_skipped: $LUA not built_"; exit 0; fi
"$PY" scripts/bench/clients_gen.py "$tmp/di.xml" 1000
size_kb=$(( $(stat -c %s "$tmp/di.xml") / 1024 ))
lua_parse=$("$LUA" scripts/bench/clients_bench.lua parse "$tmp/di.xml" "$N_LUA")
lua_ser=$("$LUA" scripts/bench/clients_bench.lua serialize - "$((N_LUA * 10))")
rss_kb=$("$LUA" scripts/bench/clients_bench.lua rss "$tmp/di.xml")
if "$PY" -c 'import botocore' 2>/dev/null; then
  py_parse=$("$PY" scripts/bench/clients_bench.py parse "$tmp/di.xml" "$N_PY")
  py_ser=$("$PY" scripts/bench/clients_bench.py serialize - "$((N_PY * 10))")
  pyver=$("$PY" -c 'import botocore; print(botocore.__version__)')
else
  py_parse=n/a; py_ser=n/a; pyver=n/a
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
echo
echo "Peak RSS of the whole \`irhost-lua\` process that loads the EC2 model, reads, parses and"
echo "shapes the 1,000-instance response and keeps the result: $(awk -v k="$rss_kb" 'BEGIN { printf "%.1f MiB", k / 1024 }') (target < 32 MiB)."

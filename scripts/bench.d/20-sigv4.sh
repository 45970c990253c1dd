#!/bin/bash
# SigV4 signing cost per request: host/sigv4.c (release build) against botocore's SigV4Auth /
# S3SigV4QueryAuth signing the same requests in the same run. Prints a markdown section.
set -euo pipefail
ROOT="${IRHOST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$ROOT"
PY="${PYTHON:-/usr/bin/python3}"
REL="$(dirname "${IRHOST:-$ROOT/build/rel/irhost}")"
LIBDIR=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
N_C="${SIGV4_BENCH_N:-200000}"
N_PY="${SIGV4_BENCH_N_PY:-20000}"

echo "## SigV4 signing cost per request"
echo
if [ ! -f "$REL/libirhost.a" ]; then echo "_skipped: $REL/libirhost.a not built_"; exit 0; fi
cc -std=c11 -D_GNU_SOURCE -O2 -Ihost -o "$tmp/sigv4_bench" scripts/bench/sigv4_bench.c "$REL/libirhost.a" \
   "$LIBDIR/liblua5.4-cjson.a" "$LIBDIR/liblua5.4.a" -lcurl -lssl -lcrypto -lexpat -lseccomp -lm -ldl
"$tmp/sigv4_bench" "$N_C" >"$tmp/c.txt"
if "$PY" -c 'import botocore' 2>/dev/null; then
  "$PY" scripts/bench/sigv4_bench.py "$N_PY" >"$tmp/py.txt"
else
  : >"$tmp/py.txt"
fi
echo "Same two requests signed by both: an EC2 \`DescribeInstances\` POST (form body, session"
echo "token, Authorization header) and an S3 presigned GET (\`UNSIGNED-PAYLOAD\`). C: $N_C"
echo "signatures each, including freeing the result; botocore: $N_PY \`add_auth\` calls each on"
echo "pre-built requests. Lower is better."
echo
echo "| request | irhost C (ns/request) | botocore $("$PY" -c 'import botocore; print(botocore.__version__)' 2>/dev/null || echo n/a) (ns/request) | botocore / C |"
echo "|---|---:|---:|---:|"
while read -r kind c_ns; do
  py_ns=$(awk -v k="$kind" '$1 == k { print $2 }' "$tmp/py.txt")
  if [ -n "$py_ns" ]; then
    ratio=$(awk -v a="$py_ns" -v b="$c_ns" 'BEGIN { printf "%.1fx", a / b }')
  else
    py_ns="n/a"; ratio="n/a"
  fi
  echo "| $kind | $c_ns | $py_ns | $ratio |"
done <"$tmp/c.txt"

#!/bin/bash
# Client-side overhead of one AWS call against a loopback endpoint (µs): irhost's broker
# pipeline vs botocore, in the same run. Prints a markdown section.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${BUILD:-build}"
driver="$PWD/$BUILD/rel/unit/test_awscall"
make --no-print-directory BUILD="$BUILD" "$BUILD/rel/unit/test_awscall" >/dev/null
IRHOST_ROOT="$PWD" /usr/bin/python3 scripts/bench/call_overhead.py "$driver" "${BENCH_CALLS:-2000}"

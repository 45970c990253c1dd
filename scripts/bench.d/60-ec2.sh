#!/bin/bash
# EC2 containment: runbooks/ec2.lua vs an AWS CLI script vs a boto3 script, same calls, one run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$ROOT/scripts/bench/ec2_compare.py" "${IRHOST:-$ROOT/build/rel/irhost}" "$ROOT"

#!/bin/bash
# make bench: runs every scripts/bench.d/* piece (each prints a markdown section on stdout)
# and writes them, with the machine they ran on, to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export IRHOST_ROOT=$PWD IRHOST="$PWD/build/rel/irhost" IRHOST_LUA="$PWD/build/rel/irhost-lua" PYTHON=/usr/bin/python3
out=docs/benchmarks.md
tmp=$(mktemp)
{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` on $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -srm), $(cc --version | head -1)."
  echo "Numbers are from one run on a shared machine: read ratios, not absolutes."
  for piece in scripts/bench.d/*; do
    [ -x "$piece" ] || continue
    echo
    echo "<!-- $piece -->"
    "$piece"
  done
} >"$tmp"
mv "$tmp" "$out"
chmod 0644 "$out"
echo "bench: wrote $out" >&2

#!/bin/bash
# The host: binary size, start-up time, wall time and peak memory of small runs.
# Prints a markdown section (scripts/bench.sh collects it into docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
IRHOST="${IRHOST:-$PWD/build/rel/irhost}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/empty.lua" <<'LUA'
return ir.runbook { name = "empty", description = "one empty step", params = {}, permissions = {},
  steps = { { name = "Nothing", run = function() end } } }
LUA
# Nothing reaches the network: the framework's identity call fails fast on a closed local port.
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:9 \
  AWS_MAX_ATTEMPTS=1 AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-not-a-secret \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
/usr/bin/python3 - "$IRHOST" "$tmp" <<'PY'
import os, resource, statistics, subprocess, sys, time
irhost, tmp = sys.argv[1], sys.argv[2]

def timed(args, n):
    """Median and p90 wall time in ms of n runs, and the peak RSS (KB) of the slowest process tree."""
    ts = []
    for i in range(n):
        t0 = time.perf_counter()
        subprocess.run(args(i), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=False)
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    return statistics.median(ts), ts[int(len(ts) * 0.9) - 1]

def peak_rss(args):
    """Peak RSS in MB of the largest process of one run (broker or runner), via wait4."""
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_RDWR)
        for i in (0, 1, 2): os.dup2(fd, i)
        os.execv(args[0], args)
    _, _, ru = os.wait4(pid, 0)
    return ru.ru_maxrss / 1024

size = os.path.getsize(irhost)
v_med, v_p90 = timed(lambda i: [irhost, "version"], 50)
h_med, h_p90 = timed(lambda i: [irhost, "runbooks/examples/hello.lua", "--help"], 20)
e_med, e_p90 = timed(lambda i: [irhost, f"{tmp}/empty.lua", "--out", f"{tmp}/e{i}", "--quiet"], 20)
x_med, x_p90 = timed(lambda i: [irhost, "runbooks/ec2.lua", "--help"], 20)
rss_version = peak_rss([irhost, "version"])
rss_empty = peak_rss([irhost, f"{tmp}/empty.lua", "--out", f"{tmp}/rss", "--quiet"])
rss_ec2 = peak_rss([irhost, "runbooks/ec2.lua", "--help"])
print("## Host: size, start-up, memory\n")
print("| what | number |")
print("|---|---|")
print(f"| binary size (release, static Lua + lua-cjson, embedded modules and models) | {size / 1048576:.1f} MB ({size} bytes) |")
print(f"| `irhost version` wall time (50 runs) | median {v_med:.1f} ms, p90 {v_p90:.1f} ms |")
print(f"| `irhost runbooks/examples/hello.lua --help` (fork + sandbox + Lua + `ir`) | median {h_med:.1f} ms, p90 {h_p90:.1f} ms |")
print(f"| run of an empty runbook (one empty step, run directory, reports) | median {e_med:.1f} ms, p90 {e_p90:.1f} ms |")
print(f"| `irhost runbooks/ec2.lua --help` | median {x_med:.1f} ms, p90 {x_p90:.1f} ms |")
print(f"| peak RSS, `irhost version` | {rss_version:.1f} MB |")
print(f"| peak RSS, empty runbook run (largest of broker and runner) | {rss_empty:.1f} MB |")
print(f"| peak RSS, `irhost runbooks/ec2.lua --help` | {rss_ec2:.1f} MB |")
PY

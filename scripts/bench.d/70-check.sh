#!/bin/bash
# Runbooks as code: wall time, CPU time and peak memory of `irhost check`, `policy` and
# `test` on the shipped runbooks (what a team's CI pays per push). Prints a markdown
# section (scripts/bench.sh collects it into docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
IRHOST="${IRHOST:-$PWD/build/rel/irhost}"
/usr/bin/python3 - "$IRHOST" <<'PY'
import glob, os, statistics, sys, time
irhost = sys.argv[1]

def measure(args, n):
    """Median wall ms, median CPU ms (user+sys of broker and runner) and peak RSS MB over n runs."""
    walls, cpus, rss = [], [], 0.0
    for _ in range(n):
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            fd = os.open(os.devnull, os.O_RDWR)
            for i in (0, 1, 2): os.dup2(fd, i)
            os.execv(args[0], args)
        _, _, ru = os.wait4(pid, 0)
        walls.append((time.perf_counter() - t0) * 1000)
        # wait4 reports the broker; the runner is its child, counted once reaped.
        cpus.append((ru.ru_utime + ru.ru_stime) * 1000)
        rss = max(rss, ru.ru_maxrss / 1024)
    return statistics.median(walls), statistics.median(cpus), rss

runbooks = sorted(glob.glob("runbooks/*.lua"))
libs = sorted(glob.glob("runbooks/lib/*.lua"))
tests = sorted(glob.glob("runbooks/tests/*_test.lua"))
rows = [
    (f"`irhost check --strict runbooks/ec2.lua`", [irhost, "check", "--strict", "runbooks/ec2.lua"]),
    (f"`irhost check --strict` every shipped runbook and lib module ({len(runbooks) + len(libs)} files)",
     [irhost, "check", "--strict"] + runbooks + libs),
    ("`irhost policy runbooks/ec2.lua`", [irhost, "policy", "runbooks/ec2.lua"]),
    (f"`irhost test runbooks/tests/*_test.lua` ({len(tests)} files)", [irhost, "test"] + tests),
]
print("## check, policy, test\n")
print("| command | wall (median of 5) | CPU | peak RSS |")
print("|---|---|---|---|")
for name, args in rows:
    wall, cpu, rss = measure(args, 5)
    print(f"| {name} | {wall:.0f} ms | {cpu:.0f} ms | {rss:.1f} MB |")
PY

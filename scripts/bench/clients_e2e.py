#!/usr/bin/python3
"""End-to-end cost of a small call against tests/fakeaws on loopback, for
scripts/bench.d/40-clients.sh: N ec2 DescribeInstances calls made by the irhost binary
(a runbook) and by a botocore client over real HTTP to the same endpoint.
Usage: clients_e2e.py IRHOST N   -> prints "irhost_cpu_ms irhost_wall_ms boto_cpu_ms boto_wall_ms"
(CPU = user + system time of the client processes, per call; the server's time is excluded)."""
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("IRHOST_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from fakeaws import client  # noqa: E402

RUNBOOK = """return ir.runbook {
  name = "bench-calls",
  description = "N small DescribeInstances calls",
  params = { n = { type = "integer", default = 10, min = 1, max = 100000, help = "calls" } },
  permissions = { "ec2:DescribeInstances" },
  steps = { { name = "Call", run = function(ctx)
    local ec2 = aws.client("ec2")
    for _ = 1, ctx.params.n do ec2:DescribeInstances{ InstanceIds = { "i-0a1b2c3d4e5f60001" } } end
  end } },
}
"""


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def irhost_run(irhost, env, tmp, n):
    path = os.path.join(tmp, "calls.lua")
    with open(path, "w") as f:
        f.write(RUNBOOK)
    out = os.path.join(tmp, "out-%d" % n)
    c0, t0 = child_cpu(), time.monotonic()
    p = subprocess.run([irhost, path, "--n", str(n), "--out", out, "--yes", "--quiet", "--rate", "ec2=1000/s"], env=env, cwd=tmp,
                       capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise SystemExit("irhost run failed: " + p.stderr[-500:])
    return child_cpu() - c0, time.monotonic() - t0


def main():
    irhost, n = sys.argv[1], int(sys.argv[2])
    fake = client.start(world="demo")
    try:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        env.update(fake.env("us-east-1"))
        with tempfile.TemporaryDirectory() as tmp:
            env["HOME"] = tmp
            # The difference between n and 1 calls removes start-up, identity and report costs.
            c1, w1 = irhost_run(irhost, env, tmp, 1)
            cn, wn = irhost_run(irhost, env, tmp, n + 1)
        import botocore.session
        s = botocore.session.get_session()
        e = fake.env("us-east-1")
        c = s.create_client("ec2", region_name="us-east-1", endpoint_url=e["AWS_ENDPOINT_URL"],
                            aws_access_key_id=e["AWS_ACCESS_KEY_ID"], aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"])
        c.describe_instances(InstanceIds=["i-0a1b2c3d4e5f60001"])
        b0, bw = time.process_time(), time.monotonic()
        for _ in range(n):
            c.describe_instances(InstanceIds=["i-0a1b2c3d4e5f60001"])
        bc, bw = time.process_time() - b0, time.monotonic() - bw
        print("%.2f %.2f %.2f %.2f" % ((cn - c1) * 1000 / n, (wn - w1) * 1000 / n, bc * 1000 / n, bw * 1000 / n))
    finally:
        fake.stop()


if __name__ == "__main__":
    main()

"""Benchmark: containment of one instance against tests/fakeaws, three ways, in one run:
runbooks/ec2.lua under irhost, an AWS CLI shell script and a boto3 script making the same
calls (the calls the runbook made, as the fake recorded them, replayed in order: the CLI
script runs one `aws ... --cli-input-json` per call, the boto3 script one client method per
call). Prints a markdown section: wall time and peak memory (largest process), and ratios.
Usage: ec2_compare.py IRHOST ROOT"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

IRHOST, ROOT = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(ROOT, "tests"))
from fakeaws import client  # noqa: E402

INSTANCE = "i-0a1b2c3d4e5f60003"   # ASG member behind a classic ELB and a target group: the most calls
CLI_SERVICE = {"s3": "s3api"}
BOTO3_SCRIPT = r'''
import json, sys, boto3
from botocore import xform_name
calls = json.load(open(sys.argv[1]))
session = boto3.session.Session(region_name="us-east-1")
clients = {}
for c in calls:
    svc = c["service"]
    if svc not in clients:
        clients[svc] = session.client(svc, endpoint_url=sys.argv[2])
    cl = clients[svc]
    try:
        getattr(cl, xform_name(c["operation"]))(**c["params"])
    except cl.exceptions.ClientError:
        pass
'''


def snake(op):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", op)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", s).lower()


def timed(cmd, env):
    """Runs cmd under /usr/bin/time; returns (seconds, peak RSS in MB of the largest process, rc)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        p = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%e %M"] + cmd, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp)
        wall, rss = open(tf.name).read().split()[-2:]
    return float(wall), int(rss) / 1024.0, p.returncode, p.stderr


tmp = tempfile.mkdtemp(prefix="irhost-bench-ec2-")
fake = client.start(world="demo")
try:
    env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8"}
    env.update(fake.env("us-east-1"))
    # 1. the runbook (also records the calls the other two replay)
    fake.reset("demo"); fake.clear_calls()
    ir_wall, ir_rss, rc, err = timed([IRHOST, os.path.join(ROOT, "runbooks", "ec2.lua"), "--instance", INSTANCE,
                                      "--ticket", "IR-BENCH", "--yes", "--no-wait", "--quiet",
                                      "--endpoint-url", fake.url, "--out", os.path.join(tmp, "run")], env)
    if rc != 0:
        sys.exit(f"bench 60-ec2: the runbook failed (exit {rc}): {err[-500:]}")
    calls = [{"service": c["service"], "operation": c["operation"], "params": c.get("params") or {}}
             for c in fake.calls()]
    mutating = sum(1 for c in calls if not c["operation"].startswith(("Describe", "Get", "List")))
    with open(os.path.join(tmp, "calls.json"), "w") as f:
        json.dump(calls, f)
    # 2. the AWS CLI script
    lines = ["#!/bin/bash", "set -u"]
    for c in calls:
        svc = CLI_SERVICE.get(c["service"], c["service"])
        lines.append(f"aws {svc} {snake(c['operation']).replace('_', '-')} --endpoint-url {fake.url} "
                     f"--region us-east-1 --output json --cli-input-json {shlex.quote(json.dumps(c['params']))} >/dev/null")
    script = os.path.join(tmp, "contain.sh")
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    fake.reset("demo"); fake.clear_calls()
    cli_wall, cli_rss, rc, err = timed(["bash", script], env)
    cli_calls = len(fake.calls())
    # 3. the boto3 script
    py = os.path.join(tmp, "contain.py")
    with open(py, "w") as f:
        f.write(BOTO3_SCRIPT)
    fake.reset("demo"); fake.clear_calls()
    b3_wall, b3_rss, rc, err = timed(["/usr/bin/python3", py, os.path.join(tmp, "calls.json"), fake.url], env)
    b3_calls = len(fake.calls())
finally:
    fake.stop()

print("## EC2 containment: runbook vs AWS CLI script vs boto3 script (scripts/bench.d/60-ec2.sh)")
print()
print(f"Containment of one instance ({INSTANCE}: Auto Scaling group, classic ELB, target group, 2 volumes) "
      f"against tests/fakeaws on 127.0.0.1, `--no-wait`. The CLI and boto3 scripts replay the {len(calls)} calls "
      f"({mutating} mutating) the runbook made, in order, without any of its checks, evidence or report. "
      "Peak memory is the largest single process (for the CLI script: one `aws` invocation).")
print()
print("| implementation | calls | wall time | peak RSS | time vs irhost | memory vs irhost |")
print("|---|---|---|---|---|---|")
print(f"| irhost runbooks/ec2.lua | {len(calls)} | {ir_wall:.2f} s | {ir_rss:.1f} MB | 1.0x | 1.0x |")
print(f"| AWS CLI shell script (awscli {subprocess.run(['/usr/bin/aws', '--version'], capture_output=True, text=True).stdout.split()[0].split('/')[1]}) | {cli_calls} | {cli_wall:.2f} s | {cli_rss:.1f} MB | {cli_wall / ir_wall:.1f}x | {cli_rss / ir_rss:.1f}x |")
print(f"| boto3 script | {b3_calls} | {b3_wall:.2f} s | {b3_rss:.1f} MB | {b3_wall / ir_wall:.1f}x | {b3_rss / ir_rss:.1f}x |")
subprocess.run(["rm", "-rf", tmp])

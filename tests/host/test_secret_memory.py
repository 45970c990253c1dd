"""The runner never holds the secret key: with AWS_SECRET_ACCESS_KEY (and a session token)
set to unique values, read the runner's whole readable memory through /proc/<pid>/mem
while it runs a runbook step, and look for them; then look in every output and file.
Runs the release binary: ASan keeps its own copy of the environment in every process
(it reads /proc/self/environ at start), which is a property of the sanitizer build."""
import atexit, json, os, secrets, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ["IRHOST_ROOT"], "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ["IRHOST_ROOT"], "tests"))
import tap
from fakeaws import client

root = os.environ["IRHOST_ROOT"]
irhost = os.environ.get("IRHOST_REL") or os.environ["IRHOST"]
secret = "hostTestSecret" + secrets.token_hex(16)
token = "hostTestToken" + secrets.token_hex(16)
marker = b"Test fixture: a step that loops forever"   # is in the runner's memory: proves the scan works


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def scan(pid, needles):
    """Returns {needle: found} over every readable mapping of pid, and the bytes read."""
    found = {n: False for n in needles}
    total = 0
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            if "r" not in parts[1] or (len(parts) > 5 and parts[5] in ("[vvar]", "[vsyscall]")):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except OSError:
                continue
            total += len(chunk)
            for n in needles:
                if n in chunk:
                    found[n] = True
    return found, total


# The local fake endpoint knows these credentials, so the run's first call succeeds and the
# runner goes on into its endless step (an unreachable endpoint now stops a run at once).
fake = client.start(world="demo")
atexit.register(fake.stop)
with open(os.path.join(root, "tests/fakeaws/worlds/demo.json")) as f:
    world = json.load(f)
world["credentials"] = [dict(world["credentials"][0], access_key="AKIDHOSTMEMTEST", secret_key=secret,
                             session_token=token)]
fake.reset(world)

with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDHOSTMEMTEST", AWS_SECRET_ACCESS_KEY=secret,
               AWS_SESSION_TOKEN=token, AWS_REGION="us-east-1", AWS_ENDPOINT_URL=fake.url,
               AWS_MAX_ATTEMPTS="1", AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    env.pop("AWS_PROFILE", None)
    out_dir = os.path.join(tmp, "run")
    proc = subprocess.Popen([irhost, os.path.join(root, "tests/host/fixtures/loop_step.lua"),
                             "--out", out_dir, "--timeout", "60"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runner = None
    for _ in range(200):
        kids = children(proc.pid)
        if kids:
            runner = kids[0]
            break
        time.sleep(0.05)
    tap.check("the runner process is found", runner is not None)
    time.sleep(1.0)   # the broker has made its first call: it holds the credentials now
    if runner:
        found, total = scan(runner, [secret.encode(), token.encode(), marker])
        tap.check(f"read the runner's memory ({total} bytes)", total > 1_000_000)
        tap.check("the scan finds a string the runner does hold (the runbook's description)", found[marker])
        tap.check("the secret access key is nowhere in the runner's memory", not found[secret.encode()])
        tap.check("the session token is nowhere in the runner's memory", not found[token.encode()])
        with open(f"/proc/{runner}/environ", "rb") as f:
            tap.check("the runner's environment block holds no secret", secret.encode() not in f.read())
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    tap.check(f"the run ends on SIGTERM with a report (exit {proc.returncode})", proc.returncode == 130)
    leaks = [name for name, data in (("stdout", out), ("stderr", err)) if secret.encode() in data or token.encode() in data]
    for dirpath, _, files in os.walk(out_dir):
        for fn in files:
            with open(os.path.join(dirpath, fn), "rb") as f:
                data = f.read()
            if secret.encode() in data or token.encode() in data:
                leaks.append(os.path.relpath(os.path.join(dirpath, fn), out_dir))
    tap.check("report.json written", os.path.exists(os.path.join(out_dir, "report.json")))
    tap.check(f"no secret in any output or run file {leaks}", leaks == [])
tap.done()

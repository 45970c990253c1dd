"""Test helper: run fakeaws in a subprocess and talk to its control API.

    from fakeaws import client
    fake = client.start(world="demo")          # free port on 127.0.0.1
    fake.url, fake.port, fake.env()             # env: AWS_* for irhost/botocore
    fake.state(); fake.calls(service="ec2"); fake.fault({...}); fake.reset("demo")
    fake.stop()
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ACCESS_KEY = "AKIDIRHOSTTEST"
SECRET_KEY = "irhost/TEST+secret/fakeaws0000000000000000"   # the demo world's; not a real AWS key
PYTHON = "/usr/bin/python3"


class Fake:
    def __init__(self, proc, port, tmpdir):
        self.proc, self.port, self._tmp = proc, port, tmpdir
        self.url = f"http://127.0.0.1:{port}"

    def _req(self, method, path, body=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        r = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(r, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def state(self):
        """The whole world as the fake holds it now."""
        return self._req("GET", "/_fake/state")

    def calls(self, service=None, operation=None):
        """Calls received so far (each: service, operation, params, time, signature_ok, ...)."""
        q = "&".join(f"{k}={v}" for k, v in (("service", service), ("operation", operation)) if v)
        return self._req("GET", "/_fake/calls" + ("?" + q if q else ""))

    def clear_calls(self):
        return self._req("DELETE", "/_fake/calls")

    def fault(self, spec=None, **kw):
        """Inject a fault (see faults.py): fault(service="ec2", kind="throttle", count=3)."""
        return self._req("POST", "/_fake/faults", spec if spec is not None else kw)

    def clear_faults(self):
        return self._req("DELETE", "/_fake/faults")

    def reset(self, world=None):
        """Back to the initial world, a world name/path, or a world document."""
        if world is None:
            return self._req("POST", "/_fake/reset", b"")
        return self._req("POST", "/_fake/reset", {"world": world} if isinstance(world, str) else world)

    def config(self, **kw):
        return self._req("POST", "/_fake/config", kw)

    def env(self, region="us-east-1"):
        """Environment for a client pointed at the fake with the test credentials."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in os.listdir(self._tmp):
            os.unlink(os.path.join(self._tmp, f))
        os.rmdir(self._tmp)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start(world="demo", latency_ms=0, latency_service=None, verbose=False, timeout=20):
    """Start the server on a free loopback port; returns a Fake once it answers."""
    tmp = tempfile.mkdtemp(prefix="fakeaws-")
    port_file = os.path.join(tmp, "port")
    cmd = [PYTHON, os.path.join(HERE, "server.py"), "--port", "0", "--port-file", port_file,
           "--world", world, "--latency", str(latency_ms)]
    for svc, ms in (latency_service or {}).items():
        cmd += ["--latency-service", f"{svc}={ms}"]
    if verbose:
        cmd.append("--verbose")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=None if verbose else sys.stderr)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fakeaws exited with status {proc.returncode}")
        if os.path.exists(port_file):
            with open(port_file) as f:
                port = int(f.read())
            return Fake(proc, port, tmp)
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("fakeaws did not start in time")

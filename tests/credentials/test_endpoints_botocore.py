"""Endpoint resolution cross-checked with botocore: for every embedded model
(vendor/models) and every region of the aws, aws-cn and aws-us-gov partitions where
botocore's endpoints.json lists the service, the URL and signing region that
irh_endpoint_resolve gives (test_endpoints --resolve) must equal what a botocore client
would use (session.create_client(...)._endpoint.host and its signer's region), with
AWS_STS_REGIONAL_ENDPOINTS=regional (irhost's default) and botocore's s3 us-east-1 legacy
global endpoint (also irhost's)."""
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402

os.environ["AWS_STS_REGIONAL_ENDPOINTS"] = "regional"
for var in list(os.environ):
    if var.startswith("AWS_ENDPOINT_URL") or var in ("AWS_PROFILE", "AWS_CONFIG_FILE"):
        del os.environ[var]
os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"

import botocore.session  # noqa: E402
from botocore.loaders import create_loader  # noqa: E402

root = os.environ.get("IRHOST_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
binary = os.path.join(os.path.dirname(os.environ.get("IRHOST", os.path.join(root, "build/asan/irhost"))),
                      "unit", "test_endpoints")
if not os.access(binary, os.X_OK):
    tap.fail("test_endpoints binary", "not built: " + binary)
    tap.done()

endpoints = create_loader().load_data("endpoints")
partitions = {p["partition"]: p for p in endpoints["partitions"] if p["partition"] in ("aws", "aws-cn", "aws-us-gov")}

models = sorted(glob.glob(os.path.join(root, "vendor", "models", "*.json")))
if not models:
    tap.skip("botocore endpoint cross-check", "no models in vendor/models yet")
    tap.done()

session = botocore.session.get_session()
session.set_credentials("AKIDEXAMPLE", "not-a-secret")
cases = []
for path in models:
    name = os.path.basename(path)[:-5]
    md = json.load(open(path))["metadata"]
    prefix = md["endpointPrefix"]
    glob_flag = "1" if md.get("globalEndpoint") else "0"
    for pid, part in partitions.items():
        svc = part["services"].get(prefix)
        if not svc:
            continue
        regions = [r for r in svc["endpoints"] if r in part["regions"]]
        if svc.get("isRegionalized") is False:
            regions = list(part["regions"])[:3]
        for region in regions:
            client = session.create_client(name, region_name=region)
            want = "%s %s" % (client._endpoint.host, client._request_signer._region_name)
            cases.append((name, md["serviceId"], prefix, region, glob_flag, want))

inp = "".join("%s\t%s\t%s\t%s\n" % (sid, prefix, region, g) for (_n, sid, prefix, region, g, _w) in cases)
out = subprocess.run([binary, "--resolve"], input=inp, capture_output=True, text=True, check=False)
got = out.stdout.splitlines()
if len(got) != len(cases):
    tap.fail("resolver answered every case", "%d answers for %d cases\n%s" % (len(got), len(cases), out.stderr))
    tap.done()

by_service = {}
for case, answer in zip(cases, got):
    by_service.setdefault(case[0], []).append((case, answer))
for name, rows in sorted(by_service.items()):
    bad = [(c, a) for (c, a) in rows if a != c[5]]
    why = "\n".join("%s %s: irhost %s, botocore %s" % (c[0], c[3], a, c[5]) for (c, a) in bad[:5])
    tap.check("%s: %d regions agree with botocore" % (name, len(rows)), not bad, why)
tap.done()

"""host/awsconfig.c reads INI files exactly as botocore does (configloader.raw_config_parse,
i.e. Python's RawConfigParser): fixed tricky files plus a few hundred random ones made from
a pool of lines (sections, both delimiters, continuation and blank lines inside values,
comments, [DEFAULT], duplicates, malformed lines, CRLF). Both must accept or both reject
each file, and agree on every section, key and value. The C side is
`test_awsconfig --dump FILE...`."""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402

from botocore.configloader import raw_config_parse  # noqa: E402
from botocore.exceptions import ConfigParseError  # noqa: E402

root = os.environ.get("IRHOST_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
binary = os.path.join(os.path.dirname(os.environ.get("IRHOST", os.path.join(root, "build/asan/irhost"))),
                      "unit", "test_awsconfig")
if not os.access(binary, os.X_OK):
    tap.fail("test_awsconfig binary", "not built: " + binary)
    tap.done()

FIXED = {
    "profiles and both delimiters": "[default]\nregion = eu-west-1\n[profile dev]\nRegion: us-east-2\n",
    "nested s3 settings": "[default]\ns3 =\n  addressing_style = path\n  signature_version = s3v4\n",
    "indented line continues a value": "[p]\nrole_arn = x\n  source_profile = y\n",
    "blank lines inside a value": "[p]\nk = a\n\n\n  b\n\n",
    "comment inside a value": "[p]\nk = a\n# note\n  b\n",
    "DEFAULT shows through": "[DEFAULT]\nregion = x\n[a]\nk = 1\n[b]\nregion = y\n",
    "header with trailing text": "[a] trailing ] text\nk = v\n",
    "first option indented": "[a]\n   k = v\n   j = w\n",
    "value with delimiters": "[a]\nurl = https://h:1/p?q=r\nk: v = w\n",
    "CRLF": "[a]\r\nk = v\r\n  cont\r\n",
    "duplicate section": "[a]\nk = 1\n[a]\nj = 2\n",
    "duplicate key": "[a]\nk = 1\nK = 2\n",
    "no section": "k = v\n[a]\n",
    "no delimiter": "[a]\njunk\n",
    "empty key": "[a]\n= v\n",
}

POOL = ["[default]", "[profile dev]", "[profile  \"a b\"]", "[sso-session corp]", "[DEFAULT]", "[a]", "[ a ]",
        "[x] trailing", "[]", "[unclosed", "region = eu-west-1", "region=us-east-1", "Region: ap-south-1",
        "key = a = b", "url = http://x:1/y", "empty =", "  indented = v", "\tcont", "    more text", "", "   ",
        "# comment", "; comment", "  # indented comment", "novalue", "= v", "k: v: w", "UPPER = Case",
        "aws_secret_access_key = not-secret", "output : json", "  [profile inner]", "x=", "s3 =",
        "    addressing_style = path"]

rng = random.Random(20261203)
cases = list(FIXED.items())
for i in range(400):
    lines = [rng.choice(POOL) for _ in range(rng.randint(2, 12))]
    if rng.random() < 0.7:
        lines.insert(0, rng.choice(POOL[:7]))
    eol = "\r\n" if rng.random() < 0.15 else "\n"
    cases.append(("random %d" % i, eol.join(lines) + (eol if rng.random() < 0.8 else "")))

with tempfile.TemporaryDirectory(prefix="irhost-ini.") as tmp:
    paths = []
    for i, (_name, text) in enumerate(cases):
        path = os.path.join(tmp, "f%03d.ini" % i)
        with open(path, "w", newline="") as f:
            f.write(text)
        paths.append(path)
    out = subprocess.run([binary, "--dump"] + paths, capture_output=True, text=True, check=False)
    answers = out.stdout.splitlines()
    if len(answers) != len(cases):
        tap.fail("dump answered every file", "%d answers for %d files\n%s" % (len(answers), len(cases), out.stderr))
        tap.done()
    bad = []
    for (name, text), path, answer in zip(cases, paths, answers):
        ours = json.loads(answer)
        try:
            theirs = raw_config_parse(path, False)
            want = "parsed"
        except ConfigParseError:
            theirs, want = None, "error"
        got = "error" if "error" in ours and isinstance(ours["error"], str) else "parsed"
        agree = (want == got == "error") or (want == got == "parsed" and ours == theirs)
        if name in FIXED:
            tap.check("%s: %s as botocore" % (name, want), agree,
                      "text: %r\nbotocore: %r\nirhost: %r" % (text, theirs, ours))
        elif not agree:
            bad.append("%s: text %r\n  botocore %r\n  irhost   %r" % (name, text, theirs, ours))
    tap.check("%d random files read as botocore reads them" % (len(cases) - len(FIXED)), not bad,
              "\n".join(bad[:5]))
tap.done()

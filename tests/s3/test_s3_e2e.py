"""End to end: the real irhost binary runs runbooks/s3.lua against tests/fakeaws (world
data.json). Assertions read the fake's state (the buckets as S3 keeps them), the calls it
received and the run directory, not the runbook's own words."""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import e2e  # noqa: E402
import tap  # noqa: E402
from e2e import steps, strip  # noqa: E402

PUBLIC, PARTNER, LOGS = "acme-public-assets", "acme-partner-share", "acme-logs"
SUSPECT = "arn:aws:iam::111122223333:user/ci-deploy"
RESPONDER = "arn:aws:iam::111122223333:user/ir-responder"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
MUTATING = ("Put", "Delete")

suite = e2e.Suite("s3", "s3.lua", world="data", irhost=e2e.binary("IRHOST", "IRHOST_REL", default="rel"))
TMP, fake, run = suite.tmp, suite.fake, suite.run


def fresh():
    fake.reset("data")
    fake.clear_faults()
    fake.clear_calls()
    return fake.state()


def bucket(state, name):
    return state["s3"]["buckets"][name]


def statements(b):
    return json.loads(b["Policy"])["Statement"] if b.get("Policy") else []


def evidence(out, name):
    return e2e.evidence(out, name, parse=name.endswith(".json"))


def s3_mutations():
    return [c for c in fake.calls(service="s3") if c["operation"].startswith(MUTATING)]


try:
    # --- a public bucket by name: secured, the suspect denied, the responder exempt
    before = fresh()
    out = os.path.join(TMP, "public")
    p, rep = run(["--bucket", PUBLIC, "--ticket", "IR-S1", "--evidence-url", "exports/customers.csv"], out)
    after = fake.state()
    b = bucket(after, PUBLIC)
    tap.check("public: exit 0", p.returncode == 0, p.stderr)
    tap.check("public: all four Block Public Access settings on",
              b.get("PublicAccessBlock") == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                             "BlockPublicPolicy": True, "RestrictPublicBuckets": True}, b.get("PublicAccessBlock"))
    tap.check("public: object ownership BucketOwnerEnforced", b.get("OwnershipControls") == "BucketOwnerEnforced", b.get("OwnershipControls"))
    tap.check("public: no AllUsers grant left in the ACL",
              not any((g.get("Grantee") or {}).get("URI") == ALL_USERS for g in b.get("Acl") or []), b.get("Acl"))
    st = statements(b)
    tap.check("public: the public statement removed", not any(s.get("Sid") == "PublicRead" for s in st), st)
    deny = [s for s in st if s.get("Effect") == "Deny"]
    tap.check("public: a deny statement for the suspect principal",
              len(deny) == 1 and SUSPECT in json.dumps(deny[0]["Principal"]), deny)
    tap.check("public: the deny exempts the responders' identity",
              deny and RESPONDER in json.dumps(deny[0].get("Condition", {}).get("ArnNotLike", {})), deny)
    ev = evidence(out, "bucket-settings-before.json") or {}
    tap.check("public: settings saved before the change (original policy and ACL)",
              "PublicRead" in (ev.get("policy") or "") and ALL_USERS in json.dumps(ev.get("acl")), ev)
    removed = evidence(out, "removed-policy-statements.json") or []
    tap.check("public: removed statements kept as evidence", [r["statement"]["Sid"] for r in removed] == ["PublicRead"], removed)
    tap.check("public: removed ACL grants kept as evidence", ALL_USERS in json.dumps(evidence(out, "removed-acl-grants.json")))
    table = evidence(out, "activity-by-principal.md") or ""
    tap.check("public: the activity table names the principal, its calls and IP",
              SUSPECT in table and "PutBucketPolicy" in table and "203.0.113.50" in table, table)
    verdicts = evidence(out, "authorization.json") or []
    v = [x for x in verdicts if x["principal"] == SUSPECT]
    tap.check("public: the suspect judged not authorized, with the reason",
              v and v[0]["verdict"] == "not authorized" and "s3:PutBucketPolicy" in " ".join(v[0]["reasons"]), verdicts)
    gd = evidence(out, "guardduty-findings.json") or []
    tap.check("public: the bucket's GuardDuty findings saved", {f["Id"] for f in gd} >=
              {"b7e1c2d3a4f5061728394a5b6c7d8e01", "a1b2c3d4e5f60718293a4b5c6d7e8f06"}, [f.get("Id") for f in gd])
    # The URL carries the session token: the broker hands it off in handoff.txt, never the report.
    hpath = os.path.join(out, "handoff.txt")
    urls = [{"url": x} for x in (open(hpath).read().splitlines() if os.path.exists(hpath) else []) if x.startswith("http")]
    notes = " ".join((steps(rep).get("Hand out presigned URLs") or {}).get("notes") or [])
    tap.check("public: the report says the URL was handed off, without it",
              "was handed off in handoff.txt" in notes and not any(u["url"] in json.dumps(rep) for u in urls), notes)
    got = None
    if urls:
        try:
            with urllib.request.urlopen(urls[0]["url"], timeout=10) as r:
                got = r.read()
        except Exception as e:  # noqa: BLE001 - reported by the check
            got = repr(e).encode()
    tap.check("public: --evidence-url hands out a working presigned URL (bucket still closed)",
              got == b"id,email\n1,a@example.com\n", (urls, got))
    recs = (steps(rep).get("Report recommended settings") or {}).get("outputs", {}).get("recommendations") or []
    names = " ".join(r["setting"] for r in recs)
    tap.check("public: recommended settings reported with the current state",
              all(k in names for k in ("VPC endpoint", "Presigned", "Access points")) and all("current" in r for r in recs), recs)
    other = bucket(after, LOGS) == bucket(before, LOGS) and bucket(after, PARTNER) == bucket(before, PARTNER)
    tap.check("public: other buckets untouched", other)
    tap.check("public: no secret in any output or file", e2e.no_secret(p, out))

    # --- the second run changes nothing more (idempotent)
    fake.clear_calls()
    p, rep = run(["--bucket", PUBLIC, "--ticket", "IR-S1"], os.path.join(TMP, "public-again"))
    tap.check("rerun: exit 0", p.returncode == 0, p.stderr)
    tap.check("rerun: no mutating call", s3_mutations() == [], [c["operation"] for c in s3_mutations()])
    p, rep = run(["--bucket", PUBLIC, "--ticket", "IR-S1", "--authorized-principal", SUSPECT], os.path.join(TMP, "public-later"))
    deny = [s for s in statements(bucket(fake.state(), PUBLIC)) if s.get("Effect") == "Deny"]
    v = json.load(open(os.path.join(TMP, "public-later", "evidence", "authorization.json")))
    tap.check("rerun judging the principal authorized: judged so", [x["verdict"] for x in v if x["principal"] == SUSPECT] == ["authorized"], v)
    tap.check("rerun judging the principal authorized: the earlier deny (and its exemption) kept, and said",
              p.returncode == 0 and len(deny) == 1 and SUSPECT in json.dumps(deny[0]["Principal"])
              and RESPONDER in json.dumps(deny[0]["Condition"]) and "stays denied" in p.stderr, (p.stderr, deny))

    # --- cross-account grants, bucket from a GuardDuty finding (GetFindings form), versioning
    before = fresh()
    gd = before["guardduty"]["us-east-1"]["detectors"]["0a1b2c3d4e5f60718293a4b5c6d7e8f9"]["findings"]
    path = os.path.join(TMP, "finding.json")
    with open(path, "w") as f:
        json.dump({"Findings": [gd["b7e1c2d3a4f5061728394a5b6c7d8e02"]]}, f)
    out = os.path.join(TMP, "partner")
    p, rep = run(["--finding", path, "--ticket", "IR-S2", "--enable-versioning", "--lockdown"], out)
    b = bucket(fake.state(), PARTNER)
    tap.check("partner: exit 0", p.returncode == 0, p.stderr)
    tap.check("partner: the bucket comes from the finding", (steps(rep).get("Identify the bucket and its findings") or {})
              .get("outputs", {}).get("bucket") == PARTNER)
    st = statements(b)
    tap.check("partner: the cross-account statement removed", not any(s.get("Sid") == "PartnerRead" for s in st), st)
    tap.check("partner: the condition-pinned statement kept", any(s.get("Sid") == "OfficeOnly" for s in st), st)
    grants = b.get("Acl") or []
    tap.check("partner: cross-account and AuthenticatedUsers grants removed",
              not any((g.get("Grantee") or {}).get("ID", "").startswith("79a5") or "AuthenticatedUsers" in json.dumps(g)
                      for g in grants), grants)
    tap.check("partner: versioning enabled", b.get("Versioning") == "Enabled", b.get("Versioning"))
    lock = [s for s in st if s.get("Effect") == "Deny" and s.get("Principal") == "*"]
    tap.check("partner: --lockdown denies everyone but the responders",
              len(lock) == 1 and lock[0]["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [RESPONDER], lock)
    tap.check("partner: the finding kept as evidence", os.path.exists(os.path.join(out, "evidence", "finding.json")))

    # --- dry run: nothing changes; the plan lists the mutating calls
    before = fresh()
    out = os.path.join(TMP, "dry")
    p, rep = run(["--bucket", PUBLIC, "--ticket", "IR-S3", "--dry-run", "--enable-versioning"], out, yes=False)
    after = fake.state()
    tap.check("dry run: exit 0 without --yes", p.returncode == 0, p.stderr)
    tap.check("dry run: s3 state unchanged", strip(before["s3"]) == strip(after["s3"]))
    tap.check("dry run: no mutating call reached S3", s3_mutations() == [], [c["operation"] for c in s3_mutations()])
    planned = {pc["operation"] for e in steps(rep).values() for pc in e.get("planned", [])}
    want = {"PutPublicAccessBlock", "PutBucketAcl", "PutBucketPolicy", "PutBucketOwnershipControls", "PutBucketVersioning"}
    tap.check("dry run: the plan lists every mutating call", want <= planned, sorted(want - planned))

    # --- a failure injected at the ownership step, then --resume
    fresh()
    out = os.path.join(TMP, "resume")
    fake.fault(service="s3", operation="PutBucketOwnershipControls", kind="error", status=400, code="InvalidRequest",
               message="injected", count=-1)
    p, rep = run(["--bucket", PUBLIC, "--ticket", "IR-S4"], out)
    st = {n: e["status"] for n, e in steps(rep).items()}
    tap.check("resume: the failing run exits 1", p.returncode == 1, p.stderr)
    tap.check("resume: the ownership step failed, later steps not run",
              st.get("Enforce bucket-owner object ownership") == "failed" and "Report recommended settings" not in st, st)
    fake.clear_faults()
    fake.clear_calls()
    p, _ = run(["--bucket", PUBLIC, "--ticket", "IR-S4", "--resume", out], None)
    with open(os.path.join(out, "report.json")) as f:
        st = {n: e["status"] for n, e in steps(json.load(f)).items()}
    b = bucket(fake.state(), PUBLIC)
    tap.check("resume: the resumed run exits 0", p.returncode == 0, p.stderr)
    tap.check("resume: done steps not repeated", all(st.get(n) == "done (resumed)" for n in (
        "Save the bucket's current settings", "Block public access", "Remove public and cross-account grants")), st)
    tap.check("resume: no settings saved twice and no policy rewritten",
              not fake.calls(service="s3", operation="PutBucketPolicy") and not fake.calls(service="s3", operation="PutPublicAccessBlock"))
    tap.check("resume: ownership enforced after the resume", b.get("OwnershipControls") == "BucketOwnerEnforced")

    # --- --account-bpa: the account-level block too (s3control, account id in the host prefix)
    fresh()
    out = os.path.join(TMP, "account")
    p, rep = run(["--bucket", PUBLIC, "--ticket", "IR-S7", "--account-bpa"], out)
    acct = (fake.state().get("s3control") or {}).get("account_public_access_block")
    tap.check("--account-bpa: exit 0", p.returncode == 0, p.stderr)
    tap.check("--account-bpa: all four settings on for the account",
              acct == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                       "RestrictPublicBuckets": True}, acct)
    put = fake.calls(service="s3control", operation="PutPublicAccessBlock")
    tap.check("--account-bpa: for the caller's account", put and put[0]["params"].get("AccountId") == "111122223333", put)
    before_acct = os.path.join(out, "evidence", "bucket-settings-before.json")
    tap.check("--account-bpa: the account's previous setting saved first",
              os.path.exists(before_acct) and "account_public_access_block" in open(before_acct).read())

    # --- throttling on half the calls: the same final state
    fresh()
    fake.fault(service="*", kind="throttle", count=-1, every=2)
    out = os.path.join(TMP, "throttle")
    p, rep = run(["--bucket", PUBLIC, "--ticket", "IR-S6"], out)
    fake.clear_faults()
    b = bucket(fake.state(), PUBLIC)
    tap.check("throttling: exit 0", p.returncode == 0, p.stderr[-2000:])
    tap.check("throttling: the same final state", b.get("OwnershipControls") == "BucketOwnerEnforced" and
              all((b.get("PublicAccessBlock") or {}).values()) and len((b.get("PublicAccessBlock") or {})) == 4 and
              not any(s.get("Sid") == "PublicRead" for s in statements(b)), b)
    tap.check("throttling: retries recorded", (rep or {}).get("calls", {}).get("retries", 0) > 0, (rep or {}).get("calls"))

    # --- wrong identifiers
    fresh()
    p, _ = run(["--bucket", "acme-no-such-bucket", "--ticket", "IR-S5"], os.path.join(TMP, "wrong"))
    tap.check("wrong bucket: exit 1", p.returncode == 1, p.stderr)
    tap.check("wrong bucket: says it does not exist", "acme-no-such-bucket does not exist" in p.stderr, p.stderr)
    tap.check("wrong bucket: nothing changed", s3_mutations() == [])
    p, _ = run(["--bucket", "Bad_Bucket", "--ticket", "IR-S5"], os.path.join(TMP, "bad"))
    tap.check("malformed bucket name: exit 2", p.returncode == 2 and "--bucket" in p.stderr, p.stderr)
    p, _ = run(["--ticket", "IR-S5"], os.path.join(TMP, "none"))
    tap.check("no bucket and no finding: exit 2", p.returncode == 2 and "--finding" in p.stderr, p.stderr)
    rds = gd["b7e1c2d3a4f5061728394a5b6c7d8e03"]
    with open(path, "w") as f:
        json.dump({"Findings": [rds]}, f)
    p, _ = run(["--finding", path, "--ticket", "IR-S5"], os.path.join(TMP, "rdsfinding"))
    tap.check("a finding without a bucket: exit 1, names the kind", p.returncode == 1 and "names no S3 bucket" in p.stderr
              and "RDS" in p.stderr, p.stderr)
    p, _ = run(["--bucket", PUBLIC, "--since", "yesterday", "--ticket", "IR-S5"], os.path.join(TMP, "since"))
    tap.check("bad --since: exit 2", p.returncode == 2 and "--since" in p.stderr, p.stderr)
finally:
    suite.close()
tap.done()

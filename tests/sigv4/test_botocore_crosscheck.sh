#!/bin/bash
# host/sigv4.c against botocore: tests/sigv4/gen_cases.py signs >= 1000 random requests with
# Debian's botocore (SigV4Auth, S3SigV4Auth, SigV4QueryAuth, S3SigV4QueryAuth) and the C
# signer (build/asan/unit/test_sigv4 --cases) must produce the same canonical request,
# string to sign and signature for every one. IRHOST_SIGV4_SEED picks another random set.
source "$IRHOST_ROOT/tests/lib/tap.sh"
PY="${PYTHON:-/usr/bin/python3}"
bin="$(dirname "$IRHOST")/unit/test_sigv4"
if ! "$PY" -c 'import botocore.auth' 2>/dev/null; then
  skip "botocore cross-check" "$PY has no botocore (install python3-botocore)"; exit 0
fi
if [ ! -x "$bin" ]; then fail "C signer test binary $bin not built"; exit 1; fi
tmp=$(tmpdir); trap 'rm -rf "$tmp"' EXIT
seed="${IRHOST_SIGV4_SEED:-20150830}"
if "$PY" "$IRHOST_ROOT/tests/sigv4/gen_cases.py" --count 1200 --seed "$seed" >"$tmp/cases.json" 2>"$tmp/gen.err"; then
  ok "botocore signed 1200 random requests (seed $seed)"
else
  fail "case generator failed: $(tail -3 "$tmp/gen.err")"; exit 1
fi
# The random set must really cover what the signer has to get right.
while IFS= read -r line; do
  name=${line%%=*}; n=${line#*=}
  if [ "$n" -ge 20 ]; then ok "cases cover $name ($n)"; else fail "cases cover $name (only $n)"; fi
done < <("$PY" - "$tmp/cases.json" <<'PYEOF'
import json, re, sys
c = json.load(open(sys.argv[1]))
def n(f): return sum(1 for x in c if f(x))
def keys(q): return [p.split('=')[0] for p in q.split('&') if p]
print('header mode=%d' % n(lambda x: x['mode'] == 'header'))
print('query mode=%d' % n(lambda x: x['mode'] == 'query'))
print('s3 header signing=%d' % n(lambda x: x['s3'] and x['mode'] == 'header'))
print('s3 presigning=%d' % n(lambda x: x['s3'] and x['mode'] == 'query'))
print('session tokens=%d' % n(lambda x: x['token']))
print('bodies=%d' % n(lambda x: x['body_hex']))
print('repeated query keys=%d' % n(lambda x: len(keys(x['query'])) != len(set(keys(x['query'])))))
print('empty query values=%d' % n(lambda x: re.search(r'(^|&)[^=&]+(=(&|$)|&|$)', x['query']) is not None))
print('raw unicode in paths=%d' % n(lambda x: any(ord(ch) > 127 for ch in x['path'])))
print('reserved characters in paths=%d' % n(lambda x: re.search(r"[!$&'()*+,;=:@ ]|%2[1-9A-C]", x['path']) is not None))
print('dot segments (non-S3)=%d' % n(lambda x: not x['s3'] and re.search(r'/\.\.?(/|$)', x['path']) is not None))
print('double encoding (non-S3)=%d' % n(lambda x: '%25' in x['canonical_request'].split('\n')[1]))
print('folded header values=%d' % n(lambda x: any('\n' in v for _, v in x['headers'])))
print('repeated header names=%d' % n(lambda x: len(x['headers']) != len({h.lower() for h, _ in x['headers']})))
PYEOF
)
"$bin" --cases "$tmp/cases.json"

# Shared set-up for the host suites: a local fake AWS endpoint (tests/fakeaws, 127.0.0.1
# only) so the run's first call (sts:GetCallerIdentity) succeeds, fake credentials, and
# nothing that reaches the network.
# shellcheck shell=bash
source "$IRHOST_ROOT/tests/lib/tap.sh"
cd "$IRHOST_ROOT" || exit 1
FIX=tests/host/fixtures
HELLO=runbooks/examples/hello.lua
tmp=$(tmpdir)
"${PYTHON:-/usr/bin/python3}" tests/fakeaws/server.py --port 0 --port-file "$tmp/.fake-port" --world demo \
  >/dev/null 2>"$tmp/.fake-err" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 200); do [ -s "$tmp/.fake-port" ] && break; sleep 0.05; done
if [ ! -s "$tmp/.fake-port" ]; then echo "Bail out! fakeaws did not start: $(head -c 300 "$tmp/.fake-err")"; exit 1; fi
FAKE_URL="http://127.0.0.1:$(cat "$tmp/.fake-port")"
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$FAKE_URL"
export AWS_MAX_ATTEMPTS=1 AWS_ACCESS_KEY_ID=AKIDIRHOSTTEST AWS_SECRET_ACCESS_KEY='irhost/TEST+secret/fakeaws0000000000000000'
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION
# run NAME ARGS...: runs $IRHOST, leaves $tmp/NAME.out, $tmp/NAME.err and $rc.
run() { local n="$1"; shift; "$IRHOST" "$@" >"$tmp/$n.out" 2>"$tmp/$n.err" </dev/null; rc=$?; }
# has NAME FILE TEXT: FILE (out|err) of run NAME contains TEXT.
has() { grep -qF -- "$3" "$tmp/$1.$2"; }
# lines NAME: number of lines on stderr of run NAME.
lines() { wc -l <"$tmp/$1.err" | tr -d ' '; }
# clean NAME: no stack dump and no sanitizer report in run NAME's output.
clean() { ! grep -qE "stack traceback|AddressSanitizer|runtime error:|LeakSanitizer" "$tmp/$1.err" "$tmp/$1.out"; }

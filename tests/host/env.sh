# Shared set-up for the host suites: an environment where nothing reaches the network
# (AWS calls fail fast against a closed port on 127.0.0.1) and fake credentials.
# shellcheck shell=bash
source "$IRHOST_ROOT/tests/lib/tap.sh"
cd "$IRHOST_ROOT" || exit 1
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:9
export AWS_MAX_ATTEMPTS=1 AWS_ACCESS_KEY_ID=AKIDHOSTTEST AWS_SECRET_ACCESS_KEY=host-test-secret-not-real
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN
FIX=tests/host/fixtures
HELLO=runbooks/examples/hello.lua
tmp=$(tmpdir); trap 'rm -rf "$tmp"' EXIT
# run NAME ARGS...: runs $IRHOST, leaves $tmp/NAME.out, $tmp/NAME.err and $rc.
run() { local n="$1"; shift; "$IRHOST" "$@" >"$tmp/$n.out" 2>"$tmp/$n.err" </dev/null; rc=$?; }
# has NAME FILE TEXT: FILE (out|err) of run NAME contains TEXT.
has() { grep -qF -- "$3" "$tmp/$1.$2"; }
# lines NAME: number of lines on stderr of run NAME.
lines() { wc -l <"$tmp/$1.err" | tr -d ' '; }
# clean NAME: no stack dump and no sanitizer report in run NAME's output.
clean() { ! grep -qE "stack traceback|AddressSanitizer|runtime error:|LeakSanitizer" "$tmp/$1.err" "$tmp/$1.out"; }

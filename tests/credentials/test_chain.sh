#!/bin/bash
# The credential chain end to end against loopback IMDS, container and STS endpoints
# (fake_metadata.py): each link, precedence between links, role chains, web identity, MFA
# on a terminal, STS errors, expiry and refresh, region from IMDS. The C side is the
# test_credentials driver (IRH_CRED_SCENARIO=1). Every output is searched for the secrets
# the test and the server hand out (they all contain S3KR1T or T0K3N).
# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
set -u
ROOT="${IRHOST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
PY="${PYTHON:-/usr/bin/python3}"
DRIVER="$(dirname "${IRHOST:-$ROOT/build/asan/irhost}")/unit/test_credentials"
if [ ! -x "$DRIVER" ]; then fail "driver $DRIVER is not built (make test-only T=credentials builds it)"; exit 1; fi

T=$(tmpdir)
OUT="$T/out"; mkdir -p "$OUT" "$T/home"
LOG="$T/server.log"
"$PY" "$ROOT/tests/credentials/fake_metadata.py" --port-file "$T/port" --log "$LOG" \
    --key AKIDBASE=base-S3KR1T-key --key AKIDENVSRC=envsrc-S3KR1T-key &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
if [ ! -s "$T/port" ]; then fail "fake metadata server did not start"; exit 1; fi
URL="http://127.0.0.1:$(cat "$T/port")"
CLOSED="http://127.0.0.1:9"

ctl()   { curl -sf -X PUT "$URL/_control" -d "$1" >/dev/null; }
reset() { curl -sf -X PUT "$URL/_reset" >/dev/null; : >"$LOG"; : >"$T/config"; : >"$T/credentials"; }
# drv NAME VAR=VALUE...: runs the driver in a clean environment; output in $OUT/NAME.
drv() {
  local name="$1"; shift
  env -i PATH="$PATH" HOME="$T/home" ASAN_OPTIONS="${ASAN_OPTIONS:-}" LSAN_OPTIONS="${LSAN_OPTIONS:-}" \
      UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" AWS_CONFIG_FILE="$T/config" AWS_SHARED_CREDENTIALS_FILE="$T/credentials" \
      AWS_EC2_METADATA_DISABLED=true IRH_CRED_SCENARIO=1 IRH_T_STS="$URL" IRH_T_REGION=eu-west-1 \
      "$@" "$DRIVER" >"$OUT/$name" 2>&1
  echo $? >"$OUT/$name.rc"
}
has()   { grep -qE -- "$2" "$OUT/$1"; }
rc_is() { [ "$(cat "$OUT/$1.rc")" = "$2" ]; }
# logq PYEXPR: true when the expression holds over E, the server's log entries.
logq()  { "$PY" -c 'import json,sys; E=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if eval(sys.argv[2]) else 1)' "$LOG" "$1"; }
# expect NAME DESCRIPTION CHECK...: all checks must hold; shows the output when not.
expect() {
  local name="$1" desc="$2"; shift 2
  local okay=1 c
  for c in "$@"; do eval "$c" || { okay=0; echo "#   failed: $c"; }; done
  if [ $okay = 1 ]; then ok "$desc"; else fail "$desc"; sed 's/^/#   | /' "$OUT/$name"; fi
}
IMDS=(AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$URL")
BASE_PROFILE=$'[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-S3KR1T-key\n'

# ---------------------------------------------------------------- IMDSv2
reset
drv imds "${IMDS[@]}"
expect imds "IMDSv2: token PUT with a TTL, then the role's credentials with the token" \
  'rc_is imds 0' 'has imds "source=imds role ir-responder akid=ASIAIMDS[0-9]+ token=yes"' \
  "logq 'E[0][\"kind\"]==\"imds_token\" and E[0][\"ttl\"]==\"21600\" and all(e.get(\"token\",True) for e in E)'"

reset; ctl '{"imds_token_status": 404}'
drv imds_v1 "${IMDS[@]}"
expect imds_v1 "IMDS without v2 (token PUT 404): falls back to v1 GETs as botocore does" \
  'rc_is imds_v1 0' 'has imds_v1 "source=imds"' "logq 'any(e[\"kind\"]==\"imds_creds\" and not e[\"token\"] for e in E)'"

reset; ctl '{"imds_fail_first": 1}'
drv imds_retry "${IMDS[@]}"
expect imds_retry "IMDS: one retry after a failed token request" \
  'rc_is imds_retry 0' "logq 'sum(e[\"kind\"]==\"imds_token\" for e in E)==2'"

reset; ctl '{"imds_fail_first": 5}'
drv imds_fails "${IMDS[@]}"
expect imds_fails "IMDS: gives up after one retry with a one-line error" \
  'rc_is imds_fails 4' 'has imds_fails "instance metadata at .* is unreachable \(HTTP 500\)"' \
  "logq 'sum(e[\"kind\"]==\"imds_token\" for e in E)==2'"

reset; ctl '{"imds_role": ""}'
drv imds_norole "${IMDS[@]}"
expect imds_norole "IMDS: an instance without a role says so" 'rc_is imds_norole 4' 'has imds_norole "no IAM role attached"'

reset
drv imds_disabled AWS_EC2_METADATA_SERVICE_ENDPOINT="$URL"
expect imds_disabled "AWS_EC2_METADATA_DISABLED=true: IMDS is never asked" \
  'rc_is imds_disabled 4' 'has imds_disabled "AWS_EC2_METADATA_DISABLED"' '[ ! -s "$LOG" ]'

reset
drv imds_down AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$CLOSED"
expect imds_down "unreachable IMDS: one line naming the endpoint and the fix" \
  'rc_is imds_down 4' 'has imds_down "127.0.0.1:9 is unreachable.*AWS_EC2_METADATA_DISABLED=true"' \
  '[ "$(wc -l <"$OUT/imds_down")" -eq 1 ]'

reset
drv imds_region "${IMDS[@]}" IRH_T_RESOLVE_REGION=1 IRH_T_GETS=0
expect imds_region "region from IMDS placement/region when nothing else sets one" \
  'has imds_region "^region=eu-central-1$"' "logq 'any(e[\"kind\"]==\"imds_region\" and e[\"token\"] for e in E)'"

reset; printf '[default]\nregion = eu-west-2\n' >"$T/config"
drv cfg_region "${IMDS[@]}" IRH_T_RESOLVE_REGION=1 IRH_T_GETS=0
expect cfg_region "the profile's region comes before IMDS" 'has cfg_region "^region=eu-west-2$"' '[ ! -s "$LOG" ]'

# ---------------------------------------------------------------- container endpoint
reset; ctl '{"container_token": "Bearer ctr-T0K3N-1"}'
drv ctr AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/container/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer ctr-T0K3N-1" "${IMDS[@]}"
expect ctr "container endpoint (FULL_URI on loopback) with its authorization token, before IMDS" \
  'rc_is ctr 0' 'has ctr "source=container akid=ASIAECS"' "logq 'E[0][\"kind\"]==\"container\" and E[0][\"auth_ok\"] and len(E)==1'"

reset; ctl '{"container_token": "Bearer file-T0K3N-2"}'
printf 'Bearer file-T0K3N-2\n' >"$T/ctr_token"
drv ctr_file AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/container/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong-T0K3N" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ctr_token"
expect ctr_file "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE wins over the variable" 'rc_is ctr_file 0' \
  "logq 'E[0][\"auth_ok\"]'"

reset; ctl '{"container_token": "Bearer right-T0K3N"}'
drv ctr_denied AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/container/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer wrong-T0K3N"
expect ctr_denied "container endpoint refusing the token: names the variables to check" \
  'rc_is ctr_denied 4' 'has ctr_denied "HTTP 401.*AWS_CONTAINER_AUTHORIZATION_TOKEN"'

reset; printf '%s' "$BASE_PROFILE" | sed 's/profile base/default/' >"$T/config"
drv ctr_after_profile AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/container/creds"
expect ctr_after_profile "profile keys come before the container endpoint" 'has ctr_after_profile "akid=AKIDBASE"' '[ ! -s "$LOG" ]'

# ---------------------------------------------------------------- assume role from a profile
reset
{ printf '%s' "$BASE_PROFILE"
  printf '[profile responder]\nrole_arn = arn:aws:iam::222233334444:role/responder\nsource_profile = base\n'
  printf 'external_id = ext-42\nrole_session_name = ir-session\nduration_seconds = 1800\n'
  printf '[profile second]\nrole_arn = arn:aws:iam::555566667777:role/second\nsource_profile = responder\n'
  printf '[profile viaecs]\nrole_arn = arn:aws:iam::1:role/from-ecs\ncredential_source = EcsContainer\n'
  printf '[profile viaimds]\nrole_arn = arn:aws:iam::1:role/from-imds\ncredential_source = Ec2InstanceMetadata\n'
  printf '[profile viaenv]\nrole_arn = arn:aws:iam::1:role/from-env\ncredential_source = environment\n'
  printf '[profile self]\nrole_arn = arn:aws:iam::1:role/self\nsource_profile = self\n'
  printf 'aws_access_key_id = AKIDBASE\naws_secret_access_key = base-S3KR1T-key\n'
  printf '[profile mfa]\nrole_arn = arn:aws:iam::1:role/mfa\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/alice\n'
} >"$T/config"
cp "$T/config" "$T/config.roles"

drv role IRH_T_PROFILE=responder
expect role "role_arn + source_profile: AssumeRole signed with the source keys, with every setting" \
  'rc_is role 0' 'has role "source=profile responder \(assume role\) akid=ASIASTS[0-9]+ token=yes"' \
  'has role "^arn=arn:aws:sts::123456789012:assumed-role/responder/ir-session$"' \
  "logq 'E[0][\"action\"]==\"AssumeRole\" and E[0][\"sig_ok\"] and E[0][\"signed_by\"]==\"AKIDBASE\" and E[0][\"ExternalId\"]==\"ext-42\" and E[0][\"RoleSessionName\"]==\"ir-session\" and E[0][\"DurationSeconds\"]==\"1800\" and E[0][\"RoleArn\"].endswith(\"role/responder\") and E[0][\"Version\"]==\"2011-06-15\"'"

: >"$LOG"
drv role_chain IRH_T_PROFILE=second
expect role_chain "chained roles: the second AssumeRole is signed with the first role's session" \
  'rc_is role_chain 0' 'has role_chain "source=profile second"' \
  "logq 'len(E)==2 and E[1][\"sig_ok\"] and E[1][\"signed_by\"].startswith(\"ASIASTS\") and E[1][\"token_header\"] and E[1][\"RoleSessionName\"].startswith(\"botocore-session-\")'"

: >"$LOG"
drv role_self IRH_T_PROFILE=self
expect role_self "a profile may be its own source_profile when it has keys" 'rc_is role_self 0' \
  "logq 'E[0][\"signed_by\"]==\"AKIDBASE\"'"

: >"$LOG"
drv role_ecs IRH_T_PROFILE=viaecs AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/container/creds"
expect role_ecs "credential_source = EcsContainer" 'rc_is role_ecs 0' \
  "logq 'E[0][\"kind\"]==\"container\" and E[1][\"signed_by\"].startswith(\"ASIAECS\") and E[1][\"sig_ok\"]'"

: >"$LOG"
drv role_imds IRH_T_PROFILE=viaimds "${IMDS[@]}"
expect role_imds "credential_source = Ec2InstanceMetadata" 'rc_is role_imds 0' \
  "logq 'E[-1][\"kind\"]==\"sts\" and E[-1][\"signed_by\"].startswith(\"ASIAIMDS\") and E[-1][\"sig_ok\"]'"

: >"$LOG"
drv role_env IRH_T_PROFILE=viaenv AWS_ACCESS_KEY_ID=AKIDENVSRC AWS_SECRET_ACCESS_KEY=envsrc-S3KR1T-key
expect role_env "credential_source = Environment (case-insensitive), even with --profile" 'rc_is role_env 0' \
  "logq 'E[0][\"signed_by\"]==\"AKIDENVSRC\" and E[0][\"sig_ok\"]'"

: >"$LOG"
drv role_envwins AWS_ACCESS_KEY_ID=AKIDENVSRC AWS_SECRET_ACCESS_KEY=envsrc-S3KR1T-key AWS_PROFILE=responder
expect role_envwins "environment keys come before a role profile named by AWS_PROFILE" \
  'has role_envwins "source=environment akid=AKIDENVSRC"' '[ ! -s "$LOG" ]'

: >"$LOG"
drv role_regional IRH_T_PROFILE=responder IRH_T_STS= AWS_ENDPOINT_URL_STS="$URL"
expect role_regional "AWS_ENDPOINT_URL_STS points STS elsewhere; signed for the run's region" 'rc_is role_regional 0' \
  "logq 'E[0][\"sig_ok\"]'"

reset; cp "$T/config.roles" "$T/config"; ctl '{"sts_error": {"status": 403, "code": "AccessDenied", "message": "User is not authorized to perform: sts:AssumeRole"}}'
drv role_denied IRH_T_PROFILE=responder
expect role_denied "STS AccessDenied: one line with the code, message, profile and what to check" \
  'rc_is role_denied 4' \
  'has role_denied "profile .responder.*HTTP 403 AccessDenied: User is not authorized.*trust policy"' \
  '[ "$(wc -l <"$OUT/role_denied")" -eq 1 ]'

reset; cp "$T/config.roles" "$T/config"
drv role_down IRH_T_PROFILE=responder IRH_T_STS="$CLOSED"
expect role_down "unreachable STS: names the endpoint" 'rc_is role_down 4' 'has role_down "STS at http://127.0.0.1:9 is unreachable"'

# MFA on a terminal: the code is read from /dev/tty with echo off and sent as TokenCode.
reset; cp "$T/config.roles" "$T/config"
cat >"$T/mfa_terminal.py" <<'EOF'
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1]])
seen = b""
deadline = time.time() + 60
sent = False
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    if not sent and b"Enter MFA code for arn:aws:iam::1:mfa/alice: " in seen:
        os.write(fd, b"654321\n")
        sent = True
os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
EOF
env -i PATH="$PATH" HOME="$T/home" ASAN_OPTIONS="${ASAN_OPTIONS:-}" LSAN_OPTIONS="${LSAN_OPTIONS:-}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" AWS_CONFIG_FILE="$T/config" AWS_SHARED_CREDENTIALS_FILE="$T/credentials" \
    AWS_EC2_METADATA_DISABLED=true IRH_CRED_SCENARIO=1 IRH_T_STS="$URL" IRH_T_REGION=eu-west-1 \
    IRH_T_PROFILE=mfa IRH_T_INTERACTIVE=1 "$PY" "$T/mfa_terminal.py" "$DRIVER" >"$OUT/mfa_tty" 2>&1
expect mfa_tty "MFA: the code is asked on the terminal, not echoed, and sent with the serial" \
  'has mfa_tty "Enter MFA code for arn:aws:iam::1:mfa/alice"' 'has mfa_tty "source=profile mfa \(assume role\)"' \
  '! has mfa_tty 654321' \
  "logq 'E[0][\"SerialNumber\"]==\"arn:aws:iam::1:mfa/alice\" and E[0][\"TokenCode\"]==\"654321\" and E[0][\"sig_ok\"]'"

drv mfa_notty IRH_T_PROFILE=mfa
expect mfa_notty "MFA without a terminal: stops at once, naming the profile and mfa_serial" \
  'rc_is mfa_notty 4' 'has mfa_notty "profile .mfa. needs an MFA code for arn:aws:iam::1:mfa/alice.*no terminal"'

# ---------------------------------------------------------------- web identity
reset; ctl '{"web_token": "eyJweb-T0K3N-jwt"}'
printf 'eyJweb-T0K3N-jwt\n' >"$T/webtoken"
drv web AWS_WEB_IDENTITY_TOKEN_FILE="$T/webtoken" AWS_ROLE_ARN=arn:aws:iam::1:role/eks AWS_ROLE_SESSION_NAME=pod-1
expect web "web identity from the environment: AssumeRoleWithWebIdentity, unsigned, with the token" \
  'rc_is web 0' 'has web "source=web identity akid=ASIASTS"' \
  "logq 'E[0][\"action\"]==\"AssumeRoleWithWebIdentity\" and not E[0][\"authorization\"] and E[0][\"web_token_ok\"] and E[0][\"RoleSessionName\"]==\"pod-1\"'"

: >"$LOG"
printf '[default]\nweb_identity_token_file = %s\nrole_arn = arn:aws:iam::1:role/web\n' "$T/webtoken" >"$T/config"
drv web_profile
expect web_profile "web identity from the profile (web_identity_token_file + role_arn)" 'rc_is web_profile 0' \
  "logq 'E[0][\"web_token_ok\"] and E[0][\"RoleArn\"].endswith(\"role/web\") and E[0][\"RoleSessionName\"].startswith(\"botocore-session-\")'"

: >"$LOG"; : >"$T/config"
drv web_norole AWS_WEB_IDENTITY_TOKEN_FILE="$T/webtoken"
expect web_norole "web identity without a role names AWS_ROLE_ARN" 'rc_is web_norole 4' 'has web_norole "AWS_ROLE_ARN"'

drv web_envwins AWS_WEB_IDENTITY_TOKEN_FILE="$T/webtoken" AWS_ROLE_ARN=arn:aws:iam::1:role/eks \
    AWS_ACCESS_KEY_ID=AKIDENVSRC AWS_SECRET_ACCESS_KEY=envsrc-S3KR1T-key
expect web_envwins "environment keys come before web identity" 'has web_envwins "source=environment"'

# ---------------------------------------------------------------- expiry and refresh
reset; ctl '{"expire_seconds": 3600}'
drv cache "${IMDS[@]}" IRH_T_GETS=3
expect cache "credentials valid for an hour are fetched once for three uses" 'rc_is cache 0' \
  "logq 'sum(e[\"kind\"]==\"imds_creds\" for e in E)==1'"

reset; ctl '{"expire_seconds": 200}'
drv refresh "${IMDS[@]}" IRH_T_GETS=3
expect refresh "credentials within 5 minutes of expiry are refreshed before each use" 'rc_is refresh 0' \
  "logq 'sum(e[\"kind\"]==\"imds_creds\" for e in E)==3'" 'has refresh "get 3: .*expires_in=(19[0-9]|200)$"'

reset; ctl '{"expire_seconds": -60}'
drv expired AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/container/creds"
expect expired "expired credentials from a source: one line saying so" 'rc_is expired 4' \
  'has expired "credentials from container expired at [0-9T:-]+Z: refresh them"'

# ---------------------------------------------------------------- aws.assume_role providers
reset
drv assume AWS_ACCESS_KEY_ID=AKIDENVSRC AWS_SECRET_ACCESS_KEY=envsrc-S3KR1T-key IRH_T_GETS=2 \
    IRH_T_ASSUME_ROLE=arn:aws:iam::999988887777:role/xacct IRH_T_EXTERNAL_ID=ir-ext IRH_T_SESSION_NAME=irhost-IR-42 \
    IRH_T_DURATION=900 IRH_T_IDENTITY=1
expect assume "irh_cred_assume_role: cross-account role from the run's credentials, cached, usable for calls" \
  'rc_is assume 0' 'has assume "^assumed arn=arn:aws:sts::123456789012:assumed-role/xacct/irhost-IR-42$"' \
  'has assume "role get 2: source=assumed role akid=ASIASTS"' 'has assume "^identity arn=arn:aws:iam::123456789012:user/ASIASTS"' \
  "logq 'sum(e.get(\"action\")==\"AssumeRole\" for e in E)==1 and E[0][\"ExternalId\"]==\"ir-ext\" and E[0][\"DurationSeconds\"]==\"900\" and E[0][\"signed_by\"]==\"AKIDENVSRC\" and E[-1][\"action\"]==\"GetCallerIdentity\" and E[-1][\"sig_ok\"]'"

drv assume_bad AWS_ACCESS_KEY_ID=AKIDENVSRC AWS_SECRET_ACCESS_KEY=envsrc-S3KR1T-key IRH_T_ASSUME_ROLE=not-an-arn
expect assume_bad "irh_cred_assume_role refuses what is not a role ARN" 'rc_is assume_bad 4' 'has assume_bad "role ARN"'

# ---------------------------------------------------------------- secrets
leaks=$(grep -rlE 'S3KR1T|T0K3N' "$OUT" "$LOG" 2>/dev/null)
if [ -z "$leaks" ]; then ok "no secret value appears in any driver output or the server log"
else fail "secret values leaked into: $leaks"; grep -rhE 'S3KR1T|T0K3N' $leaks | head -5 | sed 's/^/#   /'; fi

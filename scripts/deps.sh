#!/bin/sh
# Installs the Debian packages irhost needs to build and test; does nothing when all are present.
set -eu
PKGS="gcc make libc6-dev liblua5.4-dev lua-cjson-dev libcurl4-openssl-dev libssl-dev libexpat1-dev
libseccomp-dev python3 python3-botocore python3-boto3 awscli lua-check ca-certificates"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

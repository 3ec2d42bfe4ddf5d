#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: the apt
# packages listed in .ci/apt-packages and the Go modules of go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=$(grep -v '^\s*#' .ci/apt-packages | awk 'NF{print $1}' | sort -u)
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
go mod download
go mod download -modfile=tools/go.mod # nfpm, run by scripts/package.sh
echo "deps: ready"

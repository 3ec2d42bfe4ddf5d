#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: the apt
# packages listed in .ci/apt-packages and the Go modules of go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=$(grep -v '^\s*#' .ci/apt-packages | awk 'NF{print $1}' | sort -u)
# Names that installed packages provide count as installed (NodeSource's
# nodejs provides npm and conflicts with Debian's npm package).
provided=$(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
  awk -F'|' '$1 ~ /^ii/ {print $2}' | tr ',' '\n' | sed 's/(.*)//; s/^ *//; s/ *$//' | sort -u)
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
  grep -qxF "$p" <<<"$provided" && continue
  missing+=("$p")
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

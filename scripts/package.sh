#!/usr/bin/env bash
# Builds the netkick .deb and .rpm with nfpm (run as a Go tool from tools/go.mod,
# so the product's go.mod stays lean): a static binary stamped with the version,
# commit and date, the systemd unit, the default config, docs and completions.
#
#   scripts/package.sh [OUTDIR]          # default OUTDIR: dist/
#
# Environment: NETKICK_VERSION (default: from `git describe`, else 0.0.0~dev),
# NETKICK_ARCH (amd64 or arm64; default: this machine's GOARCH).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-dist}")
arch=${NETKICK_ARCH:-$(go env GOARCH)}
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
date=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
version=${NETKICK_VERSION:-$(git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//; s/-/+/; s/-/./g' || true)}
version=${version:-0.0.0~dev}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/completions" "$out"
ldflags="-s -w -X main.version=$version -X main.commit=$commit -X main.date=$date"
CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath -ldflags "$ldflags" -o "$stage/netkick" ./cmd/netkick
# Completions come from a binary this machine can run.
host="$stage/netkick"
if [ "$arch" != "$(go env GOARCH)" ]; then
	host="$stage/netkick-host"
	CGO_ENABLED=0 go build -o "$host" ./cmd/netkick
fi
for sh in bash zsh fish; do
	"$host" completion "$sh" >"$stage/completions/netkick.$sh"
done
mv "$stage/completions/netkick.zsh" "$stage/completions/_netkick"

export NETKICK_VERSION="$version" NETKICK_ARCH="$arch" NETKICK_STAGE="$stage"
for p in deb rpm; do
	go tool -modfile=tools/go.mod nfpm package --config packaging/nfpm.yaml --packager "$p" --target "$out/" >&2
done
ls -1 "$out"/netkick*"$arch"*.deb "$out"/netkick*.rpm

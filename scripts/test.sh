#!/usr/bin/env bash
# Runs the full test suite: installs prerequisites, builds, vets and tests every package.
# Tests that need root, network namespaces or Debian packages fail under CI=true
# instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
go build ./...
go vet ./...
go test -count=1 -timeout 40m "$@" ./...

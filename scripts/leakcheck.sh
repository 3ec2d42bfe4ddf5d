#!/usr/bin/env bash
# Fails when a log holds what looks like a secret netkick handles: a build
# token in a URL, an API token (nk_…), an admin token after "Bearer" or alone
# on a line as serve prints a new one, a SHA-256/SHA-512 crypt password hash.
# Redacted values (token=REDACTED) pass. Usage: scripts/leakcheck.sh LOG…
set -euo pipefail
if [ "$#" -eq 0 ]; then
	echo "usage: $0 LOG..." >&2
	exit 2
fi
# shellcheck disable=SC2016 # the $ are part of the regular expressions
patterns=(
	'token=[0-9a-f]{32}'
	'nk_[0-9a-f]{32}'
	'Bearer [0-9A-Za-z_]{16,}'
	'^[0-9a-f]{48}$'
	'\$[56]\$([^$[:space:]]{1,16}\$)?[./0-9A-Za-z]{43,86}'
)
found=0
for p in "${patterns[@]}"; do
	if grep -EnH -e "$p" "$@" >/dev/null; then
		echo "leakcheck: a secret-like value matching /$p/ is in the log at (file:line):" >&2
		grep -EnH -e "$p" "$@" | cut -d: -f1,2 | head -20 >&2
		found=1
	fi
done
exit "$found"

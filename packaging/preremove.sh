#!/bin/sh
# netkick package: before removal (not before an upgrade): stop and disable
# the service. The data directory is kept; docs/install.md says how to remove it.
# Arguments: deb "remove|upgrade|…"; rpm "0" (erase) or "1" (upgrade).
set -eu
case "${1:-}" in
remove | 0) ;;
*) exit 0 ;;
esac
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	systemctl disable --now netkick.service || true
fi

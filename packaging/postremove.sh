#!/bin/sh
# netkick package: after removal: tell systemd the unit is gone. The netkick
# user and /var/lib/netkick stay (a reinstall finds its inventory again).
set -eu
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi

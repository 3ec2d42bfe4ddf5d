#!/bin/sh
# netkick package: after unpacking. Makes the data directory (mode 0700, owner
# netkick), reloads systemd, and restarts the service if an upgrade stopped it.
# Arguments: deb "configure [OLD-VERSION]"; rpm "1" (install) or "2" (upgrade).
set -eu
root="${DPKG_ROOT:-}"
data="$root/var/lib/netkick"

uid=$(awk -F: '$1 == "netkick" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "netkick" { print $3 }' "$root/etc/group")
if [ ! -d "$data" ]; then
	mkdir -p "$data"
	chown "$uid:$gid" "$data"
	chmod 0700 "$data"
fi

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	if [ -e "$data/.restart-after-upgrade" ]; then
		rm -f "$data/.restart-after-upgrade"
		systemctl start netkick.service
	fi
fi
case "${1:-}:${2:-}" in
configure: | 1:)
	echo "netkick: installed. Edit /etc/netkick/netkick.yaml, then: systemctl enable --now netkick"
	;;
esac

#!/bin/sh
# netkick package: before unpacking. Creates the netkick system user and, on
# an upgrade, stops the service and backs up the inventory so the new
# version's schema migration can be rolled back (docs/install.md).
# Arguments: deb "install|upgrade [OLD-VERSION]"; rpm "1" (install) or "2" (upgrade).
# DPKG_ROOT is set when dpkg installs into another root (dpkg --root).
set -eu
root="${DPKG_ROOT:-}"
data="$root/var/lib/netkick"

if ! grep -q '^netkick:' "$root/etc/group" 2>/dev/null; then
	if [ -n "$root" ]; then groupadd --prefix "$root" --system netkick; else groupadd --system netkick; fi
fi
if ! grep -q '^netkick:' "$root/etc/passwd" 2>/dev/null; then
	if [ -n "$root" ]; then
		useradd --prefix "$root" --system --gid netkick --home-dir /var/lib/netkick --no-create-home \
			--shell /usr/sbin/nologin --comment "netkick provisioning server" netkick
	else
		useradd --system --gid netkick --home-dir /var/lib/netkick --no-create-home \
			--shell /usr/sbin/nologin --comment "netkick provisioning server" netkick
	fi
fi

case "${1:-}" in
upgrade | 2) ;;
*) exit 0 ;;
esac
if [ -z "$root" ] && [ -d /run/systemd/system ] && systemctl is-active --quiet netkick.service; then
	systemctl stop netkick.service
	: >"$data/.restart-after-upgrade"
fi
if [ -f "$data/inventory.db" ]; then
	backup="$data/backup/$(date -u +%Y%m%dT%H%M%SZ)-${2:-previous}"
	mkdir -p "$backup"
	for f in inventory.db inventory.db-wal inventory.db-shm admin.token; do
		[ ! -e "$data/$f" ] || cp -p "$data/$f" "$backup/"
	done
	chmod 0700 "$data/backup" "$backup"
	echo "netkick: inventory backed up to ${backup#"$root"} before the upgrade"
fi

#!/usr/bin/env bash
# Runs the IPVS code against a real kernel: boots a Debian kernel under QEMU
# (TCG is enough) with a BusyBox initramfs that loads ip_vs, then runs the
# lvs/ipvs kernel test (NETKICK_IPVS_TEST=1) and `netkick lvs apply` twice and
# `netkick lvs status` on the demo cluster; with ipvsadm installed on the host,
# also checks the rendered rule sets against `ipvsadm -R`/`-S` in the guest.
# Exits non-zero when anything fails.
# Needs: qemu-system-x86, busybox-static, cpio, apt-get (to download the kernel
# package once into $CACHE; it is unpacked, never installed). About a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netkick-ipvs-guest}
WORK=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT; echo "work dir: $WORK" >&2
mkdir -p "$CACHE"

pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$pkg" ] || { echo "cannot find the kernel package behind linux-image-amd64" >&2; exit 1; }
deb=$(ls "$CACHE/$pkg"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  (cd "$CACHE" && apt-get download "$pkg")
  deb=$(ls "$CACHE/$pkg"_*.deb | head -1)
fi
dpkg -x "$deb" "$WORK/k"
kver=${pkg#linux-image-}
kmod="$WORK/k/lib/modules/$kver"

root="$WORK/initrd"
mkdir -p "$root"/{bin,proc,sys,dev,tmp} "$root/lib/modules/$kver/kernel"
cp "$(command -v busybox)" "$root/bin/busybox"
for d in net/netfilter net/ipv4/netfilter net/ipv6/netfilter crypto lib; do
  mkdir -p "$root/lib/modules/$kver/kernel/$d"
  cp -r "$kmod/kernel/$d/." "$root/lib/modules/$kver/kernel/$d/"
done
cp "$kmod"/modules.order "$kmod"/modules.builtin "$root/lib/modules/$kver/"

# ipvsadm (optional, from Debian's ipvsadm package) cross-checks the rule set.
if ipvsadm=$(command -v ipvsadm); then
  mkdir -p "$root/sbin"
  cp "$ipvsadm" "$root/sbin/ipvsadm"
  for lib in $(ldd "$ipvsadm" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
fi
CGO_ENABLED=0 go test -c -o "$root/ipvs.test" ./lvs/ipvs/
CGO_ENABLED=0 go build -o "$root/netkick" ./cmd/netkick
cp cmd/netkick/demo.yaml "$root/inventory.yaml"
cp lvs/testdata/three.ipvsadm "$root/three.ipvsadm"

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp
echo /bin/modprobe > /proc/sys/kernel/modprobe
depmod -a
# crc32c_generic first: BusyBox modprobe ignores libcrc32c's soft dependency
for m in crc32c_generic ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc; do modprobe $m || echo "GUEST-FAIL: modprobe $m"; done
ip link set lo up
echo "=== go test ./lvs/ipvs (NETKICK_IPVS_TEST=1)"
HOME=/tmp TMPDIR=/tmp NETKICK_IPVS_TEST=1 CI=true /ipvs.test -test.v -test.run 'Kernel' 2>&1 || echo "GUEST-FAIL: go test"
echo "=== netkick lvs apply web (first)"
/netkick lvs apply web --file /inventory.yaml || echo "GUEST-FAIL: apply"
echo "=== netkick lvs apply web (second)"
/netkick lvs apply web --file /inventory.yaml || echo "GUEST-FAIL: apply"
echo "=== netkick lvs status"
/netkick lvs status || echo "GUEST-FAIL: status"
if [ -x /sbin/ipvsadm ]; then
  echo "=== ipvsadm -S -n equals netkick lvs render --format ipvsadm"
  /sbin/ipvsadm -S -n | sort > /tmp/kernel.rules
  /netkick lvs render web --file /inventory.yaml --format ipvsadm | sort > /tmp/netkick.rules
  cat /tmp/kernel.rules
  cmp /tmp/kernel.rules /tmp/netkick.rules || { echo "GUEST-FAIL: rule sets differ"; cat /tmp/netkick.rules; }
  echo "=== ipvsadm -C; ipvsadm -R < rendered rules; netkick lvs apply --dry-run"
  /sbin/ipvsadm -C
  /netkick lvs render web --file /inventory.yaml --format ipvsadm | /sbin/ipvsadm -R || echo "GUEST-FAIL: ipvsadm -R"
  /netkick lvs apply web --file /inventory.yaml --dry-run | tee /tmp/dry
  grep -q "no changes" /tmp/dry || echo "GUEST-FAIL: ipvsadm -R and netkick disagree"
  echo "=== the three-service golden rule set survives ipvsadm -R / -S"
  /sbin/ipvsadm -C
  /sbin/ipvsadm -R < /three.ipvsadm || echo "GUEST-FAIL: ipvsadm -R three.ipvsadm"
  /sbin/ipvsadm -S -n | sort > /tmp/three.kernel
  sort /three.ipvsadm > /tmp/three.golden
  cmp /tmp/three.kernel /tmp/three.golden && echo "identical" || { echo "GUEST-FAIL: three.ipvsadm differs after a kernel round trip"; cat /tmp/three.kernel; }
  /sbin/ipvsadm -C
fi
echo "=== end"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$WORK/initrd.gz")

timeout 600 qemu-system-x86_64 -m 1024 -smp 1 -nographic -no-reboot \
  -kernel "$WORK/k/boot/vmlinuz-$kver" -initrd "$WORK/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1" > "$WORK/console.log" 2>&1 || true
log=$(tr -d '\r' < "$WORK/console.log")
sed -n '/=== go test/,/^=== end/p' <<<"$log"

if ! grep -q '^=== end' <<<"$log"; then echo "FAIL: the guest did not finish" >&2; tail -30 <<<"$log" >&2; exit 1; fi
if grep -q 'GUEST-FAIL: ' <<<"$log"; then echo "FAIL: see the GUEST-FAIL lines above" >&2; exit 1; fi
grep -q 'no changes: the kernel' <<<"$log" || { echo "FAIL: the second apply changed something" >&2; exit 1; }
echo "ok: IPVS apply/status verified against kernel $kver"

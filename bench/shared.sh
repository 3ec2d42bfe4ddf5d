#!/usr/bin/env bash
# Three netkick servers sharing one DHCP pool in one PostgreSQL, under load and
# a crash: runs dhcp's TestSharedPoolKill9 (three `netkick serve` in network
# namespaces on one bridge, one PostgreSQL 15, a perfdhcp per server driving
# the same pool, the second server killed with SIGKILL at 40% of the run and
# started again) for SECONDS at each per-server rate, and prints per rate the
# ACKs, the addresses ACKed to two MACs or seen held by another MAC in the
# table (conflicts), the ACKed leases missing from the table (lost), and the
# drops of each perfdhcp (the second one's include the crash). A rate is
# clean when the test passes and the two servers not killed see < 0.1% drops.
# There is no peer in this run: neither Kea nor dnsmasq lets several servers
# allocate from one pool (Kea's HA hook pairs servers that split or mirror it).
#
# Usage (root): bench/shared.sh [SECONDS] [RATES...]   (default 30 s; 100 200 300 500 800 per server)
# Needs: kea-admin (perfdhcp), postgresql, iproute2, go.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/shared.sh: run as root (network namespaces)" >&2; exit 1; }
SECS=${1:-30}
shift || true
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(100 200 300 500 800)
OUT=$(pwd)/bench/out/shared
rm -rf "$OUT"; mkdir -p "$OUT"
go test -c -o "$OUT/dhcp.test" ./dhcp
best=0
printf "%-8s %6s %7s %9s %5s %-24s %s\n" rate/srv acks total conflicts lost "drops%(s1,s2,s3)" clean
for rate in "${RATES[@]}"; do
  log=$OUT/rate-$rate.txt
  (cd dhcp && CI=true NETKICK_SHARED_SECONDS=$SECS NETKICK_SHARED_RATE=$rate \
    "$OUT/dhcp.test" -test.run '^TestSharedPoolKill9$' -test.v -test.count=1 >"$log" 2>&1) || true
  line=$(grep -o 'RESULT .*' "$log" | tail -1)
  if [ -z "$line" ]; then
    printf "%-6s (no result; see %s)\n" "$rate" "$log"
    continue
  fi
  get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  acks=$(get acks) conflicts=$(get conflicts) lost=$(get lost) failed=$(get failed) drops=$(get 'drops%')
  IFS=, read -r d1 _ d3 <<<"$drops"
  clean=no
  if [ "$failed" = false ] && awk -v a="$d1" -v b="$d3" 'BEGIN{exit !(a < 0.1 && b < 0.1)}'; then
    clean=yes; best=$rate
  fi
  printf "%-8s %6s %7s %9s %5s %-24s %s\n" "$rate" "$acks" "$((rate * 3))/s" "$conflicts" "$lost" "$drops" "$clean"
done
echo
echo "highest clean rate: $best/s per server ($((best * 3))/s over the three), $SECS s per run, one server killed and restarted in each"
echo "per-rate logs: $OUT/rate-<rate>.txt"

#!/usr/bin/env bash
# TFTP throughput: one 64 MiB file sent with blksize 1468 over a veth pair
# between two network namespaces, from netkick, tftpd-hpa and dnsmasq's TFTP
# server (each on port 69 of its own address), fetched by curl's TFTP client.
# Then the same file over netkick's HTTP (/boot/) with curl. A second netkick
# runs with GODEBUG=schedtrace=0, the Go runtime's default idle behaviour that
# `netkick serve` turns off (see cmd/netkick/wakeups.go), to show what it is worth.
# Prints the median of RUNS transfers for each and the ratios.
# Needs root (ip netns), go, curl, tftpd-hpa (in.tftpd), dnsmasq-base (dnsmasq).
# Knobs: RUNS, SIZE_MIB; NK_GOMAXPROCS and NK_GODEBUG go into netkick's environment.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SIZE_MIB=${SIZE_MIB:-64}
[ "$(id -u)" = 0 ] || { echo "bench/tftp.sh: needs root for network namespaces" >&2; exit 1; }
for p in curl in.tftpd dnsmasq ip; do
  command -v $p >/dev/null || { echo "bench/tftp.sh: $p is missing (apt-get install curl tftpd-hpa dnsmasq-base iproute2)" >&2; exit 1; }
done

SNS=nktftp-srv-$$ CNS=nktftp-cli-$$
SIP=192.0.2.1 CIP=192.0.2.2
work=$(mktemp -d)
pids=()
stop_servers() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
cleanup() { stop_servers; ip netns del $SNS 2>/dev/null || true; ip netns del $CNS 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/netkick" ./cmd/netkick
mkdir -p "$work/root" "$work/data"
head -c $((SIZE_MIB << 20)) /dev/urandom > "$work/root/big.img"
want=$(sha256sum < "$work/root/big.img" | cut -d' ' -f1)

ip netns add $SNS
ip netns add $CNS
ip link add nkt-s-$$ type veth peer name nkt-c-$$
ip link set nkt-s-$$ netns $SNS
ip link set nkt-c-$$ netns $CNS
ip -n $SNS addr add $SIP/24 dev nkt-s-$$
ip -n $CNS addr add $CIP/24 dev nkt-c-$$
ip -n $SNS link set lo up
ip -n $CNS link set lo up
ip -n $SNS link set nkt-s-$$ up mtu 1500
ip -n $CNS link set nkt-c-$$ up mtu 1500

# wait_udp69 IP NAME: until something listens on UDP IP:69 in the server namespace.
wait_udp69() {
  for _ in $(seq 1 100); do
    ip netns exec $SNS ss -lun | grep -q "$1:69 " && return 0
    sleep 0.1
  done
  echo "bench/tftp.sh: $2 did not start on $1:69" >&2; exit 1
}

# fetch URL [curl args]: prints the seconds the transfer took (curl's
# time_total: request to last byte), after checking the content.
fetch() {
  local url=$1 extra=${2:-} t
  rm -f "$work/out"
  t=$(ip netns exec $CNS curl -sS --fail $extra -o "$work/out" -w '%{time_total}' "$url")
  [ "$(sha256sum < "$work/out" | cut -d' ' -f1)" = "$want" ] || { echo "bench/tftp.sh: checksum mismatch from $url" >&2; exit 1; }
  echo "$t"
}

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

BLK="--tftp-blksize 1468"
NK_IP=192.0.2.1 HPA_IP=192.0.2.3 DM_IP=192.0.2.4 NK0_IP=192.0.2.5
ip -n $SNS addr add $HPA_IP/24 dev nkt-s-$$
ip -n $SNS addr add $DM_IP/24 dev nkt-s-$$
ip -n $SNS addr add $NK0_IP/24 dev nkt-s-$$

# All three servers run at once, each on port 69 of its own address, and the
# runs are interleaved (netkick, tftpd-hpa, dnsmasq, HTTP, netkick, ...) so
# that load from elsewhere on the machine hits them alike.
ip netns exec $SNS env ${NK_GOMAXPROCS:+GOMAXPROCS=$NK_GOMAXPROCS} ${NK_GODEBUG:+GODEBUG=$NK_GODEBUG} "$work/netkick" serve --data "$work/data" --boot-root "$work/root" \
  --http $NK_IP:8080 --tftp $NK_IP:69 --log-level warn 2>"$work/netkick.log" &
pids+=($!)
mkdir -p "$work/data0"
ip netns exec $SNS env GODEBUG=schedtrace=0 "$work/netkick" serve --data "$work/data0" --boot-root "$work/root" \
  --http $NK0_IP:8080 --tftp $NK0_IP:69 --log-level warn 2>"$work/netkick0.log" &
pids+=($!)
ip netns exec $SNS in.tftpd --foreground --listen --secure --address $HPA_IP:69 --blocksize 1468 "$work/root" &
pids+=($!)
ip netns exec $SNS dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --user=root \
  --listen-address=$DM_IP --bind-interfaces --pid-file= --enable-tftp --tftp-root="$work/root" --quiet-tftp &
pids+=($!)
wait_udp69 $NK_IP netkick
wait_udp69 $HPA_IP tftpd-hpa
wait_udp69 $DM_IP dnsmasq
wait_udp69 $NK0_IP 'netkick (schedtrace=0)'
sleep 1

# Each round starts one further along the list, so that no server always
# follows the same one (e.g. right after the 64 MiB HTTP transfer).
names=(netkick tftpd-hpa dnsmasq netkick-sleepy netkick-http)
urls=("tftp://$NK_IP/big.img" "tftp://$HPA_IP/big.img" "tftp://$DM_IP/big.img" "tftp://$NK0_IP/big.img" "http://$NK_IP:8080/boot/big.img")
for i in $(seq 0 $((RUNS - 1))); do
  for j in $(seq 0 4); do
    k=$(( (i + j) % 5 ))
    extra=$BLK
    [ "${names[$k]}" = netkick-http ] && extra=
    fetch "${urls[$k]}" "$extra" >> "$work/times-${names[$k]}"
  done
done
nk=$(median < "$work/times-netkick")
hpa=$(median < "$work/times-tftpd-hpa")
dnsm=$(median < "$work/times-dnsmasq")
nkhttp=$(median < "$work/times-netkick-http")
nk0=$(median < "$work/times-netkick-sleepy")

printf '%s MiB over veth, blksize 1468, median of %d (seconds; all runs in order, rotated per round)\n' "$SIZE_MIB" "$RUNS"
for n in netkick tftpd-hpa dnsmasq netkick-sleepy netkick-http; do
  printf '  %-14s %s\n' "$n" "$(tr '\n' ' ' < "$work/times-$n")"
done
awk -v mib="$SIZE_MIB" -v nk0="$nk0" -v nk="$nk" -v hpa="$hpa" -v dm="$dnsm" -v http="$nkhttp" 'BEGIN {
  printf "netkick TFTP      %7.3f s  %8.1f MiB/s\n", nk, mib / nk
  printf "tftpd-hpa         %7.3f s  %8.1f MiB/s\n", hpa, mib / hpa
  printf "dnsmasq TFTP      %7.3f s  %8.1f MiB/s\n", dm, mib / dm
  printf "netkick HTTP      %7.3f s  %8.1f MiB/s\n", http, mib / http
  printf "netkick TFTP, GODEBUG=schedtrace=0 (runtime default): %.3f s, ratio to tftpd-hpa %.3f\n", nk0, nk0 / hpa
  printf "ratio netkick/tftpd-hpa time: %.3f (target <= 1.10)\n", nk / hpa
  printf "ratio netkick/dnsmasq time:   %.3f\n", nk / dm
  printf "ratio netkick TFTP/HTTP time: %.1f (target >= 10)\n", nk / http
}'

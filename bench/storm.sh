#!/usr/bin/env bash
# Boot storm: N machines power on at once and each does the whole chain
# (DHCP, TFTP of the loader and its config, kernel and initrd, the installer's
# DHCP, the kickstart, the %post report), played by bench/stormclient: even
# machines BIOS pxelinux (kernel and initrd over TFTP), odd ones UEFI iPXE
# (kernel and initrd over HTTP). Against (a) netkick serving everything and
# (b) dnsmasq (DHCP + TFTP) with nginx (the pre-rendered configs and
# kickstarts, the boot files, a callback endpoint that records), in the same
# run, each side RUNS times in alternation. Prints the time until the last
# machine finished, p50/p99 per stage, retries, failures, server CPU seconds,
# peak RSS, and the ratios.
#
# Usage (root): [RUNS=2] [SIDES="netkick dnsmasq+nginx"] [PERF=1] [NK_CONF=...] [NK_ENV=...] [KERNEL_KIB=256] [INITRD_KIB=1024] [CLIENT_NS=2] [RAMP=0s] bench/storm.sh [N]
#
# The machines share CLIENT_NS network namespaces, each a veth into a bridge
# in the server namespace (a bridge takes at most 1,023 ports); each machine
# has its own chaddr and a reservation, its reserved address is on its
# namespace's interface, and it sends from it. On the wire each machine is
# its own MAC: an nftables egress rule on the namespace's interface writes
# the machine's MAC (by source address) into the Ethernet source of what it
# sends, and into the sender field of its ARP, and an ingress rule takes
# frames to those MACs in as the interface's own. So the server's neighbour
# table holds each machine's address at its own MAC, as on a real network,
# and netkick runs with every protection at its default (token binding
# strict). dnsmasq gets netkick's default TFTP bound as its tftp-max (the
# descriptor bound of tftp.MaxTransfersFor, (hard RLIMIT_NOFILE - 256) / 4
# within 64..16384; memory does not bind it on a machine with more than
# 5 GiB; dnsmasq's own default is 50),
# no-ping (the reserved addresses are up already and would answer)
# and dhcp-broadcast (as netkick answers).
# The kernel's neighbour table is one for all namespaces and its limits
# (net.ipv4.neigh.default.gc_thresh1-3, 128/512/1,024 by default) can be set
# only from the initial namespace: the script raises them for N machines
# and puts them back on exit.
# PERF=1 records the netkick server with perf (netkick-RUN/perf.data);
# SIDES picks the sides to run; NK_CONF adds lines to netkick's
# configuration (an experiment off the defaults, e.g.
# NK_CONF='tftp_max_transfers: 4096'); NK_ENV sets environment variables
# of the netkick server only (e.g. NK_ENV='GOMAXPROCS=1').
# Needs: dnsmasq-base, nginx (nginx-light), iproute2, nftables, go, and the PXELINUX,
# syslinux-common and ipxe boot files (random bytes of the same size otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
RUNS=${RUNS:-2}
KERNEL_KIB=${KERNEL_KIB:-256}
INITRD_KIB=${INITRD_KIB:-1024}
CLIENT_NS=${CLIENT_NS:-2}
RAMP=${RAMP:-0s}
[ "$(id -u)" = 0 ] || { echo "bench/storm.sh: run as root (network namespaces)" >&2; exit 1; }
for p in dnsmasq nginx ip nft go; do
  command -v "$p" >/dev/null || { echo "bench/storm.sh: $p missing (apt-get install dnsmasq-base nginx-light iproute2 nftables)" >&2; exit 1; }
done
[ "$N" -ge 2 ] && [ "$N" -le 60000 ] || { echo "bench/storm.sh: N must be 2..60000" >&2; exit 1; }

TFTP_MAX=$(( ($(ulimit -Hn) - 256) / 4 ))
[ "$TFTP_MAX" -ge 64 ] || TFTP_MAX=64
[ "$TFTP_MAX" -le 16384 ] || TFTP_MAX=16384

OUT=$(pwd)/bench/out/storm-$N
rm -rf "$OUT"; mkdir -p "$OUT"
go build -o "$OUT/netkick" ./cmd/netkick
go build -o "$OUT/stormclient" ./bench/stormclient
SC=$OUT/stormclient

SRV=nkstorm-srv-$$
CLIS=()
SIP=198.18.0.1
PIDS=()
NEIGH=/proc/sys/net/ipv4/neigh/default
GC_SAVED=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  ip netns del "$SRV" 2>/dev/null || true
  for c in "${CLIS[@]:-}"; do [ -n "$c" ] && ip netns del "$c" 2>/dev/null || true; done
  if [ ${#GC_SAVED[@]} = 3 ]; then
    for k in 1 2 3; do echo "${GC_SAVED[$((k - 1))]}" > "$NEIGH/gc_thresh$k"; done
  fi
}
trap cleanup EXIT

# Room in the neighbour table for every machine's entry (and the client
# namespaces' own) with margin, never below what is set.
if [ -w "$NEIGH/gc_thresh3" ]; then
  GC_SAVED=("$(cat $NEIGH/gc_thresh1)" "$(cat $NEIGH/gc_thresh2)" "$(cat $NEIGH/gc_thresh3)")
  want=("$((N + 256))" "$((2 * N + 512))" "$((2 * N + 1024))")
  for k in 3 2 1; do
    if [ "${want[$((k - 1))]}" -gt "${GC_SAVED[$((k - 1))]}" ]; then echo "${want[$((k - 1))]}" > "$NEIGH/gc_thresh$k"; fi
  done
else
  echo "bench/storm.sh: $NEIGH/gc_thresh3 is not writable here: the neighbour table holds at most $(cat $NEIGH/gc_thresh3 2>/dev/null || echo '?') entries" >&2
fi

# The address reserved for machine i (198.18.1.1 onwards, 250 a /24).
ipof() { echo "198.18.$((1 + $1 / 250)).$((1 + $1 % 250))"; }
macof() { printf '52:54:00:%02x:%02x:%02x' $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }

ip netns add "$SRV"
ip -n "$SRV" link set lo up
ip -n "$SRV" link add br0 type bridge
ip -n "$SRV" addr add $SIP/16 dev br0
ip -n "$SRV" link set br0 up
per=$(( (N + CLIENT_NS - 1) / CLIENT_NS ))
for k in $(seq 0 $((CLIENT_NS - 1))); do
  c=nkstorm-c$k-$$; CLIS+=("$c")
  ip netns add "$c"
  ip -n "$c" link set lo up
  ip -n "$SRV" link add "p$k" type veth peer name eth0 netns "$c"
  ip -n "$SRV" link set "p$k" master br0 up
  {
    echo "addr add 198.18.255.$((k + 1))/16 dev eth0"
    for i in $(seq $((k * per)) $(( (k + 1) * per - 1 ))); do
      [ "$i" -lt "$N" ] && echo "addr add $(ipof "$i")/16 dev eth0"
    done
  } | ip -n "$c" -batch -
  ip -n "$c" link set eth0 promisc on up
  # Each machine its own MAC on the wire (see the header).
  {
    echo "table netdev storm {"
    echo "  map macs { type ipv4_addr : ether_addr; elements = {"
    for i in $(seq $((k * per)) $(( (k + 1) * per - 1 ))); do
      [ "$i" -lt "$N" ] && echo "    $(ipof "$i") : $(macof "$i"),"
    done
    echo "  } }"
    echo "  chain out { type filter hook egress device eth0 priority 0;"
    echo "    ether type ip ether saddr set ip saddr map @macs"
    echo "    ether type arp arp saddr ether set arp saddr ip map @macs"
    echo "    ether type arp ether saddr set arp saddr ip map @macs"
    echo "  }"
    echo "  chain in { type filter hook ingress device eth0 priority 0;"
    echo "    ether daddr & ff:ff:ff:00:00:00 == 52:54:00:00:00:00 meta pkttype set host"
    echo "  }"
    echo "}"
  } > "$OUT/nft-$k.conf"
  ip netns exec "$c" nft -f "$OUT/nft-$k.conf"
done

# The boot root both sides serve.
ROOT=$OUT/root
mkdir -p "$ROOT/c7"
cpfile() { if [ -r "$1" ]; then cp -L "$1" "$ROOT/$2"; else head -c "$3" /dev/urandom > "$ROOT/$2"; fi; }
cpfile /usr/lib/PXELINUX/pxelinux.0 pxelinux.0 42430
cpfile /usr/lib/syslinux/modules/bios/ldlinux.c32 ldlinux.c32 119524
cpfile /usr/lib/ipxe/ipxe.efi ipxe.efi 850528
cpfile /usr/lib/ipxe/snponly.efi snponly.efi 173792
head -c $((KERNEL_KIB << 10)) /dev/urandom > "$ROOT/c7/vmlinuz"
head -c $((INITRD_KIB << 10)) /dev/urandom > "$ROOT/c7/initrd.img"

# netkick's inventory: N known hosts with reservations, in build mode.
INV=$OUT/inventory.yaml
{
  cat <<YAML
profiles:
  - {name: c7b, os: centos, version: "7", kernel: c7/vmlinuz, initrd: c7/initrd.img, bootloader: pxelinux}
  - {name: c7u, os: centos, version: "7", kernel: c7/vmlinuz, initrd: c7/initrd.img}
hosts:
YAML
  for i in $(seq 0 $((N - 1))); do
    p=c7b; [ $((i % 2)) = 1 ] && p=c7u
    printf '  - {macs: ["%s"], hostname: storm-%06d, ip: %s, profile: %s, state: build}\n' "$(macof "$i")" "$i" "$(ipof "$i")" "$p"
  done
} > "$INV"
"$OUT/netkick" --data "$OUT/nk-template" import "$INV" > "$OUT/import.log"
cat > "$OUT/netkick.yaml" <<YAML
http: "$SIP:8080"
tftp: "$SIP:69"
boot_root: $ROOT
log_level: warn
dhcp:
  interface: br0
  mode: full
  unknown: ignore
  subnets:
    - cidr: 198.18.0.0/16
      pools: ["198.18.254.1-198.18.254.250"]
      router: $SIP
      lease: 1h
${NK_CONF:-}
YAML

# The static side: what netkick renders for machines 0 and 1, personalised.
U="--data $OUT/nk-template --public-url http://$SIP:8080"
"$OUT/netkick" $U render pxelinux storm-000000 > "$OUT/t.pxe"
"$OUT/netkick" $U render ipxe storm-000001 > "$OUT/t.ipxe"
"$OUT/netkick" $U render kickstart storm-000000 > "$OUT/t.ks0"
"$OUT/netkick" $U render kickstart storm-000001 > "$OUT/t.ks1"
"$SC" prerender -n "$N" -out "$OUT/static" -pxelinux "$OUT/t.pxe" -ipxe "$OUT/t.ipxe" -ks0 "$OUT/t.ks0" -ks1 "$OUT/t.ks1"
DMROOT=$OUT/static/tftp
cp -al "$ROOT"/. "$DMROOT"/
{
  for i in $(seq 0 $((N - 1))); do echo "$(macof "$i"),$(ipof "$i")"; done
} > "$OUT/dnsmasq.hosts"
cat > "$OUT/dnsmasq.conf" <<CONF
port=0
interface=br0
bind-interfaces
dhcp-range=198.18.0.0,static,255.255.0.0,1h
dhcp-hostsfile=$OUT/dnsmasq.hosts
dhcp-option=option:router,$SIP
dhcp-userclass=set:ipxe,iPXE
dhcp-match=set:efi64,option:client-arch,7
dhcp-boot=tag:ipxe,http://$SIP:8080/boot.ipxe?mac=\${net0/mac:hexhyp}
dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi
dhcp-boot=tag:!ipxe,tag:!efi64,pxelinux.0
dhcp-lease-max=100000
# Broadcast replies, as netkick sends them.
dhcp-broadcast
# The reserved addresses answer pings (they are on the clients' interfaces);
# netkick does not ping a reservation either.
no-ping
enable-tftp
tftp-root=$DMROOT
tftp-max=$TFTP_MAX
quiet-tftp
quiet-dhcp
CONF
cat > "$OUT/nginx.conf" <<CONF
worker_processes auto;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 8192; }
http {
  sendfile on; tcp_nopush on; keepalive_timeout 60s;
  access_log off;
  client_body_temp_path $OUT/nginx-tmp; proxy_temp_path $OUT/nginx-tmp; fastcgi_temp_path $OUT/nginx-tmp;
  uwsgi_temp_path $OUT/nginx-tmp; scgi_temp_path $OUT/nginx-tmp;
  default_type text/plain;
  server {
    listen $SIP:8080 backlog=4096;
    root $OUT/static/www;
    location /boot/ { alias $ROOT/; }
    location = /boot.ipxe { try_files /ipxe/\$arg_mac.ipxe =404; }
    location /ks/ { }
    location /api/v1/hosts/ { access_log $OUT/callbacks.log; return 200 "recorded\n"; }
  }
}
CONF
mkdir -p "$OUT/nginx-tmp"

# cpu_rss PID...: "CPU-seconds peak-RSS-KiB" summed over the processes.
cpu_rss() {
  local hz cpu=0 rss=0 p t r
  hz=$(getconf CLK_TCK)
  for p in "$@"; do
    t=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    r=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    cpu=$((cpu + t)); rss=$((rss + r))
  done
  awk -v t="$cpu" -v hz="$hz" -v r="$rss" 'BEGIN {printf "%.2f %d\n", t / hz, r}'
}

wait_listen() { # PROTO PORT
  for _ in $(seq 1 200); do
    ip netns exec "$SRV" ss -ln"$1" | grep -q "$SIP:$2 " && return 0
    sleep 0.1
  done
  echo "bench/storm.sh: nothing listens on $1 $SIP:$2" >&2; exit 1
}

# storm SIDE RUN: starts the side's servers, releases the machines, stops
# the servers and writes $OUT/SIDE-RUN.json.
storm() {
  local side=$1 run=$2 d=$OUT/$1-$2 spids=()
  mkdir -p "$d"
  if [ "$side" = netkick ]; then
    cp -a "$OUT/nk-template" "$d/data"
    ip netns exec "$SRV" env ${NK_ENV:-} "$OUT/netkick" serve --config "$OUT/netkick.yaml" --data "$d/data" >"$d/server.log" 2>&1 &
    spids+=($!); PIDS+=($!)
    wait_listen t 8080; wait_listen u 69
    if [ -n "${PERF:-}" ]; then
      perf record -F 499 -g -o "$d/perf.data" -p "${spids[0]}" >"$d/perf.log" 2>&1 &
      perfpid=$!; PIDS+=($!)
    fi
  else
    ip netns exec "$SRV" dnsmasq --keep-in-foreground --conf-file="$OUT/dnsmasq.conf" --user=root \
      --pid-file= --dhcp-leasefile="$d/leases" >"$d/dnsmasq.log" 2>&1 &
    spids+=($!); PIDS+=($!)
    : > "$OUT/callbacks.log"
    ip netns exec "$SRV" nginx -c "$OUT/nginx.conf" -g 'daemon off;' >"$d/nginx.log" 2>&1 &
    spids+=($!); PIDS+=($!)
    wait_listen t 8080; wait_listen u 69
  fi
  sleep 1
  local rel=$(( $(date +%s%3N) + 3000 )) cpids=() k
  for k in $(seq 0 $((CLIENT_NS - 1))); do
    local n=$per; [ $(( (k + 1) * per )) -gt "$N" ] && n=$((N - k * per))
    ip netns exec "${CLIS[$k]}" "$SC" run -iface eth0 -n "$n" -first $((k * per)) -release "$rel" -ramp "$RAMP" \
      -out "$d/clients-$k.jsonl" 2>"$d/clients-$k.err" &
    cpids+=($!); PIDS+=($!)
  done
  for p in "${cpids[@]}"; do wait "$p" || echo "bench/storm.sh: a client process failed, see $d/clients-*.err" >&2; done
  local all=("${spids[@]}")
  [ "$side" = netkick ] || all+=($(pgrep -P "${spids[1]}" || true))
  read -r cpu rss < <(cpu_rss "${all[@]}")
  [ "$side" = netkick ] || cp "$OUT/callbacks.log" "$d/callbacks.log"
  if [ -n "${perfpid:-}" ]; then kill -INT "$perfpid"; wait "$perfpid" 2>/dev/null || true; perfpid=; fi
  for p in "${spids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  "$SC" summary -side "$side" -cpu "$cpu" -rss "$rss" "$d"/clients-*.jsonl > "$OUT/$side-$run.json"
  echo "  $side run $run: $(grep -o '"failed":[0-9]*,"last":[0-9.]*' "$OUT/$side-$run.json"), cpu ${cpu}s, rss ${rss} KiB" >&2
}

echo "storm: N=$N, kernel ${KERNEL_KIB} KiB, initrd ${INITRD_KIB} KiB, $CLIENT_NS client namespaces, ramp $RAMP, $RUNS runs a side, dnsmasq tftp-max $TFTP_MAX; $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
perfpid=
SIDES=${SIDES:-netkick dnsmasq+nginx}
for r in $(seq 1 "$RUNS"); do
  order="netkick dnsmasq+nginx"; [ $((r % 2)) = 1 ] || order="dnsmasq+nginx netkick"
  for side in $order; do
    case " $SIDES " in *" $side "*) storm "$side" "$r" ;; esac
  done
done
echo "storm: N=$N, kernel ${KERNEL_KIB} KiB, initrd ${INITRD_KIB} KiB; finished $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$SC" compare -a netkick -b dnsmasq+nginx "$OUT"/*-[0-9]*.json

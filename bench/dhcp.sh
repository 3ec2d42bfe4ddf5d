#!/usr/bin/env bash
# DHCP throughput: Kea's perfdhcp against netkick (full mode, leases durable in
# SQLite before each ACK), kea-dhcp4 (memfile, 2 threads) and dnsmasq
# (--no-ping), in the same run, in network namespaces made here (198.18.0.0/15).
# The rate rises step by step (servers taking turns at each step) until a
# server has >= 0.1% drops at two steps in a row; the script prints the highest
# clean rate of each and the ratios.
#
# With PostgreSQL 15 installed, two more servers run on one PostgreSQL that
# the script starts in the server namespace (initdb, fsync and
# synchronous_commit on, 127.0.0.1): netkick-pg (`store: postgres://…`, every
# lease claimed in the shared store before its ACK) and kea-pg (kea-dhcp4
# with its PostgreSQL lease backend, schema by `kea-admin db-init pgsql`, 2
# threads); each run gets a fresh database.
#
# Usage (root): [CLIENTS=50000] [TRIES=2] [SERVERS="netkick kea dnsmasq netkick-pg kea-pg"] bench/dhcp.sh [SECONDS_PER_RATE] [RATES...]
# Columns: ACKs received per second, drops % (DISCOVER and REQUEST), clean
# (< 0.1% drops and no address given twice), and the server's CPU time per ACK
# (user+system, startup included), which depends less on what else runs.
# Needs: kea-admin (perfdhcp), kea-dhcp4-server, dnsmasq-base, iproute2, go.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/dhcp.sh: run as root (network namespaces)" >&2; exit 1; }
for p in perfdhcp kea-dhcp4 dnsmasq ip go; do
  command -v "$p" >/dev/null || { echo "bench/dhcp.sh: $p missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
DUR=${1:-10}
shift || true
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(100 200 300 500 1000 2000 3000 4000 5000 6000 8000 10000)
CLIENTS=${CLIENTS:-50000}
TRIES=${TRIES:-2} # attempts per server and rate before the rate counts as unclean

OUT=$(pwd)/bench/out/dhcp
rm -rf "$OUT"; mkdir -p "$OUT"
go build -o "$OUT/netkick" ./cmd/netkick

SRV=nkbench-srv-$$ CLI=nkbench-cli-$$
PIDS=()
PGBIN=""
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/16/bin /usr/lib/postgresql/17/bin; do
  [ -x "$d/initdb" ] && { PGBIN=$d; break; }
done
PGTMP=$(mktemp -d /tmp/nkbench-pg.XXXXXX) PGPORT_BENCH=55432
PGDATA_DIR=$PGTMP/data
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  if [ -n "$PGBIN" ] && [ -f "$PGDATA_DIR/postmaster.pid" ]; then
    ip netns exec "$SRV" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PGTMP"
  ip netns del "$SRV" 2>/dev/null || true
  ip netns del "$CLI" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$SRV"; ip netns add "$CLI"
ip -n "$SRV" link set lo up; ip -n "$CLI" link set lo up
ip -n "$SRV" link add vs type veth peer name vc netns "$CLI"
ip -n "$SRV" addr add 198.18.0.1/15 dev vs; ip -n "$SRV" link set vs up
ip -n "$CLI" addr add 198.18.0.2/15 dev vc; ip -n "$CLI" link set vc up

start_netkick() {
  local d=$OUT/netkick-$1 store=""; mkdir -p "$d"
  [ -n "${STORE:-}" ] && store="store: \"$STORE\""
  cat > "$d/netkick.yaml" <<YAML
http: "127.0.0.1:18080"
tftp: "off"
data: $d/data
log_level: warn
$store
dhcp:
  interface: vs
  mode: full
  unknown: pool
  relays: ["198.18.0.2"]   # perfdhcp sends as a relay agent
  # The bench measures capacity: the new-offer bound (default 1000/s, burst
  # 5000) is raised above every rate driven here; it is still checked.
  offer_rate: 100000
  offer_burst: 100000
  subnets:
    - cidr: 198.18.0.0/15
      pools: ["198.18.1.0-198.19.255.254"]
      router: 198.18.0.1
      lease: 1h
YAML
  ip netns exec "$SRV" "$OUT/netkick" serve --config "$d/netkick.yaml" >"$d/log" 2>&1 &
  PID=$!
}
start_kea() {
  local d=$OUT/kea-$1; mkdir -p "$d"
  cat > "$d/kea.json" <<JSON
{"Dhcp4": {
  "interfaces-config": {"interfaces": ["vs"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "memfile", "persist": true, "name": "$d/leases4.csv", "lfc-interval": 0},
  "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 64},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}],
               "option-data": [{"name": "routers", "data": "198.18.0.1"}]}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "$d/kea.log"}], "severity": "WARN"}]
}}
JSON
  KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d ip netns exec "$SRV" kea-dhcp4 -c "$d/kea.json" >"$d/log" 2>&1 &
  PID=$!
}
start_dnsmasq() {
  local d=$OUT/dnsmasq-$1; mkdir -p "$d"
  ip netns exec "$SRV" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --no-ping --interface=vs \
    --bind-interfaces --dhcp-range=198.18.1.0,198.19.255.254,255.254.0.0,1h --dhcp-lease-max=200000 \
    --dhcp-leasefile="$d/leases" --pid-file="$d/pid" >"$d/log" 2>&1 &
  PID=$!
}

# PostgreSQL for netkick-pg and kea-pg: one server in the server namespace,
# on its loopback, durable commits (fsync, synchronous_commit on: defaults).
start_postgres() {
  chmod 755 "$PGTMP"; mkdir -p "$PGDATA_DIR"; chown postgres: "$PGDATA_DIR"; chmod 700 "$PGDATA_DIR"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U postgres -E UTF8 >"$OUT/pg-initdb.log" 2>&1
  ip netns exec "$SRV" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/log" -w \
    -o "-p $PGPORT_BENCH -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
}
psql_srv() { ip netns exec "$SRV" runuser -u postgres -- psql -qAt -h 127.0.0.1 -p "$PGPORT_BENCH" -U postgres "$@"; }
start_netkick-pg() {
  local db=nk_$1_$RANDOM
  psql_srv -c "CREATE DATABASE $db" postgres
  STORE="postgres://postgres@127.0.0.1:$PGPORT_BENCH/$db?sslmode=disable" start_netkick "pg-$1"
}
start_kea-pg() {
  local d=$OUT/kea-pg-$1 db=kea_$1_$RANDOM; mkdir -p "$d"
  psql_srv -c "CREATE DATABASE $db" postgres
  ip netns exec "$SRV" kea-admin db-init pgsql -u postgres -p trust-auth-ignores-it -n "$db" -h 127.0.0.1 -P "$PGPORT_BENCH" >"$d/db-init.log" 2>&1
  cat > "$d/kea.json" <<JSON
{"Dhcp4": {
  "interfaces-config": {"interfaces": ["vs"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "postgresql", "name": "$db", "host": "127.0.0.1", "port": $PGPORT_BENCH, "user": "postgres"},
  "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 64},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}],
               "option-data": [{"name": "routers", "data": "198.18.0.1"}]}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "$d/kea.log"}], "severity": "WARN"}]
}}
JSON
  KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d ip netns exec "$SRV" kea-dhcp4 -c "$d/kea.json" >"$d/log" 2>&1 &
  PID=$!
}

# run SERVER RATE: prints "ACKs/s drops% non-unique-addresses server-CPU-µs-per-ACK"
run() {
  local server=$1 rate=$2
  "start_$server" "$rate"; PIDS+=("$PID")
  sleep 1.5
  local log=$OUT/$server-$rate/perfdhcp.txt
  ip netns exec "$CLI" perfdhcp -4 -l vc -r "$rate" -R "$CLIENTS" -p "$DUR" -W 2000000 198.18.0.1 >"$log" 2>&1 || true
  # CPU the server used (user+system clock ticks), a measure that does not
  # depend on what else the machine runs.
  local ticks
  ticks=$(awk '{print $14+$15}' "/proc/$PID/stat" 2>/dev/null || echo 0)
  kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true
  # achieved = ACKs received per second of the sending period.
  awk -v dur="$DUR" -v ticks="$ticks" -v hz="$(getconf CLK_TCK)" '
    /received packets:/ {n++; if (n==2) acks=$3}
    /sent packets:/ {sent+=$3}
    /^drops:/ {drops+=$2}
    /non unique addresses:/ {nonuniq+=$4}
    END { if (sent==0 || acks==0) {print 0, 100, 0, 0} else printf "%.0f %.3f %d %.0f\n", acks/dur, 100*drops/sent, nonuniq, 1e6*ticks/hz/acks }' "$log"
}

declare -A BEST ACH BAD
if [ -n "${SERVERS:-}" ]; then
  read -r -a SERVERS <<<"$SERVERS"
else
  SERVERS=(netkick kea dnsmasq)
  [ -n "$PGBIN" ] && SERVERS+=(netkick-pg kea-pg)
fi
for s in "${SERVERS[@]}"; do
  case $s in *-pg) [ -n "$PGBIN" ] || { echo "bench/dhcp.sh: $s needs PostgreSQL (Debian postgresql)" >&2; exit 1; }; start_postgres; break ;; esac
done
for s in "${SERVERS[@]}"; do BEST[$s]=0; ACH[$s]=0; BAD[$s]=0; done
printf "%-10s %8s %10s %8s %6s %12s\n" server rate achieved drops% clean cpu_us/ack
# Rates go up in the outer loop and the servers take turns at each rate, so
# all three see the machine in the same state. An unclean rate is tried again,
# up to TRIES attempts (a shared machine has hiccups); a server stops after two
# unclean rates in a row.
for rate in "${RATES[@]}"; do
  for server in "${SERVERS[@]}"; do
    [ "${BAD[$server]}" -ge 2 ] && continue
    clean=no
    for ((try = 1; try <= TRIES; try++)); do
      read -r achieved drops nonuniq cpu < <(run "$server" "$rate")
      if awk -v d="$drops" 'BEGIN{exit !(d < 0.1)}' && [ "${nonuniq:-0}" = 0 ]; then
        clean=yes
      fi
      printf "%-10s %8s %10s %8s %6s %12s\n" "$server" "$rate" "$achieved" "$drops" "$clean" "$cpu"
      [ $clean = yes ] && break
    done
    if [ $clean = yes ]; then
      BEST[$server]=$rate; ACH[$server]=$achieved; BAD[$server]=0
    else
      BAD[$server]=$((BAD[$server]+1))
    fi
  done
done
echo
for s in "${SERVERS[@]}"; do
  printf "highest clean rate (<0.1%% drops): %-10s %6s/s target (ACKs received: %s/s)\n" "$s" "${BEST[$s]}" "${ACH[$s]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a" }'; }
[ -n "${BEST[kea]:-}" ] && [ -n "${BEST[netkick]:-}" ] && echo "ratio netkick/kea:       $(ratio "${BEST[netkick]}" "${BEST[kea]}")"
[ -n "${BEST[dnsmasq]:-}" ] && [ -n "${BEST[netkick]:-}" ] && echo "ratio netkick/dnsmasq:   $(ratio "${BEST[netkick]}" "${BEST[dnsmasq]}")"
[ -n "${BEST[kea-pg]:-}" ] && [ -n "${BEST[netkick-pg]:-}" ] && echo "ratio netkick-pg/kea-pg: $(ratio "${BEST[netkick-pg]}" "${BEST[kea-pg]}")"
echo "per-run perfdhcp output: $OUT/<server>-<rate>/perfdhcp.txt"

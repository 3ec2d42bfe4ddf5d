#!/usr/bin/env bash
# Kickstart render throughput: netkick rendering /ks/{mac} live for 10,000 hosts
# versus nginx serving the same kickstarts pre-rendered as static files, in one run.
# Prints requests/s and p99 of each (median of RUNS runs) and the ratio.
# Needs: go, wrk, nginx (apt-get install wrk nginx-light), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=${HOSTS:-10000}
RUNS=${RUNS:-3}
DUR=${DUR:-10s}
CONN=${CONN:-64}
NK_PORT=${NK_PORT:-18181}
NG_PORT=${NG_PORT:-18182}
for p in wrk nginx curl; do command -v $p >/dev/null || { echo "bench/render.sh: $p is missing (apt-get install wrk nginx-light curl)" >&2; exit 1; }; done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/netkick" ./cmd/netkick
echo "render bench: generating $HOSTS hosts" >&2
{
  echo "profiles:"
  echo "  - {name: centos-5.3, os: centos, version: \"5.3\", install_url: \"http://mirror.example.com/centos/5.3/os/x86_64/\"}"
  echo "  - {name: centos-7.9, os: centos, version: \"7.9\", install_url: \"http://mirror.example.com/centos/7.9/os/x86_64/\"}"
  echo "hosts:"
  for i in $(seq 0 $((HOSTS-1))); do
    mac=$(printf '02:00:00:00:%02x:%02x' $((i/256)) $((i%256)))
    prof=centos-5.3; role=lvs-real-server; [ $((i%2)) = 0 ] && prof=centos-7.9 && role=lvs-director
    echo "  - {macs: [\"$mac\"], hostname: h$i, profile: $prof, roles: [$role], timezone: America/Montreal}"
  done
} > "$work/inv.yaml"
"$work/netkick" import "$work/inv.yaml" --data "$work/data" >&2
echo "render bench: putting $HOSTS hosts in build mode" >&2
seq 0 $((HOSTS-1)) | sed 's/^/h/' | xargs -n 500 "$work/netkick" host build --data "$work/data" --public-url http://x \
  | sed -n 's|^kickstart: http://x||p' > "$work/paths"
[ "$(wc -l < "$work/paths")" = "$HOSTS" ] || { echo "build mode for $HOSTS hosts failed" >&2; exit 1; }
"$work/netkick" serve --data "$work/data" --http 127.0.0.1:$NK_PORT --tftp off --public-url http://192.0.2.1:8080 --log-level warn 2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$NK_PORT/healthz" >/dev/null && break; sleep 0.2; done

echo "render bench: pre-rendering $HOSTS kickstarts for nginx" >&2
mkdir -p "$work/www/ks"
sed "s|^|http://127.0.0.1:$NK_PORT|" "$work/paths" | xargs -P 8 -n 50 sh -c 'for u; do f=${u##*/}; curl -fs "$u" -o "'"$work"'/www/ks/${f%%\?*}"; done' _
n=$(ls "$work/www/ks" | wc -l)
[ "$n" = "$HOSTS" ] || { echo "pre-render produced $n files, want $HOSTS" >&2; exit 1; }

cat > "$work/nginx.conf" <<NGX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  default_type text/plain;
  server { listen 127.0.0.1:$NG_PORT; root $work/www; }
}
NGX
nginx -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$NG_PORT$(head -1 "$work/paths")" >/dev/null && break; sleep 0.2; done

cat > "$work/paths.lua" <<LUA
local paths = {}
for line in io.lines("$work/paths") do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %d %d\n", summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

measure() { wrk -t2 -c"$CONN" -d"$DUR" -s "$work/paths.lua" "http://127.0.0.1:$1" | awk '/^RESULT/{print $2, $3, $4, $5}'; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
: > "$work/nk"; : > "$work/ng"
for r in $(seq "$RUNS"); do
  measure $NK_PORT >> "$work/nk"
  measure $NG_PORT >> "$work/ng"
  echo "render bench: run $r/$RUNS done" >&2
done
nk_rps=$(awk '{print $1}' "$work/nk" | median); nk_p99=$(awk '{print $2}' "$work/nk" | median)
ng_rps=$(awk '{print $1}' "$work/ng" | median); ng_p99=$(awk '{print $2}' "$work/ng" | median)
errs=$(awk '{s+=$3+$4} END{print s+0}' "$work/nk")
echo "hosts=$HOSTS conns=$CONN duration=$DUR runs=$RUNS (medians)"
printf "netkick /ks render: %10.0f req/s  p99 %7.2f ms  errors %d\n" "$nk_rps" "$nk_p99" "$errs"
printf "nginx static:       %10.0f req/s  p99 %7.2f ms\n" "$ng_rps" "$ng_p99"
awk -v a="$nk_rps" -v b="$ng_rps" 'BEGIN{printf "ratio netkick/nginx: %.2f\n", a/b}'

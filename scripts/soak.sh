#!/usr/bin/env bash
# Soak test (issue 20): live capture under lab traffic plus attacks.
#
#   sudo scripts/soak.sh [SECONDS] [RUSTNET_BINARY]   (default 600 s, target/release/rustnet)
#
# In two network namespaces (tests/lab/netns.sh, prefix "sk"): nginx (HTTP and
# TLS) and dnsmasq serve; the client namespace runs, for SECONDS, curl over TLS
# to five names (a..e.soak.test, one connection each every 2 s), plain HTTP,
# dig and ping, while scripts/soak_traffic.py sends a SYN flood (5 000/s) and
# hostile tiny TCP flows to port 443 (1 000 flows/s, each with one
# out-of-order byte, never completed). `rustnet -i sk-veth-c --json` captures
# it all. Every 10 s the script samples rustnet's RSS. At the end it prints
# the RSS series and its slope after the first minute, the drop report, and
# whether every one of the five TLS names was found; exits 1 if one was not.
set -euo pipefail
SECS="${1:-600}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${2:-$ROOT/target/release/rustnet}")
[ "$(id -u)" = 0 ] || { echo "soak.sh: run as root" >&2; exit 1; }
for t in ip nginx dnsmasq curl dig ping openssl python3; do
    command -v "$t" >/dev/null || { echo "soak.sh: missing $t" >&2; exit 1; }
done
export LAB_PREFIX=sk
NS_C=sk-cli NS_S=sk-srv IF_C=sk-veth-c IF_S=sk-veth-s SRV=10.77.0.2
T=$(mktemp -d /tmp/rustnet-soak.XXXXXX)
PIDS=()
cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for ns in $NS_S $NS_C; do for p in $(ip netns pids $ns 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done; done
    "$ROOT/tests/lab/netns.sh" down
}
trap cleanup EXIT
"$ROOT/tests/lab/netns.sh" up >/dev/null
IN_C=(ip netns exec $NS_C) IN_S=(ip netns exec $NS_S)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/key.pem" \
    -out "$T/cert.pem" -days 30 -subj "/CN=soak.test" -addext "subjectAltName=DNS:*.soak.test" 2>/dev/null
mkdir -p "$T/www"; echo soak >"$T/www/index.html"
cat >"$T/nginx.conf" <<NGINX
daemon off; master_process off; user root; pid $T/nginx.pid; error_log $T/nginx.err warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $T/b; proxy_temp_path $T/p; fastcgi_temp_path $T/f;
  uwsgi_temp_path $T/u; scgi_temp_path $T/s;
  server { listen $SRV:80; listen $SRV:443 ssl; ssl_certificate $T/cert.pem;
           ssl_certificate_key $T/key.pem; root $T/www; } }
NGINX
"${IN_S[@]}" nginx -c "$T/nginx.conf" & PIDS+=($!)
"${IN_S[@]}" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root \
    --listen-address=$SRV --bind-interfaces --address=/soak.test/$SRV & PIDS+=($!)
sleep 1
SRV_MAC=$(ip -n $NS_S link show $IF_S | awk '/ether/ {print $2}')

"${IN_C[@]}" "$BIN" -i $IF_C --json >"$T/records.jsonl" 2>"$T/stderr" &
RN=$!
for _ in $(seq 100); do grep -qx capture /proc/$RN/task/*/comm 2>/dev/null && break; sleep 0.1; done
echo "rustnet pid $RN capturing on $IF_C for $SECS s; work dir $T"

( while sleep 10; do
    kb=$(awk '/^VmRSS/ {print $2}' /proc/$RN/status 2>/dev/null) || break
    echo "$SECONDS $kb"
  done ) >"$T/rss.tsv" & PIDS+=($!)
"${IN_C[@]}" python3 "$ROOT/scripts/soak_traffic.py" syn $IF_C "$SRV_MAC" $SRV 5000 "$SECS" >"$T/syn.out" & SYN=$!
"${IN_C[@]}" python3 "$ROOT/scripts/soak_traffic.py" hostile $IF_C "$SRV_MAC" $SRV 2000 "$SECS" >"$T/hostile.out" & HOSTILE=$!
END=$((SECONDS + SECS)); ROUNDS=0
while [ $SECONDS -lt $END ]; do
    for n in a b c d e; do
        "${IN_C[@]}" curl -sk -o /dev/null --resolve $n.soak.test:443:$SRV https://$n.soak.test/ || true
    done
    "${IN_C[@]}" curl -s -o /dev/null http://$SRV/ || true
    "${IN_C[@]}" dig +short +tries=1 +time=1 @$SRV www.soak.test >/dev/null || true
    "${IN_C[@]}" ping -c 1 -W 1 $SRV >/dev/null || true
    ROUNDS=$((ROUNDS + 1)); sleep 2
done
wait $SYN $HOSTILE
kill -INT $RN; wait $RN || echo "rustnet exit status $?"
echo "legitimate rounds: $ROUNDS (5 TLS + 1 HTTP connection, 1 DNS query, 1 ping each)"
cat "$T/syn.out" "$T/hostile.out"
echo "== RSS (seconds since start, KB)"; cat "$T/rss.tsv"
awk '$1 >= 70 { n++; sx += $1; sy += $2; sxx += $1*$1; sxy += $1*$2 }
     END { if (n > 1) printf "RSS slope after the first minute: %.1f KB/min over %d samples\n", (n*sxy - sx*sy) / (n*sxx - sx*sx) * 60, n }' "$T/rss.tsv"
echo "== rustnet stderr"; cat "$T/stderr"
echo "== records: $(wc -l <"$T/records.jsonl")"; grep '"drops"' "$T/records.jsonl" || echo "no drops line (no drop)"
MISSING=0
for n in a b c d e; do
    c=$(grep -c "\"sni\":\"$n.soak.test\"" "$T/records.jsonl" || true)
    echo "TLS $n.soak.test: $c connections with the name (of $ROUNDS made)"
    [ "$c" -gt 0 ] || MISSING=1
done
exit $MISSING

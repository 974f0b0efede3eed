#!/usr/bin/env bash
# Regenerate every capture in tests/fixtures/ from real programs.
#
#   sudo tests/lab/make_fixtures.sh            all scenarios
#   sudo tests/lab/make_fixtures.sh http_curl dns_udp   only these
#
# Ends by checking every capture against tests/fixtures/expected.json
# (tests/lab/check_fixtures.py) and writes tests/fixtures/VERSIONS.txt.
#
# Brings up the netns lab (tests/lab/netns.sh), starts nginx, dnsmasq, sshd
# and an aioquic HTTP/3 server in the server namespace, runs each client
# scenario in the client namespace while tcpdump records rn-veth-c (pcap,
# full snaplen), then writes tshark's view of each capture beside it with
# make_truth.py.  Everything (servers, namespaces, temp dir) is removed on exit.
# Traffic never leaves the two namespaces.
#
# Environment: LAB_PREFIX (default rn), PYTHON (python with aioquic; default
# python3), MAKE_TRUTH (default /work/shared/pcaps/make_truth.py),
# FIXTURES_OUT (default tests/fixtures), BIGCH_MTU (default 300).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="${FIXTURES_OUT:-$ROOT/tests/fixtures}"
PY="${PYTHON:-python3}"
TRUTH="${MAKE_TRUTH:-/work/shared/pcaps/make_truth.py}"
BIGCH_MTU="${BIGCH_MTU:-300}"
export LAB_PREFIX="${LAB_PREFIX:-rn}"
unset LAB_MTU
NS_C="$LAB_PREFIX-cli"; NS_S="$LAB_PREFIX-srv"
IF_C="$LAB_PREFIX-veth-c"; IF_S="$LAB_PREFIX-veth-s"
SRV4=10.77.0.2; SRV6=fd77::2
UA="rustnet-fixture/1.0"

[ "$(id -u)" = 0 ] || { echo "make_fixtures.sh: run as root (sudo)" >&2; exit 1; }
for t in ip tcpdump tshark capinfos nginx dnsmasq /usr/sbin/sshd ssh ssh-keygen dig ping arping curl openssl ethtool; do
    command -v "$t" >/dev/null || { echo "make_fixtures.sh: missing $t" >&2; exit 1; }
done
"$PY" -c 'import aioquic' 2>/dev/null || { echo "make_fixtures.sh: $PY lacks aioquic (pip install aioquic)" >&2; exit 1; }
[ -f "$TRUTH" ] || { echo "make_fixtures.sh: make_truth.py not found at $TRUTH" >&2; exit 1; }

T=$(mktemp -d /tmp/rn-fixtures.XXXXXX)
chmod 755 "$T"
SRV_PIDS=()
CAP_PID=

cleanup() {
    set +e
    [ -n "$CAP_PID" ] && kill -TERM "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
    for p in "${SRV_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${SRV_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
    done
    # Anything still inside the lab namespaces (e.g. sshd session children).
    for ns in "$NS_S" "$NS_C"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    done
    "$HERE/netns.sh" down
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_cli() { ip netns exec "$NS_C" "$@"; }
# For background jobs use these arrays, not the functions: `func &` forks a
# subshell, so $! would be that shell and not the server/tcpdump process.
IN_CLI=(ip netns exec "$NS_C")
IN_SRV=(ip netns exec "$NS_S")
in_srv() { ip netns exec "$NS_S" "$@"; }

log() { printf '\n== %s\n' "$*"; }

# ------------------------------------------------------------------ material
make_material() {
    mkdir -p "$T/www/path" "$T/nginx" "$T/ssh"
    # One self-signed EC certificate for every name (small, so captures stay small).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$T/key.pem" -out "$T/cert.pem" -days 3650 \
        -subj "/CN=secure.example.test" \
        -addext "subjectAltName=DNS:secure.example.test,DNS:alt.example.test,DNS:big.example.test,DNS:quic.example.test,DNS:*.example.test" \
        2>/dev/null
    printf '<html><body>rustnet fixture</body></html>\n' >"$T/www/index.html"
    head -c 1048576 /dev/zero | tr '\0' 'x' >"$T/www/big.bin"
    ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host_ed25519" -C rn-fixture-host
    ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/client_ed25519" -C rn-fixture-client
    cp "$T/ssh/client_ed25519.pub" "$T/ssh/authorized_keys"
    printf '#!/bin/sh\necho wrong-password\n' >"$T/ssh/askpass"
    chmod 755 "$T/ssh/askpass"
}

# ------------------------------------------------------------------ servers
start_nginx() {
    cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 64; }
http {
    access_log $T/nginx/access.log;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    default_type text/plain;
    server_tokens off;
    ssl_certificate $T/cert.pem;
    ssl_certificate_key $T/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets off;
    server {
        listen $SRV4:80;
        listen [$SRV6]:80;
        listen $SRV4:443 ssl http2;
        listen $SRV4:8443 ssl;
        server_name _;
        root $T/www;
        location = /path/two { return 200 "two\n"; }
        location = /big.bin { limit_rate 32k; }
    }
}
EOF
    "${IN_SRV[@]}" nginx -c "$T/nginx/nginx.conf" &
    SRV_PIDS+=($!)
}

start_dnsmasq() {
    # Fixed records; nothing is forwarded (no upstream), names under
    # example.test that are not listed get NXDOMAIN (--local).
    "${IN_SRV[@]}" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
        --no-poll --user=root --group=root --pid-file="$T/dnsmasq.pid" \
        --listen-address="$SRV4,$SRV6" --bind-interfaces --port=53 \
        --log-facility="$T/dnsmasq.log" --log-queries \
        --local=/example.test/ \
        --address=/www.example.test/$SRV4 --address=/www.example.test/$SRV6 \
        --host-record=srv.example.test,$SRV4,$SRV6 \
        --cname=alias.example.test,srv.example.test \
        --txt-record=txt.example.test,"v=rustnet1 fixture" &
    SRV_PIDS+=($!)
}

start_sshd() {
    mkdir -p /run/sshd
    cat >"$T/ssh/sshd_config" <<EOF
Port 22
ListenAddress $SRV4
HostKey $T/ssh/host_ed25519
PidFile $T/ssh/sshd.pid
AuthorizedKeysFile $T/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
Subsystem sftp internal-sftp
EOF
    "${IN_SRV[@]}" /usr/sbin/sshd -D -e -f "$T/ssh/sshd_config" 2>"$T/ssh/sshd.log" &
    SRV_PIDS+=($!)
}

start_quic() {
    "${IN_SRV[@]}" "$PY" "$HERE/quic_h3.py" server --host "$SRV4" --port 4433 \
        --cert "$T/cert.pem" --key "$T/key.pem" >"$T/quic.log" 2>&1 &
    SRV_PIDS+=($!)
}

wait_port() { # proto port
    for _ in $(seq 100); do
        if in_srv ss -Hln"${1:0:1}" "sport = :$2" | grep -q .; then return 0; fi
        sleep 0.1
    done
    echo "server on $1/$2 did not come up" >&2
    return 1
}

# ------------------------------------------------------------------ capture
cap_start() { # name
    CAP_NAME=$1
    rm -f "$T/$1.pcap"
    : >"$T/$1.tcpdump.log"
    # --immediate-mode: without it libpcap hands packets over in ring blocks
    # (1 s timeout) and the last ones are lost when tcpdump is stopped.
    "${IN_CLI[@]}" tcpdump -i "$IF_C" -s 0 -U --immediate-mode -n -Z root -w "$T/$1.pcap" \
        2>"$T/$1.tcpdump.log" &
    CAP_PID=$!
    for _ in $(seq 100); do grep -q "listening on" "$T/$1.tcpdump.log" && break; sleep 0.05; done
    sleep 0.3
}

cap_stop() {
    sleep 1     # let FINs/ACKs and late replies arrive
    # SIGTERM: background jobs of a script start with SIGINT ignored, and
    # tcpdump handles TERM the same way (flush, close the file, exit).
    kill -TERM "$CAP_PID"
    wait "$CAP_PID" || true
    CAP_PID=
    local got seen
    got=$(sed -n 's/^\([0-9]*\) packets\? captured.*/\1/p' "$T/$CAP_NAME.tcpdump.log")
    seen=$(sed -n 's/^\([0-9]*\) packets\? received by filter.*/\1/p' "$T/$CAP_NAME.tcpdump.log")
    echo "tcpdump: $got captured, $seen received by filter"
    if [ -z "$got" ] || [ "$got" != "$seen" ]; then
        echo "make_fixtures.sh: tcpdump lost packets in $CAP_NAME" >&2
        cat "$T/$CAP_NAME.tcpdump.log" >&2
        exit 1
    fi
    cp "$T/$CAP_NAME.pcap" "$OUT/$CAP_NAME.pcap"
    "$PY" "$TRUTH" -o "$OUT" "$OUT/$CAP_NAME.pcap"
}

CURL=(curl -s -S -A "$UA" -o /dev/null -w '%{http_version} %{response_code} %{ssl_verify_result}\n')

# ------------------------------------------------------------------ scenarios
sc_http_curl() {
    for _ in 1 2 3; do
        in_cli "${CURL[@]}" --resolve www.example.test:80:$SRV4 http://www.example.test/index.html
    done
    in_cli "${CURL[@]}" --resolve www.example.test:80:$SRV4 'http://www.example.test/path/two?x=1'
}

sc_tls13_curl() {
    # default ALPN offer: h2, http/1.1 (nginx picks h2)
    in_cli "${CURL[@]}" -k --tlsv1.3 --resolve secure.example.test:443:$SRV4 https://secure.example.test/
}

sc_tls12_curl() {
    # --http1.1: ALPN offer is only http/1.1
    in_cli "${CURL[@]}" -k --tlsv1.2 --tls-max 1.2 --http1.1 \
        --resolve secure.example.test:443:$SRV4 https://secure.example.test/
}

sc_tls_nonstd_port() {
    # default ALPN offer h2, http/1.1; the 8443 listener has no http2, picks http/1.1
    in_cli "${CURL[@]}" -k --tlsv1.3 --resolve alt.example.test:8443:$SRV4 https://alt.example.test:8443/
}

sc_dns_udp() {
    local D=(dig +tries=1 +time=3 @$SRV4)
    in_cli "${D[@]}" www.example.test A +short
    in_cli "${D[@]}" www.example.test AAAA +short
    in_cli "${D[@]}" alias.example.test A +short
    in_cli "${D[@]}" nope.example.test A | grep -o 'status: [A-Z]*'
    in_cli "${D[@]}" -x $SRV4 +short
    in_cli "${D[@]}" txt.example.test TXT +short
}

sc_dns_tcp() {
    local D=(dig +tcp +tries=1 +time=3 @$SRV4)
    in_cli "${D[@]}" www.example.test A +short
    in_cli "${D[@]}" txt.example.test TXT +short
}

SSH_OPTS=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
          -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5)
sc_ssh() {
    # 1: real public-key login that runs `true` and exits
    in_cli ssh "${SSH_OPTS[@]}" -o BatchMode=yes -o IdentitiesOnly=yes \
        -i "$T/ssh/client_ed25519" root@$SRV4 true
    echo "ssh login ok"
    # 2: one password attempt with a wrong password (fails)
    if in_cli env DISPLAY=:0 SSH_ASKPASS="$T/ssh/askpass" SSH_ASKPASS_REQUIRE=force setsid -w \
        ssh "${SSH_OPTS[@]}" -o PubkeyAuthentication=no -o PreferredAuthentications=password \
        -o NumberOfPasswordPrompts=1 nobody@$SRV4 true </dev/null; then
        echo "unexpected: password login succeeded" >&2; return 1
    fi
    echo "ssh password login failed as intended"
}

sc_ping() {
    in_cli ping -n -q -c 5 -i 0.2 $SRV4 | tail -2
    in_cli ping -n -q -6 -c 3 -i 0.2 $SRV6 | tail -2
}

sc_arp() {
    in_cli ip neigh flush dev "$IF_C"
    in_srv ip neigh flush dev "$IF_S"
    in_cli arping -q -c 3 -i "$IF_C" $SRV4 || true
    # and the kernel's own resolution before one echo request
    in_cli ip neigh flush dev "$IF_C"
    in_cli ping -n -q -c 1 $SRV4 | tail -1
}

sc_quic_aioquic() {
    in_cli "$PY" "$HERE/quic_h3.py" client --host $SRV4 --port 4433 --sni quic.example.test --path /
}

sc_quic_alpn_reject() {
    # Client offers only ALPN "rustnet-bogus"; the h3 server has no common
    # protocol and refuses in the handshake: a CONNECTION_CLOSE (TLS alert
    # no_application_protocol, error 0x178) inside an Initial packet, which
    # a monitor without keys can still read.
    in_cli "$PY" "$HERE/quic_h3.py" client --host $SRV4 --port 4433 --sni quic.example.test \
        --alpn rustnet-bogus --expect-reject
}

sc_mixed_ipv6() {
    in_cli "${CURL[@]}" -g -H 'Host: v6.example.test' "http://[$SRV6]/"
    in_cli dig +tries=1 +time=3 @$SRV6 srv.example.test AAAA +short
}

sc_tcp_rst() {
    # closed port: SYN answered by RST
    in_cli curl -s -A "$UA" --max-time 3 http://$SRV4:81/ && { echo "port 81 open?" >&2; return 1; }
    # Transfer aborted by the client mid-way.  The server sends at 32 KB/s,
    # the client reads at 4 KB/s into a small receive buffer, so unread data
    # is queued when curl gives up at --max-time and its close() sends an RST.
    local rmem
    rmem=$(in_cli sysctl -n net.ipv4.tcp_rmem)
    in_cli sysctl -qw net.ipv4.tcp_rmem="4096 8192 8192"
    in_cli curl -s -A "$UA" -o /dev/null --limit-rate 4k --max-time 1 \
        --resolve www.example.test:80:$SRV4 http://www.example.test/big.bin &&
        { echo "big.bin finished?" >&2; return 1; }
    in_cli sysctl -qw net.ipv4.tcp_rmem="$rmem"
    return 0
}

sc_tls_bigch() {
    # A small MTU makes the ClientHello span several TCP segments.  (OpenSSL
    # 3.0 here has no ML-KEM hybrid key share, which would do it at 1500.)
    # The v6 addresses vanish below MTU 1280, so this runs last.
    in_cli ip link set "$IF_C" mtu "$BIGCH_MTU"
    in_srv ip link set "$IF_S" mtu "$BIGCH_MTU"
    in_cli "${CURL[@]}" -k --tlsv1.3 --resolve big.example.test:443:$SRV4 https://big.example.test/
}

ALL=(http_curl tls13_curl tls12_curl tls_nonstd_port dns_udp dns_tcp ssh ping arp
     quic_aioquic quic_alpn_reject mixed_ipv6 tcp_rst tls_bigch)   # tls_bigch must stay last
if [ $# -gt 0 ]; then
    WANT=("$@")
    # keep the canonical order (tls_bigch last)
    SEL=(); for s in "${ALL[@]}"; do for w in "${WANT[@]}"; do [ "$s" = "$w" ] && SEL+=("$s"); done; done
else
    SEL=("${ALL[@]}")
fi

# ------------------------------------------------------------------ main
mkdir -p "$OUT"
make_material
"$HERE/netns.sh" up
start_nginx; start_dnsmasq; start_sshd; start_quic
wait_port tcp 80; wait_port tcp 443; wait_port tcp 8443; wait_port udp 53; wait_port tcp 53
wait_port tcp 22; wait_port udp 4433
sleep 3   # let link-up chatter (IPv6 MLD etc.) pass before the first capture

for s in "${SEL[@]}"; do
    log "$s"
    cap_start "$s"
    "sc_$s"
    cap_stop
done

log "versions"
{
    echo "# tools that made these fixtures ($(date -u +%Y-%m-%d))"
    tshark --version 2>/dev/null | head -1
    curl --version | head -1
    openssl version
    ssh -V 2>&1
    dnsmasq --version | head -1
    nginx -v 2>&1
    tcpdump --version 2>&1 | head -1
    echo "aioquic $("$PY" -c 'import aioquic; print(aioquic.__version__)')"
    echo "kernel $(uname -r)"
} | tee "$OUT/VERSIONS.txt"

log "check against expected.json"
"$PY" "$HERE/check_fixtures.py" --expected "$ROOT/tests/fixtures/expected.json" "$OUT" "${SEL[@]}"
echo "done: ${SEL[*]}"

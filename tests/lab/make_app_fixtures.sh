#!/usr/bin/env bash
# Regenerate the FTP and MQTT captures in tests/fixtures/ (issue 14) from
# real programs between the two lab namespaces, like make_fixtures.sh.
#
#   sudo tests/lab/make_app_fixtures.sh              both
#   sudo tests/lab/make_app_fixtures.sh ftp_vsftpd   only this one
#
# Servers in the server namespace: vsftpd (anonymous only, passive ports
# 30000-30010) and mosquitto (anonymous allowed) on 10.77.0.2. Clients:
# curl ftp:// and mosquitto_pub. What they are told to send is in
# tests/fixtures/expected.json (keys "ftp" and "mqtt"), checked by
# tests/fixture_app_protocols.rs. Needs root, ip, ethtool, tcpdump, tshark,
# vsftpd, mosquitto, mosquitto-clients, curl.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="${FIXTURES_OUT:-$ROOT/tests/fixtures}"
PY="${PYTHON:-python3}"
TRUTH="${MAKE_TRUTH:-/work/shared/pcaps/make_truth.py}"
export LAB_PREFIX="${LAB_PREFIX:-rnapp}"
unset LAB_MTU
NS_C="$LAB_PREFIX-cli"; NS_S="$LAB_PREFIX-srv"; IF_C="$LAB_PREFIX-veth-c"
SRV4=10.77.0.2

[ "$(id -u)" = 0 ] || { echo "make_app_fixtures.sh: run as root (sudo)" >&2; exit 1; }
for t in ip tcpdump tshark vsftpd mosquitto mosquitto_pub curl ethtool; do
    command -v "$t" >/dev/null || { echo "make_app_fixtures.sh: missing $t" >&2; exit 1; }
done

T=$(mktemp -d /tmp/rn-appfix.XXXXXX)
chmod 755 "$T"
SRV_PIDS=()
CAP_PID=
cleanup() {
    set +e
    [ -n "$CAP_PID" ] && kill -TERM "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
    for p in "${SRV_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    "$HERE/netns.sh" down
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
in_cli() { ip netns exec "$NS_C" "$@"; }
IN_CLI=(ip netns exec "$NS_C")
IN_SRV=(ip netns exec "$NS_S")

start_vsftpd() {
    mkdir -p "$T/ftp/pub" /var/run/vsftpd/empty
    chmod 555 "$T/ftp"
    printf 'hello from the rustnet fixture\n' >"$T/ftp/pub/hello.txt"
    cat >"$T/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=$SRV4
background=NO
anonymous_enable=YES
no_anon_password=YES
local_enable=NO
write_enable=NO
anon_root=$T/ftp
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30010
seccomp_sandbox=NO
secure_chroot_dir=/var/run/vsftpd/empty
ftpd_banner=rustnet fixture FTP
xferlog_enable=NO
CONF
    "${IN_SRV[@]}" vsftpd "$T/vsftpd.conf" &
    SRV_PIDS+=($!)
}

start_mosquitto() {
    printf 'listener 1883 %s\nallow_anonymous true\npersistence false\nlog_dest none\n' "$SRV4" >"$T/mosquitto.conf"
    "${IN_SRV[@]}" mosquitto -c "$T/mosquitto.conf" &
    SRV_PIDS+=($!)
}

wait_port() { # port
    for _ in $(seq 100); do
        if ip netns exec "$NS_S" ss -Hlnt "sport = :$1" | grep -q .; then return 0; fi
        sleep 0.1
    done
    echo "server on tcp/$1 did not come up" >&2; return 1
}

cap_start() {
    CAP_NAME=$1
    "${IN_CLI[@]}" tcpdump -i "$IF_C" -s 0 -U --immediate-mode -n -Z root -w "$T/$1.pcap" 2>"$T/$1.log" &
    CAP_PID=$!
    for _ in $(seq 100); do grep -q "listening on" "$T/$1.log" && break; sleep 0.05; done
    sleep 0.3
}

cap_stop() {
    sleep 1
    kill -TERM "$CAP_PID"; wait "$CAP_PID" || true; CAP_PID=
    cp "$T/$CAP_NAME.pcap" "$OUT/$CAP_NAME.pcap"
    "$PY" "$TRUTH" -o "$OUT" "$OUT/$CAP_NAME.pcap"
}

# A user that the anonymous-only server refuses (530), then an anonymous
# directory listing and download (EPSV data connections).
sc_ftp_vsftpd() {
    in_cli curl -s -S "ftp://rustnet-fixture:fixture-secret@$SRV4/" -o /dev/null || true
    in_cli curl -s -S "ftp://$SRV4/pub/hello.txt" -o /dev/null
}

# One CONNECT per MQTT version, each with its own client id; the password
# must not show up anywhere in our output.
sc_mqtt_mosquitto() {
    in_cli mosquitto_pub -h "$SRV4" -V mqttv31 -i rustnet-fixture-31 -t rn/t -m one -u anna -P mqtt-secret
    in_cli mosquitto_pub -h "$SRV4" -V mqttv311 -i rustnet-fixture-311 -t rn/t -m two -u anna -P mqtt-secret
    in_cli mosquitto_pub -h "$SRV4" -V mqttv5 -i rustnet-fixture-5 -t rn/t -m three -u anna -P mqtt-secret
}

SEL=("$@")
[ ${#SEL[@]} -gt 0 ] || SEL=(ftp_vsftpd mqtt_mosquitto)
mkdir -p "$OUT"
"$HERE/netns.sh" up
start_vsftpd; start_mosquitto
wait_port 21; wait_port 1883
sleep 2
for s in "${SEL[@]}"; do
    echo "== $s"
    cap_start "$s"; "sc_$s"; cap_stop
done
{
    echo "# tools that made the FTP/MQTT fixtures ($(date -u +%Y-%m-%d))"
    echo "vsftpd $(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null)"
    mosquitto -h | head -1
    curl --version | head -1
} | tee "$OUT/VERSIONS-apps.txt"

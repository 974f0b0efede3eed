#!/usr/bin/env bash
# Regenerate the FTP, MQTT, SNMP and NTP captures in tests/fixtures/ (issue 14) from
# real programs between the two lab namespaces, like make_fixtures.sh.
#
#   sudo tests/lab/make_app_fixtures.sh              both
#   sudo tests/lab/make_app_fixtures.sh ftp_vsftpd   only this one
#
# Servers in the server namespace: vsftpd (anonymous only, passive ports
# 30000-30010, active mode from port 20), mosquitto (anonymous allowed), snmpd (one read-only
# community) and chronyd (-x: never touches the clock; local stratum 8) on
# 10.77.0.2. Clients: curl ftp://, mosquitto_pub, snmpget/snmpgetnext, sntp
# (query only). What they are told to send is in tests/fixtures/expected.json
# (keys "ftp", "mqtt", "snmp", "ntp"), checked by tests/fixture_app_protocols.rs.
# Needs root, ip, ethtool, tcpdump, tshark, vsftpd, mosquitto,
# mosquitto-clients, curl, snmpd, snmp, chrony, sntp.
set -euo pipefail

export LAB_PREFIX="${LAB_PREFIX:-rnapp}"
unset LAB_MTU
source "$(dirname "$0")/lib.sh"
lab_init make_app_fixtures.sh ip tcpdump tshark vsftpd mosquitto mosquitto_pub curl ethtool snmpd snmpget chronyd sntp

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
port_enable=YES
connect_from_port_20=YES
seccomp_sandbox=NO
secure_chroot_dir=/var/run/vsftpd/empty
ftpd_banner=rustnet fixture FTP
xferlog_enable=NO
CONF
    "${IN_SRV[@]}" vsftpd "$T/vsftpd.conf" &
    PIDS+=($!)
}

start_mosquitto() {
    printf 'listener 1883 %s\nallow_anonymous true\npersistence false\nlog_dest none\n' "$SRV4" >"$T/mosquitto.conf"
    "${IN_SRV[@]}" mosquitto -c "$T/mosquitto.conf" &
    PIDS+=($!)
}

start_snmpd() {
    printf 'agentaddress udp:%s:161\nrocommunity rn-fixture-community\n' "$SRV4" >"$T/snmpd.conf"
    "${IN_SRV[@]}" snmpd -f -Lo -C -c "$T/snmpd.conf" -p "$T/snmpd.pid" >"$T/snmpd.log" 2>&1 &
    PIDS+=($!)
}

start_chronyd() {
    printf 'local stratum 8\nallow 10.77.0.0/24\nbindaddress %s\ncmdport 0\npidfile %s/chronyd.pid\n' \
        "$SRV4" "$T" >"$T/chrony.conf"
    "${IN_SRV[@]}" chronyd -x -d -f "$T/chrony.conf" >"$T/chronyd.log" 2>&1 &
    PIDS+=($!)
}

wait_port() { # port [proto letter]
    local p=${2:-t}
    for _ in $(seq 100); do
        if ip netns exec "$NS_S" ss -Hln"$p" "sport = :$1" | grep -q .; then return 0; fi
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

# Active mode (curl -P -): vsftpd connects back from port 20.
sc_ftp_active() {
    in_cli curl -s -S -P - "ftp://$SRV4/pub/hello.txt" -o /dev/null
}

# One CONNECT per MQTT version, each with its own client id; the password
# must not show up anywhere in our output.
sc_mqtt_mosquitto() {
    in_cli mosquitto_pub -h "$SRV4" -V mqttv31 -i rustnet-fixture-31 -t rn/t -m one -u anna -P mqtt-secret
    in_cli mosquitto_pub -h "$SRV4" -V mqttv311 -i rustnet-fixture-311 -t rn/t -m two -u anna -P mqtt-secret
    in_cli mosquitto_pub -h "$SRV4" -V mqttv5 -i rustnet-fixture-5 -t rn/t -m three -u anna -P mqtt-secret
}

# SNMP v2c get and v1 get-next, each its own client port; the community
# must not show up in our output.
sc_snmp_net_snmp() {
    in_cli snmpget -v2c -c rn-fixture-community "$SRV4" 1.3.6.1.2.1.1.1.0 >/dev/null
    in_cli snmpgetnext -v1 -c rn-fixture-community "$SRV4" 1.3.6.1.2.1.1.5 >/dev/null
}

# One NTP query (sntp never sets the clock without -s/-S).
sc_ntp_chrony() {
    in_cli sntp -t 2 "$SRV4" || true
}

SEL=("$@")
[ ${#SEL[@]} -gt 0 ] || SEL=(ftp_vsftpd ftp_active mqtt_mosquitto snmp_net_snmp ntp_chrony)
mkdir -p "$OUT"
"$HERE/netns.sh" up
start_vsftpd; start_mosquitto; start_snmpd; start_chronyd
wait_port 21; wait_port 1883; wait_port 161 u; wait_port 123 u
sleep 2
for s in "${SEL[@]}"; do
    echo "== $s"
    cap_start "$s"; "sc_$s"; cap_stop
done
set +o pipefail   # `mosquitto -h` exits 3, `head` may close pipes early
{
    echo "# tools that made the FTP/MQTT/SNMP/NTP fixtures ($(date -u +%Y-%m-%d))"
    echo "vsftpd $(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null)"
    mosquitto -h | head -1
    curl --version | head -1
    snmpd -v | grep -m1 version
    chronyd -v
    sntp --help 2>&1 | head -1
} | tee "$OUT/VERSIONS-apps.txt"

#!/usr/bin/env bash
# Installs the programs the integration tests drive (Debian/Ubuntu, as root):
# real servers and clients for the network-namespace lab, tshark for truth files,
# tmux for the terminal end-to-end test; libpcap-dev to build the optional
# `pcap` feature (the default build needs no system package: it loads
# libpcap.so at run time only for --bpf-filter, and tcpdump brings that).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  iproute2 iputils-ping arping tcpdump tshark curl nginx dnsmasq \
  openssh-server openssh-client dnsutils tmux python3 ca-certificates openssl ethtool libpcap-dev libcap2-bin \
  man-db sqlite3 vsftpd mosquitto mosquitto-clients snmpd snmp chrony sntp \
  mmdb-bin ieee-data nfdump pmacct prometheus nftables >/dev/null

#!/usr/bin/env bash
# Reproduces the README's benchmark figures on this machine.
#   scripts/bench.sh [CORPUS_DIR]   (default ../shared/pcaps; templates for the mixed capture)
# Needs tcpdump and GNU time (/usr/bin/time). Writes captures under target/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS="${1:-${RUSTNET_CORPUS:-../shared/pcaps}}"
OUT=target/bench
mkdir -p "$OUT"
cargo build --release --quiet --bin rustnet --example gen_bench_capture
GEN=target/release/examples/gen_bench_capture
BIN=target/release/rustnet
MIXED="$OUT/mixed-1m.pcap"
SYN="$OUT/syn-1m.pcap"
if [ ! -s "$MIXED" ]; then
  $GEN "$MIXED" 1000000 "$CORPUS"/ndpi_443-curl.pcap "$CORPUS"/zeek_get.pcap "$CORPUS"/zeek_single-conn.pcap \
    "$CORPUS"/zeek_curl-8.1.2-dev-http3-www-google-de.pcap "$CORPUS"/zeek_dns-two-responses.pcap \
    "$CORPUS"/zeek_5-pings.pcap "$CORPUS"/tcpdump_ssh.pcap "$CORPUS"/ndpi_tls_2_reasms.pcapng
fi
[ -s "$SYN" ] || $GEN --syn-flood "$SYN" 1000000
cat "$MIXED" "$SYN" >/dev/null   # warm the page cache

echo "== core engine alone, one thread"
RUSTNET_BENCH_FILE="$MIXED" cargo bench --quiet --bench core_throughput 2>/dev/null | grep -E "packets"

best() { # best wall time of 5 runs of "$@"
  local b=999999 t f
  f=$(mktemp)
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%e" -o "$f" "$@" >/dev/null 2>&1
    t=$(tail -1 "$f")
    b=$(echo "$t $b" | awk '{print ($1<$2)?$1:$2}')
  done
  rm -f "$f"
  echo "$b"
}
echo "== whole binary vs tcpdump on $MIXED (best of 5, wall seconds)"
T_TCPDUMP=$(best tcpdump -r "$MIXED" -w /dev/null)
T_DPI=$(best "$BIN" --read "$MIXED" --json)
T_NODPI=$(best "$BIN" --read "$MIXED" --json --no-dpi)
echo "tcpdump -r F -w /dev/null        $T_TCPDUMP s"
echo "rustnet --read F --json          $T_DPI s  (ratio $(echo "$T_DPI $T_TCPDUMP" | awk '{printf "%.2f", $1/$2}'))"
echo "rustnet --read F --json --no-dpi $T_NODPI s  (ratio $(echo "$T_NODPI $T_TCPDUMP" | awk '{printf "%.2f", $1/$2}'))"
echo "DPI on / DPI off                 $(echo "$T_DPI $T_NODPI" | awk '{printf "%.2f", $1/$2}')"

echo "== 1 000 000 SYNs from distinct ports, --max-connections 100000"
/usr/bin/time -f "%e s, peak RSS %M KB" "$BIN" --read "$SYN" --json --max-connections 100000 2>&1 >/dev/null | tail -1

#!/usr/bin/env python3
"""Userspace stand-in for `tc qdisc add dev <srv veth> root netem delay D loss L% reorder R%`.

The lab kernel is built without sch_netem (CONFIG_NET_SCH_NETEM is not set),
so this program does netem's job: it runs in the middle namespace of
`LAB_MIDDLE=1 tests/lab/netns.sh up` and carries every Ethernet frame between
the client-side link (--cli-if) and the server-side link (--srv-if) through
AF_PACKET sockets.

  client -> server   forwarded at once (no impairment)
  server -> client   netem's rules on the server's egress:
                     every frame delayed by --delay-ms; a TCP segment that
                     carries payload is dropped with probability --loss %,
                     otherwise with probability --reorder % sent at once
                     ("reorder": it overtakes the delayed ones, as netem's
                     reorder puts the packet at the head of the queue).

Only TCP segments with payload are dropped or reordered, never the handshake,
pure ACKs or FINs, so every connection's handshake round trip at the client's
capture point is exactly the delay (netem would also drop or pass early 15 % of
SYN/ACKs, giving 1 s or 0 ms handshake times instead).

Run as root (raw sockets), best under `chrt -f 50` so the delay is kept to
well under a millisecond.  SIGTERM/SIGINT ends it; it prints a summary.
"""
import argparse
import heapq
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def tcp_payload(frame: bytes) -> int:
    """Payload length of the TCP segment in an Ethernet frame (0 if not TCP)."""
    if len(frame) < 14:
        return 0
    eth = struct.unpack_from("!H", frame, 12)[0]
    if eth == 0x0800 and len(frame) >= 34:
        ihl = (frame[14] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, 16)[0]
        if frame[23] != 6 or len(frame) < 14 + ihl + 13:
            return 0
        doff = (frame[14 + ihl + 12] >> 4) * 4
        return max(0, total - ihl - doff)
    if eth == 0x86DD and len(frame) >= 54 + 13:
        plen = struct.unpack_from("!H", frame, 18)[0]
        if frame[20] != 6:  # no extension headers in this lab
            return 0
        doff = (frame[54 + 12] >> 4) * 4
        return max(0, plen - doff)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli-if", required=True)
    ap.add_argument("--srv-if", required=True)
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--loss", type=float, default=5.0, help="percent")
    ap.add_argument("--reorder", type=float, default=10.0, help="percent")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    delay = args.delay_ms / 1000.0
    socks = {}
    for name in (args.cli_if, args.srv_if):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setblocking(False)
        socks[name] = s
    cli, srv = socks[args.cli_if], socks[args.srv_if]
    queue = []  # (release time, sequence, frame) toward the client
    seq = 0
    stats = {"c2s": 0, "s2c": 0, "dropped": 0, "reordered": 0, "late_max_us": 0}
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("impair: ready", flush=True)
    while running:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            due, _, frame = heapq.heappop(queue)
            late = int((now - due) * 1e6)
            stats["late_max_us"] = max(stats["late_max_us"], late)
            cli.send(frame)
        timeout = max(0.0, queue[0][0] - now) if queue else 0.2
        try:
            ready, _, _ = select.select([cli, srv], [], [], timeout)
        except InterruptedError:
            continue
        for s in ready:
            while True:
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own send, seen on the way out
                if s is cli:
                    stats["c2s"] += 1
                    srv.send(frame)
                    continue
                stats["s2c"] += 1
                release = time.monotonic() + delay
                if tcp_payload(frame) > 0:
                    if rng.random() * 100 < args.loss:
                        stats["dropped"] += 1
                        continue
                    if rng.random() * 100 < args.reorder:
                        stats["reordered"] += 1
                        cli.send(frame)
                        continue
                seq += 1
                heapq.heappush(queue, (release, seq, frame))
    print("impair: " + " ".join(f"{k}={v}" for k, v in stats.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

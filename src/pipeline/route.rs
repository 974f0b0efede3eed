//! Which worker a packet goes to: the hash of its flow's 5-tuple, the same
//! for both directions, so that the flows between two hosts spread over all
//! workers while every packet of one flow reaches the same engine, in order.
//!
//! Later IP fragments carry no ports. They follow their datagram
//! (src, dst, protocol, identification): the first fragment, which has the
//! ports, records its worker here. A later fragment that arrives before its
//! first fragment is held (copied) until the first one comes and then sent
//! to the flow's worker just ahead of it, so that worker's engine sees them
//! in the order a single engine would (held early, then attached by the
//! first fragment). Held fragments whose first fragment does not come within
//! the reassembly lifetime, that overflow the bound, or that remain at the end
//! of input go to the worker of their address pair, whose engine counts them
//! as orphans exactly as a single engine would.
//!
//! So every fragment of a datagram reaches one engine, which is what lets
//! that engine reassemble it for DPI (core `track::defrag`); only the
//! fragments sent to the fallback worker above are not reassembled.
//!
//! An FTP data connection goes to its control connection's worker, whose
//! engine expects it (core `engine::ftp_expect`): the dispatcher reads the
//! PASV/EPSV replies and PORT/EPRT commands of each control segment on port
//! 21 and pins the announced endpoints to that worker. It reads segments
//! without reassembly, so an announcement split over two segments is missed
//! here (and the data connection may then be labelled only with one worker).

use crate::capture::Packet;
use rustnet_core::Timestamp;
use rustnet_core::dpi::ftp_announcements;
use rustnet_core::track::Endpoint;
use rustnet_core::wire::{self, L4, LinkType};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// A datagram: (src, dst, ip protocol, identification), as the engine keys it.
type DatagramId = (IpAddr, IpAddr, u8, u32);

/// The engine's fragment lifetime (core `track::frag`): a datagram not seen
/// for this long is forgotten.
const LIFETIME: Duration = Duration::from_secs(30);
/// Datagrams whose worker is remembered (first fragments seen).
const MAX_KNOWN: usize = 65_536;
/// Early fragments held at most (count and bytes); more go on at once.
const MAX_HELD: usize = 4_096;
const MAX_HELD_BYTES: usize = 16 << 20;
/// How often (in packet time) the maps are swept for expired entries.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// The FTP control port, whose segments are read for announcements.
const FTP_PORT: u16 = 21;
/// Announced FTP data endpoints pinned at most, and how long one is kept
/// after its last packet: longer than an engine expects it (5 min after the
/// announcement), so a data connection is never split between workers.
const MAX_PINS: usize = 4_096;
const PIN_LIFETIME: Duration = Duration::from_secs(600);

/// A fragment held until its first fragment comes (an owned copy).
#[derive(Debug)]
pub struct Held {
    pub ts: Timestamp,
    pub data: Vec<u8>,
    pub wire_len: u32,
    pub link: LinkType,
}

impl Held {
    pub fn packet(&self) -> Packet<'_> {
        Packet { ts: self.ts, data: &self.data, wire_len: self.wire_len, link: self.link }
    }
}

/// Where one packet goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// To this worker.
    To(usize),
    /// Held by the router (a later fragment before its first fragment).
    Held,
}

/// The dispatcher's routing state.
#[derive(Debug)]
pub struct Router {
    workers: usize,
    /// Datagram → (worker of its flow, last seen).
    known: HashMap<DatagramId, (usize, Timestamp)>,
    /// Datagram → (its fallback worker, fragments held in arrival order).
    held: HashMap<DatagramId, (usize, Vec<Held>)>,
    held_count: usize,
    held_bytes: usize,
    next_sweep: Timestamp,
    /// Fragments to send now, with their worker, ahead of the current packet.
    released: Vec<(usize, Held)>,
    /// The worker of the flow an ICMP error just routed quotes, when it is
    /// not the error's own worker (see [`Self::take_quote`]).
    quote: Option<usize>,
    /// Announced FTP data endpoint → (its control connection's worker, last seen).
    pins: HashMap<Addr, (usize, Timestamp)>,
}

impl Router {
    pub fn new(workers: usize) -> Router {
        Router {
            workers: workers.max(1),
            known: HashMap::new(),
            held: HashMap::new(),
            held_count: 0,
            held_bytes: 0,
            next_sweep: Timestamp::ZERO,
            released: Vec::new(),
            quote: None,
            pins: HashMap::new(),
        }
    }

    /// Routes one packet. Fragments released by this call (held ones whose
    /// first fragment this is, or expired ones) must be sent first: see
    /// [`Self::take_released`].
    pub fn route(&mut self, p: &Packet<'_>) -> Route {
        if self.workers == 1 {
            return Route::To(0);
        }
        if p.ts >= self.next_sweep {
            self.sweep(p.ts);
        }
        // UDP tunnels (VXLAN, GTP-U …) belong to their inner flow: parsed below.
        if let Some((proto, a, b)) = plain_ip(p)
            && (proto != 17 || !wire::is_tunnel_port(a.1, b.1))
        {
            let w = self.pick(flow_hash(proto, a, b));
            if proto == 6 && (a.1 == FTP_PORT || b.1 == FTP_PORT || !self.pins.is_empty()) {
                return Route::To(self.ftp(p, a, b, w));
            }
            return Route::To(w);
        }
        let Ok(pkt) = wire::parse(p.link, p.data) else { return Route::To(0) };
        let (proto, a, b) = match pkt.l4 {
            L4::Tcp { sport, dport, .. } => (6, sport, dport),
            L4::Udp { sport, dport, .. } => (17, sport, dport),
            L4::Icmp { v6, echo_id, .. } => {
                let id = echo_id.unwrap_or(0);
                (if v6 { 58 } else { 1 }, id, id)
            }
            L4::Arp { .. } => (0, 0, 0),
            L4::Fragment { .. } => return self.later_fragment(&pkt, p),
            // Counted as "other IP" wherever it goes.
            L4::Other { proto } => (proto, 0, 0),
        };
        let mut w = self.pick(flow_hash(proto, (pkt.src, a), (pkt.dst, b)));
        if proto == 6 && (a == FTP_PORT || b == FTP_PORT || !self.pins.is_empty()) {
            w = self.ftp(p, (pkt.src, a), (pkt.dst, b), w);
        }
        if proto == 1 || proto == 58 {
            // An ICMP error also marks the connection it quotes, which may
            // live on another worker: that one is shown the error too.
            self.quote = rustnet_core::icmp_error_quotes(&pkt)
                .map(|(p, s, d)| {
                    let ip_proto = if p == rustnet_core::track::Proto::Tcp { 6 } else { 17 };
                    self.pick(flow_hash(ip_proto, (s.addr, s.port), (d.addr, d.port)))
                })
                .filter(|&q| q != w);
        }
        if let Some(f) = pkt.frag.filter(|f| f.first()) {
            let id = (pkt.src, pkt.dst, f.proto, f.id);
            if let Some((_, frags)) = self.held.remove(&id) {
                self.unhold(&frags);
                self.released.extend(frags.into_iter().map(|h| (w, h)));
            }
            if self.known.len() < MAX_KNOWN || self.known.contains_key(&id) {
                self.known.insert(id, (w, p.ts));
            }
        }
        Route::To(w)
    }

    /// The worker that must also be shown the packet just routed (an ICMP
    /// error quoting a flow of that worker), once.
    #[inline]
    pub fn take_quote(&mut self) -> Option<usize> {
        self.quote.take()
    }

    /// Whether [`Self::take_released`] has anything (rarely: only fragments
    /// held for their first one).
    #[inline]
    pub fn has_released(&self) -> bool {
        !self.released.is_empty()
    }

    /// Fragments to send (to the given worker) before the packet just routed.
    pub fn take_released(&mut self) -> std::vec::Drain<'_, (usize, Held)> {
        self.released.drain(..)
    }

    /// End of input: every held fragment goes to its fallback worker.
    pub fn release_all(&mut self) -> Vec<(usize, Held)> {
        let mut out = std::mem::take(&mut self.released);
        for (_, (w, frags)) in self.held.drain() {
            out.extend(frags.into_iter().map(|h| (w, h)));
        }
        self.held_count = 0;
        self.held_bytes = 0;
        out
    }

    fn later_fragment(&mut self, pkt: &wire::Packet<'_>, p: &Packet<'_>) -> Route {
        let Some(f) = pkt.frag else { return Route::To(0) };
        let id = (pkt.src, pkt.dst, f.proto, f.id);
        if let Some((w, seen)) = self.known.get_mut(&id) {
            *seen = p.ts;
            return Route::To(*w);
        }
        let fallback = self.pick(flow_hash(f.proto, (pkt.src, 0), (pkt.dst, 0)));
        if self.held_count >= MAX_HELD || self.held_bytes + p.data.len() > MAX_HELD_BYTES {
            return Route::To(fallback);
        }
        self.held_count += 1;
        self.held_bytes += p.data.len();
        let held = Held { ts: p.ts, data: p.data.to_vec(), wire_len: p.wire_len, link: p.link };
        self.held.entry(id).or_insert_with(|| (fallback, Vec::new())).1.push(held);
        Route::Held
    }

    /// The worker of a TCP segment from `a` to `b` (`w` by its hash) when
    /// FTP is about: a control segment pins the endpoints it announces to its
    /// worker; a segment to or from a pinned endpoint goes to that worker.
    #[cold]
    #[inline(never)]
    fn ftp(&mut self, p: &Packet<'_>, a: Addr, b: Addr, w: usize) -> usize {
        if a.1 == FTP_PORT || b.1 == FTP_PORT {
            let payload = match wire::parse(p.link, p.data) {
                Ok(wire::Packet { l4: L4::Tcp { payload, .. }, .. }) => payload,
                _ => &[][..],
            };
            let by_server = a.1 == FTP_PORT;
            let (client, server) = if by_server { (b, a) } else { (a, b) };
            let (client, server) = (Endpoint::new(client.0, client.1), Endpoint::new(server.0, server.1));
            for ann in ftp_announcements(payload, by_server) {
                for ep in ann.listeners(client, server).into_iter().flatten() {
                    let ep = (ep.addr, ep.port);
                    if self.pins.len() < MAX_PINS || self.pins.contains_key(&ep) {
                        self.pins.insert(ep, (w, p.ts));
                    }
                }
            }
            return w;
        }
        for end in [b, a] {
            if let Some((pinned, seen)) = self.pins.get_mut(&end) {
                *seen = p.ts;
                return *pinned;
            }
        }
        w
    }

    fn pick(&self, hash: u64) -> usize {
        (hash % self.workers as u64) as usize
    }

    fn unhold(&mut self, frags: &[Held]) {
        self.held_count -= frags.len();
        self.held_bytes -= frags.iter().map(|h| h.data.len()).sum::<usize>();
    }

    /// Forgets datagrams idle for the lifetime; releases held fragments whose
    /// first fragment did not come in time (to their fallback worker).
    fn sweep(&mut self, now: Timestamp) {
        self.next_sweep = now + SWEEP_EVERY;
        self.known.retain(|_, (_, seen)| now.since(*seen) < LIFETIME);
        self.pins.retain(|_, (_, seen)| now.since(*seen) < PIN_LIFETIME);
        let expired: Vec<DatagramId> = self
            .held
            .iter()
            .filter(|(_, (_, frags))| frags.last().is_none_or(|h| now.since(h.ts) >= LIFETIME))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some((w, frags)) = self.held.remove(&id) {
                self.unhold(&frags);
                self.released.extend(frags.into_iter().map(|h| (w, h)));
            }
        }
    }
}

/// (address, port): one end of a flow.
type Addr = (IpAddr, u16);

/// The common case read by hand (the dispatcher is one thread for all
/// workers): an unfragmented TCP or UDP packet in IPv4, or in IPv6 with no
/// extension header, over Ethernet, with the same addresses and ports that
/// `wire::parse` gives the engine. Anything else is left to `wire::parse`.
fn plain_ip(p: &Packet<'_>) -> Option<(u8, Addr, Addr)> {
    if p.link != LinkType::Ethernet {
        return None;
    }
    let ip = p.data.get(14..)?;
    match p.data.get(12..14)? {
        [0x08, 0x00] => plain_ipv4(ip),
        [0x86, 0xdd] => plain_ipv6(ip),
        _ => None,
    }
}

fn plain_ipv6(ip: &[u8]) -> Option<(u8, Addr, Addr)> {
    let be16 = |at: usize| ip.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let len = usize::from(be16(4)?);
    let proto = *ip.get(6)?;
    if ip.first()? >> 4 != 6 || len < 4 || 40 + len > ip.len() || !matches!(proto, 6 | 17) {
        return None;
    }
    let addr = |at: usize| ip.get(at..at + 16).and_then(|b| <[u8; 16]>::try_from(b).ok()).map(IpAddr::from);
    Some((proto, (addr(8)?, be16(40)?), (addr(24)?, be16(42)?)))
}

fn plain_ipv4(ip: &[u8]) -> Option<(u8, Addr, Addr)> {
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let be16 = |at: usize| ip.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let total = usize::from(be16(2)?);
    let plain = ip[0] >> 4 == 4 && ihl >= 20 && total >= ihl + 4 && total <= ip.len();
    // Flags MF or a fragment offset: a fragment, handled with its datagram.
    if !plain || be16(6)? & 0x3fff != 0 || !matches!(ip.get(9)?, 6 | 17) {
        return None;
    }
    let addr = |at: usize| ip.get(at..at + 4).map(|b| IpAddr::from([b[0], b[1], b[2], b[3]]));
    Some((ip[9], (addr(12)?, be16(ihl)?), (addr(16)?, be16(ihl + 2)?)))
}

/// A hash of (protocol, endpoint, endpoint) that is the same in both
/// directions: each endpoint folded to 64 bits, the two added (an
/// order-independent operation), the sum mixed once.
pub fn flow_hash(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> u64 {
    // One mix, not one per endpoint: that cost about 20 instructions a packet
    // more (callgrind), and the spread test below still passes.
    mix(endpoint_fold(a).wrapping_add(endpoint_fold(b)) ^ u64::from(proto))
}

fn endpoint_fold((addr, port): (IpAddr, u16)) -> u64 {
    let a = match addr {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    };
    (a as u64) ^ ((a >> 64) as u64).rotate_left(29) ^ (u64::from(port) << 48 | u64::from(port))
}

/// A multiply-xorshift finaliser (murmur3's fmix64).
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

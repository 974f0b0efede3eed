//! The sans-IO engine: frames with timestamps in, connection table and
//! finished connections out. No clocks, threads or I/O.

use crate::dpi::reassembly::{Budget, DEFAULT_BUDGET, DEFAULT_IDLE};
use crate::dpi::{AppInfo, Dir, DpiInput, DpiState, FtpAnnounce};
use crate::time::Timestamp;
use crate::track::analysis::{Segment, TcpAnalyzer};
use crate::track::defrag::Defrag;
use crate::track::frag::{DatagramId, FragTable, Pending};
use crate::track::rtt::RttTracker;
use crate::track::{
    Connection, EndReason, Endpoint, FlowKey, IcmpInfo, Proto, State, TcpTracker, Timeouts, is_icmp_error,
    is_service_port,
};
use crate::wire::{self, Encap, L4, LinkError, LinkType, Packet, ParseError, tcp_flags};
use linger::Lingering;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::net::IpAddr;
use std::time::Duration;
use table::{Analysis, Entry, Queued, Table};

#[cfg(test)]
mod analytics_tests;
mod dpi_memory;
mod fragments;
mod ftp_expect;
mod linger;
mod table;
#[cfg(test)]
mod tests;

/// Engine settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Inspect payloads for application protocols (off: `--no-dpi`).
    pub dpi: bool,
    /// Most connections held at once; beyond it the longest idle one is evicted (`Stats::evicted`).
    pub max_connections: usize,
    /// How long each state lasts without packets before it ages or expires.
    pub timeouts: Timeouts,
    /// Addresses of the capturing host (live capture); empty for files.
    pub local_addrs: HashSet<IpAddr>,
    /// Record new flows for the process resolver (`take_new_flows`).
    pub report_new_flows: bool,
    /// Bytes DPI's TCP reassembly may hold across this engine's connections
    /// (payload bytes buffered); beyond it the inspection of the connection
    /// whose last payload is oldest is given up.
    pub reassembly_budget: usize,
    /// A connection whose DPI holds buffered bytes and gets no payload for
    /// this long has its inspection given up (what it waits for is lost).
    pub reassembly_idle: Duration,
    /// How long the record of a closed TCP connection is held back after
    /// it leaves the table, so that a late packet (a RST after the FINs) is
    /// counted on it rather than on a new connection, as tshark keeps it on
    /// the same stream until a new SYN (`engine/linger.rs`). Zero (the
    /// default): written when it leaves the table. `--read` sets 5 min.
    pub closed_linger: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dpi: true,
            max_connections: 100_000,
            timeouts: Timeouts::default(),
            local_addrs: HashSet::new(),
            report_new_flows: false,
            reassembly_budget: DEFAULT_BUDGET,
            reassembly_idle: DEFAULT_IDLE,
            closed_linger: Duration::ZERO,
        }
    }
}

/// Packet counters; everything not tracked is counted somewhere here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Frames given to [`Engine::process`].
    pub packets: u64,
    /// Their bytes on the wire (original lengths).
    pub bytes: u64,
    /// Truncated or invalid headers.
    pub malformed: u64,
    /// Frames of link types we do not decode; the types seen are in `unknown_link_types`.
    pub unknown_link: u64,
    /// The link-type numbers counted in `unknown_link`, each once.
    pub unknown_link_types: Vec<u32>,
    /// Valid frames that carry neither IP nor ARP.
    pub non_ip: u64,
    /// Frames in a tunnel or PPP encapsulation we could not open; those whose
    /// outer packet is TCP or UDP are also tracked on that flow. The
    /// encapsulations seen are in `undecoded_encaps`.
    pub undecoded: u64,
    /// The encapsulations counted in `undecoded`, each once.
    pub undecoded_encaps: Vec<Encap>,
    /// IP protocols other than TCP/UDP/ICMP (ESP, OSPF, GRE without a payload …).
    pub other_ip: u64,
    /// Later fragments whose first fragment never came.
    pub orphan_fragments: u64,
    /// Connections removed early because the table was full.
    pub evicted: u64,
}

/// A flow just created, for the process resolver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewFlow {
    /// The connection's id (as in [`Connection::id`](crate::track::Connection::id)).
    pub id: u64,
    /// Transport protocol.
    pub proto: Proto,
    /// The local side (or the client, in a capture file).
    pub local: Endpoint,
    /// The remote side.
    pub remote: Endpoint,
    /// Time of the packet that created the flow.
    pub ts: Timestamp,
}

const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The connection tracker.
#[derive(Debug)]
pub struct Engine {
    cfg: Config,
    table: Table,
    frags: FragTable,
    /// Datagrams being reassembled for DPI (`fragments.rs`).
    defrag: Defrag,
    /// Closed TCP connections whose record is held back (`linger.rs`).
    lingering: Lingering,
    stats: Stats,
    finished: Vec<Connection>,
    new_flows: Vec<NewFlow>,
    next_id: u64,
    id_step: u64,
    now: Timestamp,
    next_sweep: Timestamp,
    /// No connection expires before this: lowered by every packet, recomputed
    /// by each sweep, so `next_deadline` is O(1). May be early, never late.
    earliest_expiry: Timestamp,
    /// Shared by this engine's DPI reassemblers (`Config::reassembly_budget`).
    dpi_budget: Budget,
    /// Connections whose DPI holds bytes, stalest first (see `dpi_memory`).
    dpi_holders: BinaryHeap<Reverse<Queued>>,
    /// FTP data connections announced on control connections.
    ftp_expect: ftp_expect::FtpExpect,
    /// The table gave memory back since `take_shrunk` last asked.
    shrunk: bool,
}

impl Engine {
    /// An empty engine whose clock starts at zero (the first packet sets it).
    pub fn new(cfg: Config) -> Self {
        Engine {
            table: Table::new(cfg.max_connections),
            dpi_budget: Budget::new(cfg.reassembly_budget, cfg.reassembly_idle),
            dpi_holders: BinaryHeap::new(),
            ftp_expect: ftp_expect::FtpExpect::default(),
            cfg,
            frags: FragTable::default(),
            defrag: Defrag::default(),
            lingering: Lingering::default(),
            stats: Stats::default(),
            finished: Vec::new(),
            new_flows: Vec::new(),
            next_id: 1,
            id_step: 1,
            now: Timestamp::ZERO,
            next_sweep: Timestamp::ZERO,
            earliest_expiry: Timestamp::MAX,
            shrunk: false,
        }
    }

    /// Ids start at `first` and step by `step`, so several engines (one per
    /// worker) hand out distinct ids.
    pub fn with_ids(mut self, first: u64, step: u64) -> Self {
        self.next_id = first;
        self.id_step = step.max(1);
        self
    }

    /// Packet counters since the engine was made.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Latest packet (or `advance`) time seen: the engine's clock.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// When the caller must come back with [`advance`](Self::advance) for
    /// connections to expire on time (like quinn-proto's `poll_timeout`);
    /// None while nothing is held. States need no call to age: every read
    /// of the table stamps them as of the engine's clock.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let frags = self.frags.next_expiry();
        if self.table.map.is_empty() && frags.is_none() && self.lingering.is_empty() {
            return None;
        }
        let due = [frags, self.defrag.next_expiry(), self.lingering.next_due(), self.next_dpi_deadline()]
            .into_iter()
            .flatten()
            .fold(self.earliest_expiry, Timestamp::min);
        // Expiry is checked once per sweep, so nothing happens before the next one.
        Some(due.max(self.next_sweep))
    }

    /// Connections now in the table.
    pub fn len(&self) -> usize {
        self.table.map.len()
    }

    /// True when no connection is held.
    pub fn is_empty(&self) -> bool {
        self.table.map.is_empty()
    }

    /// The connections in the table, their states as of [`now`](Self::now).
    pub fn connections(&mut self) -> impl Iterator<Item = &Connection> {
        self.connections_mut().map(|c| &*c)
    }

    /// For the shell to attach process and host names; states as of [`now`](Self::now).
    pub fn connections_mut(&mut self) -> impl Iterator<Item = &mut Connection> {
        let (now, t) = (self.now, &self.cfg.timeouts);
        self.table.map.values_mut().map(move |e| {
            stamp(&mut e.conn, now, t);
            &mut e.conn
        })
    }

    /// Closed TCP connections that left the table and whose record is held
    /// back for late packets (`Config::closed_linger`): ended, not yet
    /// finished. Counters summed over the table and these, plus those
    /// finished, cover every connection once.
    pub fn lingering_mut(&mut self) -> impl Iterator<Item = &mut Connection> {
        self.lingering.connections_mut()
    }

    /// The connection a frame belongs to, as it now is, and whether the
    /// frame was sent by its local end: for annotating frames after
    /// [`process`](Self::process) (parses the frame again, so it costs
    /// only its callers). None when the frame has no flow of its own here
    /// (not IP, a later fragment) or its connection has left the table.
    pub fn connection_of(&mut self, link: LinkType, frame: &[u8]) -> Option<(&mut Connection, bool)> {
        let pkt = wire::parse(link, frame).ok()?;
        let (proto, src, dst) = endpoints(&pkt)?;
        let e = self.table.map.get_mut(&FlowKey::new(proto, src, dst))?;
        stamp(&mut e.conn, self.now, &self.cfg.timeouts);
        let from_local = e.conn.local == src;
        Some((&mut e.conn, from_local))
    }

    /// Connections that left the table since the last call, each with its
    /// state as of when it left.
    pub fn take_finished(&mut self, out: &mut Vec<Connection>) {
        take_into(out, &mut self.finished);
    }

    /// Flows created since the last call (if `report_new_flows`).
    pub fn take_new_flows(&mut self, out: &mut Vec<NewFlow>) {
        take_into(out, &mut self.new_flows);
    }

    /// Moves every remaining connection to the finished list (end of input),
    /// states as of [`now`](Self::now).
    pub fn finish_all(&mut self) {
        self.finish_all_at(self.now);
    }

    /// End of input at `end` (for engines that share one capture, its last
    /// packet's time): moves the clock there without expiring anything, then
    /// moves every remaining connection to the finished list, states as of then.
    pub fn finish_all_at(&mut self, end: Timestamp) {
        self.now = self.now.max(end);
        self.stats.orphan_fragments += self.frags.pending_packets();
        self.release_lingering(self.now, true);
        let map = self.table.take_all();
        self.dpi_holders.clear();
        let (now, t) = (self.now, &self.cfg.timeouts);
        self.finished.reserve(map.len());
        self.finished.extend(map.into_values().map(|e| {
            let mut c = e.conn;
            stamp(&mut c, now, t);
            // A connection idle past its limit ended idle, whether or not a
            // sweep (once a second of this engine's packet time) saw it yet:
            // so the reason does not depend on when sweeps ran, nor on how
            // flows were spread over engines.
            let idle = now.since(c.last_seen) >= t.idle_limit(c.state);
            c.end_reason = Some(if c.is_closed() {
                EndReason::Closed
            } else if idle {
                EndReason::Idle
            } else {
                EndReason::EndOfInput
            });
            c
        }));
    }

    /// Advances the clock without a packet (live capture while idle) and
    /// expires what has timed out.
    #[inline]
    pub fn advance(&mut self, now: Timestamp) {
        if now > self.now {
            self.now = now;
        }
        if self.now >= self.next_sweep {
            self.sweep();
        }
    }

    /// Expires what has timed out, stamps every state as of now, and finds
    /// the next expiry, in one pass over the table.
    #[cold]
    #[inline(never)]
    fn sweep(&mut self) {
        let now = self.now;
        self.next_sweep = now + SWEEP_EVERY;
        let t = &self.cfg.timeouts;
        let mut earliest = Timestamp::MAX;
        let ended = self.table.map.extract_if(|_, e| {
            let idle = now.since(e.conn.last_seen);
            e.conn.state = t.aged(e.conn.state, idle);
            let limit = t.idle_limit(e.conn.state);
            let ended = idle >= limit;
            if !ended {
                earliest = earliest.min(e.conn.last_seen + limit);
            }
            ended
        });
        let ended: Vec<(FlowKey, Box<Entry>)> = ended.collect();
        for (key, e) in ended {
            self.retire(key, e, now);
        }
        self.release_lingering(now, false);
        self.table.compact();
        if self.table.shrink() {
            self.shrunk = true;
        }
        self.earliest_expiry = earliest;
        self.stats.orphan_fragments += self.frags.sweep(now);
        self.defrag.sweep(now);
        self.ftp_expect.sweep(now);
        self.release_idle_dpi();
    }

    /// True once after the table gave memory back (most of a flood
    /// expired): the host may then return freed heap to the system.
    pub fn take_shrunk(&mut self) -> bool {
        std::mem::take(&mut self.shrunk)
    }

    /// Processes one captured frame. `wire_len` is its length on the wire;
    /// an impossible one (below the captured length, or over 256 KiB and
    /// over it) counts the frame as malformed and as its captured length.
    pub fn process(&mut self, link: LinkType, ts: Timestamp, frame: &[u8], wire_len: u32) {
        const MAX_WIRE_LEN: u32 = 256 * 1024;
        let captured = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let wire_len = if wire_len < captured || (wire_len > MAX_WIRE_LEN && wire_len > captured) {
            self.stats.malformed += 1;
            captured
        } else {
            wire_len
        };
        self.stats.packets += 1;
        self.stats.bytes += u64::from(wire_len);
        self.advance(ts);
        let pkt = match wire::parse(link, frame) {
            Ok(p) => p,
            Err(e) => return self.count_error(e),
        };
        if let Some(encap) = pkt.undecoded {
            self.count_undecoded(encap);
        }
        let (proto, src, dst) = match endpoints(&pkt) {
            Some(x) => x,
            None => {
                if let L4::Fragment { .. } = pkt.l4 {
                    return self.later_fragment(&pkt, ts, wire_len, (link, frame));
                }
                if pkt.undecoded.is_none() {
                    self.stats.other_ip += 1;
                }
                return;
            }
        };
        let key = FlowKey::new(proto, src, dst);
        let early = match pkt.frag {
            Some(f) if f.first() => self.frags.first(datagram(&pkt, f.proto, f.id), key, ts),
            _ => None,
        };
        // One lookup for packets of known flows (the common case).
        if let Some(e) = self.table.map.get_mut(&key)
            && !is_new_tcp_open(e, &pkt)
        {
            let from_local = e.conn.local == src;
            let before = e.conn.state;
            let after = account(e, &pkt, early, from_local, ts, wire_len);
            // In the same state the expiry only moves later (last_seen grows),
            // so only a new state can bring the next deadline forward.
            if e.conn.state != before {
                let expiry = e.conn.last_seen + self.cfg.timeouts.idle_limit(e.conn.state);
                self.earliest_expiry = self.earliest_expiry.min(expiry);
            }
            if let Some(a) = after.announce {
                self.ftp_expect.announce(a, e.conn.local, e.conn.remote, ts);
            }
            if after.dpi_memory {
                self.dpi_memory(key);
            }
        } else {
            let (e, from_local) = self.create(key, &pkt, src, dst, ts);
            let after = account(e, &pkt, early, from_local, ts, wire_len);
            let (last, state, local, remote) = (e.conn.last_seen, e.conn.state, e.conn.local, e.conn.remote);
            let expiry = last + self.cfg.timeouts.idle_limit(state);
            self.earliest_expiry = self.earliest_expiry.min(expiry);
            if let Some(a) = after.announce {
                self.ftp_expect.announce(a, local, remote, ts);
            }
            if after.dpi_memory {
                self.dpi_memory(key);
            }
        }
        if pkt.frag.is_some() {
            self.reassemble(&pkt, link, frame, ts);
        }
        if let L4::Icmp { v6, icmp_type, code, body, .. } = pkt.l4
            && is_icmp_error(v6, icmp_type)
        {
            self.quoted(IcmpInfo { v6, icmp_type, code }, body);
        }
    }

    /// An ICMP error also marks the TCP/UDP connection whose packet it
    /// quotes (its packet counts stay: tshark leaves quoted headers out of
    /// conversations).
    #[cold]
    #[inline(never)]
    fn quoted(&mut self, info: IcmpInfo, body: &[u8]) {
        let Some((proto, src, dst)) = quoted_flow(body) else { return };
        if let Some(e) = self.table.map.get_mut(&FlowKey::new(proto, src, dst)) {
            e.conn.icmp = Some(info);
        }
    }

    /// Only the marking part of an ICMP error (see [`icmp_error_quotes`]):
    /// the quoted TCP/UDP connection, if this engine holds it, gets the
    /// error's `icmp`; nothing is counted. For pipelines that spread flows
    /// over several engines: the error is processed (counted) by the engine
    /// of its own flow, and shown to the engine of the quoted flow this way,
    /// so the output does not depend on how flows are spread.
    pub fn quote_only(&mut self, link: LinkType, frame: &[u8]) {
        if let Ok(pkt) = wire::parse(link, frame)
            && let L4::Icmp { v6, icmp_type, code, body, .. } = pkt.l4
            && is_icmp_error(v6, icmp_type)
        {
            self.quoted(IcmpInfo { v6, icmp_type, code }, body);
        }
    }

    fn count_error(&mut self, e: ParseError) {
        match e {
            ParseError::Link(LinkError::UnknownLinkType(n)) => {
                self.stats.unknown_link += 1;
                if !self.stats.unknown_link_types.contains(&n) {
                    self.stats.unknown_link_types.push(n);
                }
            }
            ParseError::Link(LinkError::NotIp) => self.stats.non_ip += 1,
            ParseError::Link(LinkError::Undecoded(encap)) => self.count_undecoded(encap),
            ParseError::Link(LinkError::Truncated) | ParseError::Malformed => self.stats.malformed += 1,
        }
    }

    #[cold]
    fn count_undecoded(&mut self, encap: Encap) {
        self.stats.undecoded += 1;
        if !self.stats.undecoded_encaps.contains(&encap) {
            self.stats.undecoded_encaps.push(encap);
        }
    }

    fn later_fragment(&mut self, pkt: &Packet<'_>, ts: Timestamp, wire_len: u32, (link, frame): (LinkType, &[u8])) {
        let Some(f) = pkt.frag else { return };
        if let Some(key) = self.frags.later(datagram(pkt, f.proto, f.id), ts, (wire_len, pkt.ip_len))
            && let Some(e) = self.table.map.get_mut(&key)
        {
            let from_local = e.conn.local.addr == pkt.src;
            e.conn.count(ts, from_local, wire_len, pkt.ip_len);
        }
        self.reassemble(pkt, link, frame, ts);
    }

    /// Creates the connection (ending a closed one on the same key); returns
    /// it and whether the packet is from its local side. Kept out of
    /// `process`, whose hot path is packets of known flows.
    #[inline(never)]
    fn create(
        &mut self,
        key: FlowKey,
        pkt: &Packet<'_>,
        src: Endpoint,
        dst: Endpoint,
        ts: Timestamp,
    ) -> (&mut Entry, bool) {
        // Port reuse: a fresh SYN after the old connection closed.
        let start = self.finished.len();
        match self.lingering.take(&key) {
            Some((old, due)) if !is_pure_syn(pkt) && ts < due => {
                // A late packet of a closed connection: it is still that one.
                let from_local = old.conn.local == src;
                self.stats.evicted += self.table.make_room(&mut self.finished);
                for c in &mut self.finished[start..] {
                    stamp(c, self.now, &self.cfg.timeouts);
                }
                return (self.table.insert(key, old), from_local);
            }
            lingering => {
                if let Some(old) = self.table.map.remove(&key).or(lingering.map(|(e, _)| e)) {
                    let mut c = old.conn;
                    c.end_reason = Some(EndReason::Closed);
                    self.finished.push(c);
                }
            }
        }
        self.stats.evicted += self.table.make_room(&mut self.finished);
        for c in &mut self.finished[start..] {
            stamp(c, self.now, &self.cfg.timeouts);
        }
        let src_is_local = self.src_is_local(pkt, src, dst);
        let (local, remote) = if src_is_local { (src, dst) } else { (dst, src) };
        let id = self.next_id;
        self.next_id += self.id_step;
        let initial = initial_state(key.proto);
        let mut conn = Connection::new(id, key.proto, local, remote, ts, initial);
        let mut dpi =
            (self.cfg.dpi && key.proto.has_ports()).then(|| Box::new(DpiState::with_budget(self.dpi_budget.clone())));
        if dpi.is_some() && key.proto == Proto::Tcp && !self.ftp_expect.is_empty() {
            conn.app = self.ftp_expect.label(src, dst, ts);
            if conn.app.is_some() {
                dpi = None;
            }
        }
        if self.cfg.report_new_flows && key.proto.has_ports() {
            self.new_flows.push(NewFlow { id, proto: key.proto, local, remote, ts });
        }
        let analysis = match key.proto {
            Proto::Tcp => Analysis::Tcp(TcpAnalyzer::default()),
            _ => Analysis::Rtt(RttTracker::default()),
        };
        let entry = Box::new(Entry { conn, tcp: TcpTracker::new(), dpi, app_state: None, analysis });
        (self.table.insert(key, entry), src_is_local)
    }

    /// DESIGN.md's rule: live, the end with a local address; otherwise the
    /// opener, unless the first packet comes from a service port to a non-service port.
    fn src_is_local(&self, pkt: &Packet<'_>, src: Endpoint, dst: Endpoint) -> bool {
        let locals = &self.cfg.local_addrs;
        let (s, d) = (locals.contains(&src.addr), locals.contains(&dst.addr));
        if s != d {
            return s;
        }
        match pkt.l4 {
            L4::Tcp { flags, .. } if flags & tcp_flags::SYN != 0 => flags & tcp_flags::ACK == 0,
            L4::Icmp { v6, icmp_type, .. } => !is_icmp_response(v6, icmp_type),
            L4::Arp { op, .. } => op != 2,
            L4::Tcp { .. } | L4::Udp { .. } => !well_known(src.port) || well_known(dst.port),
            _ => true,
        }
    }
}

/// Writes a connection's state as of `now` (UDP activity states age).
fn stamp(c: &mut Connection, now: Timestamp, t: &Timeouts) {
    c.state = t.aged(c.state, now.since(c.last_seen));
}

fn well_known(port: u16) -> bool {
    port < 1024 || is_service_port(port)
}

/// The sender's link-layer address in a neighbour solicitation (source
/// link-layer address option, RFC 4861 §4.3) or advertisement (target
/// link-layer address option, §4.4). `body` starts after the 8-byte ICMP
/// header (which holds the reserved/flag bytes): the 16-byte target
/// address, then options in 8-byte units; an Ethernet address option is 8.
fn nd_link_address(icmp_type: u8, body: &[u8]) -> Option<[u8; 6]> {
    let want = match icmp_type {
        135 => 1,
        136 => 2,
        _ => return None,
    };
    let mut opts = body.get(16..)?;
    while let [ty, len, ..] = *opts {
        let n = usize::from(len) * 8;
        if n == 0 {
            return None; // a zero-length option is invalid (§4.6)
        }
        let opt = opts.get(..n)?;
        if ty == want && n == 8 {
            return opt.get(2..8)?.try_into().ok();
        }
        opts = &opts[n..];
    }
    None
}

/// ICMP messages sent in answer to another host's packet (replies, errors,
/// neighbour/router advertisements): their receiver is the local end.
fn is_icmp_response(v6: bool, t: u8) -> bool {
    if v6 { matches!(t, 1..=4 | 129 | 134 | 136) } else { matches!(t, 0 | 3 | 4 | 5 | 11 | 12 | 14 | 16 | 18) }
}

/// Echo has its own states; IPv6 neighbour and router discovery is IPv6's
/// ARP, so it shows ARP's names; errors and the rest are ICMP_ERROR and
/// ICMP_OTHER (DESIGN.md).
fn icmp_state(v6: bool, t: u8) -> State {
    match (v6, t) {
        (false, 8) | (true, 128) => State::EchoRequest,
        (false, 0) | (true, 129) => State::EchoReply,
        (true, 133 | 135) => State::ArpRequest,
        (true, 134 | 136) => State::ArpReply,
        _ if is_icmp_error(v6, t) => State::IcmpError,
        _ => State::IcmpOther,
    }
}

fn datagram(p: &Packet<'_>, proto: u8, id: u32) -> DatagramId {
    (p.src, p.dst, proto, id)
}

fn initial_state(p: Proto) -> State {
    match p {
        Proto::Tcp => State::Established,
        Proto::Udp => State::UdpActive,
        Proto::Icmp | Proto::Icmpv6 => State::EchoRequest,
        Proto::Arp => State::ArpRequest,
    }
}

/// (protocol, source, destination) of a trackable packet.
/// The TCP or UDP flow (protocol, source, destination of the quoted packet)
/// an ICMP error's body quotes.
fn quoted_flow(body: &[u8]) -> Option<(Proto, Endpoint, Endpoint)> {
    let q = wire::parse_ip(body).ok()?;
    endpoints(&q).filter(|(proto, _, _)| matches!(proto, Proto::Tcp | Proto::Udp))
}

/// For a parsed packet that is an ICMP error quoting a TCP or UDP header:
/// the quoted flow (protocol, source and destination of the quoted packet),
/// whose connection the error also marks ([`Engine::quote_only`]).
pub fn icmp_error_quotes(pkt: &Packet<'_>) -> Option<(Proto, Endpoint, Endpoint)> {
    match pkt.l4 {
        L4::Icmp { v6, icmp_type, body, .. } if is_icmp_error(v6, icmp_type) => quoted_flow(body),
        _ => None,
    }
}

fn endpoints(p: &Packet<'_>) -> Option<(Proto, Endpoint, Endpoint)> {
    let ep = Endpoint::new;
    Some(match p.l4 {
        L4::Tcp { sport, dport, .. } => (Proto::Tcp, ep(p.src, sport), ep(p.dst, dport)),
        L4::Udp { sport, dport, .. } => (Proto::Udp, ep(p.src, sport), ep(p.dst, dport)),
        L4::Icmp { v6, echo_id, .. } => {
            let id = echo_id.unwrap_or(0);
            (if v6 { Proto::Icmpv6 } else { Proto::Icmp }, ep(p.src, id), ep(p.dst, id))
        }
        L4::Arp { .. } => (Proto::Arp, ep(p.src, 0), ep(p.dst, 0)),
        L4::Fragment { .. } | L4::Other { .. } => return None,
    })
}

fn is_new_tcp_open(e: &Entry, p: &Packet<'_>) -> bool {
    is_pure_syn(p) && matches!(e.tcp.state(), State::Closed | State::TimeWait)
}

/// A SYN without ACK or RST: a connection opening.
fn is_pure_syn(p: &Packet<'_>) -> bool {
    matches!(p.l4, L4::Tcp { flags, .. } if flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST) == tcp_flags::SYN)
}

/// What a packet leaves for the engine to do once its connection is updated.
#[derive(Default)]
struct After {
    /// DPI's memory needs the engine (`Engine::dpi_memory`).
    dpi_memory: bool,
    /// An FTP control connection announced a data connection.
    announce: Option<FtpAnnounce>,
}

/// Counts a packet (and fragments that came before it) and updates state.
fn account(
    e: &mut Entry,
    p: &Packet<'_>,
    early: Option<Pending>,
    from_local: bool,
    ts: Timestamp,
    wire_len: u32,
) -> After {
    if let Some(f) = early {
        e.conn.add(from_local, f.packets, f.bytes, f.ip_bytes);
    }
    e.conn.count(ts, from_local, wire_len, p.ip_len);
    update_state(e, p, from_local, ts)
}

fn update_state(e: &mut Entry, p: &Packet<'_>, from_local: bool, ts: Timestamp) -> After {
    let first = e.conn.tx_packets + e.conn.rx_packets == 1;
    let (tcp, payload) = match p.l4 {
        L4::Tcp { seq, ack, flags, window, seg_len, payload, .. } => {
            e.tcp.on_segment(from_local, flags, seq, ack, payload.len(), first);
            if let Some(window) = window {
                e.analyse_tcp(&Segment { from_local, ts, seq, ack, flags, window, len: seg_len });
            }
            (Some((seq, flags)), payload)
        }
        L4::Udp { sport, dport, payload } => {
            e.analyse_udp(from_local, (sport, dport), payload, ts);
            (None, payload)
        }
        L4::Icmp { v6, icmp_type, code, echo_seq, body, .. } => {
            e.conn.state = icmp_state(v6, icmp_type);
            if v6
                && !from_local
                && let Some(mac) = nd_link_address(icmp_type, body)
            {
                e.conn.mac = Some(mac);
            }
            match (echo_seq, &mut e.analysis) {
                (Some(seq), Analysis::Rtt(r)) => {
                    let request = e.conn.state == State::EchoRequest;
                    if let Some(rtt) = r.on_echo(request, seq, ts) {
                        e.conn.rtt = Some(rtt);
                    }
                }
                _ if !matches!(e.conn.state, State::EchoRequest | State::EchoReply) => {
                    e.conn.icmp = Some(IcmpInfo { v6, icmp_type, code });
                }
                _ => {}
            }
            return After::default();
        }
        L4::Arp { op, sender_hw } => {
            e.conn.state = if op == 2 { State::ArpReply } else { State::ArpRequest };
            if !from_local && sender_hw.is_some() {
                e.conn.mac = sender_hw;
            }
            return After::default();
        }
        L4::Fragment { .. } | L4::Other { .. } => return After::default(),
    };
    inspect(e, from_local, tcp, payload, ts)
}

/// Shows DPI one payload (with the TCP sequence number and flags); sets the
/// shown state.
fn inspect(e: &mut Entry, from_local: bool, tcp: Option<(u32, u8)>, payload: &[u8], ts: Timestamp) -> After {
    let mut after = After::default();
    if let Some(dpi) = e.dpi.as_mut() {
        // SYNs too: they fix where each direction's byte stream starts; FIN
        // and RST end a direction or the connection, releasing its buffers.
        const ENDS: u8 = tcp_flags::SYN | tcp_flags::FIN | tcp_flags::RST;
        let flagged = tcp.is_some_and(|(_, f)| f & ENDS != 0);
        if dpi.stalled(ts) {
            // As the engine's idle sweep would have, whenever it ran.
            e.dpi = None;
        } else if !payload.is_empty() || flagged {
            let input = DpiInput {
                proto: e.conn.proto,
                dir: Dir::from_local(from_local),
                local_port: e.conn.local.port,
                remote_port: e.conn.remote.port,
                tcp,
                payload,
                ts,
            };
            if let Some(s) = dpi.inspect(&input, &mut e.conn.app) {
                e.app_state = Some(s);
            }
            if matches!(e.conn.app, Some(AppInfo::Ftp(_))) {
                after.announce = dpi.take_announce();
            }
            if dpi.is_done() {
                e.dpi = None;
            } else {
                after.dpi_memory = dpi.needs_engine();
            }
        }
    }
    e.conn.state = shown_state(e);
    after
}

/// TCP teardown wins over an application state; otherwise the application's
/// state (DNS, SSH, QUIC) wins over the transport's.
fn shown_state(e: &Entry) -> State {
    match e.conn.proto {
        Proto::Tcp => {
            let t = e.tcp.state();
            match e.app_state {
                Some(a) if t == State::Established => a,
                _ => t,
            }
        }
        _ => e.app_state.unwrap_or(State::UdpActive),
    }
}

/// Moves `from`'s items to the end of `out`. An empty `out` takes `from`'s
/// buffer whole: a flood's worth of finished connections leaves the engine
/// with its buffer (and is freed where it is consumed) instead of keeping
/// its capacity here for good.
fn take_into<T>(out: &mut Vec<T>, from: &mut Vec<T>) {
    if out.is_empty() {
        std::mem::swap(out, from);
    } else {
        out.append(from);
    }
}

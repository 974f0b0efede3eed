//! The dispatcher: per-connection state that finds the protocol (trying the
//! registry's classifiers in order), feeds its inspector, and alone decides
//! when the connection is done.

use super::inspect::{Datagram, Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::{Budget, DEFAULT_CAP, Push, Reassembler, Reservation};
use super::side::{Dir, PerDir, Side};
use super::{AppInfo, DATAGRAM_PROTOCOLS, STREAM_PROTOCOLS};
use crate::time::Timestamp;
use crate::track::{Proto, State};
use crate::wire::tcp_flags::{ACK, FIN, RST, SYN};

/// Payload packets (or datagrams) looked at before an unknown flow is given up.
pub(super) const MAX_UNCLASSIFIED: u32 = 8;

/// One packet's payload as DPI sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DpiInput<'a> {
    pub proto: Proto,
    /// Which end of the connection sent it.
    pub dir: Dir,
    pub local_port: u16,
    pub remote_port: u16,
    /// TCP sequence number and flags (None for UDP).
    pub tcp: Option<(u32, u8)>,
    pub payload: &'a [u8],
    /// Capture time of the packet.
    pub ts: Timestamp,
}

/// Per-connection inspection state.
#[derive(Debug)]
pub(crate) struct DpiState {
    done: bool,
    /// The protocol's reader, once a classifier recognised the flow.
    inspector: Option<Box<dyn Inspector>>,
    /// TCP streams, one per direction.
    dirs: PerDir<Reassembler>,
    /// Directions given up: nothing recognised, overflowed, or finished.
    closed: PerDir<bool>,
    /// The client's direction: from the SYN or the protocol, else local.
    client: Dir,
    /// Payload packets seen.
    packets: u32,
    /// Bytes buffered (both directions and the inspector's own), counted
    /// against the engine's budget; kept equal after each `inspect`.
    reserved: Reservation,
    /// Time of the last payload packet.
    touched: Timestamp,
    /// The engine has this connection in its queue of those holding bytes.
    pub(crate) queued: bool,
}

impl Default for DpiState {
    fn default() -> Self {
        DpiState::with_budget(Budget::default())
    }
}

impl DpiState {
    /// With a reassembly budget of its own; engines use [`DpiState::with_budget`].
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        DpiState::default()
    }

    /// Buffered bytes count against `budget` (shared by one engine's connections).
    pub(crate) fn with_budget(budget: Budget) -> Self {
        DpiState {
            done: false,
            inspector: None,
            dirs: PerDir([Reassembler::new(DEFAULT_CAP), Reassembler::new(DEFAULT_CAP)]),
            closed: PerDir::default(),
            client: Dir::Local,
            packets: 0,
            reserved: Reservation::new(budget),
            touched: Timestamp::ZERO,
            queued: false,
        }
    }

    /// True once nothing more will be learned: the engine stops calling `inspect`.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Bytes buffered, counted from the buffers themselves (not the reservation).
    pub(crate) fn buffered(&self) -> usize {
        self.dirs.iter().map(Reassembler::held).sum::<usize>() + self.inspector.as_ref().map_or(0, |i| i.held())
    }

    /// Bytes buffered, as reserved against the budget.
    pub(crate) fn held(&self) -> usize {
        self.reserved.bytes()
    }

    /// Time of the last payload packet: the connection's place among those holding bytes.
    pub(crate) fn touched(&self) -> Timestamp {
        self.touched
    }

    /// Holds bytes and got no payload for the budget's idle time by `now`:
    /// what it waits for is not coming, and the engine gives it up.
    pub(crate) fn stalled(&self, now: Timestamp) -> bool {
        self.held() > 0 && now.since(self.touched) >= self.reserved.budget().idle()
    }

    /// The engine has memory work to do after `inspect`: bytes are held but
    /// not yet queued, or the budget is over its limit.
    pub(crate) fn needs_engine(&self) -> bool {
        (self.held() > 0 && !self.queued) || self.reserved.budget().over()
    }

    /// Looks at one payload; updates `app`. Returns the application state
    /// (DNS_QUERY, BANNER, QUIC_CONNECTED …) when the protocol defines one.
    pub(crate) fn inspect(&mut self, input: &DpiInput<'_>, app: &mut Option<AppInfo>) -> Option<State> {
        if self.done {
            return None;
        }
        let out = match (input.proto, input.tcp) {
            (Proto::Tcp, Some((seq, flags))) => self.stream(input, seq, flags, app),
            (Proto::Udp, _) => self.datagram(input, app),
            _ => Some(Outcome::done()),
        };
        if !input.payload.is_empty() {
            self.touched = input.ts;
        }
        let state = match out {
            None => self.inspector.as_ref().and_then(|i| i.state()),
            Some(out) => {
                if self.finished(out.verdict) {
                    self.done = true;
                    self.inspector = None;
                    for d in [Dir::Local, Dir::Remote] {
                        self.dirs[d].clear();
                    }
                }
                out.state
            }
        };
        self.reserved.set(self.buffered());
        state
    }

    /// A data connection the control connection announced (FTP), once.
    pub(crate) fn take_announce(&mut self) -> Option<super::ftp::Announce> {
        self.inspector.as_mut()?.take_announce()
    }

    /// The one place that decides a connection is done.
    fn finished(&self, verdict: Verdict) -> bool {
        let limit = self.inspector.as_ref().map_or(MAX_UNCLASSIFIED, |i| i.max_packets());
        verdict == Verdict::Done || self.packets >= limit || self.closed.iter().all(|c| *c)
    }

    fn side(&self, dir: Dir) -> Side {
        dir.side(self.client)
    }

    /// Adopts a classifier's match; `dir` sent the bytes it matched.
    fn adopt(&mut self, m: Match, dir: Dir) {
        match m.sender {
            Some(Side::Client) => self.client = dir,
            Some(Side::Server) => self.client = dir.other(),
            None => {}
        }
        self.inspector = Some(m.inspector);
    }

    /// None: a packet without payload, nothing decided.
    fn datagram(&mut self, input: &DpiInput<'_>, app: &mut Option<AppInfo>) -> Option<Outcome> {
        let payload = input.payload;
        if payload.is_empty() {
            return None;
        }
        self.packets += 1;
        if self.inspector.is_none() {
            let d = Datagram { payload, ports: (input.local_port, input.remote_port) };
            let Some((m, out)) = DATAGRAM_PROTOCOLS.iter().find_map(|c| c(&d, app)) else {
                return Some(Outcome::need_more());
            };
            self.adopt(m, input.dir);
            return Some(out);
        }
        let side = self.side(input.dir);
        self.inspector.as_mut().map(|i| i.on_datagram(side, payload, app))
    }

    /// None: nothing decided (no payload, no end of a direction).
    fn stream(&mut self, input: &DpiInput<'_>, seq: u32, flags: u8, app: &mut Option<AppInfo>) -> Option<Outcome> {
        if flags & RST != 0 {
            // The connection is gone: nothing buffered will complete.
            return Some(Outcome::done());
        }
        let dir = input.dir;
        let out = self.segment(input, seq, flags, app);
        // A FIN ends the direction; once nothing before it is missing, its
        // buffer can never grow, so it is released (a hole left before the
        // FIN waits for its retransmission until the idle deadline).
        if flags & FIN != 0 && !self.closed[dir] {
            let fin_seq = seq.wrapping_add(input.payload.len() as u32);
            if self.dirs[dir].ends_at(fin_seq) {
                self.closed[dir] = true;
                self.dirs[dir].clear();
                return Some(out.unwrap_or_else(Outcome::need_more));
            }
        }
        out
    }

    fn segment(&mut self, input: &DpiInput<'_>, seq: u32, flags: u8, app: &mut Option<AppInfo>) -> Option<Outcome> {
        let dir = input.dir;
        if flags & SYN != 0 {
            self.dirs[dir].on_syn(seq);
            if flags & ACK == 0 {
                self.client = dir;
            }
        }
        if input.payload.is_empty() {
            return None;
        }
        self.packets += 1;
        let side = self.side(dir);
        if let Some(out) = self.inspector.as_mut().and_then(|i| i.on_segment(side)) {
            return Some(out);
        }
        if !self.closed[dir] && self.dirs[dir].push(seq, input.payload) == Push::Overflow {
            self.closed[dir] = true;
        }
        if self.inspector.is_none() && !self.classify(dir, (input.local_port, input.remote_port)) {
            return Some(Outcome::need_more());
        }
        let side = self.side(dir);
        let inspector = self.inspector.as_mut()?;
        let out = inspector.on_stream(side, &mut self.dirs[dir], app);
        if out.verdict == Verdict::SideDone {
            self.closed[dir] = true;
            self.dirs[dir].clear();
        }
        Some(out)
    }

    /// Tries the stream classifiers on the first bytes of `dir`; true when
    /// one matched. A direction that nothing can match is closed.
    fn classify(&mut self, dir: Dir, ports: (u16, u16)) -> bool {
        let data = self.dirs[dir].data();
        if data.is_empty() {
            return false;
        }
        let s = Stream { data, ports };
        let mut undecided = false;
        for c in STREAM_PROTOCOLS {
            match c(&s) {
                Sniffed::Yes(m) => {
                    self.adopt(m, dir);
                    return true;
                }
                Sniffed::NeedMore => undecided = true,
                Sniffed::No => {}
            }
        }
        // Only final when the start of the stream is known (a SYN was seen);
        // otherwise an earlier segment may still come and move the start back.
        if !undecided && self.dirs[dir].anchored() {
            self.closed[dir] = true;
            self.dirs[dir].clear();
        }
        false
    }
}

//! QUIC inspection: long/short headers, versions (v1, v2, drafts, gQUIC),
//! Initial packet decryption in both directions, CRYPTO reassembly for the
//! ClientHello's SNI and ALPN, CONNECTION_CLOSE in Initial packets, and the
//! handshake's progress as a connection state.
//!
//! Cost: only Initial packets are decrypted, at most `MAX_DECRYPTS` per
//! connection; all buffers live in one boxed `Inner` that is dropped once
//! the connection is done, so a done connection costs a few bytes.

mod crypto;
mod frames;
mod gquic;
mod header;

use super::inspect::{Datagram, Inspector, Match, Outcome, Verdict};
use super::side::{PerSide, Side};
use super::{AppInfo, QuicClose, QuicInfo};
use crate::track::State;
use frames::{CryptoStream, Frame, Hello};
use header::{LongType, NEGOTIATION};

/// Initial packets decrypted per connection, both directions together.
const MAX_DECRYPTS: u8 = 24;
/// Datagrams after which a connection that never gets further is given up.
const MAX_DATAGRAMS: u32 = 512;
/// gQUIC client packets searched for a CHLO.
const MAX_GQUIC_CHLO_PACKETS: u16 = 8;

/// Per-connection QUIC inspection state.
#[derive(Clone, Debug, Default)]
// Public only through `fuzzing` (feature `fuzzing`).
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub struct QuicState {
    state: Option<State>,
    done: bool,
    inner: Option<Box<Inner>>,
}

#[derive(Clone, Debug, Default)]
struct Inner {
    /// Initial keys, derived from the client's first DCID (or the DCID
    /// chosen after a Retry, or the one of a new version after VN).
    keys: Option<crypto::InitialKeys>,
    crypto: CryptoStream,
    /// Version of the ClientHello being reassembled.
    crypto_version: u32,
    /// The ClientHello was read, or cannot be.
    hello_done: bool,
    decrypts: u8,
    datagrams: u32,
    /// Largest Initial packet number per side.
    largest_pn: PerSide<Option<u64>>,
    /// Short header (1-RTT) packets seen per side.
    short_seen: PerSide<bool>,
    /// Last version reported, to avoid re-formatting it per packet.
    version: Option<u32>,
    gquic: bool,
    gquic_chlo_packets: u16,
    /// The caller's side of the packet that was the first Initial (or gQUIC
    /// version packet): that side is the client, whatever the caller thinks
    /// (a live capture on a server sees clients as remote).
    opener: Option<Side>,
    /// Decryption buffer, reused.
    scratch: Vec<u8>,
}

impl Inner {
    /// The QUIC side that sent this datagram.
    fn orient(&mut self, side: Side, head: &Head<'_>) -> Side {
        if self.opener.is_none() {
            let opens = head.gquic.is_some()
                || head.long.is_some_and(|h| matches!(h.ptype, Some(LongType::Initial | LongType::ZeroRtt)));
            if opens {
                self.opener = Some(side);
            }
        }
        match self.opener {
            Some(o) if o != side => Side::Server,
            Some(_) => Side::Client,
            None => side,
        }
    }
}

/// What the start of a datagram says, parsed once and used by both the
/// classifier and the reader.
#[derive(Clone, Copy, Debug)]
struct Head<'a> {
    /// The gQUIC version of a client packet.
    gquic: Option<u32>,
    /// The first long header packet (IETF QUIC).
    long: Option<header::LongHeader<'a>>,
}

impl<'a> Head<'a> {
    fn parse(payload: &'a [u8]) -> Self {
        Head { gquic: gquic::version(payload), long: header::parse_long(payload) }
    }

    /// A QUIC long-header packet (IETF QUIC of a known, draft or reserved
    /// version, Version Negotiation, or a gQUIC client packet).
    fn is_quic(&self, payload: &[u8]) -> bool {
        if self.gquic.is_some() {
            return true;
        }
        match self.long {
            Some(h) if h.version == NEGOTIATION => {
                // The version list must be whole and not empty.
                let list = 7 + h.dcid.len() + h.scid.len();
                payload.len() > list && (payload.len() - list).is_multiple_of(4)
            }
            Some(h) => payload[0] & 0x40 != 0 && header::is_known_version(h.version),
            None => false,
        }
    }
}

/// A datagram that looks like QUIC; its sender is taken as the client until
/// an Initial says otherwise.
pub(crate) fn classify(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    let head = Head::parse(d.payload);
    if !head.is_quic(d.payload) {
        return None;
    }
    let mut q = QuicState::default();
    let out = q.inspect(Side::Client, d.payload, &head, app);
    Some((Match::new(q, Some(Side::Client)), out))
}

impl Inspector for QuicState {
    fn on_datagram(&mut self, side: Side, payload: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        self.inspect(side, payload, &Head::parse(payload), app)
    }

    /// QUIC ends on its own datagram and decryption limits.
    fn max_packets(&self) -> u32 {
        u32::MAX
    }
}

/// Order of QUIC states: the state only moves forward.
fn rank(s: Option<State>) -> u8 {
    match s {
        None => 0,
        Some(State::QuicInitial) => 1,
        Some(State::QuicHandshake) => 2,
        Some(State::QuicConnected) => 3,
        Some(State::QuicDraining) => 4,
        Some(State::QuicClosed) => 5,
        Some(_) => 0,
    }
}

impl QuicState {
    /// Whether a UDP payload looks like a QUIC long-header packet (IETF
    /// QUIC of a known, draft or reserved version, Version Negotiation, or
    /// a gQUIC client packet).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn looks_like_quic(payload: &[u8]) -> bool {
        Head::parse(payload).is_quic(payload)
    }

    /// Feeds one UDP datagram; returns the QUIC state. `side` only tells
    /// the two directions apart: the side that sends the first Initial is
    /// taken as the client.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn on_datagram(&mut self, side: Side, payload: &[u8], info: &mut QuicInfo) -> Option<State> {
        self.read(side, payload, &Head::parse(payload), info)
    }

    /// [`Inspector::on_datagram`] with the head already parsed.
    fn inspect(&mut self, side: Side, payload: &[u8], head: &Head<'_>, app: &mut Option<AppInfo>) -> Outcome {
        let Some(info) = super::quic_info(app) else {
            return Outcome::need_more();
        };
        let state = self.read(side, payload, head, info);
        Outcome::new(if self.done { Verdict::Done } else { Verdict::NeedMore }, state)
    }

    fn read(&mut self, side: Side, payload: &[u8], head: &Head<'_>, info: &mut QuicInfo) -> Option<State> {
        if self.done {
            return self.state;
        }
        let inner = self.inner.get_or_insert_with(Box::default);
        let from = inner.orient(side, head);
        inner.datagrams = inner.datagrams.saturating_add(1);
        let mut reached = self.state;
        if inner.gquic || head.gquic.is_some() {
            reached = on_gquic(inner, from, head.gquic, payload, info, reached);
        } else {
            let mut rest = payload;
            let mut first = true;
            while let Some(&b0) = rest.first() {
                if b0 & 0x80 == 0 {
                    // A short header runs to the end of the datagram. After
                    // coalesced packets, a zero first byte is padding.
                    if first || b0 & 0x40 != 0 {
                        inner.short_seen[from] = true;
                    }
                    break;
                }
                // The first packet's header was parsed with the datagram's head.
                let parsed = if first { head.long } else { header::parse_long(rest) };
                let Some(h) = parsed else {
                    break;
                };
                let packet = &rest[..h.packet_len];
                reached = advance(reached, on_long(inner, from, &h, packet, info));
                rest = &rest[h.packet_len..];
                first = false;
            }
            if inner.short_seen.iter().all(|s| *s) {
                reached = advance(reached, Some(State::QuicConnected));
            }
        }
        self.state = reached;
        if inner.datagrams >= MAX_DATAGRAMS || inner.decrypts >= MAX_DECRYPTS {
            inner.hello_done = true;
        }
        let settled = matches!(self.state, Some(State::QuicConnected | State::QuicClosed | State::QuicDraining));
        if inner.hello_done && (settled || inner.datagrams >= MAX_DATAGRAMS) {
            self.done = true;
            self.inner = None;
        }
        self.state
    }

    /// True once SNI/ALPN are known (or cannot be) and the handshake has
    /// completed or the connection closed: nothing more will be learned.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn is_done(&self) -> bool {
        self.done
    }
}

fn advance(current: Option<State>, next: Option<State>) -> Option<State> {
    if rank(next) > rank(current) { next } else { current }
}

/// One IETF long header packet; returns the state it shows.
fn on_long(
    inner: &mut Inner,
    from: Side,
    h: &header::LongHeader<'_>,
    packet: &[u8],
    info: &mut QuicInfo,
) -> Option<State> {
    if h.version != NEGOTIATION && inner.version != Some(h.version) {
        inner.version = Some(h.version);
        info.version = Some(header::version_name(h.version));
    }
    match h.ptype? {
        LongType::Initial => {
            on_initial(inner, from, h, packet, info);
            if info.close.is_some() { Some(State::QuicClosed) } else { Some(State::QuicInitial) }
        }
        LongType::ZeroRtt => Some(State::QuicInitial),
        LongType::Handshake => Some(State::QuicHandshake),
        // After a Retry the client's next Initial carries a new DCID; the
        // key lookup in `on_initial` follows it.
        LongType::Retry => None,
    }
}

/// Decrypts an Initial packet and reads its CRYPTO and CONNECTION_CLOSE frames.
fn on_initial(inner: &mut Inner, from: Side, h: &header::LongHeader<'_>, packet: &[u8], info: &mut QuicInfo) {
    if inner.decrypts >= MAX_DECRYPTS {
        return;
    }
    let prots = header::initial_protections(h.version);
    if prots.is_empty() {
        return;
    }
    inner.decrypts += 1;
    let from_client = from == Side::Client;
    let largest = inner.largest_pn[from];
    let mut opened = None;
    if let Some(keys) = inner.keys.as_mut().filter(|k| k.version == h.version) {
        opened = keys.of(from_client).and_then(|k| crypto::open(k, packet, h.pn_offset, largest, &mut inner.scratch));
    }
    if opened.is_none() {
        // New connection attempt (first packet, after Retry or Version
        // Negotiation): the client's DCID seeds the keys. The server's
        // Initial uses the keys of the client's DCID, in its new version.
        let dcid = if from_client { Some(h.dcid) } else { inner.keys.as_ref().map(|k| k.dcid.as_slice()) };
        for &prot in prots {
            let Some(d) = dcid else {
                break;
            };
            // The keys just tried would be derived again, to the same bytes.
            if inner.keys.as_ref().is_some_and(|k| k.version == h.version && k.prot == prot && k.dcid == d) {
                continue;
            }
            let Some(mut keys) = crypto::initial_keys(h.version, prot, d) else {
                continue;
            };
            opened =
                keys.of(from_client).and_then(|k| crypto::open(k, packet, h.pn_offset, largest, &mut inner.scratch));
            if opened.is_some() {
                if inner.crypto_version != h.version {
                    // A new version restarts the handshake from offset 0.
                    inner.crypto.clear();
                    inner.crypto_version = h.version;
                }
                inner.keys = Some(keys);
                break;
            }
        }
    }
    let Some(o) = opened else {
        return;
    };
    inner.largest_pn[from] = Some(inner.largest_pn[from].map_or(o.pn, |l| l.max(o.pn)));
    let read_hello = from_client && !inner.hello_done;
    let mut overflow = false;
    let plain = &inner.scratch[o.start..o.end];
    let crypto = &mut inner.crypto;
    frames::walk(plain, |f| match f {
        Frame::Crypto { offset, data } => {
            if read_hello && !crypto.insert(offset, data) {
                overflow = true;
            }
        }
        Frame::Close { code, reason } => {
            info.close = Some(QuicClose { code, reason: frames::reason_text(reason) });
        }
    });
    if !read_hello {
        return;
    }
    match frames::client_hello(inner.crypto.contiguous()) {
        Hello::Incomplete if !overflow => {}
        Hello::Incomplete | Hello::Invalid => {
            inner.hello_done = true;
            inner.crypto.clear();
        }
        Hello::Parsed { sni, alpn } => {
            info.sni = sni;
            info.alpn = alpn;
            inner.hello_done = true;
            inner.crypto.clear();
        }
    }
}

/// One gQUIC datagram: version, clear-text CHLO SNI, and a coarse state.
fn on_gquic(
    inner: &mut Inner,
    from: Side,
    version: Option<u32>,
    payload: &[u8],
    info: &mut QuicInfo,
    current: Option<State>,
) -> Option<State> {
    inner.gquic = true;
    let from_client = from == Side::Client;
    let version = version.filter(|_| from_client);
    if let Some(v) = version
        && inner.version != Some(v)
    {
        inner.version = Some(v);
        info.version = Some(header::version_name(v));
    }
    if from_client && !inner.hello_done {
        inner.gquic_chlo_packets += 1;
        if let Some(sni) = gquic::chlo_sni(payload) {
            info.sni = Some(sni);
            inner.hello_done = true;
        } else if inner.gquic_chlo_packets >= MAX_GQUIC_CHLO_PACKETS {
            inner.hello_done = true;
        }
    }
    inner.short_seen[from] = true;
    // The client stops sending its version once the server answered.
    if from_client && version.is_none() && inner.short_seen[Side::Server] {
        advance(current, Some(State::QuicConnected))
    } else {
        advance(current, Some(State::QuicInitial))
    }
}

#[cfg(test)]
mod tests;

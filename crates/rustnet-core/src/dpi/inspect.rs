//! The interface between the DPI dispatcher and one protocol.
//!
//! A protocol is a classifier (does this stream or datagram start like me?)
//! and an [`Inspector`] (reads the rest). The dispatcher (`dispatch.rs`)
//! owns everything around them: reassembly, which direction is the client,
//! packet limits, and when a connection is done. A protocol never sets a
//! "done" flag of the dispatcher; it answers with an [`Outcome`].
//!
//! Adding a protocol: one file with a classifier and an `Inspector`, and
//! one line in the registry (`STREAM_PROTOCOLS` / `DATAGRAM_PROTOCOLS` in
//! `dpi/mod.rs`).

use super::AppInfo;
use super::reassembly::Reassembler;
use super::side::Side;
use crate::track::State;
use std::fmt::Debug;

/// Payload packets looked at after classification before DPI stops even if a
/// field is still missing (e.g. no ServerHello seen); the default of
/// [`Inspector::max_packets`].
pub(crate) const MAX_CLASSIFIED: u32 = 64;

/// What an inspector wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Keep feeding.
    NeedMore,
    /// This direction has nothing more to tell: the dispatcher stops
    /// buffering it (the connection is done once both directions are).
    SideDone,
    /// Nothing more will be learned on this connection.
    Done,
}

/// An inspector's answer to one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub verdict: Verdict,
    /// The application state to show (DNS_QUERY, BANNER, QUIC_CONNECTED …),
    /// None to keep the one shown.
    pub state: Option<State>,
}

impl Outcome {
    pub(crate) fn new(verdict: Verdict, state: Option<State>) -> Self {
        Outcome { verdict, state }
    }

    pub(crate) fn need_more() -> Self {
        Outcome::new(Verdict::NeedMore, None)
    }

    pub(crate) fn done() -> Self {
        Outcome::new(Verdict::Done, None)
    }
}

/// One protocol's reader on one connection. Every method has a default so a
/// datagram protocol implements only `on_datagram`, a stream protocol only
/// `on_stream`.
pub(crate) trait Inspector: Debug + Send {
    /// Reads what is contiguous in `side`'s direction (TCP). Called for each
    /// segment with payload of that direction; once the direction was given
    /// up (overflow, or the inspector said `SideDone`) the reassembler is
    /// empty and `r.overflowed()` tells whether it overflowed.
    fn on_stream(&mut self, side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        let _ = (side, r, app);
        Outcome::done()
    }

    /// Reads one datagram (UDP) sent by `side`.
    fn on_datagram(&mut self, side: Side, payload: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        let _ = (side, payload, app);
        Outcome::done()
    }

    /// Looks at a stream segment before reassembly; `Some` takes the segment
    /// (it is neither buffered nor passed to `on_stream`). SSH counts its
    /// encrypted segments this way.
    fn on_segment(&mut self, side: Side) -> Option<Outcome> {
        let _ = side;
        None
    }

    /// The state to show for packets without payload (a bare ACK).
    fn state(&self) -> Option<State> {
        None
    }

    /// Payload packets after which the dispatcher stops, counted from the
    /// connection's first.
    fn max_packets(&self) -> u32 {
        MAX_CLASSIFIED
    }

    /// Bytes the inspector buffers itself (a handshake message gathered from
    /// several records): counted with the reassemblers' against the engine's
    /// reassembly budget, so an inspector that buffers must say how much.
    fn held(&self) -> usize {
        0
    }

    /// A data connection this control connection announced since the last
    /// call (FTP only), for the engine to expect.
    fn take_announce(&mut self) -> Option<super::ftp::Announce> {
        None
    }
}

/// The first bytes of one TCP direction, as a stream classifier sees them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stream<'a> {
    /// Contiguous bytes from the start of the direction (never empty).
    pub data: &'a [u8],
    pub ports: (u16, u16),
}

/// One UDP datagram, as a datagram classifier sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Datagram<'a> {
    /// Never empty.
    pub payload: &'a [u8],
    pub ports: (u16, u16),
}

impl Stream<'_> {
    pub(crate) fn has_port(&self, pred: fn(u16) -> bool) -> bool {
        pred(self.ports.0) || pred(self.ports.1)
    }
}

impl Datagram<'_> {
    pub(crate) fn has_port(&self, pred: fn(u16) -> bool) -> bool {
        pred(self.ports.0) || pred(self.ports.1)
    }
}

/// A recognised protocol: its inspector, and which side sent the bytes that
/// told (None: unknown, the dispatcher keeps what the handshake said).
#[derive(Debug)]
pub(crate) struct Match {
    pub inspector: Box<dyn Inspector>,
    pub sender: Option<Side>,
}

impl Match {
    pub(crate) fn new(inspector: impl Inspector + 'static, sender: Option<Side>) -> Self {
        Match { inspector: Box::new(inspector), sender }
    }
}

/// A stream classifier's answer.
#[derive(Debug)]
pub(crate) enum Sniffed {
    Yes(Match),
    No,
    /// Too few bytes to say.
    NeedMore,
}

/// Recognises a protocol from the first bytes of a TCP direction.
pub(crate) type StreamClassifier = fn(&Stream<'_>) -> Sniffed;

/// Recognises a protocol from a datagram and reads that datagram at once
/// (what the classifier parsed is used, not parsed again).
pub(crate) type DatagramClassifier = fn(&Datagram<'_>, &mut Option<AppInfo>) -> Option<(Match, Outcome)>;

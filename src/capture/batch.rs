//! Packets travel from the capture thread to workers in batches: one byte
//! arena plus fixed-size records, recycled, so no allocation per packet.

use super::Packet;
use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;

#[derive(Clone, Copy, Debug)]
struct Meta {
    start: usize,
    len: usize,
    wire_len: u32,
    ts: Timestamp,
    link: LinkType,
    /// Only shown to the worker for what it quotes (an ICMP error whose own
    /// flow another worker counts), not counted.
    quote: bool,
}

/// A batch of frames for one worker.
#[derive(Debug, Default)]
pub struct Batch {
    data: Vec<u8>,
    meta: Vec<Meta>,
}

/// Frames per batch before it is sent.
pub const BATCH_PACKETS: usize = 512;
const BATCH_BYTES: usize = 512 * 1024;

impl Batch {
    pub fn with_capacity() -> Self {
        // Small to start: recycled batches keep whatever they grew to.
        Batch { data: Vec::with_capacity(64 * 1024), meta: Vec::with_capacity(BATCH_PACKETS) }
    }

    pub fn push(&mut self, p: &Packet<'_>) {
        self.push_meta(p, false);
    }

    /// A packet the worker only reads for the connection it quotes (see
    /// `Meta::quote`).
    pub fn push_quote(&mut self, p: &Packet<'_>) {
        self.push_meta(p, true);
    }

    fn push_meta(&mut self, p: &Packet<'_>, quote: bool) {
        let start = self.data.len();
        self.data.extend_from_slice(p.data);
        self.meta.push(Meta { start, len: p.data.len(), wire_len: p.wire_len, ts: p.ts, link: p.link, quote });
    }

    pub fn is_full(&self) -> bool {
        self.meta.len() >= BATCH_PACKETS || self.data.len() >= BATCH_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Frame bytes held.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.meta.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = Packet<'_>> {
        self.iter_marked().map(|(p, _)| p)
    }

    /// The packets with whether each is only a quote (see `push_quote`).
    pub fn iter_marked(&self) -> impl Iterator<Item = (Packet<'_>, bool)> {
        self.meta.iter().map(|m| {
            let p = Packet {
                ts: m.ts,
                // In bounds: every record was pushed together with its bytes.
                data: &self.data[m.start..m.start + m.len],
                wire_len: m.wire_len,
                link: m.link,
            };
            (p, m.quote)
        })
    }
}

//! Frames of decrypted Initial packets (RFC 9000 §19), CRYPTO stream
//! reassembly and the ClientHello's SNI/ALPN.
//!
//! The frame walker is by hand: only the handful of frame types allowed in
//! Initial packets (§12.4) matter, and no crate exposes them standalone.
//! The ClientHello itself is parsed by the TLS module (tls-parser).

use super::super::tls;
use super::header::varint;

/// Bound on the reassembled CRYPTO stream of one connection.
pub(super) const MAX_CRYPTO: usize = 16 * 1024;
/// Longest CONNECTION_CLOSE reason kept.
const MAX_REASON: usize = 256;

/// A frame of interest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Frame<'a> {
    Crypto { offset: u64, data: &'a [u8] },
    Close { code: u64, reason: &'a [u8] },
}

/// Calls `f` for each CRYPTO and CONNECTION_CLOSE frame of a decrypted
/// Initial payload; stops at the first frame it cannot size.
pub(super) fn walk<'a>(payload: &'a [u8], mut f: impl FnMut(Frame<'a>)) {
    let mut pos = 0;
    while pos < payload.len() {
        // Runs of PADDING (0x00) fill most of a client Initial (~1000 of
        // 1200 bytes): skipped in one scan, not one frame at a time.
        if payload[pos] == 0 {
            pos += zeros(&payload[pos..]);
            continue;
        }
        let Some(ty) = varint(payload, &mut pos) else {
            return;
        };
        let ok = match ty {
            0x00 | 0x01 => Some(()), // PADDING, PING
            0x02 | 0x03 => skip_ack(payload, &mut pos, ty == 0x03),
            0x06 => (|| {
                let offset = varint(payload, &mut pos)?;
                let len = usize::try_from(varint(payload, &mut pos)?).ok()?;
                let data = payload.get(pos..pos.checked_add(len)?)?;
                pos += len;
                f(Frame::Crypto { offset, data });
                Some(())
            })(),
            0x1c | 0x1d => (|| {
                let code = varint(payload, &mut pos)?;
                if ty == 0x1c {
                    varint(payload, &mut pos)?; // offending frame type
                }
                let len = usize::try_from(varint(payload, &mut pos)?).ok()?;
                let reason = payload.get(pos..pos.checked_add(len)?)?;
                pos += len;
                f(Frame::Close { code, reason });
                Some(())
            })(),
            _ => None,
        };
        if ok.is_none() {
            return;
        }
    }
}

/// Length of the run of zero bytes `d` starts with, eight bytes at a time
/// (a byte at a time was a twentieth of QUIC's cost).
fn zeros(d: &[u8]) -> usize {
    let words = d.chunks_exact(8).take_while(|c| c.iter().fold(0, |a, b| a | b) == 0).count() * 8;
    words + d[words..].iter().position(|&b| b != 0).unwrap_or(d.len() - words)
}

fn skip_ack(p: &[u8], pos: &mut usize, ecn: bool) -> Option<()> {
    varint(p, pos)?; // largest acknowledged
    varint(p, pos)?; // delay
    let ranges = varint(p, pos)?;
    varint(p, pos)?; // first range
    for _ in 0..ranges {
        varint(p, pos)?; // gap
        varint(p, pos)?; // range length
    }
    if ecn {
        for _ in 0..3 {
            varint(p, pos)?;
        }
    }
    Some(())
}

/// A CONNECTION_CLOSE reason as text, bounded.
pub(super) fn reason_text(reason: &[u8]) -> String {
    String::from_utf8_lossy(&reason[..reason.len().min(MAX_REASON)]).into_owned()
}

/// CRYPTO stream reassembly from offset 0, bounded by `MAX_CRYPTO`.
#[derive(Clone, Debug, Default)]
pub(super) struct CryptoStream {
    buf: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    ranges: Vec<(usize, usize)>,
}

/// Most ranges kept: many tiny out-of-order pieces are not worth tracking.
const MAX_RANGES: usize = 64;

impl CryptoStream {
    /// Stores `data` at `offset`; data past `MAX_CRYPTO` is dropped.
    /// Returns false when the stream exceeded what is tracked.
    pub(super) fn insert(&mut self, offset: u64, data: &[u8]) -> bool {
        let Ok(start) = usize::try_from(offset) else {
            return false;
        };
        if start >= MAX_CRYPTO || data.is_empty() {
            return start < MAX_CRYPTO;
        }
        let end = start.saturating_add(data.len()).min(MAX_CRYPTO);
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        self.buf[start..end].copy_from_slice(&data[..end - start]);
        self.ranges.push((start, end));
        self.ranges.sort_unstable();
        // Merge in place: a range that starts within the previous one extends it.
        self.ranges.dedup_by(|cur, prev| {
            if cur.0 <= prev.1 {
                prev.1 = prev.1.max(cur.1);
                true
            } else {
                false
            }
        });
        self.ranges.len() <= MAX_RANGES
    }

    /// The bytes received contiguously from offset 0.
    pub(super) fn contiguous(&self) -> &[u8] {
        match self.ranges.first() {
            Some(&(0, end)) => &self.buf[..end],
            _ => &[],
        }
    }

    pub(super) fn clear(&mut self) {
        self.buf = Vec::new();
        self.ranges = Vec::new();
    }
}

/// What the CRYPTO stream's start tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Hello {
    /// More data needed.
    Incomplete,
    /// Not a ClientHello, too large, or malformed: nothing to learn.
    Invalid,
    Parsed {
        sni: Option<String>,
        alpn: Vec<String>,
    },
}

/// Parses the ClientHello at the start of a CRYPTO stream.
pub(super) fn client_hello(stream: &[u8]) -> Hello {
    let Some(header) = stream.get(..4) else {
        return Hello::Incomplete;
    };
    if header[0] != 0x01 {
        return Hello::Invalid;
    }
    let len = 4 + (usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]));
    if len > MAX_CRYPTO {
        return Hello::Invalid;
    }
    let Some(msg) = stream.get(..len) else {
        return Hello::Incomplete;
    };
    match tls::parse_client_hello(&msg[4..], tls::Ja4::Skip) {
        Some(ch) => Hello::Parsed { sni: ch.sni, alpn: ch.alpn },
        None => Hello::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_padding_ack_crypto_and_close() {
        // PADDING, ACK(largest 5, delay 0, 1 range, first 0, gap 1 len 1),
        // CRYPTO(off 2, "ab"), PING, CONNECTION_CLOSE(0x1c, code 0x0a, ft 6, "x").
        let p = [0, 0, 0x02, 5, 0, 1, 0, 1, 1, 0x06, 2, 2, b'a', b'b', 0x01, 0x1c, 0x0a, 6, 1, b'x', 0];
        let mut seen = Vec::new();
        walk(&p, |f| seen.push(f));
        assert_eq!(seen, [Frame::Crypto { offset: 2, data: b"ab" }, Frame::Close { code: 10, reason: b"x" }]);
        // Truncated frames stop the walk without a panic.
        for n in 0..p.len() {
            walk(&p[..n], |_| {});
        }
    }

    #[test]
    fn zero_runs() {
        assert_eq!(zeros(&[]), 0);
        assert_eq!(zeros(&[1]), 0);
        assert_eq!(zeros(&[0; 7]), 7);
        assert_eq!(zeros(&[0; 8]), 8);
        for n in 0..40 {
            let mut d = vec![0; n];
            d.extend_from_slice(&[5, 0, 0]);
            assert_eq!(zeros(&d), n);
        }
    }

    #[test]
    fn reassembles_out_of_order_and_overlapping() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let mut s = CryptoStream::default();
        assert!(s.insert(2000, &data[2000..]));
        assert!(s.contiguous().is_empty());
        assert!(s.insert(500, &data[500..2100]));
        assert!(s.insert(0, &data[..600]));
        assert_eq!(s.contiguous(), &data[..]);
        // Beyond the bound: dropped, never grown past it.
        assert!(!s.insert(MAX_CRYPTO as u64, b"x"));
        assert!(s.insert(MAX_CRYPTO as u64 - 1, b"xyz"));
        assert!(s.buf.len() <= MAX_CRYPTO);
        assert!(!s.insert(u64::MAX, b"x"));
    }

    #[test]
    fn client_hello_incomplete_and_invalid() {
        assert_eq!(client_hello(&[1, 0]), Hello::Incomplete);
        assert_eq!(client_hello(&[1, 0, 0, 10, 3, 3]), Hello::Incomplete);
        assert_eq!(client_hello(&[2, 0, 0, 1, 0]), Hello::Invalid);
        assert_eq!(client_hello(&[1, 0xff, 0, 0]), Hello::Invalid);
        assert_eq!(client_hello(&[1, 0, 0, 1, 0]), Hello::Invalid);
    }
}

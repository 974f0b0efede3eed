//! Classic pcap, read by hand: pcap-file rejects records whose captured length
//! exceeds the header's snaplen, which tcpdump and tshark accept (fuzzed and
//! hand-edited captures have them). The format is one header and fixed records.

use super::FileError;
use super::input::Input;
use crate::capture::Packet;
use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;

/// Larger records are taken as corruption (tcpdump's own limit is 256 KiB).
const MAX_RECORD: usize = 16 << 20;

/// Byte order, timestamp unit and link type from the file header.
struct Header {
    big_endian: bool,
    nanos: bool,
    link: LinkType,
}

impl Header {
    fn u32_at(&self, b: &[u8], at: usize) -> u32 {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big_endian { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) }
    }

    /// (timestamp, captured length, wire length) of a 16-byte record header.
    fn record(&self, rec: &[u8]) -> (Timestamp, usize, u32) {
        let (secs, frac) = (self.u32_at(rec, 0), self.u32_at(rec, 4));
        let nanos_part = if self.nanos { frac } else { frac.saturating_mul(1000) };
        let ts = Timestamp::from_secs_nanos(u64::from(secs), nanos_part);
        (ts, self.u32_at(rec, 8) as usize, self.u32_at(rec, 12))
    }
}

fn parse_header(hdr: &[u8; 24]) -> Result<Header, FileError> {
    let (big_endian, nanos) = match [hdr[0], hdr[1], hdr[2], hdr[3]] {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        m => return Err(FileError::Format(format!("unknown pcap magic {m:02x?}"))),
    };
    let mut h = Header { big_endian, nanos, link: LinkType::Other(0) };
    // The link type is the low 16 bits (the upper bits may hold FCS info).
    h.link = LinkType::from_number(h.u32_at(hdr, 20) & 0xffff);
    Ok(h)
}

/// The link type in the file header, if the header is there.
pub(super) fn first_link(input: &mut Input) -> Option<LinkType> {
    let hdr: &[u8; 24] = input.peek(24).ok()?.get(..24)?.try_into().ok()?;
    parse_header(hdr).ok().map(|h| h.link)
}

/// Reads every record, handing each to `f` in place (no copy when mapped).
pub(super) fn read_pcap(input: &mut Input, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
    let hdr = input.peek(24).map_err(|e| FileError::Format(format!("pcap header: {e}")))?;
    let hdr: &[u8; 24] = hdr
        .get(..24)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| FileError::Format(format!("pcap header: too short ({} of 24 bytes)", hdr.len())))?;
    let h = parse_header(hdr)?;
    input.consume(24);
    if let Some(bytes) = input.mapped_rest() {
        return read_records_in_place(&h, bytes, input.offset(), f);
    }
    let mut n = 0u64;
    loop {
        let at = input.offset();
        let damaged = |reason: String| Err(FileError::Corrupt { packets: n, offset: at, reason });
        let rec = match input.peek(16) {
            Ok(rec) if rec.len() >= 16 => rec,
            Ok([]) => return Ok(n),
            Ok(rec) => {
                let got = rec.len();
                return if input.stopped() {
                    Ok(n)
                } else {
                    damaged(format!("truncated record header ({got} of 16 bytes)"))
                };
            }
            Err(e) => return damaged(format!("read error: {e}")),
        };
        let (ts, incl, orig) = h.record(rec);
        if incl > MAX_RECORD {
            return damaged(format!("record length {incl} bytes (over the 16 MiB limit)"));
        }
        let data = match input.peek(16 + incl) {
            Ok(buf) if buf.len() >= 16 + incl => &buf[16..16 + incl],
            Ok(buf) => {
                let got = buf.len() - 16;
                return if input.stopped() {
                    Ok(n)
                } else {
                    damaged(format!("truncated record ({got} of {incl} bytes)"))
                };
            }
            Err(e) => return damaged(format!("read error: {e}")),
        };
        n += 1;
        let more = f(&Packet { ts, data, wire_len: orig.max(incl as u32), link: h.link });
        input.consume(16 + incl);
        if !more {
            return Ok(n);
        }
    }
}

/// The records of a mapped file, walked in place: the same checks and
/// messages as the stream loop in `read_pcap`, without a `peek` per record
/// (that cost 48 instructions a packet, callgrind on mixed-100k).
fn read_records_in_place(
    h: &Header,
    bytes: &[u8],
    base: u64,
    f: &mut dyn FnMut(&Packet<'_>) -> bool,
) -> Result<u64, FileError> {
    let (mut n, mut pos) = (0u64, 0usize);
    loop {
        let rest = bytes.get(pos..).unwrap_or_default();
        let damaged = |reason: String| Err(FileError::Corrupt { packets: n, offset: base + pos as u64, reason });
        if rest.is_empty() {
            return Ok(n);
        }
        let Some(rec) = rest.get(..16) else {
            return damaged(format!("truncated record header ({} of 16 bytes)", rest.len()));
        };
        let (ts, incl, orig) = h.record(rec);
        if incl > MAX_RECORD {
            return damaged(format!("record length {incl} bytes (over the 16 MiB limit)"));
        }
        let Some(data) = rest.get(16..16 + incl) else {
            return damaged(format!("truncated record ({} of {incl} bytes)", rest.len() - 16));
        };
        n += 1;
        if !f(&Packet { ts, data, wire_len: orig.max(incl as u32), link: h.link }) {
            return Ok(n);
        }
        pos += 16 + incl;
    }
}

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

/// Reads every record, handing each to `f` in place: records are walked
/// inside the bytes the input has buffered, and only a record cut by the end
/// of the buffer makes the input read on (a `peek` per record cost 48
/// instructions a packet, callgrind on mixed-100k).
pub(super) fn read_pcap(input: &mut Input, f: &mut dyn super::Sink) -> Result<u64, FileError> {
    let hdr = input.peek(24).map_err(|e| FileError::Format(format!("pcap header: {e}")))?;
    let hdr: &[u8; 24] = hdr
        .get(..24)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| FileError::Format(format!("pcap header: too short ({} of 24 bytes)", hdr.len())))?;
    let h = parse_header(hdr)?;
    input.consume(24);
    let mut n = 0u64;
    // Bytes the next record needs to be whole (its header, then header and data).
    let mut need = 16;
    loop {
        let at = input.offset();
        let damaged = |n: u64, offset: u64, reason: String| Err(FileError::Corrupt { packets: n, offset, reason });
        let bytes = match input.peek(need) {
            Ok(bytes) => bytes,
            Err(e) => return damaged(n, at, format!("read error: {e}")),
        };
        if bytes.len() < need {
            let got = bytes.len();
            if input.take_idle() {
                f.idle();
                continue;
            }
            // The input ended inside a record (or between two: then it is done).
            return match got {
                0 => Ok(n),
                _ if input.stopped() => Ok(n),
                _ if got < 16 => damaged(n, at, format!("truncated record header ({got} of 16 bytes)")),
                _ => damaged(n, at, format!("truncated record ({} of {} bytes)", got - 16, need - 16)),
            };
        }
        let mut pos = 0;
        loop {
            let rest = bytes.get(pos..).unwrap_or_default();
            let Some(rec) = rest.get(..16) else {
                need = 16;
                break;
            };
            let (ts, incl, orig) = h.record(rec);
            if incl > MAX_RECORD {
                return damaged(n, at + pos as u64, format!("record length {incl} bytes (over the 16 MiB limit)"));
            }
            let Some(data) = rest.get(16..16 + incl) else {
                need = 16 + incl;
                break;
            };
            n += 1;
            pos += 16 + incl;
            if !f.packet(&Packet { ts, data, wire_len: orig, link: h.link }) {
                input.consume(pos);
                return Ok(n);
            }
        }
        input.consume(pos);
    }
}

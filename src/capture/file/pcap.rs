//! Classic pcap, read by hand: pcap-file rejects records whose captured length
//! exceeds the header's snaplen, which tcpdump and tshark accept (fuzzed and
//! hand-edited captures have them). The format is one header and fixed records.

use super::FileError;
use crate::capture::Packet;
use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;
use std::io::{self, Read};

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

/// Reads a file mapped in memory: records are handed out in place, no copy.
pub fn read_pcap_mapped(m: &[u8], f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
    let hdr: &[u8; 24] = m
        .get(..24)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| FileError::Format("pcap header: too short".into()))?;
    let h = parse_header(hdr)?;
    let (mut at, mut n) = (24usize, 0u64);
    while at < m.len() {
        let Some(rec) = m.get(at..at + 16) else {
            return Err(FileError::Corrupt { packets: n, reason: "truncated record header".into() });
        };
        let (ts, incl, orig) = h.record(rec);
        if incl > MAX_RECORD {
            return Err(FileError::Corrupt { packets: n, reason: format!("record of {incl} bytes") });
        }
        let Some(data) = m.get(at + 16..at + 16 + incl) else {
            return Err(FileError::Corrupt { packets: n, reason: "truncated record".into() });
        };
        at += 16 + incl;
        n += 1;
        if !f(&Packet { ts, data, wire_len: orig.max(incl as u32), link: h.link }) {
            break;
        }
    }
    Ok(n)
}

pub fn read_pcap<R: Read>(mut r: R, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
    let mut hdr = [0u8; 24];
    r.read_exact(&mut hdr).map_err(|e| FileError::Format(format!("pcap header: {e}")))?;
    let h = parse_header(&hdr)?;
    let mut rec = [0u8; 16];
    let mut data = Vec::with_capacity(65_536);
    let mut n = 0u64;
    loop {
        match read_full(&mut r, &mut rec) {
            Ok(0) => return Ok(n),
            Ok(16) => {}
            Ok(_) => return Err(FileError::Corrupt { packets: n, reason: "truncated record header".into() }),
            Err(e) => return Err(FileError::Corrupt { packets: n, reason: e.to_string() }),
        }
        let (ts, incl, orig) = h.record(&rec);
        if incl > MAX_RECORD {
            return Err(FileError::Corrupt { packets: n, reason: format!("record of {incl} bytes") });
        }
        data.resize(incl, 0);
        if let Err(e) = r.read_exact(&mut data) {
            return Err(FileError::Corrupt { packets: n, reason: format!("truncated record: {e}") });
        }
        n += 1;
        if !f(&Packet { ts, data: &data, wire_len: orig.max(incl as u32), link: h.link }) {
            return Ok(n);
        }
    }
}

/// Like read_exact, but reports how much was read at end of file.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

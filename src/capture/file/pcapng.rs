//! pcapng (several interfaces, each with its link type and timestamp unit):
//! blocks are framed here (so a stream needs one block in memory and errors
//! can say where), and read here too, the way classic pcap is (pcap.rs).
//!
//! Hand-written rather than pcap-file's block parser: that one rejects what
//! tshark reads (an option list that ends without the end-of-options option
//! made the whole file "not a capture file"; a packet comment that is not
//! UTF-8 stopped the file there). Only the fixed fields and one option
//! (`if_tsresol`) are needed; the other options are skipped unread, and an
//! option list cut short ends where it stops making sense, as in libwiretap.

use super::FileError;
use super::input::Input;
use crate::capture::Packet;
use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;

/// Per-interface link type and timestamp unit.
struct Iface {
    link: LinkType,
    /// if_tsresol: bit 7 clear = 10^-n s, set = 2^-n s.
    tsresol: u8,
    /// Snap length (0: none); bounds a simple packet block's data.
    snaplen: u32,
}

fn ts_from_units(raw: u64, tsresol: u8) -> Timestamp {
    let n = u32::from(tsresol & 0x7f);
    let ns = if tsresol & 0x80 == 0 {
        if n <= 9 { raw.saturating_mul(10u64.pow(9 - n)) } else { raw / 10u64.saturating_pow(n - 9) }
    } else {
        let units = 1u128 << n.min(64);
        (u128::from(raw) * 1_000_000_000 / units).min(u128::from(u64::MAX)) as u64
    };
    Timestamp::from_nanos(ns)
}

const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const OBSOLETE_PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;
/// The interface option giving the timestamp unit.
const IF_TSRESOL: u16 = 9;
/// Larger blocks are taken as corruption (the buffer for a stream holds one).
const MAX_BLOCK: usize = 16 << 20;

/// A block's name, for messages.
fn block_name(kind: u32) -> String {
    match kind {
        SECTION_HEADER => "section header block".into(),
        INTERFACE_DESCRIPTION => "interface description block".into(),
        2 => "packet block".into(),
        3 => "simple packet block".into(),
        4 => "name resolution block".into(),
        5 => "interface statistics block".into(),
        6 => "enhanced packet block".into(),
        k => format!("block of type {k:#x}"),
    }
}

/// Integers of a section, in its byte order.
#[derive(Clone, Copy)]
pub(super) struct Order {
    big: bool,
}

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let w: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big { u16::from_be_bytes(w) } else { u16::from_le_bytes(w) })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) })
    }

    /// The value of option `code` in an option list, if present. A list
    /// without the end-of-options option, or cut inside an option, ends
    /// where the options stop fitting (tshark reads such files).
    pub(super) fn option(self, mut opts: &[u8], code: u16) -> Option<&[u8]> {
        loop {
            let (c, len) = (self.u16(opts, 0)?, usize::from(self.u16(opts, 2)?));
            if c == 0 {
                return None;
            }
            let value = opts.get(4..4 + len)?;
            if c == code {
                return Some(value);
            }
            opts = opts.get(4 + len.next_multiple_of(4)..)?;
        }
    }
}

/// A packet block's fields: (interface, timestamp units, captured bytes, original length).
type PacketFields<'a> = (u32, u64, &'a [u8], u32);

/// An enhanced (type 6) or obsolete packet block (type 2) body: the
/// interface id (u32, or u16 then a drop count), timestamp high and low,
/// captured and original lengths, then the data.
fn packet_fields(o: Order, body: &[u8], obsolete: bool) -> Result<PacketFields<'_>, String> {
    let short = || "shorter than its fields".to_string();
    let iface = if obsolete { o.u16(body, 0).map(u32::from) } else { o.u32(body, 0) }.ok_or_else(short)?;
    let (hi, lo) = (o.u32(body, 4).ok_or_else(short)?, o.u32(body, 8).ok_or_else(short)?);
    let caplen = o.u32(body, 12).ok_or_else(short)?;
    let orig = o.u32(body, 16).ok_or_else(short)?;
    let data = body
        .get(20..20usize.saturating_add(caplen as usize))
        .ok_or_else(|| format!("captured length {caplen} past the block's end"))?;
    Ok((iface, u64::from(hi) << 32 | u64::from(lo), data, orig))
}

/// The start of a block: (type, total length, big endian). A section header
/// says its own byte order; other blocks use their section's.
fn block_head(b: &[u8; 12], section_big_endian: bool) -> Result<(u32, usize, bool), String> {
    let kind = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let big = if kind == SECTION_HEADER {
        match [b[8], b[9], b[10], b[11]] {
            [0x1a, 0x2b, 0x3c, 0x4d] => true,
            [0x4d, 0x3c, 0x2b, 0x1a] => false,
            m => return Err(format!("section header with unknown byte-order magic {m:02x?}")),
        }
    } else {
        section_big_endian
    };
    let kind = if big { u32::from_be_bytes([b[0], b[1], b[2], b[3]]) } else { kind };
    let w = [b[4], b[5], b[6], b[7]];
    let len = if big { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) } as usize;
    if len < 12 || !len.is_multiple_of(4) {
        return Err(format!("{} of length {len} (must be a multiple of 4, at least 12)", block_name(kind)));
    }
    if len > MAX_BLOCK {
        return Err(format!("{} of {len} bytes (over the 16 MiB limit)", block_name(kind)));
    }
    Ok((kind, len, big))
}

/// The link type of the first interface, when it follows the section header.
pub(super) fn first_link(input: &mut Input) -> Option<LinkType> {
    let shb: &[u8; 12] = input.peek(12).ok()?.get(..12)?.try_into().ok()?;
    let (_, len, big) = block_head(shb, false).ok()?;
    let b = input.peek(len + 12).ok()?.get(len..len + 12)?;
    let (kind, _, _) = block_head(b.try_into().ok()?, big).ok()?;
    let link = if big { u16::from_be_bytes([b[8], b[9]]) } else { u16::from_le_bytes([b[8], b[9]]) };
    (kind == INTERFACE_DESCRIPTION).then(|| LinkType::from_number(u32::from(link)))
}

/// Reads every block, handing each packet to `f` (in place, in the input's buffer).
pub(super) fn read_pcapng(input: &mut Input, f: &mut dyn super::Sink) -> Result<u64, FileError> {
    // A section header was read (blocks before one make no sense).
    let mut section = false;
    let mut big = false;
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut n = 0;
    loop {
        let at = input.offset();
        let damaged = |reason: String| Err(FileError::Corrupt { packets: n, offset: at, reason });
        let (kind, len) = match input.peek(12) {
            Ok(b) if b.len() >= 12 => {
                let mut head = [0u8; 12];
                head.copy_from_slice(&b[..12]);
                match block_head(&head, big) {
                    Ok((kind, len, b)) => {
                        big = b;
                        (kind, len)
                    }
                    Err(why) if !section => return Err(FileError::Format(why)),
                    Err(why) => return damaged(why),
                }
            }
            Ok(b) => {
                let got = b.len();
                if input.take_idle() {
                    f.idle();
                    continue;
                }
                if got == 0 {
                    return Ok(n);
                }
                return if input.stopped() {
                    Ok(n)
                } else {
                    damaged(format!("truncated block header ({got} of 12 bytes)"))
                };
            }
            Err(e) => return damaged(format!("read error: {e}")),
        };
        let block = match input.peek(len) {
            Ok(b) if b.len() >= len => &b[..len],
            Ok(b) => {
                let got = b.len();
                if input.take_idle() {
                    f.idle();
                    continue;
                }
                return if input.stopped() {
                    Ok(n)
                } else {
                    damaged(format!("truncated {} ({got} of {len} bytes)", block_name(kind)))
                };
            }
            Err(e) => return damaged(format!("read error: {e}")),
        };
        let what = |e: String| format!("{}: {e}", block_name(kind));
        let o = Order { big };
        // The body: after type and length, before the trailing length.
        let body = block.get(8..len - 4).unwrap_or_default();
        if kind == SECTION_HEADER {
            // Byte-order magic (checked by block_head), then major version 1.
            match o.u16(body, 4) {
                Some(1) => section = true,
                v if !section => return Err(FileError::Format(what(format!("unsupported version {v:?}")))),
                v => return damaged(what(format!("unsupported version {v:?}"))),
            }
            ifaces.clear();
            input.consume(len);
            continue;
        }
        if !section {
            return Err(FileError::Format("pcapng: no section header".into()));
        }
        let declared = |id: u32| ifaces.get(id as usize).ok_or_else(|| what(format!("interface {id} is not declared")));
        let packet = match kind {
            INTERFACE_DESCRIPTION => {
                let Some(link) = o.u16(body, 0) else { return damaged(what("shorter than its fields".into())) };
                let tsresol = o.option(body.get(8..).unwrap_or_default(), IF_TSRESOL).and_then(|v| v.first().copied());
                let snaplen = o.u32(body, 4).unwrap_or(0);
                ifaces.push(Iface {
                    link: LinkType::from_number(u32::from(link)),
                    tsresol: tsresol.unwrap_or(6),
                    snaplen,
                });
                None
            }
            ENHANCED_PACKET | OBSOLETE_PACKET => {
                let (id, units, data, orig) = match packet_fields(o, body, kind == OBSOLETE_PACKET) {
                    Ok(x) => x,
                    Err(e) => return damaged(what(e)),
                };
                let i = match declared(id) {
                    Ok(i) => i,
                    Err(e) => return damaged(e),
                };
                Some((ts_from_units(units, i.tsresol), data, orig, i.link))
            }
            SIMPLE_PACKET => {
                // The data is the original length, cut to the first
                // interface's snap length (the block holds no captured length).
                let (link, snaplen) = ifaces.first().map_or((LinkType::Ethernet, 0), |i| (i.link, i.snaplen));
                let Some(orig) = o.u32(body, 0) else { return damaged(what("shorter than its fields".into())) };
                let caplen = if snaplen == 0 { orig } else { orig.min(snaplen) } as usize;
                let data = body.get(4..).unwrap_or_default();
                Some((Timestamp::ZERO, data.get(..caplen).unwrap_or(data), orig, link))
            }
            // Name resolution, statistics, custom and unknown blocks: skipped.
            _ => None,
        };
        if let Some((ts, data, wire_len, link)) = packet {
            n += 1;
            let more = f.packet(&Packet { ts, data, wire_len, link });
            if !more {
                return Ok(n);
            }
        }
        input.consume(len);
    }
}

/// Little-endian integers, for the reader's tests.
#[cfg(test)]
pub(super) fn tests_order() -> Order {
    Order { big: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(ts_from_units(1_500_000, 6), Timestamp::from_nanos(1_500_000_000));
        assert_eq!(ts_from_units(7, 9), Timestamp::from_nanos(7));
        assert_eq!(ts_from_units(1024, 0x8a), Timestamp::from_nanos(1_000_000_000));
        assert_eq!(ts_from_units(3, 0), Timestamp::from_nanos(3_000_000_000));
    }
}

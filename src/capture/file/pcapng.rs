//! pcapng (several interfaces, each with its link type and timestamp unit):
//! blocks are framed here (so a stream needs one block in memory and errors
//! can say where), and each block is parsed by pcap-file.

use super::FileError;
use super::input::Input;
use crate::capture::Packet;
use pcap_file::PcapError;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};
use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;

/// Per-interface link type and timestamp unit.
struct Iface {
    link: LinkType,
    /// if_tsresol: bit 7 clear = 10^-n s, set = 2^-n s.
    tsresol: u8,
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

/// What pcap-file found wrong, in words (its own texts, such as "Error
/// reading bytes" or "UTF8 error", do not say what was being read).
fn describe(e: &PcapError) -> String {
    match e {
        PcapError::IncompleteBuffer => "shorter than its fields".into(),
        PcapError::IoError(e) => e.to_string(),
        PcapError::InvalidField(what) => format!("invalid field ({what})"),
        PcapError::Utf8Error(_) | PcapError::FromUtf8Error(_) => "an option's text is not valid UTF-8".into(),
        PcapError::InvalidInterfaceId(id) => format!("interface {id} is not declared"),
    }
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
pub(super) fn read_pcapng(input: &mut Input, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
    let mut parser: Option<PcapNgParser> = None;
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
                    Err(why) if parser.is_none() => return Err(FileError::Format(why)),
                    Err(why) => return damaged(why),
                }
            }
            Ok([]) => return Ok(n),
            Ok(b) => {
                let got = b.len();
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
                return if input.stopped() {
                    Ok(n)
                } else {
                    damaged(format!("truncated {} ({got} of {len} bytes)", block_name(kind)))
                };
            }
            Err(e) => return damaged(format!("read error: {e}")),
        };
        let what = |e: PcapError| format!("{}: {}", block_name(kind), describe(&e));
        if kind == SECTION_HEADER {
            match PcapNgParser::new(block) {
                Ok((_, p)) => parser = Some(p),
                Err(e) if parser.is_none() => return Err(FileError::Format(what(e))),
                Err(e) => return damaged(what(e)),
            }
            ifaces.clear();
            input.consume(len);
            continue;
        }
        let Some(p) = parser.as_mut() else {
            return Err(FileError::Format("pcapng: no section header".into()));
        };
        let packet = match p.next_block(block) {
            Ok((_, b)) => match b {
                Block::InterfaceDescription(idb) => {
                    let tsresol = idb
                        .options
                        .iter()
                        .find_map(|o| match o {
                            InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                            _ => None,
                        })
                        .unwrap_or(6);
                    ifaces.push(Iface { link: LinkType::from_number(u32::from(idb.linktype)), tsresol });
                    None
                }
                Block::EnhancedPacket(p) => {
                    let Some(i) = ifaces.get(p.interface_id as usize) else {
                        return damaged(format!("{}: interface {} is not declared", block_name(kind), p.interface_id));
                    };
                    // pcap-file hands back the raw timestamp units as "nanoseconds".
                    let raw = u64::try_from(p.timestamp.as_nanos()).unwrap_or(u64::MAX);
                    let ts = ts_from_units(raw, i.tsresol);
                    Some((ts, p.data, p.original_len, i.link))
                }
                Block::SimplePacket(p) => {
                    let link = ifaces.first().map_or(LinkType::Ethernet, |i| i.link);
                    Some((Timestamp::ZERO, p.data, p.original_len, link))
                }
                Block::Packet(p) => {
                    let Some(i) = ifaces.get(p.interface_id as usize) else {
                        return damaged(format!("{}: interface {} is not declared", block_name(kind), p.interface_id));
                    };
                    Some((ts_from_units(p.timestamp, i.tsresol), p.data, p.original_len, i.link))
                }
                _ => None,
            },
            Err(e) => return damaged(what(e)),
        };
        if let Some((ts, data, wire_len, link)) = packet {
            n += 1;
            let more = f(&Packet { ts, data: &data, wire_len, link });
            if !more {
                return Ok(n);
            }
        }
        input.consume(len);
    }
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

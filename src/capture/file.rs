//! Capture files: pcap (µs and ns) and pcapng (several interfaces and link
//! types), format detected from the magic number, read with pcap-file.

use super::Packet;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;
use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// Why a capture file could not be read.
#[derive(Debug)]
pub enum FileError {
    Open(std::io::Error),
    /// Not a pcap or pcapng file.
    Format(String),
    /// The file is damaged after `packets` good packets.
    Corrupt {
        packets: u64,
        reason: String,
    },
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Open(e) => write!(f, "cannot open capture file: {e}"),
            FileError::Format(m) => write!(f, "not a capture file: {m}"),
            FileError::Corrupt { packets, reason } => {
                write!(f, "capture file damaged after {packets} packets: {reason}")
            }
        }
    }
}

impl std::error::Error for FileError {}

const PCAP_MAGICS: [[u8; 4]; 4] =
    [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const READ_BUFFER: usize = 1 << 20;

/// Reads every packet of `path`, calling `f` for each until it returns false.
/// Returns the packet count.
/// A damaged tail ends the file with `FileError::Corrupt` after the good packets.
pub fn read_file(path: &Path, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
    let mut file = File::open(path).map_err(FileError::Open)?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).map_err(|e| FileError::Format(format!("too short ({e})")))?;
    drop(file);
    let reader = BufReader::with_capacity(READ_BUFFER, File::open(path).map_err(FileError::Open)?);
    // pcap-file may panic on some damaged inputs; a damaged file must end the
    // read with an error, not the process.
    let run = |f: &mut dyn FnMut(&Packet<'_>) -> bool| -> Result<u64, FileError> {
        if PCAP_MAGICS.contains(&magic) {
            match map_file(path) {
                Some(m) => super::pcap::read_pcap_mapped(&m, f),
                None => super::pcap::read_pcap(reader, f),
            }
        } else if magic == PCAPNG_MAGIC {
            read_pcapng(reader, f)
        } else {
            Err(FileError::Format(format!("unknown magic {magic:02x?}")))
        }
    };
    match catch_unwind(AssertUnwindSafe(|| run(f))) {
        Ok(r) => r,
        Err(_) => Err(FileError::Corrupt { packets: 0, reason: "parser failure".into() }),
    }
}

/// Maps a regular file read-only; None for pipes, devices, or if mapping fails.
fn map_file(path: &Path) -> Option<memmap2::Mmap> {
    let file = File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    // SAFETY: the map is read-only and private to this process. A file
    // truncated by another process while mapped would fault (SIGBUS); that is
    // the documented limit of mapped reading, as with tcpdump's own readers.
    let m = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let _ = m.advise(memmap2::Advice::Sequential);
    Some(m)
}

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

fn read_pcapng<R: Read>(reader: R, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
    let mut r = PcapNgReader::new(reader).map_err(|e| FileError::Format(e.to_string()))?;
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut n = 0;
    while let Some(b) = r.next_block() {
        let b = b.map_err(|e| FileError::Corrupt { packets: n, reason: e.to_string() })?;
        match b {
            Block::SectionHeader(_) => ifaces.clear(),
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
            }
            Block::EnhancedPacket(p) => {
                let Some(i) = ifaces.get(p.interface_id as usize) else {
                    return Err(FileError::Corrupt { packets: n, reason: "packet of an undeclared interface".into() });
                };
                // pcap-file hands back the raw timestamp units as "nanoseconds".
                let raw = u64::try_from(p.timestamp.as_nanos()).unwrap_or(u64::MAX);
                if !f(&Packet {
                    ts: ts_from_units(raw, i.tsresol),
                    data: &p.data,
                    wire_len: p.original_len,
                    link: i.link,
                }) {
                    return Ok(n);
                }
                n += 1;
            }
            Block::SimplePacket(p) => {
                let link = ifaces.first().map_or(LinkType::Ethernet, |i| i.link);
                if !f(&Packet { ts: Timestamp::ZERO, data: &p.data, wire_len: p.original_len, link }) {
                    return Ok(n);
                }
                n += 1;
            }
            Block::Packet(p) => {
                let Some(i) = ifaces.get(p.interface_id as usize) else {
                    return Err(FileError::Corrupt { packets: n, reason: "packet of an undeclared interface".into() });
                };
                let ts = ts_from_units(p.timestamp, i.tsresol);
                if !f(&Packet { ts, data: &p.data, wire_len: p.original_len, link: i.link }) {
                    return Ok(n);
                }
                n += 1;
            }
            _ => {}
        }
    }
    Ok(n)
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

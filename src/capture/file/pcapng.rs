//! pcapng (several interfaces, each with its link type and timestamp unit),
//! read with pcap-file.

use super::FileError;
use crate::capture::Packet;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;
use std::io::Read;

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

pub(super) fn read_pcapng<R: Read>(reader: R, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
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

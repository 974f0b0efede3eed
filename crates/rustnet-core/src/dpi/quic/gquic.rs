//! Google QUIC (Q0xx): version from the public header and, where the CHLO
//! travels in clear (before Q047), its SNI tag.
//!
//! By hand: gQUIC is retired and no maintained crate parses it.

use super::header::is_gquic;

/// The gQUIC version of a client packet, if it carries one.
pub(super) fn version(d: &[u8]) -> Option<u32> {
    let first = *d.first()?;
    let at = if first & 0x80 != 0 {
        // Q046 and later: IETF-style long header with the version at 1..5.
        1
    } else if first & 0x01 != 0 && first & 0x08 != 0 {
        // Q043 and earlier: flags, 8-byte connection ID, version.
        9
    } else {
        return None;
    };
    let v = u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?);
    (is_gquic(v) && v.to_be_bytes()[0] == b'Q').then_some(v)
}

/// Longest SNI value accepted.
const MAX_SNI: usize = 255;

/// The SNI tag of a clear-text CHLO anywhere in the packet.
///
/// The CHLO is found by its tag rather than by walking the unencrypted
/// frames, whose layout changed between versions; the tag-value map itself
/// is checked strictly (RFC-less format: "CHLO", u16 count, u16 pad,
/// count × (tag, u32 end offset), values), all little endian.
pub(super) fn chlo_sni(d: &[u8]) -> Option<String> {
    let at = d.windows(4).position(|w| w == b"CHLO")?;
    let m = &d[at + 4..];
    let count = usize::from(u16::from_le_bytes(m.get(..2)?.try_into().ok()?));
    let entries = m.get(4..4 + count * 8)?;
    let values = &m[4 + count * 8..];
    let mut prev_end = 0usize;
    for e in entries.chunks_exact(8) {
        let end = usize::try_from(u32::from_le_bytes(e[4..8].try_into().ok()?)).ok()?;
        if end < prev_end {
            return None;
        }
        if &e[..4] == b"SNI\0" {
            let v = values.get(prev_end..end)?;
            if v.is_empty() || v.len() > MAX_SNI {
                return None;
            }
            return Some(String::from_utf8_lossy(v).into_owned());
        }
        prev_end = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let mut q043 = vec![0x0d, 1, 2, 3, 4, 5, 6, 7, 8];
        q043.extend_from_slice(b"Q043");
        assert_eq!(version(&q043), Some(u32::from_be_bytes(*b"Q043")));
        assert_eq!(version(b"\xc3Q046\x50"), Some(u32::from_be_bytes(*b"Q046")));
        assert_eq!(version(b"\xc3\0\0\0\x01"), None);
        assert_eq!(version(&[0x0d, 1]), None);
    }

    #[test]
    fn chlo_sni_tag() {
        let mut p = b"xxCHLO\x02\x00\x00\x00PAD\0\x03\x00\x00\x00SNI\0\x0e\x00\x00\x00".to_vec();
        p.extend_from_slice(b"---example.org");
        assert_eq!(chlo_sni(&p).as_deref(), Some("example.org"));
        // Offsets past the data, or decreasing, give nothing.
        for n in 0..p.len() {
            assert!(chlo_sni(&p[..n]).is_none());
        }
        assert!(chlo_sni(b"CHLO\xff\xff\0\0").is_none());
    }
}

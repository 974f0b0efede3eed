//! QUIC packet headers (RFC 8999 invariants, RFC 9000 §17, RFC 9369 §3.2),
//! version names and per-version Initial salts.
//!
//! Written by hand: the QUIC crates (quinn-proto, quiche) parse headers only
//! as part of a full endpoint; a monitor needs a small, panic-free view.

/// QUIC version 1 (RFC 9000).
pub(super) const V1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369).
pub(super) const V2: u32 = 0x6b33_43cf;
/// The version field of a Version Negotiation packet.
pub(super) const NEGOTIATION: u32 = 0;

/// Long header packet types, independent of their wire encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// Initial salt of RFC 9001 §5.2 (v1).
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f,
    0x0a,
];
/// Initial salt of RFC 9369 §3.3.1 (v2).
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e,
    0xd9,
];
/// Initial salt of draft-ietf-quic-tls-29 (used by drafts 29–32).
const SALT_D29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8,
    0x99,
];
/// Initial salt of draft-ietf-quic-tls-23 (used by drafts 23–28).
const SALT_D23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5,
    0x02,
];

/// How a version's Initial packets are protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct InitialProtection {
    /// Which of the four salts (an index for caches of things made from it).
    pub id: usize,
    pub salt: &'static [u8; 20],
    /// RFC 9369 labels ("quicv2 key" …) instead of v1's ("quic key" …).
    pub v2_labels: bool,
}

/// How many `InitialProtection`s there are (their `id`s are below it).
pub(super) const PROTECTIONS: usize = 4;
const P_V1: InitialProtection = InitialProtection { id: 0, salt: &SALT_V1, v2_labels: false };
const P_V2: InitialProtection = InitialProtection { id: 1, salt: &SALT_V2, v2_labels: true };
const P_D23: InitialProtection = InitialProtection { id: 2, salt: &SALT_D23, v2_labels: false };
const P_D29: InitialProtection = InitialProtection { id: 3, salt: &SALT_D29, v2_labels: false };

/// Candidate Initial protections of a version, most likely first; empty
/// when unknown.
///
/// Reserved "greasing" versions (0x?a?a?a?a, RFC 9000 §15) define no keys;
/// clients that send them to force Version Negotiation protect their
/// Initials like the version they mean to speak, in practice draft-29 or
/// v1. AEAD authentication rejects a wrong guess, so both are tried.
pub(super) fn initial_protections(version: u32) -> &'static [InitialProtection] {
    match version {
        V1 => &[P_V1],
        V2 => &[P_V2],
        0xff00_0017..=0xff00_001c => &[P_D23],
        0xff00_001d..=0xff00_0020 => &[P_D29],
        // Facebook mvfst versions based on draft-27.
        0xface_b002 | 0xface_b00e => &[P_D23],
        v if is_reserved(v) => &[P_D29, P_V1],
        _ => &[],
    }
}

/// The (first) Initial protection of a version.
pub(super) fn initial_protection(version: u32) -> Option<InitialProtection> {
    initial_protections(version).first().copied()
}

/// Reserved versions of RFC 9000 §15 (0x?a?a?a?a), used to force negotiation.
pub(super) fn is_reserved(version: u32) -> bool {
    version & 0x0f0f_0f0f == 0x0a0a_0a0a
}

/// Google QUIC versions: "Q0xx" (Google crypto) or "T0xx" (TLS), ASCII.
pub(super) fn is_gquic(version: u32) -> bool {
    let b = version.to_be_bytes();
    (b[0] == b'Q' || b[0] == b'T') && b[1..].iter().all(u8::is_ascii_digit)
}

/// Display name: "v1", "v2", "draft-29", "Q046", else "0x%08x".
pub(super) fn version_name(version: u32) -> String {
    match version {
        V1 => "v1".to_string(),
        V2 => "v2".to_string(),
        0xff00_0001..=0xff00_00ff => format!("draft-{}", version & 0xff),
        v if is_gquic(v) => v.to_be_bytes().iter().map(|&c| c as char).collect(),
        v => format!("0x{v:08x}"),
    }
}

/// Versions worth claiming a datagram as QUIC for.
pub(super) fn is_known_version(version: u32) -> bool {
    initial_protection(version).is_some()
        || is_gquic(version)
        || version == NEGOTIATION
        || (0xff00_0001..=0xff00_00ff).contains(&version)
        || version == 0x709a_50c4 // draft-ietf-quic-v2-01..
        || version >> 4 == 0xfaceb00 // mvfst drafts
}

/// Reads a variable-length integer (RFC 9000 §16) at `*pos`, advancing it.
pub(super) fn varint(d: &[u8], pos: &mut usize) -> Option<u64> {
    let first = *d.get(*pos)?;
    let len = 1usize << (first >> 6);
    let bytes = d.get(*pos..pos.checked_add(len)?)?;
    let mut v = u64::from(first & 0x3f);
    for &b in &bytes[1..] {
        v = (v << 8) | u64::from(b);
    }
    *pos += len;
    Some(v)
}

/// A long header packet at the start of a datagram slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LongHeader<'a> {
    pub version: u32,
    /// None for Version Negotiation.
    pub ptype: Option<LongType>,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// Offset of the (protected) packet number; 0 for Retry and VN.
    pub pn_offset: usize,
    /// Bytes of the datagram this packet occupies (coalesced packets follow).
    pub packet_len: usize,
}

/// Parses the long header at the start of `d` (first bit must be set) for
/// IETF versions; gQUIC is handled in `gquic`.
pub(super) fn parse_long(d: &[u8]) -> Option<LongHeader<'_>> {
    let first = *d.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(d.get(1..5)?.try_into().ok()?);
    let mut pos = 5;
    let dlen = usize::from(*d.get(pos)?);
    let dcid = d.get(pos + 1..pos + 1 + dlen)?;
    pos += 1 + dlen;
    let slen = usize::from(*d.get(pos)?);
    let scid = d.get(pos + 1..pos + 1 + slen)?;
    pos += 1 + slen;
    if version == NEGOTIATION {
        return Some(LongHeader { version, ptype: None, dcid, scid, pn_offset: 0, packet_len: d.len() });
    }
    // v1 and later limit connection IDs to 20 bytes (RFC 9000 §17.2).
    if dlen > 20 || slen > 20 {
        return None;
    }
    let bits = (first >> 4) & 0x03;
    let ptype = if version == V2 {
        [LongType::Retry, LongType::Initial, LongType::ZeroRtt, LongType::Handshake][usize::from(bits)]
    } else {
        [LongType::Initial, LongType::ZeroRtt, LongType::Handshake, LongType::Retry][usize::from(bits)]
    };
    if ptype == LongType::Retry {
        return Some(LongHeader { version, ptype: Some(ptype), dcid, scid, pn_offset: 0, packet_len: d.len() });
    }
    if ptype == LongType::Initial {
        let token_len = usize::try_from(varint(d, &mut pos)?).ok()?;
        pos = pos.checked_add(token_len).filter(|&p| p <= d.len())?;
    }
    let length = usize::try_from(varint(d, &mut pos)?).ok()?;
    let end = pos.checked_add(length)?;
    // A truncated capture (snaplen) cuts the last packet: keep what is there.
    let packet_len = end.min(d.len());
    Some(LongHeader { version, ptype: Some(ptype), dcid, scid, pn_offset: pos, packet_len })
}

/// Expands a truncated packet number (RFC 9000 §A.3).
pub(super) fn decode_pn(largest: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
    let Some(largest) = largest else {
        return truncated;
    };
    let bits = (pn_len * 8) as u32;
    let win = 1u64 << bits;
    let hwin = win / 2;
    let mask = win - 1;
    let expected = largest.saturating_add(1);
    let candidate = (expected & !mask) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_of_rfc9000_a1() {
        // RFC 9000 §A.1 examples.
        for (bytes, want) in [
            (&[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c][..], 151_288_809_941_952_652),
            (&[0x9d, 0x7f, 0x3e, 0x7d][..], 494_878_333),
            (&[0x7b, 0xbd][..], 15_293),
            (&[0x25][..], 37),
            (&[0x40, 0x25][..], 37),
        ] {
            let mut pos = 0;
            assert_eq!(varint(bytes, &mut pos), Some(want));
            assert_eq!(pos, bytes.len());
        }
        let mut pos = 0;
        assert_eq!(varint(&[0x80, 0x01], &mut pos), None);
    }

    #[test]
    fn pn_decoding_of_rfc9000_a3() {
        // RFC 9000 §A.3 example: largest 0xa82f30ea, 16-bit 0x9b32.
        assert_eq!(decode_pn(Some(0xa82f_30ea), 0x9b32, 2), 0xa82f_9b32);
        assert_eq!(decode_pn(None, 7, 1), 7);
    }

    #[test]
    fn version_names() {
        assert_eq!(version_name(1), "v1");
        assert_eq!(version_name(0x6b33_43cf), "v2");
        assert_eq!(version_name(0xff00_001d), "draft-29");
        assert_eq!(version_name(u32::from_be_bytes(*b"Q046")), "Q046");
        assert_eq!(version_name(0x0a0a_0a0a), "0x0a0a0a0a");
        assert!(is_reserved(0x1a2a_3a4a));
        assert!(!is_reserved(1));
    }
}

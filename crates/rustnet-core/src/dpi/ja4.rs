//! JA4 TLS client fingerprint, as FoxIO's specification defines it
//! (github.com/FoxIO-LLC/ja4, technical_details/JA4.md): written here
//! because no maintained crate computes it from a parsed ClientHello.
//!
//! `t13d1516h2_8daaf6152771_e5627efa2ab1`: transport, version, SNI or not,
//! cipher and extension counts, first ALPN's first and last character; the
//! truncated SHA-256 of the sorted cipher list; that of the sorted extension
//! list (less SNI and ALPN) and the signature algorithms in their order.
//! GREASE values are ignored everywhere.

use super::tls::{extensions, is_grease};
use ring::digest::{SHA256, digest};
use std::fmt::Write;

const EXT_SNI: u16 = 0x0000;
const EXT_ALPN: u16 = 0x0010;
const EXT_SIG_ALGS: u16 = 0x000d;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// The fingerprint of a ClientHello: `transport` is 't' (TCP) or 'q'
/// (QUIC); `legacy_version` the hello's version field; `ext_block` its
/// extensions, as sent.
pub(crate) fn fingerprint(transport: char, legacy_version: u16, ciphers: &[u16], ext_block: &[u8]) -> String {
    let ciphers: Vec<u16> = ciphers.iter().copied().filter(|c| !is_grease(*c)).collect();
    let mut exts = Vec::new();
    let (mut sni, mut alpn, mut sig_algs, mut version) = (false, None, Vec::new(), legacy_version);
    for (typ, ext) in extensions(ext_block) {
        if is_grease(typ) {
            continue;
        }
        exts.push(typ);
        let body = ext.get(4..).unwrap_or_default();
        match typ {
            EXT_SNI => sni = true,
            // The first protocol name: after the 2-byte list length, 1-byte length.
            EXT_ALPN => {
                alpn = body.get(2).and_then(|n| body.get(3..3 + usize::from(*n)));
            }
            EXT_SIG_ALGS => sig_algs = u16s(body.get(2..).unwrap_or_default()),
            EXT_SUPPORTED_VERSIONS => {
                if let Some(m) = u16s(body.get(1..).unwrap_or_default()).into_iter().max() {
                    version = m;
                }
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(36);
    let _ = write!(
        out,
        "{transport}{}{}{:02}{:02}{}_",
        version_code(version),
        if sni { 'd' } else { 'i' },
        ciphers.len().min(99),
        exts.len().min(99),
        alpn_code(alpn.unwrap_or_default()),
    );
    let mut sorted = ciphers;
    sorted.sort_unstable();
    let mut text = Vec::with_capacity(5 * sorted.len().max(exts.len() + sig_algs.len()));
    hex_list(&mut text, &sorted);
    out.push_str(&hash12(&text));
    out.push('_');
    let mut listed: Vec<u16> = exts.iter().copied().filter(|e| *e != EXT_SNI && *e != EXT_ALPN).collect();
    listed.sort_unstable();
    text.clear();
    hex_list(&mut text, &listed);
    if !sig_algs.is_empty() {
        text.push(b'_');
        hex_list(&mut text, &sig_algs);
    }
    // The spec's value for a hello without extensions: zeros, not a hash of "".
    if exts.is_empty() {
        out.push_str("000000000000")
    } else {
        out.push_str(&hash12(&text))
    }
    out
}

/// Big-endian u16s of a list body, GREASE left out.
fn u16s(d: &[u8]) -> Vec<u16> {
    d.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).filter(|v| !is_grease(*v)).collect()
}

fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0200 => "s2",
        0x0100 => "s1",
        _ => "00",
    }
}

/// First and last characters of the first ALPN value; when either is not
/// alphanumeric, the first and last characters of its hex form; "00" for none.
fn alpn_code(p: &[u8]) -> String {
    let (Some(&a), Some(&b)) = (p.first(), p.last()) else {
        return "00".into();
    };
    if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() {
        return [char::from(a), char::from(b)].iter().collect();
    }
    let hex = |n: u8| char::from(HEX[usize::from(n & 0x0f)]);
    [hex(a >> 4), hex(b)].iter().collect()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends "002f,0035,…": lower-case 4-digit hex, comma separated. By hand:
/// `write!` took a third of JA4's cost (callgrind).
fn hex_list(out: &mut Vec<u8>, v: &[u16]) {
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        for shift in [12, 8, 4, 0] {
            out.push(HEX[usize::from((x >> shift) & 0x0f)]);
        }
    }
}

/// First 12 hex digits of the SHA-256 of `text`; twelve zeros for an empty list.
fn hash12(text: &[u8]) -> String {
    if text.is_empty() {
        return "000000000000".into();
    }
    let d = digest(&SHA256, text);
    d.as_ref()
        .iter()
        .take(6)
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpi::tls::tests::push_ext;

    /// The example of the JA4 specification (technical_details/JA4.md):
    /// ciphers, extensions and signature algorithms in the hello's order.
    const CIPHERS: [u16; 15] = [
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f,
        0x0035,
    ];
    const EXTS: [u16; 16] = [
        0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b,
        0x000a, 0x0015,
    ];
    const SIGS: [u16; 8] = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

    /// The spec example's extension block, with GREASE added (to be ignored);
    /// the signature algorithms extension is empty unless `sigs`.
    fn spec_block(sigs: bool) -> Vec<u8> {
        let mut b = Vec::new();
        push_ext(&mut b, 0x0a0a, &[]);
        for e in EXTS {
            let body: Vec<u8> = match e {
                0x0000 => b"\x00\x0e\x00\x00\x0bexample.com".to_vec(),
                0x0010 => b"\x00\x0c\x02h2\x08http/1.1".to_vec(),
                0x002b => vec![6, 0x3a, 0x3a, 3, 4, 3, 3],
                0x000d if sigs => {
                    let mut v = ((SIGS.len() * 2) as u16).to_be_bytes().to_vec();
                    SIGS.iter().for_each(|s| v.extend_from_slice(&s.to_be_bytes()));
                    v
                }
                0x000d => vec![0, 0],
                _ => vec![0],
            };
            push_ext(&mut b, e, &body);
        }
        b
    }

    #[test]
    fn spec_example() {
        let mut ciphers = vec![0x2a2a];
        ciphers.extend_from_slice(&CIPHERS);
        assert_eq!(fingerprint('t', 0x0303, &ciphers, &spec_block(true)), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn spec_example_without_signature_algorithms() {
        // The spec: "0005,…,ff01 = 6d807ffa2a79" (no underscore after the list).
        assert_eq!(fingerprint('t', 0x0303, &CIPHERS, &spec_block(false)), "t13d1516h2_8daaf6152771_6d807ffa2a79");
    }

    #[test]
    fn no_extensions_no_sni_no_alpn() {
        let f = fingerprint('t', 0x0301, &[0x002f], &[]);
        assert_eq!(f, format!("t10i010000_{}_000000000000", hash12(b"002f")));
        assert_eq!(fingerprint('q', 0x9999, &[], &[]), "q00i000000_000000000000_000000000000");
    }

    #[test]
    fn alpn_that_is_not_alphanumeric_shows_as_hex() {
        assert_eq!(alpn_code(b"http/1.1"), "h1");
        assert_eq!(alpn_code(b"h"), "hh");
        assert_eq!(alpn_code(&[0xab, 0x01]), "a1");
        assert_eq!(alpn_code(b""), "00");
    }
}

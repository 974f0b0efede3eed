//! JA4 TLS client fingerprint, as FoxIO's specification defines it
//! (github.com/FoxIO-LLC/ja4, technical_details/JA4.md): written here
//! because no maintained crate computes it from a parsed ClientHello.
//!
//! `t13d1516h2_8daaf6152771_e5627efa2ab1`: transport, version, SNI or not,
//! cipher and extension counts, first ALPN's first and last character; the
//! truncated SHA-256 of the sorted cipher list; that of the sorted extension
//! list (less SNI and ALPN) and the signature algorithms in their order.
//! GREASE values are ignored everywhere.

use super::tls::{EXT_ALPN, EXT_SNI, EXT_SUPPORTED_VERSIONS, extensions, is_grease};
use ring::digest::{SHA256, digest};
use smallvec::SmallVec;

const EXT_SIG_ALGS: u16 = 0x000d;

/// A list of cipher suites or extension types: on the stack for any usual
/// hello (allocations were a third of JA4's cost besides the digests).
type Ids = SmallVec<[u16; 64]>;

/// The fingerprint of a ClientHello: `transport` is 't' (TCP) or 'q'
/// (QUIC); `legacy_version` the hello's version field; `ciphers` its cipher
/// suites and `ext_block` its extensions, as sent.
pub(crate) fn fingerprint(
    transport: char,
    legacy_version: u16,
    ciphers: impl Iterator<Item = u16>,
    ext_block: &[u8],
) -> String {
    let mut ciphers: Ids = ciphers.filter(|c| !is_grease(*c)).collect();
    let mut exts = Ids::new();
    let (mut sni, mut alpn, mut sig_algs, mut version): (_, Option<&[u8]>, &[u8], _) =
        (false, None, &[], legacy_version);
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
            EXT_SIG_ALGS => sig_algs = body.get(2..).unwrap_or_default(),
            EXT_SUPPORTED_VERSIONS => {
                if let Some(m) = u16s(body.get(1..).unwrap_or_default()).max() {
                    version = m;
                }
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(36);
    out.push(transport);
    out.push_str(version_code(version));
    out.push(if sni { 'd' } else { 'i' });
    push_count(&mut out, ciphers.len());
    push_count(&mut out, exts.len());
    push_alpn_code(&mut out, alpn.unwrap_or_default());
    out.push('_');
    ciphers.sort_unstable();
    let mut text = Vec::with_capacity(5 * ciphers.len().max(exts.len() + sig_algs.len() / 2) + 1);
    hex_list(&mut text, ciphers.iter().copied());
    push_hash12(&mut out, listed(&text));
    out.push('_');
    let any_ext = !exts.is_empty();
    exts.retain(|e| *e != EXT_SNI && *e != EXT_ALPN);
    exts.sort_unstable();
    text.clear();
    hex_list(&mut text, exts.iter().copied());
    // The signature algorithms follow after '_' (in place of a comma).
    let sigs_at = text.len();
    hex_list(&mut text, u16s(sig_algs));
    if let Some(sep) = text.get_mut(sigs_at) {
        *sep = b'_';
    }
    // Without extensions listed, the text starts with the '_' (or is empty).
    let text = if exts.is_empty() { &text[..] } else { listed(&text) };
    // The spec's value for a hello without extensions: zeros, not a hash of "".
    if any_ext {
        push_hash12(&mut out, text)
    } else {
        out.push_str("000000000000")
    }
    out
}

/// Big-endian u16s of a list body, GREASE left out.
fn u16s(d: &[u8]) -> impl Iterator<Item = u16> + '_ {
    d.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).filter(|v| !is_grease(*v))
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

/// A count as two decimal digits, 99 at most.
fn push_count(out: &mut String, n: usize) {
    let n = n.min(99);
    out.push(char::from(b'0' + (n / 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// First and last characters of the first ALPN value; when either is not
/// alphanumeric, the first and last characters of its hex form; "00" for none.
fn push_alpn_code(out: &mut String, p: &[u8]) {
    let (Some(&a), Some(&b)) = (p.first(), p.last()) else {
        out.push_str("00");
        return;
    };
    if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() {
        out.push(char::from(a));
        out.push(char::from(b));
        return;
    }
    out.push(char::from(HEX[usize::from(a >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends "002f,0035,…": lower-case 4-digit hex, comma separated. By hand:
/// `write!` took a third of JA4's cost (callgrind); five bytes written per
/// value into room made once.
fn hex_list(out: &mut Vec<u8>, v: impl Iterator<Item = u16>) {
    for x in v {
        let [hi, lo] = x.to_be_bytes();
        out.extend_from_slice(&[
            b',',
            HEX[usize::from(hi >> 4)],
            HEX[usize::from(hi & 0x0f)],
            HEX[usize::from(lo >> 4)],
            HEX[usize::from(lo & 0x0f)],
        ]);
    }
}

/// What `hex_list` wrote, without its leading comma.
fn listed(text: &[u8]) -> &[u8] {
    text.get(1..).unwrap_or_default()
}

/// Appends the first 12 hex digits of the SHA-256 of `text`; twelve zeros
/// for an empty list.
fn push_hash12(out: &mut String, text: &[u8]) {
    if text.is_empty() {
        out.push_str("000000000000");
        return;
    }
    let d = digest(&SHA256, text);
    for b in d.as_ref().iter().take(6) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
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
        assert_eq!(
            fingerprint('t', 0x0303, ciphers.into_iter(), &spec_block(true)),
            "t13d1516h2_8daaf6152771_e5627efa2ab1"
        );
    }

    #[test]
    fn spec_example_without_signature_algorithms() {
        // The spec: "0005,…,ff01 = 6d807ffa2a79" (no underscore after the list).
        assert_eq!(
            fingerprint('t', 0x0303, CIPHERS.into_iter(), &spec_block(false)),
            "t13d1516h2_8daaf6152771_6d807ffa2a79"
        );
    }

    #[test]
    fn no_extensions_no_sni_no_alpn() {
        let f = fingerprint('t', 0x0301, [0x002f].into_iter(), &[]);
        let mut hash = String::new();
        push_hash12(&mut hash, b"002f");
        assert_eq!(f, format!("t10i010000_{hash}_000000000000"));
        assert_eq!(fingerprint('q', 0x9999, [].into_iter(), &[]), "q00i000000_000000000000_000000000000");
    }

    #[test]
    fn alpn_that_is_not_alphanumeric_shows_as_hex() {
        let code = |p: &[u8]| {
            let mut s = String::new();
            push_alpn_code(&mut s, p);
            s
        };
        assert_eq!(code(b"http/1.1"), "h1");
        assert_eq!(code(b"h"), "hh");
        assert_eq!(code(&[0xab, 0x01]), "a1");
        assert_eq!(code(b""), "00");
    }
}

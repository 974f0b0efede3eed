//! Initial packet protection (RFC 9001 §5, RFC 9369 §3.3): key derivation
//! from the client's first Destination Connection ID, header protection
//! removal and AES-128-GCM opening, all through `ring`.

use super::header::{InitialProtection, PROTECTIONS, decode_pn};
use ring::aead::quic::{AES_128, HeaderProtectionKey};
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, KeyType, Prk, Salt};
use std::sync::OnceLock;

/// Packet protection keys of one direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Keys {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

/// Initial keys for one version and client DCID: the client's, derived at
/// once, and the server's, derived from the kept initial secret only when a
/// server Initial is to be opened (a capture of one direction, or a client
/// nobody answers, never pays for them).
#[derive(Clone, Debug)]
pub(super) struct InitialKeys {
    pub version: u32,
    pub dcid: Vec<u8>,
    /// The protection (salt and labels) they were derived with.
    pub prot: InitialProtection,
    pub client: Keys,
    initial: Prk,
    server: Option<Keys>,
}

impl InitialKeys {
    /// The keys of the client's (`client`) or the server's packets.
    pub(super) fn of(&mut self, client: bool) -> Option<&Keys> {
        if client {
            return Some(&self.client);
        }
        if self.server.is_none() {
            let mut secret = [0u8; 32];
            expand_label(&self.initial, b"server in", &mut secret)?;
            self.server = Some(keys_from_secret(&secret, self.prot.v2_labels)?);
        }
        self.server.as_ref()
    }
}

/// An output length for ring's HKDF.
struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label of TLS 1.3 (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &Prk, label: &[u8], out: &mut [u8]) -> Option<()> {
    let len = u16::try_from(out.len()).ok()?.to_be_bytes();
    let label_len = [u8::try_from(6 + label.len()).ok()?];
    let info: [&[u8]; 5] = [&len, &label_len, b"tls13 ", label, &[0]];
    prk.expand(&info, Len(out.len())).ok()?.fill(out).ok()
}

fn keys_from_secret(secret: &[u8; 32], v2_labels: bool) -> Option<Keys> {
    let prk = Prk::new_less_safe(HKDF_SHA256, secret);
    let (lk, li, lh): (&[u8], &[u8], &[u8]) =
        if v2_labels { (b"quicv2 key", b"quicv2 iv", b"quicv2 hp") } else { (b"quic key", b"quic iv", b"quic hp") };
    let mut k = Keys { key: [0; 16], iv: [0; 12], hp: [0; 16] };
    expand_label(&prk, lk, &mut k.key)?;
    expand_label(&prk, li, &mut k.iv)?;
    expand_label(&prk, lh, &mut k.hp)?;
    Some(k)
}

/// The HKDF salt of a protection, keyed once per process: keying HMAC with
/// it costs two SHA-256 blocks per connection otherwise (of 26).
fn salt(prot: InitialProtection) -> &'static Salt {
    static SALTS: [OnceLock<Salt>; PROTECTIONS] = [const { OnceLock::new() }; PROTECTIONS];
    SALTS[prot.id % PROTECTIONS].get_or_init(|| Salt::new(HKDF_SHA256, prot.salt))
}

/// Derives the Initial keys (RFC 9001 §5.2): the client's now, the server's
/// when first asked for ([`InitialKeys::of`]).
pub(super) fn initial_keys(version: u32, prot: InitialProtection, dcid: &[u8]) -> Option<InitialKeys> {
    let initial = salt(prot).extract(dcid);
    let mut client = [0u8; 32];
    expand_label(&initial, b"client in", &mut client)?;
    Some(InitialKeys {
        version,
        dcid: dcid.to_vec(),
        prot,
        client: keys_from_secret(&client, prot.v2_labels)?,
        initial,
        server: None,
    })
}

/// An opened packet: where its plaintext lies in the scratch buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Opened {
    pub pn: u64,
    pub start: usize,
    pub end: usize,
}

/// Removes header protection and decrypts the long header packet `packet`
/// (exactly one packet, `pn_offset` from `header::parse_long`) into
/// `scratch`. None when it is too short or does not authenticate.
pub(super) fn open(
    keys: &Keys,
    packet: &[u8],
    pn_offset: usize,
    largest_pn: Option<u64>,
    scratch: &mut Vec<u8>,
) -> Option<Opened> {
    // The sample starts 4 bytes after the packet number offset (RFC 9001 §5.4.2).
    let sample = packet.get(pn_offset + 4..pn_offset + 20)?;
    let hp = HeaderProtectionKey::new(&AES_128, &keys.hp).ok()?;
    let mask = hp.new_mask(sample).ok()?;
    scratch.clear();
    scratch.extend_from_slice(packet);
    scratch[0] ^= mask[0] & 0x0f; // long header: low 4 bits are protected
    let pn_len = usize::from(scratch[0] & 0x03) + 1;
    let mut truncated = 0u64;
    for i in 0..pn_len {
        let b = scratch.get_mut(pn_offset + i)?;
        *b ^= mask[1 + i];
        truncated = (truncated << 8) | u64::from(*b);
    }
    let pn = decode_pn(largest_pn, truncated, pn_len);
    let mut nonce = keys.iv;
    for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let body_start = pn_offset + pn_len;
    if scratch.len() < body_start + 16 {
        return None;
    }
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &keys.key).ok()?);
    let (header, body) = scratch.split_at_mut(body_start);
    let plain = key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&*header), body).ok()?;
    let end = body_start + plain.len();
    Some(Opened { pn, start: body_start, end })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::header::{V1, V2, initial_protection, parse_long};
    use super::*;

    /// Bytes of a hex string (whitespace and line breaks ignored); also used by `quic::tests`.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test vector is hex")).collect()
    }

    const DCID: &str = "8394c8f03e515708";

    fn keys(version: u32) -> InitialKeys {
        let prot = initial_protection(version).expect("known version");
        initial_keys(version, prot, &hex(DCID)).expect("derivation")
    }

    // RFC 9001 §A.1.
    #[test]
    fn rfc9001_initial_keys() {
        let mut k = keys(V1);
        assert_eq!(k.client.key.to_vec(), hex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(k.client.iv.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(k.client.hp.to_vec(), hex("9f50449e04a0e810283a1e9933adedd2"));
        let server = k.of(false).expect("server keys").clone();
        assert_eq!(server.key.to_vec(), hex("cf3a5331653c364c88f0f379b6067e37"));
        assert_eq!(server.iv.to_vec(), hex("0ac1493ca1905853b0bba03e"));
        assert_eq!(server.hp.to_vec(), hex("c206b8d9b9f0f37644430b490eeaa314"));
    }

    // RFC 9369 §A.1.
    #[test]
    fn rfc9369_initial_keys() {
        let mut k = keys(V2);
        assert_eq!(k.client.key.to_vec(), hex("8b1a0bc121284290a29e0971b5cd045d"));
        assert_eq!(k.client.iv.to_vec(), hex("91f73e2351d8fa91660e909f"));
        assert_eq!(k.client.hp.to_vec(), hex("45b95e15235d6f45a6b19cbcb0294ba9"));
        let server = k.of(false).expect("server keys").clone();
        assert_eq!(server.key.to_vec(), hex("82db637861d55e1d011f19ea71d5d2a7"));
        assert_eq!(server.iv.to_vec(), hex("dd13c276499c0249d3310652"));
        assert_eq!(server.hp.to_vec(), hex("edf6d05c83121201b436e16877593c3a"));
    }

    /// The CRYPTO frame of the client Initial in RFC 9001 §A.2 (same in RFC 9369 §A.2).
    pub(crate) const CLIENT_CRYPTO: &str = "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868\
        04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578\
        616d706c652e636f6dff01000100000a00080006001d00170018001000070005\
        04616c706e000500050100000000003300260024001d00209370b2c9caa47fba\
        baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400\
        0d0010000e0403050306030203080408050806002d00020101001c0002400100\
        3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000\
        75300901100f088394c8f03e51570806048000ffff";

    /// The server Initial payload of RFC 9001 §A.3 (same in RFC 9369 §A.3).
    const SERVER_PAYLOAD: &str = "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739\
        88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94\
        0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00\
        020304";

    fn check_client(version: u32, packet_hex: &str) {
        let packet = hex(packet_hex);
        assert_eq!(packet.len(), 1200);
        let h = parse_long(&packet).expect("header");
        assert_eq!(h.version, version);
        assert_eq!(h.dcid, &hex(DCID)[..]);
        assert_eq!((h.pn_offset, h.packet_len), (18, 1200));
        let mut scratch = Vec::new();
        let o = open(&keys(version).client, &packet, h.pn_offset, None, &mut scratch).expect("opens");
        assert_eq!(o.pn, 2);
        let plain = &scratch[o.start..o.end];
        let crypto = hex(CLIENT_CRYPTO);
        assert_eq!(plain.len(), 1162);
        assert_eq!(&plain[..crypto.len()], &crypto[..]);
        assert!(plain[crypto.len()..].iter().all(|&b| b == 0), "PADDING");
        // The server's keys must not open it.
        let mut k = keys(version);
        let server = k.of(false).expect("server keys");
        assert!(open(server, &packet, h.pn_offset, None, &mut scratch).is_none());
    }

    fn check_server(version: u32, packet_hex: &str) {
        let packet = hex(packet_hex);
        let h = parse_long(&packet).expect("header");
        let mut scratch = Vec::new();
        let mut k = keys(version);
        let server = k.of(false).expect("server keys");
        let o = open(server, &packet, h.pn_offset, None, &mut scratch).expect("opens");
        assert_eq!(o.pn, 1);
        assert_eq!(&scratch[o.start..o.end], &hex(SERVER_PAYLOAD)[..]);
    }

    #[test]
    fn rfc9001_client_initial_decrypts() {
        check_client(V1, include_str!("testdata/rfc9001_client_initial.hex"));
    }

    #[test]
    fn rfc9001_server_initial_decrypts() {
        check_server(V1, include_str!("testdata/rfc9001_server_initial.hex"));
    }

    #[test]
    fn rfc9369_client_initial_decrypts() {
        check_client(V2, include_str!("testdata/rfc9369_client_initial.hex"));
    }

    #[test]
    fn rfc9369_server_initial_decrypts() {
        check_server(V2, include_str!("testdata/rfc9369_server_initial.hex"));
    }

    #[test]
    fn tampered_packet_is_rejected() {
        let mut packet = hex(include_str!("testdata/rfc9001_client_initial.hex"));
        packet[600] ^= 1;
        let mut scratch = Vec::new();
        assert!(open(&keys(V1).client, &packet, 18, None, &mut scratch).is_none());
        assert!(open(&keys(V1).client, &packet[..30], 18, None, &mut scratch).is_none());
    }
}

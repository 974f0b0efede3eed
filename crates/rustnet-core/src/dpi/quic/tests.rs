//! State machine tests on RFC 9001 packets and on packets protected here
//! with the RFC's keys (the protection itself is checked in `crypto`).

use super::crypto::tests::{CLIENT_CRYPTO, hex};
use super::*;
use ring::aead::quic::{AES_128, HeaderProtectionKey};
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

/// The ClientHello of RFC 9001 §A.2 (SNI "example.com", ALPN "alpn").
fn rfc_client_hello() -> Vec<u8> {
    hex(CLIENT_CRYPTO)[4..].to_vec() // drop type 06, offset 00, length 40f1
}

fn varint(v: u64) -> Vec<u8> {
    if v < 64 {
        vec![v as u8]
    } else if v < 16384 {
        ((v as u16) | 0x4000).to_be_bytes().to_vec()
    } else {
        ((v as u32) | 0x8000_0000).to_be_bytes().to_vec()
    }
}

fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend(varint(offset));
    f.extend(varint(data.len() as u64));
    f.extend_from_slice(data);
    f
}

/// Builds and protects an Initial packet with a 2-byte packet number;
/// keys come from `key_dcid` (the client's first DCID).
fn protect_keyed(
    version: u32,
    from_client: bool,
    key_dcid: &[u8],
    dcid: &[u8],
    scid: &[u8],
    pn: u64,
    payload: &[u8],
) -> Vec<u8> {
    let prot = header::initial_protection(version).expect("known version");
    let mut keys = crypto::initial_keys(version, prot, key_dcid).expect("keys");
    let k = keys.of(from_client).expect("keys of the side").clone();
    seal(version, &k, dcid, scid, pn, payload)
}

/// A client Initial whose keys come from its own DCID.
fn protect(version: u32, dcid: &[u8], scid: &[u8], pn: u64, payload: &[u8]) -> Vec<u8> {
    protect_keyed(version, true, dcid, dcid, scid, pn, payload)
}

fn seal(version: u32, k: &crypto::Keys, dcid: &[u8], scid: &[u8], pn: u64, payload: &[u8]) -> Vec<u8> {
    let type_bits = if version == header::V2 { 0x10 } else { 0x00 };
    let mut p = vec![0xc0 | type_bits | 0x01, 0, 0, 0, 0];
    p[1..5].copy_from_slice(&version.to_be_bytes());
    p.push(dcid.len() as u8);
    p.extend_from_slice(dcid);
    p.push(scid.len() as u8);
    p.extend_from_slice(scid);
    p.push(0); // token length
    let mut body = payload.to_vec();
    while body.len() < 20 {
        body.push(0); // PADDING, so a header protection sample exists
    }
    p.extend(((2 + body.len() + 16) as u16 | 0x4000).to_be_bytes());
    let pn_offset = p.len();
    p.extend((pn as u16).to_be_bytes());
    let mut nonce = k.iv;
    for (n, b) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
        *n ^= b;
    }
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &k.key).expect("key"));
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&p[..]), &mut body).expect("seal");
    p.extend(body);
    let hp = HeaderProtectionKey::new(&AES_128, &k.hp).expect("hp");
    let mask = hp.new_mask(&p[pn_offset + 4..pn_offset + 20]).expect("mask");
    p[0] ^= mask[0] & 0x0f;
    p[pn_offset] ^= mask[1];
    p[pn_offset + 1] ^= mask[2];
    p
}

fn handshake_packet(version: u32) -> Vec<u8> {
    // Type bits 10 (v1 Handshake); content is opaque to a monitor.
    let mut p = vec![0xe1];
    p.extend(version.to_be_bytes());
    p.extend([0, 0, 0x40, 20]);
    p.extend([0xaa; 20]);
    p
}

const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

#[test]
fn rfc9001_packets_give_sni_alpn_and_progress() {
    let client = hex(include_str!("testdata/rfc9001_client_initial.hex"));
    let server = hex(include_str!("testdata/rfc9001_server_initial.hex"));
    assert!(QuicState::looks_like_quic(&client));
    let mut q = QuicState::default();
    let mut info = QuicInfo::default();
    assert_eq!(q.on_datagram(Side::Client, &client, &mut info), Some(State::QuicInitial));
    assert_eq!(info.version.as_deref(), Some("v1"));
    assert_eq!(info.sni.as_deref(), Some("example.com"));
    assert_eq!(info.alpn, ["alpn"]);
    // The server's Initial decrypts with the server keys of the client's DCID.
    assert_eq!(q.on_datagram(Side::Server, &server, &mut info), Some(State::QuicInitial));
    assert_eq!(q.inner.as_ref().and_then(|i| i.largest_pn[Side::Server]), Some(1));
    assert_eq!(q.on_datagram(Side::Server, &handshake_packet(1), &mut info), Some(State::QuicHandshake));
    assert_eq!(q.on_datagram(Side::Client, &[0x41, 1, 2, 3, 4, 5], &mut info), Some(State::QuicHandshake));
    assert!(!q.is_done());
    assert_eq!(q.on_datagram(Side::Server, &[0x45, 9, 9, 9], &mut info), Some(State::QuicConnected));
    assert!(q.is_done());
    assert!(q.inner.is_none(), "buffers freed once done");
}

#[test]
fn client_hello_split_out_of_order_coalesced_and_padded() {
    let ch = rfc_client_hello();
    let (a, b) = ch.split_at(100);
    let second = protect(1, &DCID, &[], 1, &crypto_frame(100, b));
    let first = protect(1, &DCID, &[], 0, &crypto_frame(0, a));
    let mut q = QuicState::default();
    let mut info = QuicInfo::default();
    q.on_datagram(Side::Client, &second, &mut info);
    assert_eq!(info.sni, None);
    // Second part first, then a datagram with a coalesced Initial, a
    // Handshake packet and trailing zero padding.
    let mut dgram = first.clone();
    dgram.extend(handshake_packet(1));
    dgram.extend([0u8; 40]);
    assert_eq!(q.on_datagram(Side::Client, &dgram, &mut info), Some(State::QuicHandshake));
    assert_eq!(info.sni.as_deref(), Some("example.com"));
}

#[test]
fn v2_and_draft_versions_decrypt() {
    for (version, name) in
        [(header::V2, "v2"), (0xff00_0017, "draft-23"), (0xff00_001d, "draft-29"), (0xff00_0020, "draft-32")]
    {
        let p = protect(version, &DCID, &[1, 2], 0, &crypto_frame(0, &rfc_client_hello()));
        let mut q = QuicState::default();
        let mut info = QuicInfo::default();
        assert!(QuicState::looks_like_quic(&p), "{name}");
        assert_eq!(q.on_datagram(Side::Client, &p, &mut info), Some(State::QuicInitial));
        assert_eq!(info.version.as_deref(), Some(name));
        assert_eq!(info.sni.as_deref(), Some("example.com"), "{name}");
    }
}

#[test]
fn connection_close_in_server_initial() {
    let ch = protect(1, &DCID, &[], 0, &crypto_frame(0, &rfc_client_hello()));
    // CONNECTION_CLOSE 0x1c: error 0x128 (CRYPTO_ERROR 40), frame type 6, "bad".
    let close = [0x1c, 0x41, 0x28, 0x06, 0x03, b'b', b'a', b'd'];
    let srv = protect_keyed(1, false, &DCID, &[9, 9, 9, 9], &[7; 8], 0, &close);
    let mut q = QuicState::default();
    let mut info = QuicInfo::default();
    q.on_datagram(Side::Client, &ch, &mut info);
    assert_eq!(q.on_datagram(Side::Server, &srv, &mut info), Some(State::QuicClosed));
    assert_eq!(info.close, Some(QuicClose { code: 0x128, reason: "bad".into() }));
    assert!(q.is_done());
}

#[test]
fn version_negotiation_then_v1() {
    let ch = crypto_frame(0, &rfc_client_hello());
    // A reserved version forces VN; clients protect it like v1.
    let first = protect(0x1a2a_3a4a, &DCID, &[5; 4], 0, &ch[..50]);
    let mut vn = vec![0x80, 0, 0, 0, 0, 4, 5, 5, 5, 5, 8];
    vn.extend(DCID);
    vn.extend(1u32.to_be_bytes());
    assert!(QuicState::looks_like_quic(&vn));
    let retry_dcid = [0x42; 12];
    let second = protect(1, &retry_dcid, &[5; 4], 0, &ch);
    let mut q = QuicState::default();
    let mut info = QuicInfo::default();
    assert_eq!(q.on_datagram(Side::Client, &first, &mut info), Some(State::QuicInitial));
    assert_eq!(info.version.as_deref(), Some("0x1a2a3a4a"));
    // VN (version 0, RFC 9000 §17.2.1) is no connection version and no
    // handshake progress: the version and state stay the client's Initial's.
    assert_eq!(q.on_datagram(Side::Server, &vn, &mut info), Some(State::QuicInitial));
    assert_eq!(info.version.as_deref(), Some("0x1a2a3a4a"));
    assert_eq!(info.sni, None);
    q.on_datagram(Side::Client, &second, &mut info);
    assert_eq!(info.version.as_deref(), Some("v1"));
    assert_eq!(info.sni.as_deref(), Some("example.com"));
    // The new attempt is keyed on its own DCID, in the version VN listed.
    let keys = q.inner.as_ref().and_then(|i| i.keys.as_ref()).expect("keys");
    let listed = u32::from_be_bytes(vn[vn.len() - 4..].try_into().expect("one version"));
    assert_eq!((keys.version, &keys.dcid[..]), (listed, &retry_dcid[..]));
}

#[test]
fn retry_then_new_dcid() {
    let ch = rfc_client_hello();
    let first = protect(1, &DCID, &[5; 4], 0, &crypto_frame(0, &ch[..60]));
    // Retry: type 3, SCID = new DCID the client must use, token, 16-byte tag.
    let mut retry = vec![0xf0, 0, 0, 0, 1, 4, 5, 5, 5, 5, 6, 1, 2, 3, 4, 5, 6];
    retry.extend(b"token");
    retry.extend([0u8; 16]);
    let second = protect(1, &[1, 2, 3, 4, 5, 6], &[5; 4], 1, &crypto_frame(0, &ch));
    let mut q = QuicState::default();
    let mut info = QuicInfo::default();
    assert_eq!(q.on_datagram(Side::Client, &first, &mut info), Some(State::QuicInitial));
    assert_eq!(info.sni, None, "first Initial holds only part of the ClientHello");
    // A Retry is no handshake progress (RFC 9000 §17.2.5): the state stays
    // the Initial's, the version is the Retry's own (v1).
    assert_eq!(q.on_datagram(Side::Server, &retry, &mut info), Some(State::QuicInitial));
    assert_eq!(info.version.as_deref(), Some("v1"));
    assert_eq!(info.sni, None);
    q.on_datagram(Side::Client, &second, &mut info);
    assert_eq!(info.sni.as_deref(), Some("example.com"));
    // The client's Initial after the Retry uses the Retry's SCID as DCID, and the keys follow it.
    let keys = q.inner.as_ref().and_then(|i| i.keys.as_ref()).expect("keys");
    assert_eq!(keys.dcid, retry[11..17]);
}

#[test]
fn crypto_stream_bound_gives_up_without_growing() {
    let mut q = QuicState::default();
    let mut info = QuicInfo::default();
    // A ClientHello header claiming 60 KB.
    let p = protect(1, &DCID, &[], 0, &crypto_frame(0, &[1, 0, 0xf0, 0, 3, 3]));
    q.on_datagram(Side::Client, &p, &mut info);
    assert!(q.inner.as_ref().is_some_and(|i| i.hello_done));
    let p = protect(1, &DCID, &[], 1, &crypto_frame(20_000, &[1; 100]));
    q.on_datagram(Side::Client, &p, &mut info);
    assert_eq!(info.sni, None);
}

#[test]
fn not_quic() {
    assert!(!QuicState::looks_like_quic(b""));
    assert!(!QuicState::looks_like_quic(b"\x01\x00\x00\x01\x00\x00\x00\x00"));
    assert!(!QuicState::looks_like_quic(&[0xc0, 0x12, 0x34, 0x56, 0x78, 0, 0]));
}

proptest::proptest! {
    #[test]
    fn never_panics(dgrams in proptest::collection::vec((proptest::bool::ANY, proptest::collection::vec(proptest::num::u8::ANY, 0..1400)), 1..8)) {
        let mut q = QuicState::default();
        let mut info = QuicInfo::default();
        for (dir, d) in &dgrams {
            let _ = QuicState::looks_like_quic(d);
            q.on_datagram(Side::client_if(*dir), d, &mut info);
        }
    }

    #[test]
    fn never_panics_on_mutated_initials(pos in 0usize..1200, val in proptest::num::u8::ANY, cut in 0usize..1300) {
        let mut p = hex(include_str!("testdata/rfc9001_client_initial.hex"));
        p[pos] = val;
        p.truncate(cut);
        let mut q = QuicState::default();
        let mut info = QuicInfo::default();
        q.on_datagram(Side::Client, &p, &mut info);
    }
}

#[test]
fn client_is_whoever_sends_the_first_initial() {
    // A server-side capture: the caller calls the client's packets remote.
    let client = hex(include_str!("testdata/rfc9001_client_initial.hex"));
    let server = hex(include_str!("testdata/rfc9001_server_initial.hex"));
    let mut q = QuicState::default();
    let mut info = QuicInfo::default();
    q.on_datagram(Side::Server, &client, &mut info);
    q.on_datagram(Side::Client, &server, &mut info);
    assert_eq!(info.sni.as_deref(), Some("example.com"));
    assert_eq!(q.inner.as_ref().and_then(|i| i.largest_pn[Side::Server]), Some(1), "server Initial opened");
}

//! Fuzzes the QUIC inspector. The input is split into datagrams, each
//! prefixed by two bytes: bit 0x80 = from the client, bit 0x40 = the bytes
//! are the plaintext of a client Initial (sealed here with the RFC 9001
//! §A.1 keys, so the frame walker, CRYPTO reassembly and ClientHello parser
//! are reached past the AEAD), low 11 bits = length.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ring::aead::quic::{AES_128, HeaderProtectionKey};
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use rustnet_core::dpi::QuicInfo;
use rustnet_core::fuzzing::{QuicState, Side};

/// RFC 9001 §A.1: client Initial keys for DCID 8394c8f03e515708.
const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
const KEY: [u8; 16] = [
    0x1f, 0x36, 0x96, 0x13, 0xdd, 0x76, 0xd5, 0x46, 0x77, 0x30, 0xef, 0xcb, 0xe3, 0xb1, 0xa2, 0x2d,
];
const IV: [u8; 12] = [
    0xfa, 0x04, 0x4b, 0x2f, 0x42, 0xa3, 0xfd, 0x3b, 0x46, 0xfb, 0x25, 0x5c,
];
const HP: [u8; 16] = [
    0x9f, 0x50, 0x44, 0x9e, 0x04, 0xa0, 0xe8, 0x10, 0x28, 0x3a, 0x1e, 0x99, 0x33, 0xad, 0xed, 0xd2,
];

/// A v1 client Initial carrying `plain` (padded to have a sample), packet number `pn`.
fn seal(plain: &[u8], pn: u16) -> Option<Vec<u8>> {
    let mut body = plain.to_vec();
    body.resize(body.len().max(20), 0);
    let mut p = vec![0xc1, 0, 0, 0, 1, 8];
    p.extend_from_slice(&DCID);
    p.extend_from_slice(&[0, 0]); // SCID length, token length
    p.extend_from_slice(&(u16::try_from(2 + body.len() + 16).ok()? | 0x4000).to_be_bytes());
    let pn_offset = p.len();
    p.extend_from_slice(&pn.to_be_bytes());
    let mut nonce = IV;
    nonce[10] ^= (pn >> 8) as u8;
    nonce[11] ^= pn as u8;
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &KEY).ok()?);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(&p[..]),
        &mut body,
    )
    .ok()?;
    p.extend_from_slice(&body);
    let mask = HeaderProtectionKey::new(&AES_128, &HP)
        .ok()?
        .new_mask(&p[pn_offset + 4..pn_offset + 20])
        .ok()?;
    p[0] ^= mask[0] & 0x0f;
    p[pn_offset] ^= mask[1];
    p[pn_offset + 1] ^= mask[2];
    Some(p)
}

fuzz_target!(|data: &[u8]| {
    let mut state = QuicState::default();
    let mut info = QuicInfo::default();
    let mut rest = data;
    let mut pn = 0u16;
    while let [hi, lo, tail @ ..] = rest {
        let from_client = hi & 0x80 != 0;
        let len = (usize::from(hi & 0x07) << 8 | usize::from(*lo)).min(tail.len());
        let (chunk, next) = tail.split_at(len);
        rest = next;
        let sealed;
        let dgram = if hi & 0x40 != 0 {
            pn = pn.wrapping_add(1);
            match seal(chunk, pn) {
                Some(p) => {
                    sealed = p;
                    &sealed[..]
                }
                None => continue,
            }
        } else {
            chunk
        };
        let _ = QuicState::looks_like_quic(dgram);
        if !state.is_done() {
            state.on_datagram(Side::client_if(from_client || hi & 0x40 != 0), dgram, &mut info);
        }
    }
});

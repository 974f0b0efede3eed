//! Entry points shared by the fuzz targets (fuzz/) and the test that replays
//! the committed fuzz corpus, so both run exactly the same code.

use super::reassembly::Reassembler;
use super::ssh::SshState;
use super::tls::TlsState;
use super::{SshInfo, TlsInfo, dns, http, tls};
use crate::wire::LinkType;
use crate::{Config, Engine, Timestamp};

pub use super::quic::QuicState;
pub use super::side::Side;

/// Splits input into segments: each segment is preceded by one length byte.
fn segments(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut d = data;
    std::iter::from_fn(move || {
        let (&n, rest) = d.split_first()?;
        let n = usize::from(n).max(1).min(rest.len());
        let (seg, rest) = rest.split_at(n);
        d = rest;
        Some(seg)
    })
}

pub fn http(data: &[u8]) {
    let _ = http::sniff(data);
    let _ = http::parse_request(data);
}

pub fn dns(data: &[u8]) {
    let _ = dns::parse(data, true);
    if let Some(m) = dns::parse(data, false) {
        let mut info = super::DnsInfo::default();
        dns::merge(&mut info, m);
    }
}

/// Whole input as one stream, then the same bytes cut into segments fed in order.
pub fn tls(data: &[u8]) {
    let _ = tls::sniff(data);
    if data.len() > 4 {
        let _ = tls::parse_client_hello(&data[4..]);
        let _ = tls::parse_server_hello(&data[4..]);
    }
    let mut r = Reassembler::default();
    let mut st = TlsState::default();
    let mut info = TlsInfo::default();
    let mut seq = 1u32;
    for s in segments(data) {
        r.push(seq, s);
        seq = seq.wrapping_add(s.len() as u32);
        st.on_data(Side::Client, &mut r, &mut info);
    }
}

pub fn ssh(data: &[u8]) {
    let mut st = SshState::default();
    let mut info = SshInfo::default();
    let mut rs = [Reassembler::default(), Reassembler::default()];
    let mut seqs = [0u32; 2];
    for (i, s) in segments(data).enumerate() {
        let side = i % 2;
        rs[side].push(seqs[side], s);
        seqs[side] = seqs[side].wrapping_add(s.len() as u32);
        st.on_data(Side::client_if(side == 0), &mut rs[side], &mut info);
        st.count_segment(Side::client_if(side == 0));
    }
}

/// First byte: link type; then frames, each preceded by a 2-byte length.
pub fn packets(data: &[u8]) {
    let Some((&lt, mut d)) = data.split_first() else {
        return;
    };
    let link = LinkType::from_number(u32::from(lt));
    let mut e = Engine::new(Config::default());
    let mut t = 0;
    while d.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([d[0], d[1]])).min(d.len() - 2);
        let frame = &d[2..2 + n];
        t += 1;
        e.process(link, Timestamp::from_nanos(t * 1_000_000), frame, n as u32);
        d = &d[2 + n..];
    }
    e.finish_all();
    let mut out = Vec::new();
    e.take_finished(&mut out);
}

/// The QUIC target's input without its sealing step: datagrams, each behind
/// a 2-byte prefix (0x8000 = from the client, low 11 bits = length).
pub fn quic(mut data: &[u8]) {
    let mut state = super::quic::QuicState::default();
    let mut info = super::QuicInfo::default();
    while let [hi, lo, rest @ ..] = data {
        let len = (usize::from(*hi & 0x07) << 8 | usize::from(*lo)).min(rest.len());
        let (dgram, tail) = rest.split_at(len);
        let _ = state.on_datagram(Side::client_if(hi & 0x80 != 0), dgram, &mut info);
        data = tail;
    }
}

//! Entry points shared by the fuzz targets (fuzz/) and the test that replays
//! the committed fuzz corpus, so both run exactly the same code.

use crate::dpi::inspect::{Datagram, DatagramClassifier, Inspector, Sniffed, Stream, StreamClassifier};
use crate::dpi::reassembly::Reassembler;
use crate::dpi::ssh::SshState;
use crate::dpi::tls::TlsState;
use crate::dpi::{SshInfo, TlsInfo, dns, ftp, http, mqtt, ntp, snmp, ssdp, stun, tls};
use crate::filter::Filter;
use crate::track::{Connection, Endpoint, Proto, State};
use crate::wire::LinkType;
use crate::{Config, Engine, Timestamp};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use crate::dpi::quic::QuicState;
pub use crate::dpi::side::Side;

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
        let mut info = crate::dpi::DnsInfo::default();
        dns::merge(&mut info, m);
    }
}

/// Whole input as one stream, then the same bytes cut into segments fed in order.
pub fn tls(data: &[u8]) {
    let _ = tls::sniff(data);
    if data.len() > 4 {
        let _ = tls::parse_client_hello(&data[4..], tls::Ja4::Tcp);
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

/// The LINKTYPE_ numbers the packet target's first byte selects from: every
/// number `LinkType::from_number` knows (SLL2 is 276, beyond one byte) and one
/// it does not (147, a user DLT), so no input is wasted on unknown types.
pub const LINK_NUMBERS: [u32; 14] = [0, 1, 9, 50, 12, 14, 101, 108, 113, 228, 229, 239, 276, 147];

/// The link type the packet target's first byte stands for.
pub fn link_of(byte: u8) -> LinkType {
    LinkType::from_number(LINK_NUMBERS[usize::from(byte) % LINK_NUMBERS.len()])
}

/// First byte: link type (index into `LINK_NUMBERS`, modulo its length);
/// then frames, each preceded by a 2-byte length.
pub fn packets(data: &[u8]) {
    let Some((&lt, mut d)) = data.split_first() else {
        return;
    };
    let link = link_of(lt);
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
    let mut state = crate::dpi::quic::QuicState::default();
    let mut info = crate::dpi::QuicInfo::default();
    while let [hi, lo, rest @ ..] = data {
        let len = (usize::from(*hi & 0x07) << 8 | usize::from(*lo)).min(rest.len());
        let (dgram, tail) = rest.split_at(len);
        let _ = state.on_datagram(Side::client_if(hi & 0x80 != 0), dgram, &mut info);
        data = tail;
    }
}

/// The filter language: input as text (lossy UTF-8), compiled, and when it
/// compiles, matched against a bare TCP connection and a TLS one with an SNI.
pub fn filter(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(f) = Filter::parse(&text) else {
        return;
    };
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let ts = Timestamp::from_nanos(1);
    let tcp = Connection::new(
        1,
        Proto::Tcp,
        Endpoint::new(v4(10, 0, 0, 1), 40_000),
        Endpoint::new(v4(93, 184, 216, 34), 80),
        ts,
        State::Established,
    );
    let mut tls = Connection::new(
        2,
        Proto::Tcp,
        Endpoint::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 50_000),
        Endpoint::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)), 443),
        ts,
        State::Established,
    );
    tls.app = Some(crate::dpi::AppInfo::Tls(TlsInfo { sni: Some("www.example.com".into()), ..TlsInfo::default() }));
    tls.hostname = Some("example.com".into());
    let conns = [tcp, tls];
    let mut out = Vec::new();
    f.select(&conns, &mut out);
    for (i, c) in conns.iter().enumerate() {
        assert_eq!(f.matches(c), out.contains(&i), "select and matches disagree on {text:?}");
    }
}

/// Issue 14 part B's parsers, through the dispatcher as the engine drives
/// it. First byte: which of `ports` the flow uses and, bit 7, TCP instead of
/// UDP; then payloads, each behind a 2-byte length (DHCP messages are longer
/// than `segments` allows), sent alternately by each end.
fn dpi_flow(data: &[u8], ports: &[(u16, u16)]) {
    use crate::dpi::{Dir, DpiInput, DpiState};
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let (local_port, remote_port) = ports[usize::from(sel & 0x7f) % ports.len()];
    let tcp = sel & 0x80 != 0;
    let mut dpi = DpiState::default();
    let mut app = None;
    let mut seqs = [1000u32, 9000u32];
    let payloads = std::iter::from_fn(move || {
        let [hi, lo, tail @ ..] = rest else { return None };
        let (p, tail) = tail.split_at(usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len()));
        rest = tail;
        Some(p)
    });
    for (i, payload) in payloads.enumerate() {
        let side = i % 2;
        let dir = if side == 0 { Dir::Local } else { Dir::Remote };
        let proto = if tcp { Proto::Tcp } else { Proto::Udp };
        let tcp_info = tcp.then_some((seqs[side], crate::wire::tcp_flags::ACK));
        seqs[side] = seqs[side].wrapping_add(payload.len() as u32);
        let input =
            DpiInput { proto, dir, local_port, remote_port, tcp: tcp_info, payload, ts: crate::time::Timestamp::ZERO };
        let _ = dpi.inspect(&input, &mut app);
    }
}

/// NetBIOS name, datagram and session services.
pub fn netbios(data: &[u8]) {
    dpi_flow(data, &[(137, 137), (50000, 137), (138, 138), (50000, 139)]);
}

/// DHCP and DHCPv6.
pub fn dhcp(data: &[u8]) {
    dpi_flow(data, &[(68, 67), (67, 68), (546, 547), (547, 546)]);
}

/// BitTorrent peer handshake (TCP), uTP and DHT (UDP), mDNS and LLMNR.
pub fn bittorrent(data: &[u8]) {
    dpi_flow(data, &[(51413, 6881), (40000, 50000), (5353, 5353), (6741, 5355)]);
}

// Issue 14 part A (proto14a): FTP, MQTT, STUN, NTP, SNMP, SSDP.

/// A stream protocol: the whole input classified, then the input as
/// segments of alternating sides (client first), classified once the first
/// side has bytes, then read by the inspector.
fn stream_target(classify: StreamClassifier, ports: (u16, u16), data: &[u8]) {
    if !data.is_empty() {
        let _ = classify(&Stream { data, ports });
    }
    let mut rs = [Reassembler::default(), Reassembler::default()];
    let mut seqs = [0u32; 2];
    let mut app = None;
    let mut inspector: Option<Box<dyn Inspector>> = None;
    for (i, s) in segments(data).enumerate() {
        let side = i % 2;
        rs[side].push(seqs[side], s);
        seqs[side] = seqs[side].wrapping_add(s.len() as u32);
        if inspector.is_none()
            && !rs[side].data().is_empty()
            && let Sniffed::Yes(m) = classify(&Stream { data: rs[side].data(), ports })
        {
            inspector = Some(m.inspector);
        }
        if let Some(insp) = inspector.as_mut() {
            let _ = insp.on_stream(Side::client_if(side == 0), &mut rs[side], &mut app);
        }
    }
}

/// A datagram protocol: the input as datagrams of alternating sides, the
/// first that classifies then read by the inspector.
fn datagram_target(classify: DatagramClassifier, ports: (u16, u16), data: &[u8]) {
    let mut app = None;
    let mut inspector: Option<Box<dyn Inspector>> = None;
    for (i, payload) in segments(data).enumerate() {
        match inspector.as_mut() {
            Some(insp) => {
                let _ = insp.on_datagram(Side::client_if(i % 2 == 0), payload, &mut app);
            }
            None => inspector = classify(&Datagram { payload, ports }, &mut app).map(|(m, _)| m.inspector),
        }
    }
}

/// FTP control on port 21, and the dispatcher's per-segment reading of
/// its announcements.
pub fn ftp(data: &[u8]) {
    stream_target(ftp::classify, (40000, ftp::FTP_PORT), data);
    let ends = (
        crate::track::Endpoint::new([10, 0, 0, 1].into(), 40000),
        crate::track::Endpoint::new([10, 0, 0, 2].into(), 21),
    );
    for by_server in [true, false] {
        for a in ftp::announcements(data, by_server) {
            let _ = a.listeners(ends.0, ends.1);
        }
    }
}

/// MQTT (any port).
pub fn mqtt(data: &[u8]) {
    stream_target(mqtt::classify, (40000, 1883), data);
}

/// STUN over TCP and over UDP.
pub fn stun(data: &[u8]) {
    stream_target(stun::classify_stream, (40000, 3478), data);
    datagram_target(stun::classify, (40000, 3478), data);
}

/// NTP on port 123.
pub fn ntp(data: &[u8]) {
    datagram_target(ntp::classify, (40000, ntp::NTP_PORT), data);
}

/// SNMP on port 161.
pub fn snmp(data: &[u8]) {
    datagram_target(snmp::classify, (40000, 161), data);
}

/// SSDP on port 1900.
pub fn ssdp(data: &[u8]) {
    datagram_target(ssdp::classify, (40000, ssdp::SSDP_PORT), data);
}

/// IPFIX messages into the collector (`--ipfix-listen`): the decoder and
/// the connection table. First byte even: the rest is one message; odd:
/// messages each preceded by a 2-byte length, from three exporters in turn.
pub fn ipfix(data: &[u8]) {
    use crate::ipfix::decode::Decoder;
    use crate::ipfix::flows::{FlowTable, TableConfig};
    use std::net::SocketAddr;
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let mut d = Decoder::new();
    let mut t = FlowTable::new(TableConfig { max_connections: 16, idle: std::time::Duration::from_secs(5) });
    let mut out = Vec::new();
    let mut finished = Vec::new();
    let mut i = 0u8;
    while !rest.is_empty() {
        let msg = if mode & 1 == 0 {
            std::mem::take(&mut rest)
        } else {
            let Some((len, r)) = rest.split_first_chunk::<2>() else { break };
            let n = usize::from(u16::from_be_bytes(*len)).min(r.len());
            let (m, r) = r.split_at(n);
            rest = r;
            m
        };
        let from = SocketAddr::from(([127, 0, 0, 1 + i % 3], 4739));
        d.receive(from, msg, &mut out);
        let now = Timestamp::from_secs_nanos(1_700_000_000 + u64::from(i) * 3, 0);
        for r in out.drain(..) {
            t.add(&r, now);
        }
        t.expire(now);
        t.take_finished(&mut finished);
        i = i.wrapping_add(1);
    }
    t.finish_all();
    t.take_finished(&mut finished);
    assert!(d.exporters() <= crate::ipfix::decode::MAX_EXPORTERS);
}

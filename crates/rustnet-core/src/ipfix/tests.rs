//! The encoder's message structure (RFC 7011 §3): lengths, sets, sequence
//! numbers, MTU, template refresh. What the elements carry is checked by
//! tshark and nfdump decoding real exports (tests/ipfix_collectors.rs);
//! netflow_parser 1.0.6 was tried here and decodes no data record of these
//! messages (that tshark and nfdump decode).

use super::*;
use crate::app::{HttpInfo, TlsInfo};
use crate::time::Timestamp;
use crate::track::{Endpoint, ProcessInfo, State};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A TCP connection with counters and times set; the decoder tests use it too.
pub(super) fn conn(i: u16, v6: bool) -> Connection {
    let (l, r): (IpAddr, IpAddr) = if v6 {
        (Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1).into(), Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i).into())
    } else {
        (Ipv4Addr::new(10, 0, 0, 5).into(), Ipv4Addr::new(192, 0, 2, (i % 250) as u8).into())
    };
    let t0 = Timestamp::from_secs_nanos(1_700_000_000, 123_000_000);
    let mut c = Connection::new(
        u64::from(i),
        Proto::Tcp,
        Endpoint::new(l, 40_000 + i),
        Endpoint::new(r, 443),
        t0,
        State::Established,
    );
    c.last_seen = Timestamp::from_secs_nanos(1_700_000_002, 456_000_000);
    c.tx_packets = 10;
    c.rx_packets = 12;
    c.tx_bytes = 1_000;
    c.rx_bytes = 9_000;
    c.tx_ip_bytes = 860;
    c.rx_ip_bytes = 8_832;
    c.end_reason = Some(EndReason::Closed);
    c
}

/// The sets of one message as (set id, body), checking every length.
fn sets(m: &[u8]) -> Vec<(u16, &[u8])> {
    assert_eq!(u16::from_be_bytes([m[0], m[1]]), 10);
    assert_eq!(usize::from(u16::from_be_bytes([m[2], m[3]])), m.len());
    let mut out = Vec::new();
    let mut rest = &m[16..];
    while !rest.is_empty() {
        let id = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        assert!(len >= 4 && len <= rest.len(), "set {id} length {len}");
        out.push((id, &rest[4..len]));
        rest = &rest[len..];
    }
    out
}

#[test]
fn records_start_with_the_five_tuple_counters_and_times() {
    let mut e = Encoder::new(ExportConfig { domain_name: "host-a".into(), ..ExportConfig::default() });
    let cs = [conn(1, false), conn(2, true)];
    let recs: Vec<_> = cs.iter().map(|c| FlowRecord::whole(c, false)).collect();
    let mut msgs = Vec::new();
    e.encode(1_700_000_010, &recs, &mut msgs);
    assert_eq!(msgs.len(), 1);
    let ids: Vec<u16> = sets(&msgs[0]).iter().map(|s| s.0).collect();
    assert_eq!(ids, [TEMPLATE_SET, OPTIONS_TEMPLATE_SET, TEMPLATE_DOMAIN, TEMPLATE_V4, TEMPLATE_V6]);
    for ((_, body), (c, alen)) in sets(&msgs[0])[3..].iter().zip([(&cs[0], 4), (&cs[1], 16)]) {
        let (addrs, rest) = body.split_at(2 * alen);
        let mut want = Vec::new();
        put_addr(&mut want, c.local.addr);
        put_addr(&mut want, c.remote.addr);
        assert_eq!(addrs, want);
        let mut want = Vec::new();
        put_u16(&mut want, c.local.port);
        put_u16(&mut want, 443);
        want.push(6);
        for v in [10, 860, 1_000, 12, 8_832, 9_000, 1_700_000_000_123, 1_700_000_002_456] {
            put_u64(&mut want, v);
        }
        assert_eq!(&rest[..want.len()], want);
    }
    // The options record names the observation domain.
    assert_eq!(sets(&msgs[0])[2].1, b"\0\0\0\0\x06host-a");
}

#[test]
fn messages_stay_within_the_mtu_and_count_records_in_sequence() {
    let mut e = Encoder::new(ExportConfig { mtu: 1400, ..ExportConfig::default() });
    let mut cs: Vec<_> = (0..300).map(|i| conn(i, i % 3 == 0)).collect();
    // Every text element far over its cap, with multi-byte characters.
    for c in &mut cs {
        let long = "é".repeat(400);
        c.app = Some(AppInfo::Http(HttpInfo {
            host: Some(long.clone()),
            method: Some(long.clone()),
            path: Some(long.clone()),
            user_agent: Some(long.clone()),
        }));
        c.process = Some(Box::new(ProcessInfo { pid: 7, name: long.clone(), ..ProcessInfo::default() }));
    }
    let recs: Vec<_> = cs.iter().map(|c| FlowRecord::whole(c, true)).collect();
    let mut msgs = Vec::new();
    e.encode(100, &recs, &mut msgs);
    assert!(msgs.len() > 50, "{}", msgs.len());
    let mut last = 0;
    for m in &msgs {
        assert!(m.len() <= 1400, "{}", m.len());
        sets(m);
        let seq = u32::from_be_bytes([m[8], m[9], m[10], m[11]]);
        assert!(seq >= last && seq - last <= 4, "{last} then {seq}");
        last = seq;
    }
    // 300 flow records, plus the observation domain's options record.
    assert_eq!(e.sequence(), 301);
}

#[test]
fn templates_are_resent_after_the_refresh_interval() {
    let mut e = Encoder::new(ExportConfig { template_refresh_secs: 60, ..ExportConfig::default() });
    let c = conn(1, false);
    let rec = [FlowRecord::whole(&c, false)];
    let has_template = |m: &[u8]| u16::from_be_bytes([m[16], m[17]]) == TEMPLATE_SET;
    let mut msgs = Vec::new();
    for now in [1000, 1030, 1059, 1060, 1100] {
        msgs.clear();
        e.encode(now, &rec, &mut msgs);
        assert_eq!(has_template(&msgs[0]), now == 1000 || now == 1060, "at {now}");
    }
    msgs.clear();
    e.resend_templates();
    e.encode(1070, &rec, &mut msgs);
    assert!(has_template(&msgs[0]));
}

#[test]
fn arp_is_skipped_and_sni_is_cut_at_a_character_boundary() {
    let mut e = Encoder::new(ExportConfig::default());
    let mut arp = conn(1, false);
    arp.proto = Proto::Arp;
    let mut tls = conn(2, false);
    tls.app = Some(AppInfo::Tls(TlsInfo { sni: Some("ü".repeat(100)), ..TlsInfo::default() }));
    let mut msgs = Vec::new();
    e.encode(5, &[FlowRecord::whole(&arp, false), FlowRecord::whole(&tls, false)], &mut msgs);
    assert_eq!(e.skipped(), 1);
    let m = &msgs[0];
    let sni = "ü".repeat(60);
    let at = m.windows(sni.len()).position(|w| w == sni.as_bytes()).expect("the SNI's first 120 bytes");
    assert_eq!(m[at - 1], 120);
    assert_ne!(m.get(at + 120..at + 122), Some("ü".as_bytes()));
}

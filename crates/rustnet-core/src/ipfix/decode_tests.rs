//! The decoder and the collector's table: rustnet's own messages round-trip
//! into the same connections; interim records update one connection;
//! hostile messages are counted and dropped, memory stays bounded.

use super::decode::{DecodeStats, Decoder, MAX_EXPORTERS, MAX_TEMPLATES, Received};
use super::flows::{FlowTable, TableConfig};
use super::*;
use crate::app::{DnsInfo, DnsQuestion, HttpInfo, TlsInfo};
use crate::time::Timestamp;
use crate::track::{IcmpInfo, ProcessInfo, State};
use std::net::SocketAddr;
use std::time::Duration;

fn from(n: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, n], 40_000))
}

/// The encoder tests' connection, in the state a closing one has.
fn base(i: u16, v6: bool) -> Connection {
    let mut c = super::tests::conn(i, v6);
    c.state = State::FinWait2;
    c
}

/// Several kinds of connection with every element set.
fn sample() -> Vec<Connection> {
    let mut tls = base(1, false);
    tls.app = Some(AppInfo::Tls(TlsInfo { sni: Some("api.example.org".into()), ..TlsInfo::default() }));
    tls.process = Some(Box::new(ProcessInfo { pid: 4242, name: "curl".into(), ..ProcessInfo::default() }));
    tls.rtt = Some(Duration::from_micros(1_234));
    if let Some(t) = tls.tcp.as_mut() {
        t.tx.flags = 0x1b;
        t.rx.flags = 0x13;
        t.tx.retransmits = 3;
        t.rx.dup_acks = 2;
        t.rx.zero_window = 1;
        t.smoothed_rtt = Some(Duration::from_micros(2_000));
    }
    let mut http = base(2, true);
    http.app = Some(AppInfo::Http(HttpInfo {
        host: Some("h.example".into()),
        method: Some("GET".into()),
        path: Some("/x?y".into()),
        user_agent: Some("curl/8".into()),
    }));
    let mut dns = base(3, false);
    dns.proto = Proto::Udp;
    dns.tcp = None;
    dns.remote.port = 53;
    dns.state = State::DnsResponse;
    dns.end_reason = Some(EndReason::Idle);
    let q = DnsQuestion { name: "example.org".into(), qtype: String::new() };
    dns.app = Some(AppInfo::Dns(DnsInfo { queries: vec![q], ..DnsInfo::default() }));
    let mut icmp = base(4, false);
    icmp.proto = Proto::Icmp;
    icmp.tcp = None;
    (icmp.local.port, icmp.remote.port) = (0, 0);
    icmp.state = State::IcmpError;
    icmp.icmp = Some(IcmpInfo { v6: false, icmp_type: 3, code: 3 });
    icmp.end_reason = Some(EndReason::EndOfInput);
    vec![tls, http, dns, icmp]
}

fn encode(cfg: ExportConfig, recs: &[FlowRecord<'_>], now: u32) -> Vec<Vec<u8>> {
    let mut e = Encoder::new(cfg);
    let mut msgs = Vec::new();
    e.encode(now, recs, &mut msgs);
    msgs
}

fn decode(d: &mut Decoder, who: SocketAddr, msgs: &[Vec<u8>]) -> Vec<Received> {
    let mut out = Vec::new();
    for m in msgs {
        d.receive(who, m, &mut out);
    }
    out
}

/// What JSON shows of a connection, for comparison.
fn view(c: &Connection) -> String {
    let app = c.app.as_ref().map(|a| match a {
        AppInfo::Http(h) => format!("HTTP {:?} {:?} {:?}", h.host, h.method, h.path),
        AppInfo::Tls(t) => format!("TLS {:?}", t.sni),
        AppInfo::Dns(d) => format!("DNS {:?}", d.queries.first().map(|q| &q.name)),
        a => a.protocol().to_string(),
    });
    format!(
        "{:?} {:?} {:?} {} {:?} {:?} {} {} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        c.proto,
        c.local,
        c.remote,
        c.state.name(),
        c.first_seen,
        c.last_seen,
        c.tx_packets,
        c.rx_packets,
        c.tx_bytes,
        c.rx_bytes,
        app,
        c.process.as_ref().map(|p| (p.pid, &p.name)),
        c.rtt,
        c.tcp,
        c.icmp,
        c.end_reason,
        (c.tx_ip_bytes, c.rx_ip_bytes),
    )
}

#[test]
fn own_messages_round_trip_into_the_same_connections() {
    let cs = sample();
    let recs: Vec<_> = cs.iter().map(|c| FlowRecord::whole(c, false)).collect();
    let cfg =
        ExportConfig { domain_id: 7, domain_name: "host-a".into(), mtu: 1200, live: false, ..ExportConfig::default() };
    let msgs = encode(cfg, &recs, 1_700_000_010);
    let mut d = Decoder::new();
    let got = decode(&mut d, from(1), &msgs);
    assert_eq!(got.len(), cs.len());
    assert!(got.iter().all(|r| &*r.label == "host-a" && r.exporter.domain == 7));
    let mut t = FlowTable::new(TableConfig::default());
    let now = Timestamp::from_secs_nanos(1_700_000_011, 0);
    for r in &got {
        t.add(r, now);
    }
    let mut out = Vec::new();
    t.take_finished(&mut out);
    assert!(t.is_empty());
    for (want, got) in cs.iter().zip(&out) {
        assert_eq!(view(got), view(want));
        assert_eq!(got.exporter.as_deref(), Some("host-a"));
    }
    assert_eq!(d.stats(), &DecodeStats { messages: msgs.len() as u64, records: 4, ..DecodeStats::default() });
}

#[test]
fn interim_records_update_one_connection() {
    let mut c = base(9, false);
    c.end_reason = None;
    let mut e = Encoder::new(ExportConfig { live: false, ..ExportConfig::default() });
    let mut d = Decoder::new();
    let mut t = FlowTable::new(TableConfig::default());
    let now = Timestamp::from_secs_nanos(1_700_000_100, 0);
    let parts = [
        (Delta { packets: 4, bytes: 400, ip_bytes: 344 }, true),
        (Delta { packets: 6, bytes: 600, ip_bytes: 516 }, false),
    ];
    let mut finished = Vec::new();
    for (i, (delta, interim)) in parts.into_iter().enumerate() {
        if !interim {
            c.end_reason = Some(EndReason::Closed);
        }
        let rec = FlowRecord { conn: &c, fwd: delta, rev: delta, interim };
        let mut msgs = Vec::new();
        e.encode(1_700_000_050, &[rec], &mut msgs);
        for r in decode(&mut d, from(2), &msgs) {
            t.add(&r, now);
        }
        t.take_finished(&mut finished);
        assert_eq!((t.len(), finished.len()), (1 - i, i), "after record {i}");
    }
    let f = &finished[0];
    assert_eq!((f.tx_packets, f.rx_bytes, f.tx_ip_bytes), (10, 1_000, 860));
    assert_eq!(f.end_reason, Some(EndReason::Closed));
    assert_eq!(d.stats().lost, 0);
}

#[test]
fn two_exporters_keep_their_names_and_flows_apart() {
    let cs = sample();
    let recs: Vec<_> = cs.iter().map(|c| FlowRecord::whole(c, true)).collect();
    let mut d = Decoder::new();
    let mut t = FlowTable::new(TableConfig::default());
    let now = Timestamp::from_secs_nanos(1_700_000_011, 0);
    for (n, name) in [(1, "a"), (2, "")] {
        let cfg = ExportConfig { domain_name: name.into(), ..ExportConfig::default() };
        for r in decode(&mut d, from(n), &encode(cfg, &recs, 1)) {
            t.add(&r, now);
        }
    }
    assert_eq!(t.len(), 8, "the same flows from two exporters are two connections each");
    let mut names: Vec<_> = t.connections().map(|c| c.exporter.as_deref().unwrap_or("?").to_string()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names, ["127.0.0.2", "a"], "no name: the exporter's address");
    t.finish_all();
    let mut out = Vec::new();
    t.take_finished(&mut out);
    assert!(out.iter().all(|c| c.end_reason == Some(EndReason::EndOfInput)) && out.len() == 8);
}

/// A message: header, then sets given as (id, body).
fn message(sets: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = vec![0, 10, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
    for (id, body) in sets {
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        m.extend_from_slice(body);
    }
    let len = (m.len() as u16).to_be_bytes();
    m[2..4].copy_from_slice(&len);
    m
}

/// Template `id`: sourceIPv4Address, destinationIPv4Address, protocol.
fn small_template(id: u16) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    for v in [3u16, 8, 4, 12, 4, 4, 1] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b
}

#[test]
fn hostile_messages_are_counted_never_a_panic() {
    let cs = sample();
    let recs: Vec<_> = cs.iter().map(|c| FlowRecord::whole(c, false)).collect();
    let good = encode(ExportConfig::default(), &recs, 1).remove(0);
    let mut d = Decoder::new();
    let mut out = Vec::new();
    // Truncated anywhere: the header's length is longer than the datagram.
    for cut in 0..good.len() {
        d.receive(from(3), &good[..cut], &mut out);
    }
    assert_eq!(d.stats().malformed, good.len() as u64);
    assert!(out.is_empty());
    let mut bad = Vec::new();
    // Set length 0, and set length past the message.
    let mut m = message(&[(2, small_template(300))]);
    m[18..20].copy_from_slice(&[0, 0]);
    bad.push(m);
    let mut m = message(&[(2, small_template(300))]);
    m[18..20].copy_from_slice(&[0xff, 0xf0]);
    bad.push(m);
    // Version 9, a header length of 3, a template id below 256, a field
    // count far past the set, an options template with no scope.
    let mut m = message(&[]);
    m[1] = 9;
    bad.push(m);
    let mut m = message(&[]);
    m[2..4].copy_from_slice(&[0, 3]);
    bad.push(m);
    bad.push(message(&[(2, small_template(5))]));
    bad.push(message(&[(2, vec![1, 0, 0xff, 0xff, 0, 8, 0, 4])]));
    bad.push(message(&[(3, vec![1, 0, 0, 1, 0, 0, 0, 8, 0, 4])]));
    // A template of zero-length fields (records would never end the set).
    bad.push(message(&[(2, vec![1, 0, 0, 1, 0, 8, 0, 0])]));
    // A variable-length field whose length runs past the message.
    let mut varlen = 1000u16.to_be_bytes().to_vec();
    varlen.extend_from_slice(&[0, 1, 0x80, 169, 0xff, 0xff, 0, 0, 0x8b, 0x30]);
    bad.push(message(&[(2, varlen), (1000, vec![255, 0xff, 0xff, 1, 2, 3])]));
    let before = d.stats().malformed;
    for m in &bad {
        d.receive(from(3), m, &mut out);
    }
    assert_eq!(d.stats().malformed - before, bad.len() as u64);
    assert!(out.is_empty());
    // Data for a template never defined: counted, not a flow.
    d.receive(from(3), &message(&[(999, vec![10, 0, 0, 1, 10, 0, 0, 2, 6])]), &mut out);
    assert_eq!(d.stats().unknown_template, 1);
    // Then defined, withdrawn, and used again: unknown again.
    d.receive(from(3), &message(&[(2, small_template(999)), (999, vec![10, 0, 0, 1, 10, 0, 0, 2, 6])]), &mut out);
    assert_eq!(out.len(), 1);
    d.receive(from(3), &message(&[(2, vec![3, 0xe7, 0, 0]), (999, vec![10, 0, 0, 1, 10, 0, 0, 2, 6])]), &mut out);
    assert_eq!(d.stats().unknown_template, 2);
}

#[test]
fn template_and_exporter_floods_stay_bounded() {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    // 2 000 templates from one exporter, 20 to a set.
    for batch in 0..100u16 {
        let body: Vec<u8> = (0..20).flat_map(|i| small_template(256 + batch * 20 + i)).collect();
        d.receive(from(4), &message(&[(2, body)]), &mut out);
    }
    assert_eq!(d.template_count(), MAX_TEMPLATES);
    assert_eq!(d.stats().templates_dropped, 2_000 - MAX_TEMPLATES as u64);
    // The newest are kept, the oldest gone.
    let rec = vec![10, 0, 0, 1, 10, 0, 0, 2, 6];
    d.receive(from(4), &message(&[(2255, rec.clone()), (256, rec)]), &mut out);
    assert_eq!((out.len(), d.stats().unknown_template), (1, 1));
    // Redefining one template over and over keeps one.
    for _ in 0..5_000 {
        d.receive(from(5), &message(&[(2, small_template(256))]), &mut out);
    }
    assert_eq!(d.template_count(), MAX_TEMPLATES + 1);
    // 200 exporters: the least recently heard from are forgotten.
    for n in 0..200u16 {
        let who = SocketAddr::from(([10, 1, (n >> 8) as u8, n as u8], 4739));
        d.receive(who, &message(&[(2, small_template(256))]), &mut out);
    }
    assert_eq!(d.exporters(), MAX_EXPORTERS);
    assert_eq!(d.stats().exporters_dropped, 202 - MAX_EXPORTERS as u64);
    assert!(d.template_count() <= MAX_EXPORTERS * MAX_TEMPLATES);
}

#[test]
fn sequence_gaps_count_lost_records() {
    let cs = sample();
    let recs: Vec<_> = cs.iter().map(|c| FlowRecord::whole(c, false)).collect();
    let mut e = Encoder::new(ExportConfig::default());
    let mut msgs = Vec::new();
    for _ in 0..3 {
        e.encode(1, &recs, &mut msgs);
    }
    let mut d = Decoder::new();
    // The second message lost: its 4 records.
    decode(&mut d, from(6), &[msgs[0].clone(), msgs[2].clone()]);
    assert_eq!(d.stats().lost, 4);
}

#[test]
fn a_full_table_evicts_the_least_recently_updated() {
    let cs = sample();
    let recs: Vec<_> = cs.iter().map(|c| FlowRecord::whole(c, true)).collect();
    let mut d = Decoder::new();
    let got = decode(&mut d, from(7), &encode(ExportConfig::default(), &recs, 1));
    let mut t = FlowTable::new(TableConfig { max_connections: 2, idle: Duration::from_secs(10) });
    let t0 = Timestamp::from_secs_nanos(1_700_000_000, 0);
    for r in &got {
        t.add(r, t0);
    }
    let mut out = Vec::new();
    t.take_finished(&mut out);
    assert_eq!((t.len(), out.len(), t.stats().evicted), (2, 2, 2));
    assert!(out.iter().all(|c| c.end_reason == Some(EndReason::Evicted)));
    t.expire(t0 + Duration::from_secs(9));
    assert_eq!(t.len(), 2);
    t.expire(t0 + Duration::from_secs(10));
    assert_eq!(t.len(), 0);
}

/// A standard exporter's unidirectional record: IPv4 5-tuple, total
/// counters, seconds, 2-byte tcpControlBits, no end reason.
#[test]
fn standard_elements_decode() {
    let mut tpl = 400u16.to_be_bytes().to_vec();
    for v in [10u16, 8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 6, 2, 86, 4, 85, 4, 150, 4, 151, 4] {
        tpl.extend_from_slice(&v.to_be_bytes());
    }
    let mut rec = vec![10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0, 80, 6, 0, 0x1b];
    for v in [5u32, 420, 1_700_000_000, 1_700_000_003] {
        rec.extend_from_slice(&v.to_be_bytes());
    }
    let mut d = Decoder::new();
    let mut out = Vec::new();
    d.receive(from(8), &message(&[(2, tpl), (400, rec)]), &mut out);
    let mut t = FlowTable::new(TableConfig::default());
    t.add(&out[0], Timestamp::from_secs_nanos(1_700_000_010, 0));
    let mut done = Vec::new();
    t.take_finished(&mut done);
    let c = &done[0];
    assert_eq!((c.local.port, c.remote.port, c.tx_packets, c.tx_bytes, c.rx_packets), (40_000, 80, 5, 420, 0));
    assert_eq!(
        (c.first_seen.as_nanos(), c.last_seen.as_nanos()),
        (1_700_000_000 * 1_000_000_000, 1_700_000_003 * 1_000_000_000)
    );
    assert_eq!((c.state, c.end_reason), (State::Closed, Some(EndReason::Idle)));
    assert_eq!(c.tcp.map(|t| t.tx.flags), Some(0x1b));
}

/// A compiled template field is 6 bytes: the README's 24 MiB bound.
#[test]
fn template_fields_are_small() {
    assert_eq!(std::mem::size_of::<super::decode::Spec>(), 6);
}

//! Issue 12's corpus test: connection analytics equal to tshark's. For every
//! conversation where the truth JSON (version 2 keys) has a value: `rtt`
//! equal to `initial_rtt` (TCP) or `dns_rtt` (UDP) within 1 µs, and the
//! ICMP echo `rtt`; per TCP direction retransmits, fast_retransmits,
//! out_of_order, dup_acks, zero_window exactly equal, and the flags seen.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// Our `tcp` fields and the truth's names for them.
const COUNTS: [(&str, &str); 6] = [
    ("retransmits", "retransmission"),
    ("fast_retransmits", "fast_retransmission"),
    ("out_of_order", "out_of_order"),
    ("dup_acks", "duplicate_ack"),
    ("zero_window", "zero_window"),
    ("flags", "flags"),
];

const TOLERANCE: f64 = 1e-6;

#[derive(Default)]
struct Score {
    compared: usize,
    equal: usize,
    failures: Vec<String>,
}

impl Score {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.compared += 1;
        if ok {
            self.equal += 1;
        } else {
            self.failures.push(what());
        }
    }
}

/// Records of one TCP/UDP conversation, in order of first packet.
fn by_conversation(records: &[Value]) -> BTreeMap<ConvKey, Vec<&Value>> {
    let mut m: BTreeMap<ConvKey, Vec<&Value>> = BTreeMap::new();
    for r in records {
        let proto = r["proto"].as_str().unwrap_or_default();
        if proto == "tcp" || proto == "udp" {
            let l = split_endpoint(r["local"].as_str().unwrap_or_default());
            let rr = split_endpoint(r["remote"].as_str().unwrap_or_default());
            m.entry(conv_key(proto, l, rr)).or_default().push(r);
        }
    }
    for v in m.values_mut() {
        v.sort_by(|a, b| a["first_seen"].as_f64().partial_cmp(&b["first_seen"].as_f64()).expect("times are numbers"));
    }
    m
}

/// The first rtt among the records.
fn first_rtt(records: &[&Value]) -> Option<f64> {
    records.iter().find_map(|r| r["rtt"].as_f64())
}

fn rtt_equal(ours: Option<f64>, theirs: f64) -> bool {
    ours.is_some_and(|o| (o - theirs).abs() <= TOLERANCE)
}

/// One count (or the flags) summed over the records, for truth direction
/// `a_to_b` (true) or `b_to_a`, where `a` is the truth's first endpoint.
fn ours_for_direction(records: &[&Value], a: &(String, u16), a_to_b: bool, field: &str) -> Value {
    let (mut n, mut flags) = (0, 0u8);
    for r in records {
        let from_local = split_endpoint(r["local"].as_str().unwrap_or_default());
        let local_is_a = (normalize_addr(&from_local.0), from_local.1) == (normalize_addr(&a.0), a.1);
        let dir = if local_is_a == a_to_b { "tx" } else { "rx" };
        let v = &r["tcp"][dir][field];
        n += v.as_u64().unwrap_or(0);
        for ch in v.as_str().unwrap_or_default().chars() {
            flags |= "FSRPAUEC".find(ch).map_or(0, |i| 1 << i);
        }
    }
    if field == "flags" {
        Value::from(
            "FSRPAUEC".chars().enumerate().filter(|(i, _)| flags & (1 << i) != 0).map(|(_, c)| c).collect::<String>(),
        )
    } else {
        Value::from(n)
    }
}

fn check_file(name: &str, records: &[Value], truth: &Value, exc: &[(String, String, String)], s: &mut Score) {
    let ours = by_conversation(records);
    let none = Vec::new();
    for (list, proto) in [("tcp_conversations", "tcp"), ("udp_conversations", "udp")] {
        for c in truth[list].as_array().into_iter().flatten() {
            let ep =
                |k: &str, p: &str| (c[k].as_str().unwrap_or_default().to_string(), c[p].as_u64().unwrap_or(0) as u16);
            let (a, b) = (ep("a", "a_port"), ep("b", "b_port"));
            let key = conv_key(proto, a.clone(), b);
            let recs = ours.get(&key).unwrap_or(&none);
            // A TCP connection's rtt is its handshake's; DNS over TCP is not compared.
            let want = if proto == "tcp" { c["initial_rtt"].as_f64() } else { c["dns_rtt"].as_f64() };
            let check = if proto == "tcp" { "analytics_rtt" } else { "analytics_dns_rtt" };
            if let Some(want) = want
                && !is_exception(exc, name, check)
            {
                let got = first_rtt(recs);
                s.check(rtt_equal(got, want), || format!("{name}: {key:?}: rtt ours {got:?}, tshark {want}"));
            }
            if proto != "tcp" || c["a_to_b"].is_null() || is_exception(exc, name, "analytics_tcp") {
                continue;
            }
            for (dir, a_to_b) in [("a_to_b", true), ("b_to_a", false)] {
                for (field, tfield) in COUNTS {
                    let (got, want) = (ours_for_direction(recs, &a, a_to_b, field), &c[dir][tfield]);
                    s.check(&got == want, || format!("{name}: {key:?} {dir} {tfield}: ours {got}, tshark {want}"));
                }
            }
        }
    }
    for g in truth["icmp_echo"].as_array().into_iter().flatten() {
        let Some(want) = g["rtt"].as_f64() else { continue };
        let ends = [g["a"].as_str().unwrap_or_default(), g["b"].as_str().unwrap_or_default()].map(normalize_addr);
        let got = records
            .iter()
            .filter(|r| r["proto"] == g["proto"])
            .filter(|r| {
                let mut rs = [r["local"].as_str().unwrap_or_default(), r["remote"].as_str().unwrap_or_default()]
                    .map(normalize_addr);
                rs.sort();
                let mut e = ends.clone();
                e.sort();
                rs == e
            })
            .find_map(|r| r["rtt"].as_f64());
        s.check(rtt_equal(got, want), || format!("{name}: icmp echo {ends:?}: rtt ours {got:?}, tshark {want}"));
    }
}

#[test]
fn analytics_match_tshark() {
    let Some(dir) = corpus_dir() else { return };
    let exc = exceptions();
    let mut s = Score::default();
    let mut files = 0;
    for cap in captures(&dir) {
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let Some(truth) = truth(&cap) else { continue };
        if truth["tcp_analysis_totals"].is_null() {
            continue; // a version 1 truth file: no analytics keys
        }
        files += 1;
        let run = run_json(&cap, &[]);
        assert!(!run.stderr.contains("panicked"), "{name}: panic: {}", run.stderr);
        check_file(&name, &run.records, &truth, &exc, &mut s);
    }
    eprintln!(
        "analytics: {files} files, {} values compared, {} equal, {} failures",
        s.compared,
        s.equal,
        s.failures.len()
    );
    assert!(s.failures.is_empty(), "{}", s.failures.join("\n"));
    assert!(files > 0 && s.compared > 1000, "too little compared: {files} files, {} values", s.compared);
}

/// Which truth conversations a filter should select.
type Selects = fn(&Value) -> bool;

/// Truth conversations with a retransmission flagged in either direction.
fn retransmitted(c: &Value) -> bool {
    ["a_to_b", "b_to_a"].iter().any(|d| c[d]["retransmission"].as_u64().unwrap_or(0) > 0)
}

/// Truth conversations with a handshake RTT above 50 ms.
fn slow(c: &Value) -> bool {
    c["initial_rtt"].as_f64().is_some_and(|r| r > 0.05)
}

/// Conversations of `records` (TCP only).
fn tcp_keys(records: &[Value]) -> std::collections::BTreeSet<ConvKey> {
    by_conversation(records).into_keys().filter(|k| k.0 == "tcp").collect()
}

/// The numeric filter keywords headless: `--filter retrans:>0` and
/// `--filter "proto:tcp rtt:>50ms"` report exactly the TCP conversations
/// where tshark flagged a retransmission / measured an initial_rtt above 50 ms.
#[test]
fn numeric_filters_select_as_tshark() {
    let Some(dir) = corpus_dir() else { return };
    let (mut checked, mut selected, mut failures) = (0, 0, Vec::new());
    for cap in captures(&dir) {
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let Some(truth) = truth(&cap) else { continue };
        if truth["tcp_analysis_totals"].is_null() {
            continue;
        }
        let convs: Vec<&Value> = truth["tcp_conversations"].as_array().into_iter().flatten().collect();
        let key = |c: &Value| {
            let ep =
                |k: &str, p: &str| (c[k].as_str().unwrap_or_default().to_string(), c[p].as_u64().unwrap_or(0) as u16);
            conv_key("tcp", ep("a", "a_port"), ep("b", "b_port"))
        };
        let cases: [(&str, Selects); 2] = [("retrans:>0", retransmitted), ("proto:tcp rtt:>50ms", slow)];
        for (filter, want) in cases {
            let run = run_json(&cap, &["--filter", filter]);
            assert!(run.status.success(), "{name} --filter {filter}: {}", run.stderr);
            let theirs: std::collections::BTreeSet<ConvKey> =
                convs.iter().filter(|c| want(c)).map(|c| key(c)).collect();
            let ours = tcp_keys(&run.records);
            checked += 1;
            selected += theirs.len();
            if ours != theirs {
                failures.push(format!("{name} --filter {filter:?}: ours {ours:?}, tshark {theirs:?}"));
            }
        }
    }
    eprintln!("numeric filters: {checked} runs, {selected} conversations selected by tshark's values");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(selected >= 10, "too few selected: {selected}");
}

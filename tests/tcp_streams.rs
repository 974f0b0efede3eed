//! Issue 19 item 6: one record per TCP stream, as tshark numbers them
//! (tcp.stream): a late packet after a connection closed (a RST after the
//! FINs, a retransmitted RST, a late ACK) stays on that connection until a
//! new SYN opens another, instead of making a one-packet connection. Checked
//! on every capture with a truth JSON (corpus and fixtures; tests/fixtures/
//! late_rst.pcap, written by tests/lab/make_late_rst.py, has late packets 3 s,
//! 12 s, 20 s and 237 s after the close): for every TCP conversation, our
//! records of it are as many as tshark's streams.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;

/// (file, conversation, ours, tshark) where the counts differ; and how many
/// conversations were compared.
fn compare(dir: &Path, exc: &[(String, String, String)]) -> (usize, Vec<String>) {
    let (mut n, mut bad) = (0, Vec::new());
    for cap in captures(dir) {
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let Some(truth) = truth(&cap) else { continue };
        if is_exception(exc, &name, "tcp_streams") {
            continue;
        }
        let mut theirs: BTreeMap<ConvKey, usize> = BTreeMap::new();
        for c in truth["tcp_conversations"].as_array().into_iter().flatten() {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            let p = |k: &str| c[k].as_u64().unwrap_or(0) as u16;
            let streams = c["streams"].as_array().map_or(0, Vec::len);
            *theirs.entry(conv_key("tcp", (s("a"), p("a_port")), (s("b"), p("b_port")))).or_default() += streams;
        }
        let mut ours: BTreeMap<ConvKey, usize> = BTreeMap::new();
        for r in run_json(&cap, &[]).records.iter().filter(|r| r["proto"] == "tcp") {
            let e = |k: &str| split_endpoint(r[k].as_str().unwrap_or_default());
            *ours.entry(conv_key("tcp", e("local"), e("remote"))).or_default() += 1;
        }
        for (k, t) in &theirs {
            n += 1;
            let o = ours.get(k).copied().unwrap_or(0);
            if o != *t {
                bad.push(format!("{name}: {k:?}: {o} records, tshark {t} streams"));
            }
        }
    }
    (n, bad)
}

#[test]
fn one_record_per_tshark_tcp_stream_in_the_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (n, bad) = compare(&dir, &exceptions());
    eprintln!("fixtures: {n} TCP conversations, {} differ", bad.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(n >= 20, "fixtures missing: {n}");
}

#[test]
fn one_record_per_tshark_tcp_stream_in_the_corpus() {
    let Some(dir) = corpus_dir() else { return };
    let (n, bad) = compare(&dir, &exceptions());
    eprintln!("corpus: {n} TCP conversations, {} differ", bad.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

//! Issue 2's corpus test: for every capture with a tshark truth JSON, every
//! TCP and UDP conversation is reported with exactly tshark's packet and byte
//! totals, and nothing crashes on any file.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

type Key = (String, (String, u16), (String, u16));

/// Sums our records per conversation (port reuse gives several records).
fn ours(records: &[Value]) -> BTreeMap<Key, (u64, u64)> {
    let mut m = BTreeMap::new();
    for r in records {
        let proto = r["proto"].as_str().unwrap_or_default();
        if proto != "tcp" && proto != "udp" {
            continue;
        }
        let l = split_endpoint(r["local"].as_str().unwrap_or_default());
        let rr = split_endpoint(r["remote"].as_str().unwrap_or_default());
        let e = m.entry(conv_key(proto, l, rr)).or_insert((0, 0));
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        e.0 += n("tx_packets") + n("rx_packets");
        e.1 += n("tx_bytes") + n("rx_bytes");
    }
    m
}

fn theirs(truth: &Value) -> BTreeMap<Key, (u64, u64)> {
    let mut m = BTreeMap::new();
    for (list, proto) in [("tcp_conversations", "tcp"), ("udp_conversations", "udp")] {
        for c in truth[list].as_array().into_iter().flatten() {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            let p = |k: &str| c[k].as_u64().unwrap_or(0) as u16;
            let e = m.entry(conv_key(proto, (s("a"), p("a_port")), (s("b"), p("b_port")))).or_insert((0, 0));
            e.0 += c["frames"].as_u64().unwrap_or(0);
            e.1 += c["bytes"].as_u64().unwrap_or(0);
        }
    }
    m
}

#[test]
fn conversations_match_tshark() {
    let Some(dir) = corpus_dir() else {
        eprintln!("note: RUSTNET_CORPUS not set; corpus conversation test skipped");
        return;
    };
    let exc = exceptions();
    let (mut files, mut convs, mut failures) = (0, 0, Vec::new());
    for cap in captures(&dir) {
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let run = run_json(&cap, &[]);
        assert!(run.status.code().is_some(), "{name}: killed by a signal: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: panic: {}", run.stderr);
        let Some(truth) = truth(&cap) else { continue };
        files += 1;
        if is_exception(&exc, &name, "conversations") {
            continue;
        }
        let (ours, theirs) = (ours(&run.records), theirs(&truth));
        for (k, t) in &theirs {
            convs += 1;
            match ours.get(k) {
                Some(o) if o == t => {}
                Some(o) => failures.push(format!("{name}: {k:?}: ours {o:?} (packets, bytes), tshark {t:?}")),
                None => failures.push(format!("{name}: {k:?}: missing (tshark {t:?})")),
            }
        }
        for k in ours.keys().filter(|k| !theirs.contains_key(*k)) {
            failures.push(format!("{name}: {k:?}: reported, but tshark has no such conversation"));
        }
    }
    eprintln!("corpus: {files} files with truth, {convs} conversations checked, {} failures", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(files > 0, "no truth files found in the corpus");
}

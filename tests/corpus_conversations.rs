//! Issue 2's corpus test: for every capture with a tshark truth JSON, every
//! TCP and UDP conversation is reported with exactly tshark's packet and byte
//! totals, and nothing crashes on any file.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn theirs(truth: &Value) -> BTreeMap<ConvKey, (u64, u64)> {
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

/// Checks every capture of `dir` that has a truth file; returns (files, conversations, failures).
fn check_dir(dir: &std::path::Path, exc: &[(String, String, String)]) -> (usize, usize, Vec<String>) {
    let (mut files, mut convs, mut failures) = (0, 0, Vec::new());
    for cap in captures(dir) {
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let run = run_json(&cap, &[]);
        assert!(run.status.code().is_some(), "{name}: killed by a signal: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: panic: {}", run.stderr);
        let Some(truth) = truth(&cap) else { continue };
        files += 1;
        if is_exception(exc, &name, "conversations") {
            continue;
        }
        let (ours, theirs) = (record_conversations(&run.records), theirs(&truth));
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
    (files, convs, failures)
}

#[test]
fn conversations_match_tshark() {
    let Some(dir) = corpus_dir() else { return };
    let (files, convs, failures) = check_dir(&dir, &exceptions());
    eprintln!("corpus: {files} files with truth, {convs} conversations checked, {} failures", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(files > 0, "no truth files found in the corpus");
}

/// Our own fixtures (real programs in the namespace lab), against tshark's view of them.
#[test]
fn fixture_conversations_match_tshark() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (files, convs, failures) = check_dir(&dir, &exceptions());
    eprintln!("fixtures: {files} files, {convs} conversations checked, {} failures", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(files >= 10, "fixtures missing: {files}");
}

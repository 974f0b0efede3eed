//! Issue 14's corpus test: for every TCP/UDP conversation of the public
//! corpus (and our fixtures) that tshark dissected as one of the protocols
//! in [`NAMES`], we report that `app.protocol`; and no conversation carries
//! one of those protocols where tshark did not dissect it (no false labels).
//! Known differences are in tests/corpus_exceptions.json with check
//! "app_protocols:<tshark name>" and the conversation's ports; an exception
//! that no longer fails is an error too.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// tshark's protocol name (truth `app_protocols`) -> our `app.protocol`.
/// One entry per line (several helpers add theirs).
const NAMES: &[(&str, &str)] = &[
    ("ftp", "FTP"),
    ("ftp-data", "FTP-data"),
    ("mqtt", "MQTT"),
    ("stun", "STUN"),
    ("classicstun", "STUN"),
    ("ntp", "NTP"),
    ("snmp", "SNMP"),
    ("ssdp", "SSDP"),
];

/// Truth conversations: key -> tshark's app protocols there.
pub fn truth_app_protocols(truth: &Value) -> BTreeMap<ConvKey, BTreeSet<String>> {
    let mut m: BTreeMap<ConvKey, BTreeSet<String>> = BTreeMap::new();
    for (list, proto) in [("tcp_conversations", "tcp"), ("udp_conversations", "udp")] {
        for c in truth[list].as_array().into_iter().flatten() {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            let p = |k: &str| c[k].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
            let names = c["app_protocols"].as_array().into_iter().flatten().filter_map(|v| v.as_str());
            m.entry(conv_key(proto, (s("a"), p("a_port")), (s("b"), p("b_port"))))
                .or_default()
                .extend(names.map(String::from));
        }
    }
    m
}

/// Our records: key -> the app.protocol values reported there.
pub fn our_app_protocols(records: &[Value]) -> BTreeMap<ConvKey, BTreeSet<String>> {
    let mut m: BTreeMap<ConvKey, BTreeSet<String>> = BTreeMap::new();
    for r in records {
        let proto = r["proto"].as_str().unwrap_or_default();
        if proto != "tcp" && proto != "udp" {
            continue;
        }
        let k = conv_key(
            proto,
            split_endpoint(r["local"].as_str().unwrap_or_default()),
            split_endpoint(r["remote"].as_str().unwrap_or_default()),
        );
        let e = m.entry(k).or_default();
        if let Some(p) = r["app"]["protocol"].as_str() {
            e.insert(p.to_string());
        }
    }
    m
}

/// The exception check name for tshark protocol `t` on conversation `k`.
fn exception_check(t: &str, k: &ConvKey) -> String {
    format!("app_protocols:{t}:{}:{}-{}", k.0, (k.1).1, (k.2).1)
}

/// Score of one directory: (expected labels, carried, failures, exceptions used).
#[derive(Default)]
struct Score {
    expected: usize,
    carried: usize,
    ours: usize,
    false_labels: usize,
    failures: Vec<String>,
    used: BTreeSet<(String, String)>,
}

fn check_dir(dir: &std::path::Path, exc: &[(String, String, String)]) -> Score {
    let mut sc = Score::default();
    let ours_names: BTreeSet<&str> = NAMES.iter().map(|(_, o)| *o).collect();
    for cap in captures(dir) {
        let Some(truth) = truth(&cap) else { continue };
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let run = run_json(&cap, &[]);
        assert!(run.status.success(), "{name}: {}", run.stderr);
        let (theirs, ours) = (truth_app_protocols(&truth), our_app_protocols(&run.records));
        let mut fail = |check: String, msg: String| {
            if is_exception(exc, &name, &check) {
                sc.used.insert((name.clone(), check));
            } else {
                sc.failures.push(format!("{name}: {msg}"));
            }
        };
        for (k, t) in &theirs {
            let got = ours.get(k).cloned().unwrap_or_default();
            for (tn, on) in NAMES.iter().filter(|(tn, _)| t.contains(*tn)) {
                sc.expected += 1;
                if got.contains(*on) {
                    sc.carried += 1;
                } else {
                    fail(exception_check(tn, k), format!("{k:?}: tshark {tn}, we {got:?} (want {on})"));
                }
            }
        }
        for (k, got) in &ours {
            let t = theirs.get(k).cloned().unwrap_or_default();
            for on in got.iter().filter(|o| ours_names.contains(o.as_str())) {
                sc.ours += 1;
                if !NAMES.iter().any(|(tn, o)| o == on && t.contains(*tn)) {
                    sc.false_labels += 1;
                    fail(exception_check(&format!("not-{on}"), k), format!("{k:?}: we {on}, tshark {t:?}"));
                }
            }
        }
    }
    sc
}

fn run(dir: &std::path::Path, what: &str) -> Score {
    let exc = exceptions();
    let sc = check_dir(dir, &exc);
    eprintln!(
        "{what}: {}/{} tshark labels carried, {} labels of ours, {} false; {} exceptions used",
        sc.carried,
        sc.expected,
        sc.ours,
        sc.false_labels,
        sc.used.len()
    );
    sc
}

/// Checks `dir`; fails on any difference not listed, and on listed ones
/// (of this directory's files) that no longer happen.
fn check(dir: &std::path::Path, what: &str) -> Score {
    let sc = run(dir, what);
    assert!(sc.failures.is_empty(), "{}", sc.failures.join("\n"));
    let here = |f: &str| dir.join(f).exists();
    let stale: Vec<_> = exceptions()
        .into_iter()
        .filter(|(f, c, _)| c.starts_with("app_protocols:") && here(f) && !sc.used.contains(&(f.clone(), c.clone())))
        .collect();
    assert!(stale.is_empty(), "exceptions that no longer fail: {stale:?}");
    sc
}

#[test]
fn corpus_app_protocols_match_tshark() {
    let Some(dir) = corpus_dir() else { return };
    let sc = check(&dir, "corpus");
    assert!(sc.expected > 0, "no conversation of these protocols in the corpus");
}

/// Our own fixtures that have a tshark truth file.
#[test]
fn fixture_app_protocols_match_tshark() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let sc = check(&dir, "fixtures");
    assert!(sc.expected > 0, "no conversation of these protocols in the fixtures");
}

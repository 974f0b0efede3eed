//! Issue 14's corpus test: for every TCP/UDP conversation of the public
//! corpus (and of our fixtures) that tshark dissected as one of the
//! protocols in [`NAMES`] (`app_protocols` in the truth JSONs), our record
//! carries that `app.protocol`; and no conversation carries one of those
//! protocols where tshark did not dissect it (no false labels).
//!
//! Known differences are in tests/corpus_exceptions.json with check
//! "app_protocols" and the conversation as tshark lists it
//! ("tcp 10.0.0.1:139 10.0.0.2:1398"); an exception that no longer fails is
//! an error too. The TLS server side (ServerHello, JA4) is in
//! corpus_tls_server.rs.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// tshark's protocol name (truth `app_protocols`) -> our `app.protocol`.
const NAMES: &[(&str, &str)] = &[
    ("ftp", "FTP"),
    ("ftp-data", "FTP-data"),
    ("mqtt", "MQTT"),
    ("stun", "STUN"),
    ("classicstun", "STUN"),
    ("ntp", "NTP"),
    ("snmp", "SNMP"),
    ("ssdp", "SSDP"),
    ("mdns", "mDNS"),
    ("llmnr", "LLMNR"),
    ("nbns", "NetBIOS"),
    ("nbdgm", "NetBIOS"),
    ("nbss", "NetBIOS"),
    ("dhcp", "DHCP"),
    ("dhcpv6", "DHCP"),
    ("bittorrent", "BitTorrent"),
    ("bt-dht", "BitTorrent"),
];

/// "tcp 10.0.0.1:139 10.0.0.2:1398": how exceptions name a conversation.
fn conv_name(k: &ConvKey) -> String {
    format!("{} {}:{} {}:{}", k.0, k.1.0, k.1.1, k.2.0, k.2.1)
}

/// (file, conversation) pairs excused, with their reasons.
fn excused() -> BTreeMap<(String, String), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus_exceptions.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("exceptions file")).expect("JSON");
    let mut m = BTreeMap::new();
    for e in v.as_array().into_iter().flatten().filter(|e| e["check"] == "app_protocols") {
        let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
        // The conversation as tshark lists it; normalised to our key's order.
        let parts: Vec<String> = s("conversation").split(' ').map(String::from).collect();
        let [proto, a, b] = parts.as_slice() else { panic!("bad conversation in exception: {e}") };
        let k = conv_key(proto, split_endpoint(a), split_endpoint(b));
        assert!(!s("reason").is_empty(), "exception without a reason: {e}");
        m.insert((s("file"), conv_name(&k)), s("reason"));
    }
    m
}

/// Truth conversations: key -> tshark's app protocols there.
fn theirs(truth: &Value) -> BTreeMap<ConvKey, BTreeSet<String>> {
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
fn ours(records: &[Value]) -> BTreeMap<ConvKey, BTreeSet<String>> {
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

/// One directory's score.
#[derive(Default)]
struct Score {
    expected: usize,
    carried: usize,
    ours: usize,
    false_labels: usize,
    failures: Vec<String>,
    used: BTreeSet<(String, String)>,
}

fn check_dir(dir: &Path, exc: &BTreeMap<(String, String), String>) -> Score {
    let mut sc = Score::default();
    let our_names: BTreeSet<&str> = NAMES.iter().map(|(_, o)| *o).collect();
    for cap in captures(dir) {
        let Some(truth) = truth(&cap) else { continue };
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let run = run_json(&cap, &[]);
        assert!(run.status.success(), "{name}: {}", run.stderr);
        let (theirs, ours) = (theirs(&truth), ours(&run.records));
        let mut fail = |k: &ConvKey, msg: String| {
            let key = (name.clone(), conv_name(k));
            if exc.contains_key(&key) {
                sc.used.insert(key);
            } else {
                sc.failures.push(format!("{name}: {}: {msg}", conv_name(k)));
            }
        };
        for (k, t) in &theirs {
            let got = ours.get(k).cloned().unwrap_or_default();
            let want: BTreeSet<&str> = NAMES.iter().filter(|(tn, _)| t.contains(*tn)).map(|(_, o)| *o).collect();
            for on in want {
                sc.expected += 1;
                if got.contains(on) {
                    sc.carried += 1;
                } else {
                    fail(k, format!("tshark {t:?}, ours {got:?}: {on} missing"));
                }
            }
        }
        for (k, got) in &ours {
            let t = theirs.get(k).cloned().unwrap_or_default();
            for on in got.iter().filter(|o| our_names.contains(o.as_str())) {
                sc.ours += 1;
                if !NAMES.iter().any(|(tn, o)| o == on && t.contains(*tn)) {
                    sc.false_labels += 1;
                    fail(k, format!("false label {on}: tshark {t:?}"));
                }
            }
        }
    }
    sc
}

/// Checks `dir`; fails on any difference not listed, and on listed ones
/// (of this directory's files) that no longer happen.
fn check(dir: &Path, what: &str) -> Score {
    let exc = excused();
    let mut sc = check_dir(dir, &exc);
    eprintln!(
        "{what}: {} of {} tshark labels carried, {} labels of ours, {} false; {} excused",
        sc.carried,
        sc.expected,
        sc.ours,
        sc.false_labels,
        sc.used.len()
    );
    for (k, reason) in &exc {
        if dir.join(&k.0).exists() && !sc.used.contains(k) {
            sc.failures.push(format!("{k:?}: listed as an exception ({reason}) but passes now; remove it"));
        }
    }
    assert!(sc.failures.is_empty(), "{}", sc.failures.join("\n"));
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
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let sc = check(&dir, "fixtures");
    assert!(sc.expected > 0, "no conversation of these protocols in the fixtures");
}

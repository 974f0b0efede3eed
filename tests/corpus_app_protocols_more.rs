//! (Issue 14 part B: mDNS, LLMNR, NetBIOS, DHCP, BitTorrent, TLS ServerHello and JA4; part A's protocols are in corpus_app_protocols.rs.)
//! Issue 14's corpus test: for every TCP/UDP conversation tshark dissects as
//! one of the application protocols below (`app_protocols` in the truth
//! JSONs), our record carries that `app.protocol`, and no record carries one
//! of them where tshark saw none (no false labels). Also the TLS server
//! side: negotiated version and cipher suite of every ServerHello, against
//! tshark (tests/corpus_tls_server_hello.json, made by
//! scripts/tls_server_hello_truth.py).
//!
//! Exceptions: tests/corpus_exceptions.json entries with check
//! "app_protocols" and a "conversation" ("tcp A:P B:P" as tshark lists it).

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// tshark's protocol name -> our `app.protocol`, one entry per line.
const MAPPING: &[(&str, &str)] = &[
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

/// tshark's app protocols per conversation.
fn theirs(truth: &Value) -> BTreeMap<ConvKey, BTreeSet<String>> {
    let mut m: BTreeMap<ConvKey, BTreeSet<String>> = BTreeMap::new();
    for (list, proto) in [("tcp_conversations", "tcp"), ("udp_conversations", "udp")] {
        for c in truth[list].as_array().into_iter().flatten() {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            let p = |k: &str| c[k].as_u64().unwrap_or(0) as u16;
            let names = c["app_protocols"].as_array().into_iter().flatten().filter_map(|v| v.as_str());
            m.entry(conv_key(proto, (s("a"), p("a_port")), (s("b"), p("b_port"))))
                .or_default()
                .extend(names.map(String::from));
        }
    }
    m
}

fn key_of(r: &Value) -> ConvKey {
    let s = |k: &str| split_endpoint(r[k].as_str().unwrap_or_default());
    conv_key(r["proto"].as_str().unwrap_or_default(), s("local"), s("remote"))
}

/// Our app protocols per conversation.
fn ours(records: &[Value]) -> BTreeMap<ConvKey, BTreeSet<String>> {
    let mut m: BTreeMap<ConvKey, BTreeSet<String>> = BTreeMap::new();
    for r in records.iter().filter(|r| r["proto"] == "tcp" || r["proto"] == "udp") {
        let e = m.entry(key_of(r)).or_default();
        if let Some(p) = r["app"]["protocol"].as_str() {
            e.insert(p.to_string());
        }
    }
    m
}

#[test]
fn app_protocols_match_tshark() {
    let Some(dir) = corpus_dir() else { return };
    let exc = excused();
    let mut used = BTreeSet::new();
    let (mut want, mut hit, mut labels, mut failures) = (0, 0, 0, Vec::new());
    let our_names: BTreeSet<&str> = MAPPING.iter().map(|m| m.1).collect();
    for cap in captures(&dir) {
        let Some(truth) = truth(&cap) else { continue };
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let run = run_json(&cap, &[]);
        let (ours, theirs) = (ours(&run.records), theirs(&truth));
        let mut fail = |k: &ConvKey, msg: String| {
            let key = (name.clone(), conv_name(k));
            if exc.contains_key(&key) {
                used.insert(key);
            } else {
                failures.push(format!("{name}: {}: {msg}", conv_name(k)));
            }
        };
        for (k, t) in &theirs {
            let expect: BTreeSet<&str> = MAPPING.iter().filter(|m| t.contains(m.0)).map(|m| m.1).collect();
            let got = ours.get(k).cloned().unwrap_or_default();
            for p in expect {
                want += 1;
                if got.contains(p) {
                    hit += 1;
                } else {
                    fail(k, format!("tshark {t:?}, ours {got:?}: {p} missing"));
                }
            }
        }
        for (k, o) in &ours {
            for p in o.iter().filter(|p| our_names.contains(p.as_str())) {
                labels += 1;
                let t = theirs.get(k).cloned().unwrap_or_default();
                if !MAPPING.iter().any(|m| m.1 == p && t.contains(m.0)) {
                    fail(k, format!("false label {p}: tshark {t:?}"));
                }
            }
        }
    }
    for (k, reason) in &exc {
        if !used.contains(k) {
            failures.push(format!("{k:?}: listed as an exception ({reason}) but passes now; remove it"));
        }
    }
    eprintln!(
        "app protocols: {hit} of {want} tshark labels carried, {labels} labels of ours, {} excused, {} failures",
        used.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(want > 0, "no conversations of these protocols in the corpus");
}

/// Our name for a wire version (tshark gives the number).
fn version_name(v: u64) -> String {
    match v {
        0x0300 => "SSLv3".into(),
        0x0301..=0x0304 => format!("TLSv1.{}", v - 0x0301),
        v => format!("0x{v:04x}"),
    }
}

/// Each entry of a TLS truth file (tests/<name>) whose capture is in the
/// corpus, with the records of our run over it; `check` returns an error
/// message for a mismatch. Returns (entries checked, failures).
fn check_tls_truth(name: &str, check: impl Fn(&Value, &[&Value]) -> Option<String>) -> (usize, Vec<String>) {
    let Some(dir) = corpus_dir() else { return (0, Vec::new()) };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name);
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("truth file")).expect("JSON");
    let mut runs: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let (mut n, mut failures) = (0, Vec::new());
    for e in truth.as_array().into_iter().flatten() {
        let file = e["file"].as_str().unwrap_or_default().to_string();
        if !dir.join(&file).exists() {
            continue;
        }
        let records = runs.entry(file.clone()).or_insert_with(|| run_json(&dir.join(&file), &[]).records);
        let end = |k: &str| (e[k][0].as_str().unwrap_or_default().to_string(), e[k][1].as_u64().unwrap_or(0) as u16);
        let k = conv_key("tcp", end("server"), end("client"));
        let on_conv: Vec<&Value> = records.iter().filter(|r| r["proto"] == "tcp" && key_of(r) == k).collect();
        n += 1;
        if let Some(msg) = check(e, &on_conv) {
            failures.push(format!("{file} frame {}: {msg}", e["frame"]));
        }
    }
    (n, failures)
}

#[test]
fn tls_server_hello_matches_tshark() {
    let (n, failures) = check_tls_truth("corpus_tls_server_hello.json", |e, recs| {
        let want_v = version_name(e["version"].as_u64().unwrap_or(0));
        // "TLS_AES_128_GCM_SHA256 (0x1301)" -> the IANA name.
        let want_c = e["cipher"].as_str().unwrap_or_default().split(" (").next().unwrap_or_default().to_string();
        let got: Vec<(&Value, &Value)> =
            recs.iter().map(|r| (&r["app"]["negotiated_version"], &r["app"]["cipher"])).collect();
        let ok = got.iter().any(|(v, c)| *v == want_v.as_str() && *c == want_c.as_str());
        (!ok).then(|| format!("want {want_v} {want_c}, got {got:?}"))
    });
    eprintln!("TLS ServerHellos: {} of {n} match tshark", n - failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n > 0 || corpus_dir().is_none(), "no ServerHellos in the truth file");
}

/// JA4 of every ClientHello, against scripts/tls_ja4_truth.py's (the spec
/// in Python over tshark's dissection; tshark 4.0 has no JA4).
#[test]
fn tls_ja4_matches_tshark_fields() {
    let (n, failures) = check_tls_truth("corpus_tls_ja4.json", |e, recs| {
        let want = &e["ja4"];
        let got: Vec<&Value> = recs.iter().map(|r| &r["app"]["ja4"]).collect();
        (!got.contains(&want)).then(|| format!("want {want}, got {got:?}"))
    });
    eprintln!("JA4: {} of {n} ClientHellos match", n - failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n > 0 || corpus_dir().is_none(), "no ClientHellos in the truth file");
}

//! Issue 14's TLS server side against tshark on the public corpus: the
//! negotiated version and cipher suite of every ServerHello
//! (tests/corpus_tls_server_hello.json, made by
//! scripts/tls_server_hello_truth.py), and the JA4 of every ClientHello
//! (tests/corpus_tls_ja4.json, scripts/tls_ja4_truth.py).

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn key_of(r: &Value) -> ConvKey {
    let s = |k: &str| split_endpoint(r[k].as_str().unwrap_or_default());
    conv_key(r["proto"].as_str().unwrap_or_default(), s("local"), s("remote"))
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

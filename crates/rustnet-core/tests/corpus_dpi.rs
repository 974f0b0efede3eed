//! DPI against the public corpus: every capture in $RUSTNET_CORPUS is replayed
//! through the engine and compared with tshark's truth JSON beside it.
//! Known differences are listed, with reasons, in tests/corpus_exceptions.json
//! at the repository root; an exception that no longer fails is an error too.

mod common;

use rustnet_core::dpi::AppInfo;
use rustnet_core::track::{Connection, Proto};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

/// (file, check) -> reason, from the exceptions file.
fn exceptions() -> Vec<(String, String, String)> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus_exceptions.json");
    let text = std::fs::read_to_string(&p).expect("tests/corpus_exceptions.json is checked in");
    let v: Value = serde_json::from_str(&text).expect("exceptions file is valid JSON");
    v.as_array()
        .expect("exceptions file is a list")
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            assert!(!s("reason").is_empty(), "exception without a reason: {e}");
            (s("file"), s("check"), s("reason"))
        })
        .collect()
}

fn str_of(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// Connections whose endpoints are the truth entry's src:sport and dst:dport.
fn matching<'a>(conns: &'a [Connection], e: &Value, proto: Proto) -> Vec<&'a Connection> {
    let ip = |k: &str| str_of(e, k).parse::<IpAddr>().ok();
    let port = |k: &str| e[k].as_u64().and_then(|p| u16::try_from(p).ok());
    let (Some(s), Some(sp), Some(d), Some(dp)) = (ip("src"), port("sport"), ip("dst"), port("dport")) else {
        return Vec::new();
    };
    conns
        .iter()
        .filter(|c| {
            c.proto == proto
                && ((c.local.addr == s && c.local.port == sp && c.remote.addr == d && c.remote.port == dp)
                    || (c.local.addr == d && c.local.port == dp && c.remote.addr == s && c.remote.port == sp))
        })
        .collect()
}

fn proto_of(e: &Value) -> Proto {
    if e["proto"] == "tcp" { Proto::Tcp } else { Proto::Udp }
}

fn entries<'a>(t: &'a Value, k: &str) -> impl Iterator<Item = &'a Value> {
    t[k].as_array().map(|a| a.as_slice()).unwrap_or(&[]).iter().filter(|e| e["in_icmp_error"] != true)
}

/// tshark's type numbers as our mnemonics (those the corpus uses; others as TYPEn).
fn qtype_name(n: u64) -> String {
    match n {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        48 => "DNSKEY".into(),
        64 => "SVCB".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        n => format!("TYPE{n}"),
    }
}

/// Runs every check on one file; returns failures as (check, message).
fn check_file(path: &Path, truth: &Value) -> Vec<(String, String)> {
    let mut fails = Vec::new();
    let mut fail = |check: &str, msg: String| fails.push((check.to_string(), msg));
    let (conns, _stats) = match common::replay(path) {
        Ok(x) => x,
        Err(e) => {
            fail("read", e);
            return fails;
        }
    };
    let tls = |c: &Connection| match &c.app {
        Some(AppInfo::Tls(t)) => t.sni.clone(),
        _ => None,
    };
    // TLS: each ClientHello with an SNI, on its own connection.
    for e in entries(truth, "tls_client_hellos") {
        let Some(sni) = e["sni"].as_str() else {
            continue;
        };
        let alpn: Vec<String> = e["alpn"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let cs = matching(&conns, e, Proto::Tcp);
        let alpn_ok = |c: &Connection| matches!(&c.app, Some(AppInfo::Tls(t)) if t.alpn == alpn);
        if !cs.iter().any(|c| tls(c).as_deref() == Some(sni) && alpn_ok(c)) {
            let got: Vec<_> = cs.iter().map(|c| c.app.clone()).collect();
            fail("tls_sni", format!("frame {}: want SNI {sni}, got {got:?}", e["frame"]));
        }
    }
    let truth_snis: BTreeSet<String> =
        entries(truth, "tls_snis").filter_map(|v| v.as_str().map(String::from)).collect();
    let ours: BTreeSet<String> = conns.iter().filter_map(tls).collect();
    for s in truth_snis.difference(&ours) {
        fail("tls_sni", format!("SNI {s} not reported"));
    }
    for s in ours.difference(&truth_snis) {
        fail("tls_extra", format!("SNI {s} reported but tshark saw none"));
    }
    // HTTP: host on every request's connection; method and path of the first.
    let http = |c: &Connection| match &c.app {
        Some(AppInfo::Http(h)) => Some(h.clone()),
        _ => None,
    };
    let mut firsts = BTreeSet::new();
    for e in entries(truth, "http_requests") {
        // HTTPU (SSDP) requests travel over UDP; entries without "proto" predate it.
        let proto = if e["proto"].as_str() == Some("udp") { Proto::Udp } else { Proto::Tcp };
        let cs = matching(&conns, e, proto);
        let host = e["host"].as_str();
        let first = firsts.insert((str_of(e, "src"), e["sport"].as_u64(), str_of(e, "dst"), e["dport"].as_u64()));
        let ok = cs.iter().any(|c| {
            // HTTPU on port 1900 is reported as SSDP: its method must match.
            let ssdp = matches!(&c.app, Some(AppInfo::Ssdp(s)) if s.method.as_deref() == e["method"].as_str());
            ssdp || http(c).is_some_and(|h| {
                (host.is_none() || h.host.as_deref() == host)
                    && (!first
                        || (h.method.as_deref() == e["method"].as_str() && h.path.as_deref() == e["uri"].as_str()))
            })
        });
        if !ok {
            let got: Vec<_> = cs.iter().map(|c| c.app.clone()).collect();
            fail("http_host", format!("frame {}: want {host:?} {} {}, got {got:?}", e["frame"], e["method"], e["uri"]));
        }
    }
    let truth_hosts: BTreeSet<String> = truth["http_hosts"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    for h in conns.iter().filter_map(|c| http(c).and_then(|h| h.host)) {
        if !truth_hosts.contains(&h) {
            fail("http_extra", format!("host {h} reported but tshark saw none"));
        }
    }
    // DNS: every question on its connection.
    for e in entries(truth, "dns_queries") {
        let cs = matching(&conns, e, proto_of(e));
        let names = e["names"].as_array().map(|a| a.as_slice()).unwrap_or(&[]);
        let types = e["qtypes"].as_array().map(|a| a.as_slice()).unwrap_or(&[]);
        for (i, n) in names.iter().enumerate() {
            let n = n.as_str().unwrap_or_default();
            let t = types.get(i).and_then(Value::as_u64).map(qtype_name);
            // mDNS and LLMNR carry the same fields under their own names (tshark's
            // dns_queries lists their questions too).
            let ok = cs.iter().any(|c| match &c.app {
                Some(AppInfo::Dns(d) | AppInfo::Mdns(d) | AppInfo::Llmnr(d)) => {
                    d.queries.len() >= rustnet_core::dpi::DNS_MAX_ITEMS
                        || d.queries.iter().any(|q| q.name == n && t.as_ref().is_none_or(|t| &q.qtype == t))
                }
                _ => false,
            });
            if !ok {
                let got: Vec<_> = cs.iter().map(|c| c.app.clone()).collect();
                fail("dns_query", format!("frame {}: want {n} {t:?}, got {got:?}", e["frame"]));
            }
        }
    }
    let dns_names: BTreeSet<String> = conns
        .iter()
        .filter_map(|c| match &c.app {
            Some(AppInfo::Dns(d) | AppInfo::Mdns(d) | AppInfo::Llmnr(d)) => {
                Some(d.queries.iter().map(|q| q.name.clone()))
            }
            _ => None,
        })
        .flatten()
        .collect();
    for q in truth["dns_query_set"].as_array().map(|a| a.as_slice()).unwrap_or(&[]) {
        let n = q[0].as_str().unwrap_or_default();
        if !dns_names.contains(n) {
            fail("dns_query", format!("query {n} not reported anywhere"));
        }
    }
    // SSH: every banner on its connection, as the client's or server's.
    for e in entries(truth, "ssh_banners") {
        let b = e["banner"].as_str().unwrap_or_default();
        let cs = matching(&conns, e, Proto::Tcp);
        let ok = cs.iter().any(|c| match &c.app {
            Some(AppInfo::Ssh(s)) => s.client.as_deref() == Some(b) || s.server.as_deref() == Some(b),
            _ => false,
        });
        if !ok {
            let got: Vec<_> = cs.iter().map(|c| c.app.clone()).collect();
            fail("ssh_banner", format!("frame {}: want {b}, got {got:?}", e["frame"]));
        }
    }
    // QUIC: each Initial ClientHello with an SNI, on its connection.
    for e in entries(truth, "quic_client_hellos") {
        let Some(sni) = e["sni"].as_str() else {
            continue;
        };
        let cs = matching(&conns, e, Proto::Udp);
        let ok = cs.iter().any(|c| matches!(&c.app, Some(AppInfo::Quic(q)) if q.sni.as_deref() == Some(sni)));
        if !ok {
            fail("quic_sni", format!("frame {}: want QUIC SNI {sni}", e["frame"]));
        }
    }
    fails
}

#[test]
fn corpus_dpi_matches_tshark() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let exc = exceptions();
    let mut unexpected = Vec::new();
    let mut used = BTreeSet::new();
    let files = common::corpus_files(&dir);
    assert!(!files.is_empty(), "no captures in {}", dir.display());
    let mut checked = 0;
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let Some(truth) = common::read_truth(f) else {
            eprintln!("{name}: no truth JSON, replayed only");
            let _ = common::replay(f);
            continue;
        };
        checked += 1;
        for (check, msg) in check_file(f, &truth) {
            match exc.iter().find(|(ef, ec, _)| *ef == name && *ec == check) {
                Some((_, _, reason)) => {
                    used.insert((name.clone(), check.clone()));
                    eprintln!("expected ({reason}): {name} {check}: {msg}");
                }
                None => unexpected.push(format!("{name} {check}: {msg}")),
            }
        }
    }
    for (f, c, _) in &exc {
        // Only this test's checks; the conversation checks have their own test.
        const CHECKS: [&str; 8] =
            ["dns_query", "http_extra", "http_host", "quic_sni", "read", "ssh_banner", "tls_extra", "tls_sni"];
        let ours = CHECKS.contains(&c.as_str());
        if ours && !used.contains(&(f.clone(), c.clone())) && files.iter().any(|p| p.ends_with(f)) {
            unexpected.push(format!("{f} {c}: listed as an exception but passes now; remove it"));
        }
    }
    eprintln!("{checked} files checked against their truth");
    assert!(unexpected.is_empty(), "corpus mismatches:\n{}", unexpected.join("\n"));
}

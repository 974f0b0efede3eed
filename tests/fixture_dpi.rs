//! DPI on our own fixtures, against what each client was told to send
//! (tests/fixtures/expected.json): HTTP requests, TLS SNI/ALPN/version, DNS
//! questions and answers, SSH banners, QUIC SNI/ALPN/close, and the states.

mod common;

use common::*;
use serde_json::{Value, json};

fn apps(file: &str, protocol: &str) -> Vec<Value> {
    let mut v: Vec<Value> = fixture_records(file).into_iter().filter(|r| r["app"]["protocol"] == protocol).collect();
    v.sort_by_key(|r| r["first_seen"].as_f64().map(|f| (f * 1e6) as u64));
    v
}

/// For every fixture with expectations of `kind` (at least `min` fixtures):
/// its records of `protocol`, as many as expected, each checked by `check`
/// against its expectation (in first-seen order).
fn check_cases(kind: &str, protocol: &str, min: usize, check: impl Fn(&str, &Value, &Value)) {
    let exp = fixture_expected();
    let all = cases(&exp, kind);
    assert!(all.len() >= min, "fixtures missing");
    for (file, want) in all {
        let got = apps(file, protocol);
        assert_eq!(got.len(), want.len(), "{file}: {got:#?}");
        for (g, w) in got.iter().zip(want) {
            check(file, g, w);
        }
    }
}

/// Every fixture, with the expectations of one kind.
fn cases<'a>(exp: &'a Value, kind: &str) -> Vec<(&'a str, &'a Vec<Value>)> {
    exp.as_object().expect("object").iter().filter_map(|(f, e)| e[kind].as_array().map(|a| (f.as_str(), a))).collect()
}

#[test]
fn http_requests() {
    check_cases("http", "HTTP", 3, |file, g, w| {
        for k in ["host", "method", "path", "user_agent"] {
            assert_eq!(g["app"][k], w[k], "{file} {k}");
        }
    });
}

#[test]
fn tls_client_hellos() {
    check_cases("tls", "TLS", 4, |file, g, w| {
        assert_eq!(g["app"]["sni"], w["sni"], "{file}");
        assert_eq!(g["app"]["alpn"], w["alpn"], "{file}");
        assert_eq!(g["app"]["version"], w["version"], "{file}");
        // The clients were told --tlsv1.3 or --tls-max 1.2, and offered no more:
        // the server chose the version offered.
        assert_eq!(g["app"]["negotiated_version"], w["version"], "{file}");
        assert!(g["app"]["cipher"].as_str().is_some_and(|c| c.starts_with("TLS_")), "{file}: {}", g["app"]);
        assert!(g["app"]["ja4"].as_str().is_some_and(|j| j.len() == 36), "{file}: {}", g["app"]);
        if let Some(port) = w["port"].as_u64() {
            assert!(g["remote"].as_str().is_some_and(|r| r.ends_with(&format!(":{port}"))), "{file}");
        }
    });
}

#[test]
fn dns_questions_and_answers() {
    check_cases("dns", "DNS", 3, |file, g, w| {
        assert_eq!(g["app"]["queries"], json!([{"name": w["name"], "type": w["type"]}]), "{file}");
        assert_eq!(g["app"]["answers"], w["answers"], "{file}");
        assert_eq!(g["app"]["rcode"], w["rcode"], "{file}");
        // Over UDP the shown state is the DNS one; over TCP the teardown wins.
        if g["proto"] == "udp" {
            assert_eq!(g["state"], "DNS_RESPONSE", "{file}");
        }
    });
}

#[test]
fn ssh_banners() {
    let exp = &fixture_expected()["ssh.pcap"];
    let got = apps("ssh.pcap", "SSH");
    assert_eq!(got.len(), exp["ssh_sessions"].as_array().expect("sessions").len());
    for g in &got {
        for k in ["client", "server", "software"] {
            assert_eq!(g["app"][k], exp["ssh"][k], "{k}");
        }
    }
}

#[test]
fn quic_initials() {
    check_cases("quic", "QUIC", 2, |file, g, w| {
        assert_eq!(g["app"]["sni"], w["sni"], "{file}");
        assert_eq!(g["app"]["alpn"], w["alpn"], "{file}");
        assert_eq!(g["app"]["version"], "v1", "{file}: {}", w["version"]);
        match w["close"].as_object() {
            // A close in an Initial packet is readable without keys.
            Some(c) => {
                assert_eq!(g["app"]["close"]["code"], c["code"], "{file}");
                assert_eq!(g["app"]["close"]["reason"], c["reason"], "{file}");
                assert_eq!(g["state"], "QUIC_CLOSED", "{file}");
            }
            // aioquic's own close travels in a 1-RTT packet: invisible.
            None => {
                assert_eq!(g["app"]["close"], Value::Null, "{file}");
                assert_eq!(g["state"], "QUIC_CONNECTED", "{file}");
            }
        }
    });
}

/// Issue 14b: a DHCP exchange with dnsmasq, an mDNS and an LLMNR query
/// (tests/lab/make_fixtures_14b.sh), each as its client was told to send.
#[test]
fn dhcp_mdns_llmnr() {
    check_cases("dhcp", "DHCP", 1, |file, g, w| {
        assert_eq!(g["app"]["version"], 4, "{file}");
        for k in ["message_types", "hostname", "vendor_class", "requested_address", "offered_address"] {
            assert_eq!(g["app"][k], w[k], "{file} {k}");
        }
    });
    check_cases("mdns", "mDNS", 1, |file, g, w| assert_eq!(g["app"]["queries"], w["queries"], "{file}"));
    check_cases("llmnr", "LLMNR", 1, |file, g, w| assert_eq!(g["app"]["queries"], w["queries"], "{file}"));
}

//! Issue 14 on our own fixtures (tests/lab/make_app_fixtures.sh): FTP, MQTT,
//! SNMP and NTP fields against what the clients were told to send
//! (tests/fixtures/expected.json), and no secret in any record.

mod common;

use common::*;
use serde_json::Value;

/// Records of `protocol` in first-seen order, checked against the fixture's
/// expectations of `kind`; no record may contain one of its secrets.
fn check(file: &str, kind: &str, protocol: &str, each: impl Fn(&Value, &Value)) {
    let exp = fixture_expected();
    let e = &exp[file];
    let want = e[kind].as_array().unwrap_or_else(|| panic!("{file}: no {kind} expectations"));
    let records = fixture_records(file);
    let mut got: Vec<&Value> = records.iter().filter(|r| r["app"]["protocol"] == protocol).collect();
    got.sort_by_key(|r| r["first_seen"].as_f64().map(|f| (f * 1e6) as u64));
    assert_eq!(got.len(), want.len(), "{file}: {got:#?}");
    for (g, w) in got.iter().zip(want) {
        each(&g["app"], w);
    }
    let text = serde_json::to_string(&records).expect("records serialise");
    for s in e["secrets"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        assert!(!text.contains(s), "{file}: secret {s} in the output");
    }
}

/// One FTP control record against its expectation.
fn ftp_control(g: &Value, w: &Value) {
    for k in ["banner", "user", "reply"] {
        assert_eq!(g[k], w[k], "{k}");
    }
    if let Some(c) = w.get("command") {
        assert_eq!(&g["command"], c);
    }
    match w["data_ports"].as_array() {
        None => assert!(g["data"].is_null(), "{g}"),
        Some(r) => {
            let p: u64 = g["data"].as_str().and_then(|d| d.rsplit(':').next()?.parse().ok()).unwrap_or(0);
            assert!((r[0].as_u64().unwrap_or(0)..=r[1].as_u64().unwrap_or(0)).contains(&p), "{g}");
        }
    }
    if let Some(h) = w["data_host"].as_str() {
        assert!(g["data"].as_str().is_some_and(|d| d.starts_with(&format!("{h}:"))), "{g}");
    }
}

#[test]
fn ftp_control_connections() {
    check("ftp_vsftpd.pcap", "ftp", "FTP", ftp_control);
    check("ftp_active.pcap", "ftp", "FTP", ftp_control);
}

/// Active mode: the server's connection from port 20 is FTP-data.
#[test]
fn ftp_active_data_connection() {
    check("ftp_active.pcap", "ftp_data", "FTP-data", |g, _| {
        assert_eq!(g, &serde_json::json!({"protocol": "FTP-data"}))
    });
    let data: Vec<Value> =
        fixture_records("ftp_active.pcap").into_iter().filter(|r| r["app"]["protocol"] == "FTP-data").collect();
    assert!(data.iter().all(|r| split_endpoint(r["local"].as_str().unwrap_or_default()).1 == 20), "{data:?}");
}

#[test]
fn mqtt_connects() {
    check("mqtt_mosquitto.pcap", "mqtt", "MQTT", |g, w| {
        assert_eq!(g["version"], w["version"]);
        assert_eq!(g["client_id"], w["client_id"]);
    });
}

#[test]
fn snmp_requests() {
    check("snmp_net_snmp.pcap", "snmp", "SNMP", |g, w| {
        assert_eq!(g["version"], w["version"]);
        assert_eq!(g["pdu_type"], w["pdu_type"]);
    });
}

#[test]
fn ntp_query() {
    check("ntp_chrony.pcap", "ntp", "NTP", |g, w| {
        for k in ["version", "mode", "stratum"] {
            assert_eq!(g[k], w[k], "{k}");
        }
    });
}

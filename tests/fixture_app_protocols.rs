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

/// The control connection of a fixture that announced `port` (app.data
/// ends in it), as "client -> server" (the client is curl's end, the server
/// the one on port 21).
fn control_of(file: &str, port: u16) -> String {
    let ctl = fixture_records(file)
        .into_iter()
        .find(|r| {
            r["app"]["protocol"] == "FTP" && r["app"]["data"].as_str().is_some_and(|d| d.ends_with(&format!(":{port}")))
        })
        .unwrap_or_else(|| panic!("no control connection in {file} announced port {port}"));
    let (local, remote) = (ctl["local"].as_str().unwrap_or_default(), ctl["remote"].as_str().unwrap_or_default());
    assert_eq!(split_endpoint(remote).1, 21, "{ctl}");
    format!("{local} -> {remote}")
}

/// Active mode: the server's connection from port 20 is FTP-data, linked to
/// the control connection whose PORT/EPRT command announced it.
#[test]
fn ftp_active_data_connection() {
    let data: Vec<Value> =
        fixture_records("ftp_active.pcap").into_iter().filter(|r| r["app"]["protocol"] == "FTP-data").collect();
    assert!(data.iter().all(|r| split_endpoint(r["local"].as_str().unwrap_or_default()).1 == 20), "{data:?}");
    check("ftp_active.pcap", "ftp_data", "FTP-data", |g, _| assert_eq!(g["protocol"], "FTP-data"));
    for r in &data {
        // The client listens on the port its PORT/EPRT command named.
        let control = control_of("ftp_active.pcap", split_endpoint(r["remote"].as_str().unwrap_or_default()).1);
        assert_eq!(r["app"], serde_json::json!({"protocol": "FTP-data", "control": control}), "{r}");
    }
}

/// Passive mode (curl uses EPSV): the connection curl opens to the port the
/// 229 reply named is FTP-data, linked to its control connection; nothing in
/// its own bytes says FTP (issue 14).
#[test]
fn ftp_passive_data_connection() {
    let data: Vec<Value> =
        fixture_records("ftp_vsftpd.pcap").into_iter().filter(|r| r["app"]["protocol"] == "FTP-data").collect();
    assert!(!data.is_empty(), "no FTP-data connection");
    for r in &data {
        let port = split_endpoint(r["remote"].as_str().unwrap_or_default()).1;
        assert_ne!(port, 20, "{r}");
        assert_eq!(r["app"]["control"], control_of("ftp_vsftpd.pcap", port).as_str(), "{r}");
    }
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

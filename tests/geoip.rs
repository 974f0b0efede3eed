//! `--geoip DIR` end to end: fixture captures replayed with the test
//! databases of tests/fixtures/geoip (written by scripts/make_geoip_fixture.py
//! with mmdb-writer). Every record's `geo` must equal what libmaxminddb's
//! own `mmdblookup` reads from the same files for its remote address, and
//! `country:` must select by it. A broken database is one warning, no panic.

mod common;

use common::testenv::tools_ready;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn geo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip")
}

fn run(pcap: &str, extra: &[&str]) -> (Vec<Value>, String) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(pcap);
    let out = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .arg("--read")
        .arg(&fixture)
        .arg("--json")
        .args(extra)
        .output()
        .expect("run rustnet");
    assert!(out.status.success(), "rustnet: {}", String::from_utf8_lossy(&out.stderr));
    let recs = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    (recs, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// One value as mmdblookup prints it ("DE" <utf8_string>, 64500 <uint32>), or None.
fn mmdblookup(db: &str, ip: &str, path: &[&str]) -> Option<String> {
    let out = Command::new("mmdblookup").arg("-f").arg(geo_dir().join(db)).args(["-i", ip]).args(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().map(str::trim).find(|l| l.contains('<'))?;
    let value = line.rsplit_once('<')?.0.trim();
    Some(value.trim_matches('"').to_string())
}

/// The remote address of a record ("10.77.0.2:80", "[fd77::2]:80", "fd77::2").
fn remote_ip(r: &Value) -> String {
    let s = r["remote"].as_str().expect("remote");
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_string();
    }
    match s.rsplit_once(':') {
        Some((a, _)) if !a.contains(':') => a.to_string(),
        _ => s.to_string(),
    }
}

#[test]
fn geo_equals_what_mmdblookup_reads() {
    if !tools_ready(&["mmdblookup"]) {
        return;
    }
    let mut checked = 0;
    for pcap in ["http_curl.pcap", "mixed_ipv6.pcap", "dns_udp.pcap"] {
        let (recs, stderr) = run(pcap, &["--geoip", geo_dir().to_str().expect("utf-8 path")]);
        assert!(stderr.is_empty(), "{stderr}");
        for r in &recs {
            let ip = remote_ip(r);
            let neighbour = r["proto"] == "arp" || r["state"].as_str().is_some_and(|s| s.starts_with("ARP"));
            let want_cc = mmdblookup("GeoLite2-City.mmdb", &ip, &["country", "iso_code"]);
            let geo = &r["geo"];
            if neighbour || want_cc.is_none() {
                assert!(geo.is_null(), "{pcap} {ip}: {r}");
                continue;
            }
            assert_eq!(geo["country"].as_str().map(str::to_string), want_cc, "{pcap} {ip}");
            assert_eq!(
                geo["city"].as_str().map(str::to_string),
                mmdblookup("GeoLite2-City.mmdb", &ip, &["city", "names", "en"])
            );
            let asn = mmdblookup("GeoLite2-ASN.mmdb", &ip, &["autonomous_system_number"]);
            assert_eq!(geo["asn"].as_u64().map(|n| n.to_string()), asn, "{pcap} {ip}");
            let org = mmdblookup("GeoLite2-ASN.mmdb", &ip, &["autonomous_system_organization"]);
            assert_eq!(geo["org"].as_str().map(str::to_string), org, "{pcap} {ip}");
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} records had a GeoIP entry to check");
}

#[test]
fn country_filter_and_no_geo_without_the_flag() {
    let dir = geo_dir();
    let dir = dir.to_str().expect("utf-8 path");
    let (fr, _) = run("mixed_ipv6.pcap", &["--geoip", dir, "--filter", "country:fr"]);
    assert!(!fr.is_empty() && fr.iter().all(|r| r["geo"]["country"] == "FR"), "{fr:?}");
    let (de, _) = run("mixed_ipv6.pcap", &["--geoip", dir, "--filter", "country:de"]);
    assert!(de.is_empty(), "{de:?}");
    let (plain, _) = run("http_curl.pcap", &[]);
    assert!(plain.iter().all(|r| r["geo"].is_null()));
}

#[test]
fn broken_databases_are_one_warning_each() {
    let dir = std::env::temp_dir().join(format!("rustnet-geoip-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("GeoLite2-City.mmdb"), b"\xab\xcd\xefMaxMind.com garbage").expect("write");
    let (recs, stderr) = run("http_curl.pcap", &["--geoip", dir.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(stderr.lines().filter(|l| l.contains("GeoIP")).count(), 1, "{stderr}");
    assert!(!recs.is_empty() && recs.iter().all(|r| r["geo"].is_null()));
}

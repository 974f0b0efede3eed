//! `--pcapng-export FILE` from fixtures: tshark reads the file without a
//! warning, finds every packet of the input in order, and its
//! `frame.comment`s say the direction tshark's own view implies and the
//! server name from the packet that carried it on (the name the client was
//! told to send, expected.json).

mod common;

use common::testenv::tools_ready;
use common::{fixture, fixture_expected};
use std::path::Path;
use std::process::Command;

/// tshark's fields of every frame (tab-separated), and its stderr without
/// the "running as root" note.
fn tshark(file: &Path, fields: &[&str]) -> (Vec<Vec<String>>, String) {
    tshark_filtered(file, "frame", fields)
}

/// The same, of the frames matching a display filter.
fn tshark_filtered(file: &Path, display: &str, fields: &[&str]) -> (Vec<Vec<String>>, String) {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(file).args(["-Y", display, "-T", "fields"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("run tshark");
    let rows =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect();
    let err = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("Running as user"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(out.status.success(), "tshark -r {} -Y {display}: {err}", file.display());
    (rows, err)
}

/// `rustnet --read NAME --json --workers 2 --pcapng-export OUT [extra]`: OUT.
fn export(name: &str, extra: &[&str]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rustnet-pcapng-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join(format!("{name}{}.pcapng", extra.len()));
    let run = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .arg("--read")
        .arg(fixture(name))
        .args(["--json", "--workers", "2", "--pcapng-export"])
        .arg(&out)
        .args(extra)
        .output()
        .expect("run rustnet");
    assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
    out
}

const FRAME: [&str; 5] = ["frame.time_epoch", "frame.len", "ip.src", "tcp.srcport", "udp.srcport"];

#[test]
fn every_packet_with_direction_and_name_as_tshark_sees_them() {
    if !tools_ready(&["tshark"]) {
        return;
    }
    let expected = fixture_expected();
    for (name, key, told, first_field) in [
        ("tls13_curl.pcap", "sni", expected["tls13_curl.pcap"]["tls"][0]["sni"].as_str(), "tls.handshake.type"),
        ("tls12_curl.pcap", "sni", expected["tls12_curl.pcap"]["tls"][0]["sni"].as_str(), "tls.handshake.type"),
        ("http_curl.pcap", "host", None, "http.host"),
        ("ssh.pcap", "", None, ""),
    ] {
        let out = export(name, &[]);
        let mut fields = FRAME.to_vec();
        fields.extend(["tcp.flags.syn", "tcp.flags.ack", "tcp.stream"]);
        if !first_field.is_empty() {
            fields.push(first_field);
        }
        let (input, _) = tshark(&fixture(name), &fields);
        let mut with_comment = fields.clone();
        with_comment.push("frame.comment");
        let (exported, err) = tshark(&out, &with_comment);
        assert_eq!(err, "", "{name}: tshark warns");
        // Every packet, in order, the same bytes' worth.
        let strip = |rows: &[Vec<String>]| rows.iter().map(|r| r[..fields.len()].to_vec()).collect::<Vec<_>>();
        assert_eq!(strip(&exported), input, "{name}: packets");
        // The client: the source of the first SYN (tshark's view).
        let client = input.iter().find(|r| r[5] == "1" && r[6] == "0").map(|r| r[2].clone()).expect("a SYN");
        // Per TCP stream, the frame that carried the server name: the
        // ClientHello (TLS; the name as expected.json says), the request
        // with a Host header (HTTP, the name as tshark reads it).
        let mut named_from = std::collections::HashMap::new();
        for (i, r) in input.iter().enumerate() {
            let v = r.get(8).map(String::as_str).unwrap_or_default();
            let carries = if key == "host" { !v.is_empty() } else { v.split(',').any(|t| t == "1") };
            if carries && !first_field.is_empty() {
                let host = if key == "host" { v.to_string() } else { told.unwrap_or_default().to_string() };
                named_from.entry(r[7].clone()).or_insert((i, host));
            }
        }
        assert!(first_field.is_empty() || !named_from.is_empty(), "{name}: tshark saw no name");
        for (i, r) in exported.iter().enumerate() {
            let comment = r.last().map(String::as_str).unwrap_or_default();
            if r[2].is_empty() {
                continue; // not IPv4 (ARP): no flow of its own to annotate
            }
            let dir = if r[2] == client { "dir=out" } else { "dir=in" };
            assert!(comment.split(' ').any(|w| w == dir), "{name} frame {}: {comment:?} (want {dir})", i + 1);
            if let Some((first, host)) = named_from.get(&r[7]) {
                let named = comment.contains(&format!("{key}={host}"));
                assert_eq!(named, i >= *first, "{name} frame {}: {comment:?}", i + 1);
            }
        }
    }
}

/// `--export-filter`: exactly the packets of the matching connections, from
/// the SYN on though the name that matches comes in a later packet; tshark
/// picks the same connections by what they carry.
#[test]
fn export_filter_keeps_exactly_the_matching_connections() {
    if !tools_ready(&["tshark"]) {
        return;
    }
    // (fixture, --export-filter, tshark: the stream field and the filter that finds its streams)
    for (name, expr, stream, finds) in [
        ("http_curl.pcap", "/path/two", "tcp.stream", "http.request.uri contains \"two\""),
        ("http_curl.pcap", "host:www.example", "tcp.stream", "http.host == \"www.example.test\""),
        ("dns_udp.pcap", "txt.example", "udp.stream", "dns.qry.name == \"txt.example.test\""),
        ("tls13_curl.pcap", "sni:nomatch", "tcp.stream", "tcp.stream == 999"),
    ] {
        let out = export(name, &["--export-filter", expr]);
        let (streams, _) = tshark_filtered(&fixture(name), finds, &[stream]);
        let mut ids: Vec<String> = streams.into_iter().flatten().collect();
        ids.dedup();
        let want = if ids.is_empty() {
            Vec::new()
        } else {
            let or = ids.iter().map(|s| format!("{stream} == {s}")).collect::<Vec<_>>().join(" || ");
            tshark_filtered(&fixture(name), &or, &FRAME).0
        };
        let (got, err) = tshark(&out, &FRAME);
        assert_eq!(err, "", "{name}: tshark warns");
        assert_eq!(got, want, "{name} --export-filter {expr}");
    }
}

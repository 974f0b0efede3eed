//! `--read FILE --bpf-filter EXPR` keeps what tcpdump keeps with the same
//! expression on the same file, and `--pcap-export` of it holds exactly those
//! packets; a bad expression is a usage error (exit 2) with libpcap's message.

mod common;

use common::lab::{tshark_conversations, tshark_field};
use common::testenv::{libpcap_ready, tools_ready};
use common::*;
use std::path::Path;
use std::process::Command;

#[test]
fn read_filter_matches_tcpdump_and_export_holds_the_same() {
    if !(tools_ready(&["tcpdump", "tshark"]) && libpcap_ready()) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rustnet-readbpf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases = [
        ("mixed_ipv6.pcap", "tcp"),
        ("mixed_ipv6.pcap", "udp port 53"),
        ("mixed_ipv6.pcap", "ip6 and not icmp6"),
        ("http_curl.pcap", "tcp[tcpflags] & tcp-syn != 0"),
        ("dns_tcp.pcap", "port 53 and greater 100"),
        ("tls13_curl.pcap", "src port 443"),
    ];
    let mut nonempty = 0;
    for (i, (file, expr)) in cases.iter().enumerate() {
        let input = fixture(file);
        let reference = dir.join(format!("ref{i}.pcap"));
        let o = Command::new("tcpdump").arg("-r").arg(&input).arg("-w").arg(&reference).arg(expr).output();
        assert!(o.expect("run tcpdump").status.success(), "tcpdump -r {file} {expr}");
        let want = tshark_conversations(&reference);
        nonempty += usize::from(!want.is_empty());

        let export = dir.join(format!("out{i}.pcapng"));
        let export_s = export.to_string_lossy().into_owned();
        let run = run_json(&input, &["--bpf-filter", expr, "--pcap-export", &export_s]);
        assert!(run.status.success(), "{file} {expr}: {}", run.stderr);
        assert_eq!(record_conversations(&run.records), want, "{file} {expr}: rustnet vs tcpdump");
        assert_eq!(tshark_conversations(&export), want, "{file} {expr}: export vs tcpdump");
        let frames = |p: &Path| tshark_field(p, "frame.len");
        assert_eq!(frames(&export), frames(&reference), "{file} {expr}: same frames in the same order");
    }
    assert!(nonempty >= 5, "the cases select packets");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_filter_is_a_usage_error_with_libpcaps_message() {
    let run = run_json(&fixture("ping.pcap"), &["-f", "tcp port"]);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("syntax error"), "{}", run.stderr);
    assert!(run.records.is_empty());
    let run = run_json(&fixture("ping.pcap"), &["-f", "port 70000"]);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("70000"), "{}", run.stderr);
}

//! The impaired-link fixture (tests/lab/make_netem_fixture.sh): curl and
//! iperf3 through a link told to delay the server's packets by 20 ms and to
//! lose and reorder data segments. Its retransmit/out-of-order counts are
//! compared with tshark's by corpus_analytics.rs like every fixture; here:
//! every handshake RTT is the delay the link was told to add, and the
//! capture really shows loss and reordering (else it would prove little).

mod common;

use common::*;

const FILE: &str = "netem_curl_iperf3.pcap";

#[test]
fn handshake_rtt_is_the_configured_delay() {
    let exp = &fixture_expected()[FILE];
    let delay = exp["link"]["delay_ms"].as_f64().expect("delay_ms") / 1000.0;
    let recs = fixture_records(FILE);
    let tcp: Vec<_> = recs.iter().filter(|r| r["proto"] == "tcp").collect();
    assert_eq!(tcp.len() as u64, exp["tcp_connections"].as_u64().expect("count"), "{tcp:#?}");
    for r in tcp {
        let rtt = r["rtt"].as_f64();
        assert!(rtt.is_some_and(|v| (v - delay).abs() <= 0.002), "{}: rtt {rtt:?}, link delay {delay} s", r["remote"]);
    }
}

#[test]
fn capture_shows_loss_and_reordering() {
    let recs = fixture_records(FILE);
    let sum = |field: &str| -> u64 {
        recs.iter().filter(|r| r["proto"] == "tcp").map(|r| r["tcp"]["rx"][field].as_u64().unwrap_or(0)).sum()
    };
    let (retrans, fast, ooo, dup) = (sum("retransmits"), sum("fast_retransmits"), sum("out_of_order"), sum("dup_acks"));
    eprintln!("{FILE}: received retransmits {retrans} (fast {fast}), out of order {ooo}, dup acks {dup}");
    assert!(retrans > 0 && fast > 0 && ooo > 0, "the link's loss/reordering does not show");
    // Only the server's direction was impaired: the client never retransmits.
    let tx: u64 = recs.iter().filter_map(|r| r["tcp"]["tx"]["retransmits"].as_u64()).sum();
    assert_eq!(tx, 0);
}

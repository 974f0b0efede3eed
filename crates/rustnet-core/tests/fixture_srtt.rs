//! The smoothed live RTT on the impaired-link fixture
//! (tests/fixtures/netem_curl_iperf3.pcap, made by
//! tests/lab/make_netem_fixture.sh): the link was told to delay the server's
//! packets by 20 ms, so every connection's smoothed RTT stays near 20 ms.
//! Not exactly: the link also sent 10 % of the server's data segments at
//! once (reordering), and a client segment acknowledged on such a segment
//! is a short sample; the iperf3 control connection's small messages wait
//! for delayed ACKs. Hence the wide ±10 ms; the handshake RTT's ±2 ms is in
//! tests/fixture_netem.rs.

mod common;

use rustnet_core::track::Proto;
use std::path::Path;
use std::time::Duration;

/// What the link was told (tests/fixtures/expected.json, "link").
const DELAY: Duration = Duration::from_millis(20);

#[test]
fn smoothed_rtt_follows_the_link_delay() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/netem_curl_iperf3.pcap");
    let (conns, _) = common::replay(&file).expect("the fixture reads");
    let tcp: Vec<_> = conns.iter().filter(|c| c.proto == Proto::Tcp).collect();
    assert_eq!(tcp.len(), 5, "3 curl, 2 iperf3 connections");
    for c in tcp {
        let s = c.tcp.and_then(|t| t.smoothed_rtt);
        eprintln!("port {}: handshake {:?}, smoothed {s:?}", c.remote.port, c.rtt);
        assert!(s.is_some_and(|s| s.abs_diff(DELAY) <= Duration::from_millis(10)), "port {}: {s:?}", c.remote.port);
    }
}

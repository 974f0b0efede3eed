//! Our fixtures against what their clients were told to do
//! (tests/fixtures/expected.json): connection counts, directions, echo and
//! ARP counts, and the end states of the TCP connections.

mod common;

use common::*;
use serde_json::Value;

fn of<'a>(recs: &'a [Value], proto: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["proto"] == proto).collect()
}

#[test]
fn tcp_connection_counts_and_roles() {
    for (file, exp) in fixture_expected().as_object().expect("object") {
        let Some(n) = exp["tcp_connections"].as_u64() else { continue };
        let recs = fixture_records(file);
        let tcp = of(&recs, "tcp");
        assert_eq!(tcp.len() as u64, n, "{file}: {tcp:#?}");
        for r in tcp {
            // Every client in the lab ran in the client namespace.
            let local = r["local"].as_str().unwrap_or_default();
            assert!(local.starts_with("10.77.0.1:") || local.starts_with("[fd77::1]:"), "{file}: {r}");
            // All fixture connections ended (FIN exchange or RST) before capture stopped.
            let st = r["state"].as_str().unwrap_or_default();
            assert!(matches!(st, "TIME_WAIT" | "CLOSED" | "LAST_ACK" | "FIN_WAIT2"), "{file}: {r}");
        }
    }
}

#[test]
fn udp_conversations_are_per_query() {
    for (file, exp) in fixture_expected().as_object().expect("object") {
        let Some(n) = exp["udp_conversations"].as_u64() else { continue };
        let recs = fixture_records(file);
        let udp: Vec<_> = of(&recs, "udp")
            .into_iter()
            .filter(|r| !r["remote"].as_str().unwrap_or_default().contains("ff02"))
            .collect();
        assert_eq!(udp.len() as u64, n, "{file}: {udp:#?}");
    }
}

#[test]
fn ping_counts() {
    let exp = &fixture_expected()["ping.pcap"]["icmp_echo_by_proto"];
    let recs = fixture_records("ping.pcap");
    for proto in ["icmp", "icmpv6"] {
        let n = exp[proto].as_u64().expect("count");
        let echo: Vec<_> = of(&recs, proto).into_iter().filter(|r| r["state"] == "ECHO_REPLY").collect();
        assert_eq!(echo.len(), 1, "{proto}: {recs:#?}");
        assert_eq!((echo[0]["tx_packets"].as_u64(), echo[0]["rx_packets"].as_u64()), (Some(n), Some(n)));
    }
    // RST: the refused connection is one SYN out and one RST/ACK in.
    let rst = fixture_records("tcp_rst.pcap");
    let refused: Vec<_> = rst.iter().filter(|r| r["remote"].as_str().is_some_and(|s| s.ends_with(":81"))).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!((refused[0]["state"].as_str(), refused[0]["tx_packets"].as_u64()), (Some("CLOSED"), Some(1)));
}

#[test]
fn arp_counts() {
    let exp = &fixture_expected()["arp.pcap"]["arp"];
    let recs = fixture_records("arp.pcap");
    let arp = of(&recs, "arp");
    assert_eq!(arp.len(), 1, "{arp:#?}");
    assert_eq!(arp[0]["local"], exp["from"]);
    assert_eq!(arp[0]["remote"], exp["who_has"]);
    assert_eq!(arp[0]["tx_packets"].as_u64(), exp["requests"].as_u64());
    assert_eq!(arp[0]["rx_packets"].as_u64(), exp["replies"].as_u64());
    assert_eq!(arp[0]["state"], "ARP_REPLY");
}

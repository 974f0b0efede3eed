//! Replays the committed fuzz corpus (fuzz/corpus/<target>/) through the same
//! entry points the fuzz targets use, so CI covers it without nightly.

use rustnet_core::fuzzing;
use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut n = 0;
    for e in entries.flatten() {
        let data = std::fs::read(e.path()).expect("corpus file readable");
        f(&data);
        // About 16 prefixes too: truncated input is the commonest malformation.
        for cut in (0..data.len()).step_by(data.len() / 16 + 1) {
            f(&data[..cut]);
        }
        n += 1;
    }
    assert!(n > 0, "empty fuzz corpus for {target}");
}

#[test]
fn http_corpus() {
    replay("http", fuzzing::http);
}

#[test]
fn tls_corpus() {
    replay("tls", fuzzing::tls);
}

#[test]
fn dns_corpus() {
    replay("dns", fuzzing::dns);
}

#[test]
fn ssh_corpus() {
    replay("ssh", fuzzing::ssh);
}

#[test]
fn packet_corpus() {
    replay("packet", fuzzing::packets);
}

#[test]
fn quic_corpus() {
    replay("quic", fuzzing::quic);
}

#[test]
fn filter_corpus() {
    replay("filter", fuzzing::filter);
}

// Issue 14 part A (proto14a).
#[test]
fn ftp_corpus() {
    replay("ftp", fuzzing::ftp);
}

#[test]
fn mqtt_corpus() {
    replay("mqtt", fuzzing::mqtt);
}

#[test]
fn stun_corpus() {
    replay("stun", fuzzing::stun);
}

#[test]
fn ntp_corpus() {
    replay("ntp", fuzzing::ntp);
}

#[test]
fn snmp_corpus() {
    replay("snmp", fuzzing::snmp);
}

#[test]
fn ssdp_corpus() {
    replay("ssdp", fuzzing::ssdp);
}

/// The packet target's first byte reaches every link type the engine decodes,
/// SLL2 (276) included, and one it does not.
#[test]
fn packet_target_reaches_every_link_type() {
    use rustnet_core::wire::LinkType;
    let reached: Vec<LinkType> = (0..=u8::MAX).map(fuzzing::link_of).collect();
    for want in [
        LinkType::Null,
        LinkType::Ethernet,
        LinkType::Ppp,
        LinkType::Raw,
        LinkType::Loop,
        LinkType::LinuxSll,
        LinkType::Ipv4,
        LinkType::Ipv6,
        LinkType::Nflog,
        LinkType::LinuxSll2,
    ] {
        assert!(reached.contains(&want), "{want:?} unreachable");
    }
    assert!(reached.iter().any(|l| matches!(l, LinkType::Other(_))), "no unknown link type");
}

/// The committed seeds cover every link type the first byte selects.
#[test]
fn packet_seeds_cover_every_link_type() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/packet");
    let mut seen = std::collections::HashSet::new();
    for e in std::fs::read_dir(&dir).expect("packet corpus").flatten() {
        if let Some(&b) = std::fs::read(e.path()).expect("corpus file readable").first() {
            seen.insert(fuzzing::link_of(b));
        }
    }
    assert!(seen.contains(&rustnet_core::wire::LinkType::LinuxSll2), "no SLL2 seed: {seen:?}");
}

#[test]
fn netbios_corpus() {
    replay("netbios", fuzzing::netbios);
}

#[test]
fn dhcp_corpus() {
    replay("dhcp", fuzzing::dhcp);
}

#[test]
fn bittorrent_corpus() {
    replay("bittorrent", fuzzing::bittorrent);
}

/// Seeds: the datagrams of `rustnet --read tests/fixtures/{tls13_curl,
/// http_curl,dns_udp,ping,mixed_ipv6,tcp_rst}.pcap --ipfix udp://…`, one
/// message each, and six of them back to back.
#[test]
fn ipfix_corpus() {
    replay("ipfix", fuzzing::ipfix);
}

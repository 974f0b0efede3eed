use super::super::{L4, LinkType, Packet, parse};
use super::*;
use etherparse::PacketBuilder;
use std::net::{IpAddr, Ipv4Addr};

const INNER_SRC: [u8; 4] = [10, 0, 0, 1];
const INNER_DST: [u8; 4] = [10, 0, 0, 2];

/// An inner IPv4/UDP packet (no link header) with `payload`.
fn inner_udp(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    // Writing into a Vec cannot fail.
    PacketBuilder::ipv4(INNER_SRC, INNER_DST, 64).udp(5000, 53).write(&mut v, payload).expect("vec write");
    v
}

/// An Ethernet frame around an IPv4 or ARP body.
fn eth(ethertype: u16, body: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(body);
    f
}

/// An outer IPv4 packet (192.0.2.1 -> 192.0.2.2) of protocol `proto` over Ethernet.
fn outer(proto: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(20 + payload.len()).expect("small");
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&len.to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
    ip.extend_from_slice(payload);
    eth(0x0800, &ip)
}

fn outer_udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&50000u16.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&u16::try_from(8 + payload.len()).expect("small").to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    outer(17, &u)
}

fn vxlan(inner_frame: &[u8]) -> Vec<u8> {
    let mut v = vec![8, 0, 0, 0, 0, 0, 100, 0];
    v.extend_from_slice(inner_frame);
    outer_udp(4789, &v)
}

fn is_inner(p: &Packet<'_>) -> bool {
    p.src == IpAddr::V4(Ipv4Addr::from(INNER_SRC))
        && matches!(p.l4, L4::Udp { sport: 5000, dport: 53, payload: b"q" })
        && p.undecoded.is_none()
}

#[test]
fn gre_with_key_and_sequence_carries_ip() {
    let mut g = vec![0x30, 0x00, 0x08, 0x00, 0, 0, 0x12, 0x34, 0, 0, 0, 9];
    g.extend_from_slice(&inner_udp(b"q"));
    let f = outer(47, &g);
    assert!(is_inner(&parse(LinkType::Ethernet, &f).unwrap()));
}

#[test]
fn erspan_two_and_three_and_bridging() {
    let frame = eth(0x0800, &inner_udp(b"q"));
    // Type II: S bit, 8-byte ERSPAN header.
    let mut g = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 7, 0, 42, 0, 0, 0, 3];
    g.extend_from_slice(&frame);
    assert!(is_inner(&parse(LinkType::Ethernet, &outer(47, &g)).unwrap()));
    // Type III with the O flag: 12 + 8 header bytes.
    let mut g = vec![0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1];
    g.extend_from_slice(&[0x20, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0x00, 0x57]);
    g.extend_from_slice(&[0; 8]);
    g.extend_from_slice(&frame);
    assert!(is_inner(&parse(LinkType::Ethernet, &outer(47, &g)).unwrap()));
    // Transparent Ethernet bridging.
    let mut g = vec![0x00, 0x00, 0x65, 0x58];
    g.extend_from_slice(&frame);
    assert!(is_inner(&parse(LinkType::Ethernet, &outer(47, &g)).unwrap()));
}

#[test]
fn gre_that_cannot_be_opened_is_named() {
    // Unknown protocol type: the outer packet, marked.
    let f = outer(47, &[0, 0, 0x12, 0x34, 1, 2, 3, 4]);
    let p = parse(LinkType::Ethernet, &f).unwrap();
    assert_eq!((p.l4, p.undecoded), (L4::Other { proto: 47 }, Some(Encap::Gre)));
    // A truncated inner IP header.
    let f = outer(47, &[0, 0, 0x08, 0x00, 0x45, 0]);
    assert_eq!(parse(LinkType::Ethernet, &f).unwrap().undecoded, Some(Encap::Gre));
}

#[test]
fn udp_tunnel_frame_counts_on_outer_flow_unless_inner_is_tcp_udp_icmp() {
    assert!(is_inner(&parse(LinkType::Ethernet, &vxlan(&eth(0x0800, &inner_udp(b"q")))).unwrap()));
    // ARP inside VXLAN: the outer UDP flow, nothing undecoded.
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
    let f = vxlan(&eth(0x0806, &arp));
    let p = parse(LinkType::Ethernet, &f).unwrap();
    assert!(matches!(p.l4, L4::Udp { dport: 4789, .. }) && p.undecoded.is_none(), "{p:?}");
    // A cut inner frame: outer flow, named.
    let f = vxlan(&[1, 2, 3]);
    let p = parse(LinkType::Ethernet, &f).unwrap();
    assert_eq!((matches!(p.l4, L4::Udp { dport: 4789, .. }), p.undecoded), (true, Some(Encap::Vxlan)));
}

#[test]
fn geneve_gtp_u_and_teredo() {
    let frame = eth(0x0800, &inner_udp(b"q"));
    let mut g = vec![2, 0, 0x65, 0x58, 0, 0, 200, 0, 1, 2, 0x80, 1];
    g.extend_from_slice(&[0; 4]);
    g.extend_from_slice(&frame);
    assert!(is_inner(&parse(LinkType::Ethernet, &outer_udp(6081, &g)).unwrap()));
    // GTP-U with an extension header chain (PDU session container).
    let ip = inner_udp(b"q");
    let mut t = vec![0x34, 0xff, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x85, 1, 0x10, 9, 0];
    t.extend_from_slice(&ip);
    assert!(is_inner(&parse(LinkType::Ethernet, &outer_udp(2152, &t)).unwrap()));
    // A GTP echo request is signalling: plain UDP, nothing undecoded.
    let echo = outer_udp(2152, &[0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0]);
    let p = parse(LinkType::Ethernet, &echo).unwrap();
    assert!(matches!(p.l4, L4::Udp { dport: 2152, .. }) && p.undecoded.is_none());
    // Teredo with an origin indication, carrying IPv6/UDP.
    let mut v6 = Vec::new();
    PacketBuilder::ipv6([0xfd; 16], [0xfe; 16], 64).udp(5000, 53).write(&mut v6, b"q").expect("vec write");
    let mut t = vec![0, 0, 0x63, 0xbe, 0x3f, 0xff, 0xfd, 0xf6];
    t.extend_from_slice(&v6);
    let f = outer_udp(3544, &t);
    let p = parse(LinkType::Ethernet, &f).unwrap();
    assert!(matches!(p.l4, L4::Udp { sport: 5000, dport: 53, .. }) && p.src == IpAddr::from([0xfd; 16]), "{p:?}");
}

#[test]
fn nesting_is_bounded() {
    let mut f = eth(0x0800, &inner_udp(b"q"));
    for _ in 0..MAX_TUNNEL_DEPTH {
        f = vxlan(&f);
    }
    assert!(is_inner(&parse(LinkType::Ethernet, &f).unwrap()));
    let deeper = vxlan(&f);
    let p = parse(LinkType::Ethernet, &deeper).unwrap();
    assert_eq!((matches!(p.l4, L4::Udp { dport: 4789, .. }), p.undecoded), (true, Some(Encap::Nested)));
}

#[test]
fn ip_in_ip_nesting_is_bounded_and_named() {
    let mut ip = inner_udp(b"q");
    for _ in 0..MAX_TUNNEL_DEPTH {
        ip = outer(4, &ip).split_off(14);
    }
    let f = eth(0x0800, &ip);
    assert!(is_inner(&parse(LinkType::Ethernet, &f).unwrap()));
    let f = outer(4, &ip);
    let p = parse(LinkType::Ethernet, &f).unwrap();
    assert_eq!((p.l4, p.undecoded), (L4::Other { proto: 4 }, Some(Encap::Nested)));
}

#[test]
fn every_truncation_of_a_tunnel_frame_parses_or_errs() {
    let mut f = eth(0x0800, &inner_udp(b"payload"));
    f = vxlan(&f);
    let mut g = vec![0x30, 0x00, 0x65, 0x58, 0, 0, 0x12, 0x34, 0, 0, 0, 9];
    g.extend_from_slice(&f);
    let f = outer(47, &g);
    for n in 0..f.len() {
        let _ = parse(LinkType::Ethernet, &f[..n]);
    }
}

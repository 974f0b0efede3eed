//! Name cache tests. Reverse lookups run inside an empty network namespace
//! (root), so a DNS query can reach nothing beyond loopback.

use super::*;
use crate::sys::testns::Netns;
use rustnet_core::dpi::{DnsAnswer, DnsQuestion};

fn ans(name: &str, rtype: &str, data: &str) -> DnsAnswer {
    DnsAnswer { name: name.into(), rtype: rtype.into(), data: data.into() }
}

/// A NOERROR response to an A query for `query` (none if None).
fn response(query: Option<&str>, answers: Vec<DnsAnswer>) -> DnsInfo {
    let queries = query.map(|q| DnsQuestion { name: q.into(), qtype: "A".into() }).into_iter().collect();
    let mut d = DnsInfo::default();
    (d.queries, d.answers, d.rcode) = (queries, answers, Some("NOERROR".into()));
    d
}

const ASKED: Asked = Asked { by: IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)), at: Timestamp::ZERO };

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// A response as `dig www.example.test` gets it from a server told
/// `www.example.test CNAME edge.cdn.test`, `edge.cdn.test CNAME e1.cdn.test`,
/// `e1.cdn.test A 192.0.2.10 / AAAA 2001:db8::10`.
fn cname_chain() -> DnsInfo {
    response(
        Some("www.example.test"),
        vec![
            ans("www.example.test", "CNAME", "edge.cdn.test"),
            ans("edge.cdn.test", "CNAME", "e1.cdn.test."),
            ans("e1.cdn.test", "A", "192.0.2.10"),
            ans("E1.cdn.test", "AAAA", "2001:db8::10"),
        ],
    )
}

#[test]
fn dns_answers_name_addresses_after_the_queried_name() {
    let c = NameCache::new(false);
    c.learn_from_dns(&cname_chain(), ASKED);
    assert_eq!(c.get(&ip("192.0.2.10")).as_deref(), Some("www.example.test"));
    assert_eq!(c.get(&ip("2001:db8::10")).as_deref(), Some("www.example.test"));
    assert_eq!(c.get(&ip("192.0.2.11")), None);
    assert_eq!(c.stats().learned, 2);
}

#[test]
fn answer_without_matching_question_keeps_its_own_name() {
    let mut d = cname_chain();
    d.queries.clear();
    d.answers.retain(|a| a.rtype != "CNAME");
    let c = NameCache::new(false);
    c.learn_from_dns(&d, ASKED);
    assert_eq!(c.get(&ip("192.0.2.10")).as_deref(), Some("e1.cdn.test"));
}

#[test]
fn cname_loop_and_bad_data_do_not_hang_or_panic() {
    let d = response(
        Some("x.test"),
        vec![
            ans("a.test", "CNAME", "b.test"),
            ans("b.test", "CNAME", "a.test"),
            ans("b.test", "A", "not-an-address"),
            ans("a.test", "A", "192.0.2.7"),
        ],
    );
    let c = NameCache::new(false);
    c.learn_from_dns(&d, ASKED);
    let n = c.get(&ip("192.0.2.7")).expect("a name for the valid record");
    assert!(n == "a.test" || n == "b.test", "{n}");
}

#[test]
fn passive_map_is_bounded() {
    let c = NameCache::new(false);
    for i in 0..(PASSIVE_CAP as u32 + 10) {
        let a = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
        let mut d = DnsInfo::default();
        d.answers = vec![ans("h.test", "A", &a)];
        c.learn_from_dns(&d, ASKED);
    }
    let p = c.inner.passive.read().expect("lock");
    assert_eq!(p.map.len(), PASSIVE_CAP);
    assert!(!p.map.contains_key(&ip("10.0.0.0")), "oldest kept");
}

/// First name of 127.0.0.1 in /etc/hosts: what the system resolver answers.
fn hosts_name_of_loopback() -> String {
    let hosts = std::fs::read_to_string("/etc/hosts").expect("/etc/hosts");
    hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"127.0.0.1") && f.len() > 1)
        .map(|f| f[1].to_string())
        .expect("/etc/hosts names 127.0.0.1")
}

#[test]
fn reverse_dns_in_background_with_negative_caching() {
    if !(crate::testenv::lab_ready()) {
        return;
    }
    let expected = hosts_name_of_loopback();
    let ns = Netns::new();
    ns.run(move || {
        let c = NameCache::new(true);
        let lo = ip("127.0.0.1");
        // TEST-NET-1: no hosts entry, and no DNS server reachable from here.
        let none = ip("192.0.2.1");
        let t = Instant::now();
        c.request_reverse(lo);
        c.request_reverse(none);
        assert!(t.elapsed() < Duration::from_millis(50), "request_reverse blocked");
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end && c.stats().reverse_found + c.stats().reverse_failed < 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(c.get(&lo), Some(expected));
        assert_eq!(c.get(&none), None);
        let s = c.stats();
        assert_eq!((s.reverse_requests, s.reverse_found, s.reverse_failed), (2, 1, 1));
        // Cached, including the failure: no new lookups.
        c.request_reverse(lo);
        c.request_reverse(none);
        assert_eq!(c.stats().reverse_requests, 2);
    });
}

#[test]
fn reverse_dns_off_does_nothing() {
    let c = NameCache::new(false);
    c.request_reverse(ip("127.0.0.1"));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.get(&ip("127.0.0.1")), None);
    assert_eq!(c.stats(), NameStats::default());
}

#[test]
fn host_header_ports_are_cut() {
    assert_eq!(host_without_port("www.example.test:8080"), "www.example.test");
    assert_eq!(host_without_port("www.example.test"), "www.example.test");
    assert_eq!(host_without_port("[2001:db8::1]:80"), "2001:db8::1");
    assert_eq!(host_without_port("2001:db8::1"), "2001:db8::1");
}

#[test]
fn names_asked_by_another_host_are_marked_inferred() {
    let c = NameCache::new(false);
    c.learn_from_dns(&cname_chain(), ASKED);
    let mut conn = Connection::new(
        1,
        Proto::Tcp,
        rustnet_core::track::Endpoint::new(ip("10.0.0.9"), 40000),
        rustnet_core::track::Endpoint::new(ip("192.0.2.10"), 80),
        Timestamp::from_nanos(1_000),
        rustnet_core::track::State::Established,
    );
    assert_eq!(c.name_for(&conn).as_deref(), Some("~www.example.test"));
    conn.local.addr = ASKED.by;
    assert_eq!(c.name_for(&conn).as_deref(), Some("www.example.test"), "its own host asked first");
    conn.proto = Proto::Arp;
    assert_eq!(c.name_for(&conn), None);
}

#[test]
fn no_ptr_queries_for_addresses_without_names() {
    let c = NameCache::new(true);
    for a in
        ["ff02::2", "fe80::1", "::", "0.0.0.0", "224.0.0.251", "255.255.255.255", "169.254.1.1", "::ffff:224.0.0.1"]
    {
        c.request_reverse(ip(a));
    }
    assert_eq!(c.stats().reverse_requests, 0);
    // Loopback: answered from the hosts file, nothing leaves the machine.
    c.request_reverse(ip("127.0.0.1"));
    assert_eq!(c.stats().reverse_requests, 1, "a unicast address is asked");
}

//! Per-keyword tests on hand-built connections, and property tests.

use super::Filter;
use crate::app::{AppInfo, DnsAnswer, DnsInfo, DnsQuestion, HttpInfo, QuicInfo, SshInfo, TlsInfo};
use crate::time::Timestamp;
use crate::track::{Connection, ContainerInfo, Endpoint, ProcessInfo, Proto, State};
use proptest::prelude::*;
use std::time::Duration;

fn conn(proto: Proto, local: &str, lport: u16, remote: &str, rport: u16, state: State) -> Connection {
    let l = Endpoint::new(local.parse().unwrap(), lport);
    let r = Endpoint::new(remote.parse().unwrap(), rport);
    Connection::new(1, proto, l, r, Timestamp::from_nanos(1), state)
}

/// A browser's HTTPS connection.
fn tls() -> Connection {
    let mut c = conn(Proto::Tcp, "192.168.1.13", 55523, "140.82.121.4", 443, State::Established);
    c.app = Some(AppInfo::Tls(TlsInfo {
        sni: Some("api.github.com".into()),
        alpn: vec!["h2".into()],
        version: Some("TLSv1.3".into()),
        ech: false,
        ja4: None,
        negotiated_version: None,
        cipher: None,
    }));
    c.process = Some(Box::new(ProcessInfo {
        pid: 4242,
        name: "Web Content".into(),
        cmdline: Some("/usr/lib/firefox/firefox -contentproc".into()),
        uid: Some(1000),
        user: Some("alice".into()),
        ..ProcessInfo::default()
    }));
    c.hostname = Some("lb-140-82-121-4-fra.github.com".into());
    c.rtt = Some(Duration::from_millis(30));
    if let Some(t) = c.tcp.as_mut() {
        t.tx.retransmits = 2;
        t.rx.retransmits = 1;
    }
    c
}

/// An SSH session in FIN_WAIT2.
fn ssh() -> Connection {
    let mut c = conn(Proto::Tcp, "10.0.0.5", 40022, "10.0.0.9", 22, State::FinWait2);
    c.app = Some(AppInfo::Ssh(SshInfo {
        client: Some("SSH-2.0-OpenSSH_9.2p1 Debian-2".into()),
        server: Some("SSH-2.0-dropbear_2022.83".into()),
        software: Some("dropbear_2022.83".into()),
    }));
    c.process = Some(Box::new(ProcessInfo {
        pid: 777,
        name: "ssh".into(),
        uid: Some(0),
        user: Some("root".into()),
        container: Some(ContainerInfo {
            runtime: "podman".into(),
            id: "3f1c0e8b9a7d".into(),
            name: Some("jumphost".into()),
            ..ContainerInfo::default()
        }),
        ..ProcessInfo::default()
    }));
    c.rtt = Some(Duration::from_millis(80));
    c
}

fn http() -> Connection {
    let mut c = conn(Proto::Tcp, "fd00::2", 8080, "fd00::1", 51000, State::SynRecv);
    c.app = Some(AppInfo::Http(HttpInfo {
        host: Some("intranet.example".into()),
        method: Some("POST".into()),
        path: Some("/upload/form".into()),
        user_agent: Some("curl/8.5.0".into()),
    }));
    c
}

fn dns() -> Connection {
    let mut c = conn(Proto::Udp, "192.168.1.13", 5353, "192.168.1.1", 53, State::DnsQuery);
    c.app = Some(AppInfo::Dns(DnsInfo {
        queries: vec![DnsQuestion { name: "www.wikipedia.org".into(), qtype: "AAAA".into() }],
        answers: vec![DnsAnswer {
            name: "www.wikipedia.org".into(),
            rtype: "CNAME".into(),
            data: "dyna.wikimedia.org".into(),
        }],
        rcode: Some("NOERROR".into()),
        truncated: false,
    }));
    c
}

fn quic() -> Connection {
    let mut c = conn(Proto::Udp, "192.168.1.13", 60000, "142.250.1.1", 443, State::QuicConnected);
    c.app = Some(AppInfo::Quic(QuicInfo {
        version: Some("v1".into()),
        sni: Some("www.youtube.com".into()),
        alpn: vec!["h3".into()],
        close: None,
    }));
    c
}

fn ping() -> Connection {
    conn(Proto::Icmp, "192.168.1.13", 4443, "8.8.8.8", 4443, State::EchoRequest)
}

fn all() -> Vec<(&'static str, Connection)> {
    vec![("tls", tls()), ("ssh", ssh()), ("http", http()), ("dns", dns()), ("quic", quic()), ("ping", ping())]
}

/// Asserts that `filter` matches exactly the connections named in `want`.
fn check(filter: &str, want: &[&str]) {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let got: Vec<&str> = all().into_iter().filter(|(_, c)| f.matches(c)).map(|(n, _)| n).collect();
    assert_eq!(got, want, "filter {filter:?}");
}

#[test]
fn numeric_keywords() {
    let mut dns_rtt = dns();
    dns_rtt.rtt = Some(Duration::from_micros(400));
    let f = |s: &str| Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert!(f("rtt:<1ms").matches(&dns_rtt) && !f("rtt:>1ms").matches(&dns_rtt));
    assert!(f("rtt:=400us").matches(&dns_rtt) && f("rtt:400000ns").matches(&dns_rtt));
    check("rtt:>50ms", &["ssh"]);
    check("rtt:>0.05s", &["ssh"]);
    check("rtt:<50ms", &["tls"]);
    check("RTT:>10ms", &["tls", "ssh"]);
    // No RTT measured: neither above nor below, so only a negation matches.
    check("!rtt:>50ms", &["tls", "http", "dns", "quic", "ping"]);
    check("retrans:>0", &["tls"]);
    check("retrans:3", &["tls"]);
    check("retrans:<1", &["ssh", "http"]);
    // Being typed: the keyword alone means "has the number".
    check("rtt:", &["tls", "ssh"]);
    check("retrans:", &["tls", "ssh", "http"]);
    for bad in ["rtt:>50", "rtt:>", "rtt:fast", "retrans:>x", "retrans:>-1", "rtt:>5min"] {
        let e = Filter::parse(bad).expect_err(bad).message;
        assert!(e.contains("expected >, < or ="), "{bad}: {e}");
    }
}

#[test]
fn empty_filter_matches_all() {
    let f = Filter::parse("  ").unwrap();
    assert!(f.is_empty());
    check("", &["tls", "ssh", "http", "dns", "quic", "ping"]);
}

#[test]
fn ports() {
    // The ICMP echo id lives in `port` but is no port.
    check("port:44", &["tls", "quic"]);
    check("port:443", &["tls", "quic"]);
    check("port:8080", &["http"]);
    check("sport:80", &["http"]);
    check("dport:80", &[]);
    check("dport:443", &["tls", "quic"]);
    check("sport:443", &[]);
    check("port:22", &["ssh"]);
    check("port:x", &[]);
}

#[test]
fn addresses() {
    check("src:192.168", &["tls", "dns", "quic", "ping"]);
    check("dst:192.168", &["dns"]);
    check("src:fd00::2", &["http"]);
    check("dst:FD00::1", &["http"]);
    check("dst:github.com", &["tls"]);
    check("src:github", &[]);
    check("dst:8.8.8.8", &["ping"]);
    let mut mapped = ping();
    mapped.remote.addr = "::ffff:8.8.4.4".parse().unwrap();
    assert!(Filter::parse("dst:8.8.4").unwrap().matches(&mapped));
    assert!(Filter::parse("8.8.4.4").unwrap().matches(&mapped));
}

#[test]
fn proto_process_service() {
    check("proto:tcp", &["tls", "ssh", "http"]);
    check("proto:udp", &["dns", "quic"]);
    check("proto:icmp", &["ping"]);
    check("proto:quic", &["quic"]);
    check("proto:tls", &["tls"]);
    check("process:ssh", &["ssh"]);
    check("process:\"web content\"", &["tls"]);
    check("process:4242", &["tls"]);
    check("process:firefox", &[]);
    check("user:alice", &["tls"]);
    check("user:1000", &["tls"]);
    check("user:0", &["ssh"]);
    check("container:jumphost", &["ssh"]);
    check("container:podman", &["ssh"]);
    check("container:3f1c", &["ssh"]);
    check("container:", &["ssh"]);
    check("jumphost", &["ssh"]);
    check("!container:", &["tls", "http", "dns", "quic", "ping"]);
    check("service:https", &["tls", "quic"]);
    check("service:domain", &["dns"]);
    check("service:ssh", &["ssh"]);
}

#[test]
fn states() {
    check("state:established", &["tls"]);
    check("state:fin_wait", &["ssh"]);
    check("state:fin_wait2", &["ssh"]);
    check("state:fin_wait1", &[]);
    check("state:syn_recv", &["http"]);
    check("state:dns_query", &["dns"]);
    check("state:quic_connected", &["quic"]);
    check("state:echo", &["ping"]);
    let mut s = ssh();
    s.state = State::SshEstablished;
    assert!(Filter::parse("state:established").unwrap().matches(&s));
    assert!(!Filter::parse("state:banner").unwrap().matches(&s));
}

#[test]
fn dpi_fields() {
    check("sni:api", &["tls"]);
    check("sni:youtube", &["quic"]);
    check("host:intranet", &["http"]);
    check("host:github", &["tls"]);
    check("host:youtube", &["quic"]);
    check("ssh:openssh", &["ssh"]);
    check("ssh:dropbear", &["ssh"]);
    check("app:dropbear", &["ssh"]);
    check("app:ssh", &["ssh"]);
    check("app:dns", &["dns"]);
    check("app:http", &["http"]);
}

#[test]
fn bare_words() {
    check("github", &["tls"]);
    check("wikimedia", &["dns"]);
    check("upload", &["http"]);
    check("post", &["http"]);
    check("h3", &["quic"]);
    check("TLSv1.3", &["tls"]);
    check("nxdomain", &[]);
    check("noerror", &["dns"]);
    check("curl", &["http"]);
    check("established", &["tls"]);
    check("udp", &["dns", "quic"]);
    check("https", &["tls", "quic"]);
    check("8.8.8", &["ping"]);
    check("[fd00::1]:51000", &["http"]);
    check("13:555", &["tls"]);
    check("4443", &[]);
}

#[test]
fn negation_and_combination() {
    check("!proto:udp", &["tls", "ssh", "http", "ping"]);
    check("!udp !tcp", &["ping"]);
    check("dport:22 ssh:openssh", &["ssh"]);
    check("dport:22 !ssh:openssh", &[]);
    check("src:192.168 proto:udp !state:dns", &["quic"]);
    check("!sni:api", &["ssh", "http", "dns", "quic", "ping"]);
}

proptest! {
    #[test]
    fn parse_and_match_never_panic(text in "\\PC*") {
        if let Ok(f) = Filter::parse(&text) {
            for (_, c) in all() {
                let _ = f.matches(&c);
            }
        }
    }

    #[test]
    fn filter_like_text_never_panics(
        text in "(!?((port|sport|dport|src|dst|proto|process|state|sni|host|ssh|app|x|)[:]?)?\"?[a-zA-Z0-9_.:!\" \\[\\]é]{0,12}){0,5}"
    ) {
        match Filter::parse(&text) {
            Ok(f) => for (_, c) in all() { let _ = f.matches(&c); },
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
    }

    /// A bare word cut from a field's text always matches its connection.
    #[test]
    fn substrings_of_the_sni_match(start in 0usize..14, len in 1usize..14) {
        let sni = "api.github.com";
        let end = (start + len).min(sni.len());
        prop_assume!(start < end);
        let word = sni[start..end].to_ascii_uppercase();
        let f = Filter::parse(&format!("\"{word}\"")).unwrap();
        prop_assert!(f.matches(&tls()));
    }
}

#[test]
fn empty_keyword_value_means_field_present() {
    let f = Filter::parse("sni:").expect("an empty value parses");
    assert!(f.matches(&tls()));
    assert!(!f.matches(&ssh()), "no SNI on an SSH connection");
    let f = Filter::parse("!sni:").expect("negated");
    assert!(!f.matches(&tls()) && f.matches(&ssh()));
}

#[test]
fn select_agrees_with_matches() {
    let conns = vec![tls(), ssh(), tls(), ssh()];
    for text in ["", "github", "state:fin_wait", "!sni:", "22 openssh", "nothing-matches"] {
        let f = Filter::parse(text).expect("valid");
        let mut got = Vec::new();
        f.select(&conns, &mut got);
        let want: Vec<usize> = (0..conns.len()).filter(|&i| f.matches(&conns[i])).collect();
        assert_eq!(got, want, "{text}");
    }
}

/// Issue 14 part B: `app:` names and bare words over the new protocols' fields.
#[test]
fn new_protocols_app_names_and_fields() {
    use crate::app::{BitTorrentInfo, DhcpInfo, NetBiosInfo};
    let mut tls = tls();
    if let Some(AppInfo::Tls(t)) = &mut tls.app {
        t.ja4 = Some("t13d1516h2_8daaf6152771_e5627efa2ab1".into());
        t.negotiated_version = Some("TLSv1.2".into());
        t.cipher = Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into());
    }
    let mut mdns = conn(Proto::Udp, "10.0.2.7", 5353, "224.0.0.251", 5353, State::DnsQuery);
    let q = DnsQuestion { name: "_ipps._tcp.local".into(), qtype: "PTR".into() };
    mdns.app = Some(AppInfo::Mdns(DnsInfo { queries: vec![q], ..DnsInfo::default() }));
    let mut llmnr = conn(Proto::Udp, "fe80::1", 6741, "ff02::1:3", 5355, State::DnsQuery);
    let q = DnsQuestion { name: "wpad".into(), qtype: "A".into() };
    llmnr.app = Some(AppInfo::Llmnr(DnsInfo { queries: vec![q], ..DnsInfo::default() }));
    let mut nb = conn(Proto::Udp, "10.0.5.9", 138, "10.0.5.255", 138, State::UdpActive);
    let names = vec!["NVR9<20>".into(), "VIGILANT_GROUP<1d>".into()];
    nb.app = Some(AppInfo::NetBios(NetBiosInfo { service: "datagram".into(), names, opcode: None }));
    let mut dhcp = conn(Proto::Udp, "0.0.0.0", 68, "255.255.255.255", 67, State::UdpActive);
    dhcp.app = Some(AppInfo::Dhcp(DhcpInfo {
        version: 4,
        message_types: vec!["DISCOVER".into()],
        hostname: Some("android-5e2d".into()),
        vendor_class: Some("dhcpcd-5.5.6".into()),
        requested_address: None,
        offered_address: Some("192.168.2.16".into()),
    }));
    let mut bt = conn(Proto::Tcp, "192.168.1.3", 52888, "82.58.216.115", 38305, State::Established);
    bt.app = Some(AppInfo::BitTorrent(BitTorrentInfo {
        transport: "peer".into(),
        info_hash: Some("dcfcdccfb9e670ccc3dd40c78c161f2bea243126".into()),
        client: Some("UM1860".into()),
        dht_queries: Vec::new(),
    }));
    let conns = [("tls", tls), ("mdns", mdns), ("llmnr", llmnr), ("nb", nb), ("dhcp", dhcp), ("bt", bt)];
    let check = |filter: &str, want: &[&str]| {
        let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let got: Vec<&str> = conns.iter().filter(|(_, c)| f.matches(c)).map(|(n, _)| *n).collect();
        assert_eq!(got, want, "filter {filter:?}");
    };
    check("app:mdns", &["mdns"]);
    check("app:llmnr", &["llmnr"]);
    check("app:netbios", &["nb"]);
    check("app:dhcp", &["dhcp"]);
    check("app:bittorrent", &["bt"]);
    check("proto:bittorrent", &["bt"]);
    // "dns" is a substring of "mDNS": substring semantics, as everywhere.
    check("app:dns", &["mdns"]);
    check("t13d1516h2", &["tls"]);
    check("ECDHE_RSA", &["tls"]);
    check("_ipps", &["mdns"]);
    check("wpad", &["llmnr"]);
    check("VIGILANT", &["nb"]);
    check("android-5e2d", &["dhcp"]);
    check("dhcpcd", &["dhcp"]);
    check("192.168.2.16", &["dhcp"]);
    check("dcfcdccf", &["bt"]);
    check("UM1860", &["bt"]);
}

/// `exporter:` (collector mode) matches the exporting host's name, and a
/// bare word finds it too; connections captured here have none.
#[test]
fn exporter_keyword() {
    let mut a = tls();
    a.exporter = Some("host-a.lab".into());
    let mut b = dns();
    b.exporter = Some("10.9.0.2".into());
    let f = |s: &str| Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert!(f("exporter:host-a").matches(&a) && !f("exporter:host-a").matches(&b));
    assert!(f("exporter:10.9.").matches(&b) && f("EXPORTER:HOST-A.LAB").matches(&a));
    assert!(f("host-a").matches(&a) && f("!exporter:host-a").matches(&b));
    assert!(!f("exporter:").matches(&tls()), "no exporter outside collector mode");
    assert!(f("exporter:").matches(&a));
}

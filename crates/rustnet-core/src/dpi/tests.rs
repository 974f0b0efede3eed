//! Dispatcher tests: payloads fed through `DpiState::inspect` as the engine does.

use super::tls::tests::{client_hello, records};
use super::*;
use crate::track::{Proto, State};
use dispatch::MAX_UNCLASSIFIED;

const PSH_ACK: u8 = 0x18;

struct Flow {
    dpi: DpiState,
    app: Option<AppInfo>,
    state: Option<State>,
    proto: Proto,
    ports: (u16, u16),
}

impl Flow {
    fn new(proto: Proto, local_port: u16, remote_port: u16) -> Self {
        Flow { dpi: DpiState::new(), app: None, state: None, proto, ports: (local_port, remote_port) }
    }

    fn feed(&mut self, from_local: bool, tcp: Option<(u32, u8)>, payload: &[u8]) {
        if self.dpi.is_done() {
            return;
        }
        let input = DpiInput {
            proto: self.proto,
            dir: Dir::from_local(from_local),
            local_port: self.ports.0,
            remote_port: self.ports.1,
            tcp,
            payload,
            ts: crate::time::Timestamp::ZERO,
        };
        if let Some(s) = self.dpi.inspect(&input, &mut self.app) {
            self.state = Some(s);
        }
    }
}

#[test]
fn tls_client_hello_out_of_order_without_syn() {
    let rec = records(&client_hello("ooo.example", &["h2"], &[0x0304], 3000), 16384);
    let mut f = Flow::new(Proto::Tcp, 50000, 8443);
    let segs: Vec<&[u8]> = rec.chunks(1000).collect();
    // Second segment first, then the rest, then a retransmission.
    f.feed(true, Some((5000 + 1000, PSH_ACK)), segs[1]);
    f.feed(true, Some((5000, PSH_ACK)), segs[0]);
    for (i, s) in segs.iter().enumerate().skip(2) {
        f.feed(true, Some((5000 + 1000 * i as u32, PSH_ACK)), s);
    }
    f.feed(true, Some((5000, PSH_ACK)), segs[0]);
    let Some(AppInfo::Tls(t)) = &f.app else { panic!("not TLS: {:?}", f.app) };
    assert_eq!(t.sni.as_deref(), Some("ooo.example"));
    assert_eq!(t.alpn, vec!["h2"]);
    assert!(!f.dpi.is_done(), "waits for the ServerHello");
}

#[test]
fn tls_server_hello_sets_negotiated_version_and_finishes() {
    let rec = records(&client_hello("v.example", &[], &[0x0304, 0x0303], 0), 16384);
    let mut f = Flow::new(Proto::Tcp, 50000, 443);
    f.feed(true, Some((99, 0x02)), &[]); // SYN
    f.feed(false, Some((7000, 0x12)), &[]); // SYN-ACK
    f.feed(true, Some((100, PSH_ACK)), &rec);
    let mut sh = vec![2, 0, 0, 0, 3, 3];
    sh.extend_from_slice(&[1; 32]);
    sh.extend_from_slice(&[0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 3, 4]);
    let len = (sh.len() - 4) as u32;
    sh[1..4].copy_from_slice(&len.to_be_bytes()[1..]);
    f.feed(false, Some((7001, PSH_ACK)), &records(&sh, 16384));
    let Some(AppInfo::Tls(t)) = &f.app else { panic!("not TLS") };
    assert_eq!(t.version.as_deref(), Some("TLSv1.3"));
    assert_eq!(t.sni.as_deref(), Some("v.example"));
    assert!(f.dpi.is_done());
}

#[test]
fn http_request_head_split_over_segments() {
    let mut f = Flow::new(Proto::Tcp, 40000, 8080);
    f.feed(true, Some((0, 0x02)), &[]);
    let req = b"GET /a/b HTTP/1.1\r\nHost: split.example\r\nUser-Agent: t/1\r\n\r\n";
    f.feed(true, Some((1, PSH_ACK)), &req[..10]);
    assert!(f.app.is_none());
    f.feed(true, Some((11, PSH_ACK)), &req[10..30]);
    f.feed(true, Some((31, PSH_ACK)), &req[30..]);
    let Some(AppInfo::Http(h)) = &f.app else { panic!("not HTTP") };
    assert_eq!(h.host.as_deref(), Some("split.example"));
    assert_eq!(h.path.as_deref(), Some("/a/b"));
    assert_eq!(h.user_agent.as_deref(), Some("t/1"));
    assert!(f.dpi.is_done());
}

#[test]
fn dns_over_tcp_split_across_segments() {
    let q = dns::tests::query(7, "tcp.example", 28);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    let mut f = Flow::new(Proto::Tcp, 40001, 53);
    f.feed(true, Some((0, 0x02)), &[]);
    f.feed(true, Some((1, PSH_ACK)), &framed[..1]);
    f.feed(true, Some((2, PSH_ACK)), &framed[1..9]);
    assert!(f.app.is_none());
    f.feed(true, Some((10, PSH_ACK)), &framed[9..]);
    assert_eq!(f.state, Some(State::DnsQuery));
    let r = dns::tests::response(&q, 3);
    let mut rf = (r.len() as u16).to_be_bytes().to_vec();
    rf.extend_from_slice(&r);
    f.feed(false, Some((500, 0x12)), &[]);
    f.feed(false, Some((501, PSH_ACK)), &rf);
    assert_eq!(f.state, Some(State::DnsResponse));
    let Some(AppInfo::Dns(d)) = &f.app else { panic!("not DNS") };
    assert_eq!(d.queries[0].name, "tcp.example");
    assert_eq!(d.queries[0].qtype, "AAAA");
    assert_eq!(d.rcode.as_deref(), Some("NXDOMAIN"));
}

#[test]
fn dns_udp_states_and_bound() {
    let mut f = Flow::new(Proto::Udp, 33333, 53);
    let q = dns::tests::query(1, "a.example", 1);
    f.feed(true, None, &q);
    assert_eq!(f.state, Some(State::DnsQuery));
    f.feed(false, None, &dns::tests::response(&q, 0));
    assert_eq!(f.state, Some(State::DnsResponse));
    let mut n = 2;
    while !f.dpi.is_done() && n < 100 {
        f.feed(true, None, &dns::tests::query(n, &format!("n{n}.example"), 1));
        n += 1;
    }
    assert!(f.dpi.is_done());
    assert!(n as usize <= dns::MAX_MESSAGES + 1);
    let Some(AppInfo::Dns(d)) = &f.app else { panic!("not DNS") };
    assert_eq!(d.queries.len(), dns::MAX_ITEMS);
    // 31 names were asked, 16 kept: the record says names were left out.
    assert!(d.truncated);
}

#[test]
fn dns_truncated_only_when_something_was_left_out() {
    // Exactly MAX_ITEMS distinct names, each asked many times: nothing lost.
    let mut f = Flow::new(Proto::Udp, 33334, 53);
    for n in 0..(dns::MAX_MESSAGES as u16 + 8) {
        let i = n % dns::MAX_ITEMS as u16;
        f.feed(true, None, &dns::tests::query(n, &format!("n{i}.example"), 1));
    }
    let Some(AppInfo::Dns(d)) = &f.app else { panic!("not DNS") };
    assert_eq!(d.queries.len(), dns::MAX_ITEMS);
    assert!(!d.truncated);
    // The same, then a new name after the message limit: it was lost.
    let mut f = Flow::new(Proto::Udp, 33335, 53);
    for n in 0..dns::MAX_MESSAGES as u16 {
        f.feed(true, None, &dns::tests::query(n, "same.example", 1));
    }
    f.feed(true, None, &dns::tests::query(99, "late.example", 1));
    let Some(AppInfo::Dns(d)) = &f.app else { panic!("not DNS") };
    assert_eq!(d.queries.len(), 1);
    assert!(d.truncated, "a name after the message limit was not looked at");
    // One message with more questions than MAX_ITEMS.
    let mut m = dns::tests::query(1, "q0.example", 1);
    let extra = dns::MAX_ITEMS + 1;
    m[5] = u8::try_from(extra + 1).expect("small");
    for i in 1..=extra {
        m.extend_from_slice(&dns::tests::query(1, &format!("q{i}.example"), 1)[12..]);
    }
    let mut f = Flow::new(Proto::Udp, 33336, 53);
    f.feed(true, None, &m);
    let Some(AppInfo::Dns(d)) = &f.app else { panic!("not DNS") };
    assert_eq!(d.queries.len(), dns::MAX_ITEMS);
    assert!(d.truncated);
}

#[test]
fn random_udp_is_given_up_unclassified() {
    let mut f = Flow::new(Proto::Udp, 40000, 40001);
    for i in 0..MAX_UNCLASSIFIED {
        f.feed(true, None, &[i as u8; 40]);
    }
    assert!(f.app.is_none());
    assert!(f.dpi.is_done());
}

#[test]
fn ssh_through_the_dispatcher_reaches_established() {
    use ssh::tests::packet;
    let mut f = Flow::new(Proto::Tcp, 50022, 2222);
    f.feed(true, Some((0, 0x02)), &[]);
    f.feed(false, Some((100, 0x12)), &[]);
    let sb = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
    f.feed(false, Some((101, PSH_ACK)), &sb[..8]);
    f.feed(false, Some((109, PSH_ACK)), &sb[8..]);
    assert_eq!(f.state, Some(State::SshBanner));
    let mut c = b"SSH-2.0-OpenSSH_8.2p1\r\n".to_vec();
    c.extend(packet(20, 800));
    f.feed(true, Some((1, PSH_ACK)), &c);
    assert_eq!(f.state, Some(State::SshKeyExchange));
    let mut cseq = 1 + c.len() as u32;
    let mut sseq = 101 + sb.len() as u32;
    let s = [packet(20, 600), packet(31, 300), packet(21, 0)].concat();
    f.feed(false, Some((sseq, PSH_ACK)), &s);
    sseq += s.len() as u32;
    let n = packet(21, 0);
    f.feed(true, Some((cseq, PSH_ACK)), &n);
    cseq += n.len() as u32;
    assert_eq!(f.state, Some(State::SshAuthentication));
    for _ in 0..ssh::ESTABLISHED_AFTER {
        f.feed(true, Some((cseq, PSH_ACK)), &[0xaa; 64]);
        cseq += 64;
        f.feed(false, Some((sseq, PSH_ACK)), &[0xbb; 64]);
        sseq += 64;
    }
    assert_eq!(f.state, Some(State::SshEstablished));
    assert!(f.dpi.is_done());
    let Some(AppInfo::Ssh(i)) = &f.app else { panic!("not SSH") };
    assert_eq!(i.client.as_deref(), Some("SSH-2.0-OpenSSH_8.2p1"));
    assert_eq!(i.server.as_deref(), Some("SSH-2.0-OpenSSH_9.2p1 Debian-2"));
    assert_eq!(i.software.as_deref(), Some("OpenSSH_9.2p1"));
}

#[test]
fn unknown_tcp_after_syn_is_given_up() {
    let mut f = Flow::new(Proto::Tcp, 40000, 9999);
    f.feed(true, Some((0, 0x02)), &[]);
    f.feed(false, Some((50, 0x12)), &[]);
    f.feed(true, Some((1, PSH_ACK)), b"\x00\x00\x00\x10binaryprotocol!!");
    f.feed(false, Some((51, PSH_ACK)), b"\x99hello there");
    assert!(f.dpi.is_done());
    assert!(f.app.is_none());
}

#[test]
fn ssdp_search_is_ssdp() {
    let mut f = Flow::new(Proto::Udp, 56446, 1900);
    f.feed(true, None, b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nST: ssdp:all\r\nMX: 1\r\n\r\n");
    let Some(AppInfo::Ssdp(h)) = &f.app else { panic!("not SSDP: {:?}", f.app) };
    assert_eq!(h.method.as_deref(), Some("M-SEARCH"));
    assert_eq!(h.st.as_deref(), Some("ssdp:all"));
    assert!(f.dpi.is_done());
}

#[test]
fn ftp_server_speaks_first_on_port_21() {
    let mut f = Flow::new(Proto::Tcp, 40000, 21);
    f.feed(true, Some((0, 0x02)), &[]);
    f.feed(false, Some((50, 0x12)), &[]);
    f.feed(false, Some((51, PSH_ACK)), b"220 (vsFTPd 3.0.3)\r\n");
    f.feed(true, Some((1, PSH_ACK)), b"USER anna\r\n");
    f.feed(false, Some((71, PSH_ACK)), b"331 Please specify the password.\r\n");
    f.feed(true, Some((12, PSH_ACK)), b"PASS s3cret\r\n");
    let Some(AppInfo::Ftp(i)) = &f.app else { panic!("not FTP: {:?}", f.app) };
    assert_eq!(i.banner.as_deref(), Some("220 (vsFTPd 3.0.3)"));
    assert_eq!(i.user.as_deref(), Some("anna"));
    assert_eq!(i.command.as_deref(), Some("PASS"));
    assert!(!format!("{:?}", f.app).contains("s3cret"));
}

#[test]
fn quic_first_datagram_is_read_by_the_classifier() {
    // An RFC 9001 client Initial: classified and read in one step.
    let mut f = Flow::new(Proto::Udp, 50000, 443);
    let hex = include_str!("quic/testdata/rfc9001_client_initial.hex");
    let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
    let initial: Vec<u8> =
        digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("0"), 16).unwrap_or(0)).collect();
    f.feed(true, None, &initial);
    let Some(AppInfo::Quic(q)) = &f.app else { panic!("not QUIC: {:?}", f.app) };
    assert_eq!(q.sni.as_deref(), Some("example.com"));
    assert_eq!(f.state, Some(State::QuicInitial));
}

#[test]
fn netbios_ports_are_never_dns() {
    // A DNS-format name query on udp/137 that NetBIOS's reader refuses (the
    // name is not a 32-byte first-level encoding): nothing, not DNS.
    for port in [137, 138] {
        let mut f = Flow::new(Proto::Udp, 40000, port);
        f.feed(true, None, &dns::tests::query(7, "www.example.com", 1));
        assert!(!matches!(f.app, Some(AppInfo::Dns(_))), "udp/{port}: {:?}", f.app);
    }
    // The same query on another port is DNS (strict).
    let mut f = Flow::new(Proto::Udp, 40000, 40001);
    f.feed(true, None, &dns::tests::query(7, "www.example.com", 1));
    assert!(matches!(f.app, Some(AppInfo::Dns(_))), "{:?}", f.app);
}

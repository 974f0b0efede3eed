//! Every filter example of the original RustNet README against connections
//! built by the engine from public captures (RUSTNET_CORPUS).
//!
//! The engine gives addresses, ports and TCP states. DPI fields, and the
//! states DPI would show (DNS_*, QUIC_*, SSH), are set from tshark's truth
//! JSON beside each capture, so the test does not depend on our DPI. Process
//! names are not in any capture: they are set as the host's resolver would
//! name the client that made the traffic (from the HTTP User-Agent, the SSH
//! client banner, the capture's documented origin), and "firefox" is given
//! to two browser-like flows to exercise `process:firefox`.

mod common;

use rustnet_core::dpi::{AppInfo, DnsInfo, DnsQuestion, HttpInfo, QuicInfo, SshInfo, TlsInfo};
use rustnet_core::filter::Filter;
use rustnet_core::track::{Connection, ProcessInfo, State};
use rustnet_core::wire::LinkType;
use rustnet_core::{Config, Engine};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// Replays the first `limit` packets of `file` (all if None); `locals` are
/// the capturing host's addresses (a live capture on that host).
fn replay(path: &Path, locals: &[&str], limit: Option<usize>) -> Vec<Connection> {
    let mut cfg = Config::default();
    cfg.local_addrs = locals.iter().map(|a| a.parse().unwrap()).collect();
    let mut engine = Engine::new(cfg);
    let frames = common::read_capture(path).unwrap_or_else(|e| panic!("{e}"));
    for f in frames.iter().take(limit.unwrap_or(usize::MAX)) {
        engine.process(LinkType::from_number(f.linktype), f.ts, &f.data, f.orig_len);
    }
    engine.finish_all();
    let mut out = Vec::new();
    engine.take_finished(&mut out);
    out.sort_by_key(|c| c.first_seen);
    out
}

fn truth(dir: &Path, file: &str) -> Value {
    let p = dir.join(format!("{file}.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(s).collect()
}

/// Whether `c` is the flow from `src:sport` to `dst:dport` (either direction).
fn is_flow(c: &Connection, r: &Value) -> bool {
    let ep = |a: &Value, p: &Value| (s(a).parse().unwrap(), p.as_u64().unwrap() as u16);
    let a = ep(&r["src"], &r["sport"]);
    let b = ep(&r["dst"], &r["dport"]);
    let l = (c.local.addr, c.local.port);
    let rm = (c.remote.addr, c.remote.port);
    (l, rm) == (a, b) || (l, rm) == (b, a)
}

fn process(name: &str) -> Option<Box<ProcessInfo>> {
    Some(Box::new(ProcessInfo { pid: 1000, name: name.into(), ..ProcessInfo::default() }))
}

/// The one connection of `conns` that `rec` (a truth record) belongs to.
fn find<'a>(conns: &'a mut [Connection], rec: &Value) -> &'a mut Connection {
    let mut it = conns.iter_mut().filter(|c| is_flow(c, rec));
    let c = it.next().unwrap_or_else(|| panic!("no connection for {rec}"));
    assert!(it.next().is_none(), "two connections for {rec}");
    c
}

/// TLS ClientHello → TLS info.
fn tls_info(h: &Value) -> AppInfo {
    let mut t = TlsInfo::default();
    t.sni = Some(s(&h["sni"]));
    t.alpn = strings(&h["alpn"]);
    AppInfo::Tls(t)
}

fn quic_info(h: &Value) -> AppInfo {
    let v = s(&h["versions"][0]);
    let mut q = QuicInfo::default();
    q.version = Some(if v == "0x00000001" { "v1".into() } else { v });
    q.sni = Some(s(&h["sni"]));
    q.alpn = strings(&h["alpn"]);
    AppInfo::Quic(q)
}

/// Software part of an SSH banner: "SSH-2.0-OpenSSH_5.3 x" → "OpenSSH_5.3".
fn software(banner: &str) -> String {
    let rest = banner.splitn(3, '-').nth(2).unwrap_or("");
    rest.split(' ').next().unwrap_or("").to_string()
}

/// The labelled pool of connections all rows are checked against.
fn pool(dir: &Path) -> Vec<(String, Connection)> {
    let mut pool: Vec<(String, Connection)> = Vec::new();
    let path = |f: &str| dir.join(f);
    let one = |mut v: Vec<Connection>| {
        assert_eq!(v.len(), 1);
        v.remove(0)
    };

    // curl over TLS 1.2/1.3 to www.ntop.org; ends with RSTs (tshark: rst 4).
    let t = truth(dir, "ndpi_443-curl.pcap");
    let mut c = one(replay(&path("ndpi_443-curl.pcap"), &[], None));
    assert!(is_flow(&c, &t["tls_client_hellos"][0]));
    c.app = Some(tls_info(&t["tls_client_hellos"][0]));
    c.process = process("curl");
    // The name curl resolved is the one it sent as SNI.
    c.hostname = Some(s(&t["tls_client_hellos"][0]["sni"]));
    pool.push(("curl".into(), c));
    // The same file seen live on the server after SYN and SYN-ACK (frames 1–2).
    let c = one(replay(&path("ndpi_443-curl.pcap"), &["178.62.197.130"], Some(2)));
    pool.push(("curl_server_syn".into(), c));

    // wget fetching http://bro.org/...: the whole exchange, and the client
    // side right after its FIN (frame 12; the server's FIN is frame 13).
    let t = truth(dir, "zeek_get.pcap");
    let req = &t["http_requests"][0];
    let mut h = HttpInfo::default();
    h.host = Some(s(&req["host"]));
    h.method = Some(s(&req["method"]));
    h.path = Some(s(&req["uri"]));
    h.user_agent = Some(s(&req["user_agent"]));
    let http = AppInfo::Http(h);
    for (label, limit) in [("wget", None), ("wget_fin", Some(12))] {
        let mut c = one(replay(&path("zeek_get.pcap"), &[], limit));
        assert!(is_flow(&c, req));
        c.app = Some(http.clone());
        c.process = process("wget");
        c.hostname = Some(s(&req["host"]));
        pool.push((label.into(), c));
    }
    // A web server's view of a handshake: SYN in, SYN-ACK out.
    let c = one(replay(&path("tcpdump_tcp-handshake-nano.pcap"), &["137.116.81.94"], Some(2)));
    pool.push(("web_server_syn".into(), c));
    let c = one(replay(&path("tcpdump_tcp-handshake-nano.pcap"), &[], None));
    pool.push(("handshake".into(), c));

    // SSH: OpenSSH to port 22, and OpenSSH client to Apache SSHD on 8000
    // (no FIN or RST: still established, as DPI shows past key exchange).
    let t = truth(dir, "ndpi_ssh.pcap");
    let mut conns = replay(&path("ndpi_ssh.pcap"), &[], None);
    let banners = t["ssh_banners"].as_array().unwrap();
    for pair in banners.chunks(2) {
        let (server, client) = if pair[0]["sport"] == 22 || pair[0]["sport"] == 8000 {
            (&pair[0], &pair[1])
        } else {
            (&pair[1], &pair[0])
        };
        let c = find(&mut conns, server);
        let sb = s(&server["banner"]);
        let mut ssh = SshInfo::default();
        ssh.client = Some(s(&client["banner"]));
        ssh.software = Some(software(&sb));
        ssh.server = Some(sb);
        c.app = Some(AppInfo::Ssh(ssh));
        c.process = process("ssh");
        if c.state == State::Established {
            c.state = State::SshEstablished;
        }
    }
    for c in conns {
        let label = format!("ssh_{}", c.remote.port);
        pool.push((label, c));
    }

    // DNS: three flows with query and response, one query alone.
    for file in ["zeek_pcapng-multi-interface.pcapng", "tcpdump_LINKTYPE_IPV6.pcap"] {
        let t = truth(dir, file);
        let mut conns = replay(&path(file), &[], None);
        for kind in ["dns_queries", "dns_responses"] {
            for rec in t[kind].as_array().unwrap() {
                let c = find(&mut conns, rec);
                let mut info = match c.app.take() {
                    Some(AppInfo::Dns(d)) => d,
                    _ => DnsInfo::default(),
                };
                for (name, qtype) in rec["names"].as_array().unwrap().iter().zip(rec["qtypes"].as_array().unwrap()) {
                    let q = DnsQuestion { name: s(name), qtype: if qtype == 1 { "A".into() } else { "AAAA".into() } };
                    if !info.queries.contains(&q) {
                        info.queries.push(q);
                    }
                }
                c.state = if kind == "dns_queries" && c.state != State::DnsResponse {
                    State::DnsQuery
                } else {
                    State::DnsResponse
                };
                c.app = Some(AppInfo::Dns(info));
            }
        }
        for c in conns {
            pool.push((format!("dns_{}", c.local.port), c));
        }
    }

    // Pings to a Google address.
    pool.push(("ping".into(), one(replay(&path("zeek_5-pings.pcap"), &[], None))));

    // QUIC: a handshake to localhost (tshark: frames 3–4 are the server's
    // Handshake packets, short headers start at frame 9), curl over HTTP/3
    // to www.google.de, and a browser's 0-RTT flow to ssl.gstatic.com.
    let t = truth(dir, "tcpdump_quic_handshake.pcap");
    let hello = &t["quic_client_hellos"][0];
    for (label, limit, state) in
        [("quic_hs", Some(4), State::QuicHandshake), ("quic_local", None, State::QuicConnected)]
    {
        let mut c = one(replay(&path("tcpdump_quic_handshake.pcap"), &[], limit));
        assert!(is_flow(&c, hello));
        c.app = Some(quic_info(hello));
        c.state = state;
        pool.push((label.into(), c));
    }
    let file = "zeek_curl-8.1.2-dev-http3-www-google-de.pcap";
    let t = truth(dir, file);
    let mut c = one(replay(&path(file), &[], None));
    assert!(is_flow(&c, &t["quic_client_hellos"][0]));
    c.app = Some(quic_info(&t["quic_client_hellos"][0]));
    c.state = State::QuicConnected;
    c.process = process("curl");
    pool.push(("quic_google".into(), c));
    let t = truth(dir, "ndpi_quic_0RTT.pcap");
    let mut conns = replay(&path("ndpi_quic_0RTT.pcap"), &[], None);
    let hello = &t["quic_client_hellos"][1];
    let c = find(&mut conns, hello);
    c.app = Some(quic_info(hello));
    c.state = State::QuicConnected;
    c.process = process("firefox");
    pool.push(("quic_gstatic".into(), c.clone()));

    // A browser's TLS to Instagram (never reaches QUIC_CONNECTED).
    let t = truth(dir, "ndpi_tls_2_reasms.pcapng");
    let mut c = one(replay(&path("ndpi_tls_2_reasms.pcapng"), &[], None));
    assert!(is_flow(&c, &t["tls_client_hellos"][0]));
    c.app = Some(tls_info(&t["tls_client_hellos"][0]));
    c.process = process("firefox");
    pool.push(("instagram".into(), c));

    // Background: a port scan (SYNs to 80, 443, 445, 3389 …) with no DPI data.
    for c in replay(&path("ndpi_tcp_scan.pcapng"), &[], None) {
        let label = match c.proto.has_ports() {
            true => format!("scan_{}", c.remote.port),
            false => format!("scan_arp_{}", c.remote.addr),
        };
        pool.push((label, c));
    }
    // UDP that tshark decodes as nothing but "data" (3 frames to port 443).
    let udp = replay(&path("ndpi_http_ipv6.pcap"), &[], None).into_iter().find(|c| c.local.port == 55145).unwrap();
    pool.push(("udp_data".into(), udp));
    pool
}

/// Each example with exactly the pool connections it must match. The corpus
/// has no traffic to GitHub nor an SNI containing "api": those two rows check
/// that nothing matches (positives are in the unit tests, src/filter/tests.rs).
const ROWS: &[(&str, &[&str])] = &[
    ("google", &["dns_56351", "dns_56352", "quic_google"]),
    ("firefox", &["quic_gstatic", "instagram"]),
    (
        "port:44",
        &[
            "curl",
            "curl_server_syn",
            "quic_hs",
            "quic_local",
            "quic_google",
            "quic_gstatic",
            "instagram",
            "scan_443",
            "scan_445",
            "udp_data",
        ],
    ),
    ("sport:80", &["web_server_syn"]),
    (
        "dport:443",
        &["curl", "quic_hs", "quic_local", "quic_google", "quic_gstatic", "instagram", "scan_443", "udp_data"],
    ),
    (
        "src:192.168",
        &[
            "curl",
            "quic_gstatic",
            "scan_80",
            "scan_443",
            "scan_445",
            "scan_3389",
            "scan_3390",
            "scan_3391",
            "scan_3392",
            "scan_arp_192.168.1.151",
            "scan_arp_192.168.1.178",
            "scan_arp_192.168.1.2",
        ],
    ),
    ("dst:github.com", &[]),
    ("dst:ntop.org", &["curl"]),
    ("dst:1.1.1.1", &["dns_56351", "dns_56352", "dns_36343"]),
    ("process:ssh", &["ssh_22", "ssh_8000"]),
    ("sni:api", &[]),
    ("sni:www", &["curl", "quic_google"]),
    ("ssh:openssh", &["ssh_22", "ssh_8000"]),
    ("state:established", &["handshake", "ssh_8000", "instagram"]),
    ("state:syn_recv", &["curl_server_syn", "web_server_syn"]),
    ("state:fin_wait", &["wget_fin"]),
    ("state:quic_handshake", &["quic_hs"]),
    ("state:dns_query", &["dns_12345"]),
    // Its last packet is over 10 s before the end of the capture: the engine
    // stamps it UDP_IDLE, as JSON prints it (issue 11: filtering on the
    // state of the last packet, UDP_ACTIVE, was the bug).
    ("state:udp_idle", &["udp_data"]),
    (
        "proto:tcp",
        &[
            "curl",
            "curl_server_syn",
            "wget",
            "wget_fin",
            "web_server_syn",
            "handshake",
            "ssh_22",
            "ssh_8000",
            "instagram",
            "scan_80",
            "scan_443",
            "scan_445",
            "scan_3389",
            "scan_3390",
            "scan_3391",
            "scan_3392",
        ],
    ),
    ("sport:443 state:syn_recv", &["curl_server_syn"]),
    ("dport:22 ssh:openssh", &["ssh_22"]),
    ("process:firefox state:quic_connected", &["quic_gstatic"]),
    ("host:bro.org", &["wget", "wget_fin"]),
    ("host:google", &["quic_google"]),
    ("host:\"www.ntop.org\"", &["curl"]),
    ("app:openssh", &["ssh_22"]),
    ("app:quic", &["quic_hs", "quic_local", "quic_google", "quic_gstatic"]),
    ("service:domain", &["dns_56351", "dns_56352", "dns_36343", "dns_12345"]),
    ("proto:arp", &["scan_arp_192.168.1.151", "scan_arp_192.168.1.178", "scan_arp_192.168.1.2"]),
    ("2620:fe::9", &["dns_12345"]),
    ("[::1]:443", &["quic_hs", "quic_local"]),
    ("GET", &["wget", "wget_fin"]),
    ("apple", &["dns_36343"]),
    ("h3-29", &["quic_google"]),
    ("!proto:tcp !proto:arp !quic !dns", &["ping", "udp_data"]),
    ("state:closed !192.168.1.2", &["curl"]),
    ("process:curl !tcp", &["quic_google"]),
];

#[test]
fn readme_examples_on_real_captures() {
    let Some(dir) = common::corpus_dir() else { return };
    let pool = pool(&dir);
    if std::env::var_os("FILTER_DUMP").is_some() {
        for (l, c) in &pool {
            eprintln!(
                "{l:16} {:5} {:>45} {:>45} {:15} {:?}",
                c.proto.name(),
                c.local.display(c.proto).to_string(),
                c.remote.display(c.proto).to_string(),
                c.state.name(),
                c.service()
            );
        }
    }
    let labels: BTreeSet<&str> = pool.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels.len(), pool.len(), "labels must be unique");
    let mut failures = Vec::new();
    for (text, want) in ROWS {
        for w in *want {
            assert!(labels.contains(w), "{text}: unknown label {w}");
        }
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let got: Vec<&str> = pool.iter().filter(|(_, c)| f.matches(c)).map(|(l, _)| l.as_str()).collect();
        let want: Vec<&str> = pool.iter().map(|(l, _)| l.as_str()).filter(|l| want.contains(l)).collect();
        let nothing_in_corpus = ["dst:github.com", "sni:api"].contains(text);
        assert!(!want.is_empty() || nothing_in_corpus, "{text}: a row must expect a match");
        assert!(want.len() < pool.len(), "{text}: a row must expect a non-match");
        if got != want {
            failures.push(format!("{text:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! Matching a compiled filter against 100 000 connections (target: ≤ 5 ms),
//! and parsing filter text (group `parse`).
//! `cargo bench -p rustnet-core --bench filter [-- parse | -- filter_100k]`

use criterion::{Criterion, criterion_group, criterion_main};
use etherparse::PacketBuilder;
use rustnet_core::dpi::{AppInfo, DnsInfo, DnsQuestion, HttpInfo, QuicInfo, SshInfo, TlsInfo};
use rustnet_core::filter::Filter;
use rustnet_core::track::{Connection, Endpoint, ProcessInfo, Proto, State};
use rustnet_core::wire::LinkType;
use rustnet_core::{Config, Engine, Timestamp};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const N: usize = 100_000;

/// One real connection from the engine, to clone and vary (Connection's
/// constructor is crate-private; its fields are public).
fn template() -> Connection {
    let mut frame = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 443, 1, 1000)
        .syn()
        .write(&mut frame, &[])
        .expect("writing to a Vec cannot fail");
    let mut e = Engine::new(Config::default());
    e.process(LinkType::from_number(1), Timestamp::from_nanos(1), &frame, 60);
    e.finish_all();
    let mut out = Vec::new();
    e.take_finished(&mut out);
    out.pop().expect("one SYN makes one connection")
}

const STATES: [State; 10] = [
    State::Established,
    State::SynSent,
    State::SynRecv,
    State::FinWait1,
    State::TimeWait,
    State::QuicConnected,
    State::QuicHandshake,
    State::UdpActive,
    State::DnsQuery,
    State::SshEstablished,
];
const PROCS: [&str; 7] = ["firefox", "Web Content", "curl", "ssh", "systemd-resolve", "chrome", "sshd"];
const HOSTS: [&str; 6] =
    ["www.google.com", "api.github.com", "example.org", "cdn.jsdelivr.net", "mail.ntop.org", "static.dingtalk.com"];

fn app(i: usize) -> Option<AppInfo> {
    let h = HOSTS[i % HOSTS.len()].to_string();
    // The info types are non-exhaustive: filled in from their defaults.
    Some(match i % 6 {
        0 => {
            let mut t = TlsInfo::default();
            t.sni = Some(h);
            t.alpn = vec!["h2".into(), "http/1.1".into()];
            t.version = Some("TLSv1.3".into());
            AppInfo::Tls(t)
        }
        1 => {
            let mut x = HttpInfo::default();
            x.host = Some(h);
            x.method = Some("GET".into());
            x.path = Some(format!("/item/{i}"));
            x.user_agent = Some("curl/8.5.0".into());
            AppInfo::Http(x)
        }
        2 => {
            let mut d = DnsInfo::default();
            d.queries = vec![DnsQuestion { name: h, qtype: "A".into() }];
            AppInfo::Dns(d)
        }
        3 => {
            let mut x = SshInfo::default();
            x.client = Some("SSH-2.0-OpenSSH_9.6".into());
            x.server = Some("SSH-2.0-OpenSSH_9.2p1 Debian-2".into());
            x.software = Some("OpenSSH_9.2p1".into());
            AppInfo::Ssh(x)
        }
        4 => {
            let mut q = QuicInfo::default();
            q.version = Some("v1".into());
            q.sni = Some(h);
            q.alpn = vec!["h3".into()];
            AppInfo::Quic(q)
        }
        _ => return None,
    })
}

fn connections() -> Vec<Connection> {
    let t = template();
    (0..N)
        .map(|i| {
            let mut c = t.clone();
            let n = i as u32;
            let (local, remote): (IpAddr, IpAddr) = if i % 4 == 0 {
                let l = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, (n >> 16) as u16, n as u16);
                (l.into(), Ipv6Addr::new(0x2a00, 0x1450, 0, 0, 0, 0, 0, n as u16).into())
            } else {
                (
                    Ipv4Addr::new(192, 168, (n >> 8) as u8, n as u8).into(),
                    Ipv4Addr::new(10 + (n % 200) as u8, (n >> 8) as u8, 7, n as u8).into(),
                )
            };
            c.proto = if i % 3 == 0 { Proto::Udp } else { Proto::Tcp };
            c.local = Endpoint::new(local, 32768 + (i % 28000) as u16);
            c.remote = Endpoint::new(remote, [443, 80, 53, 22, 8443, 5353, 993][i % 7]);
            c.state = STATES[i % STATES.len()];
            c.app = app(i);
            c.process = (i % 11 != 10).then(|| {
                Box::new(ProcessInfo {
                    pid: 1000 + n,
                    name: PROCS[i % PROCS.len()].into(),
                    cmdline: None,
                    ..Default::default()
                })
            });
            c.hostname = (i % 2 == 0).then(|| HOSTS[(i / 2) % HOSTS.len()].to_string());
            c
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let conns = connections();
    let filters = [
        "google",
        "10.1.7.1",
        "port:443",
        "src:192.168.1",
        "!proto:udp",
        "sport:443 state:syn_recv",
        "process:firefox state:quic_connected",
        "dport:22 ssh:openssh !state:closed",
    ];
    println!("{N} connections of {} bytes each", std::mem::size_of::<Connection>());
    let mut g = c.benchmark_group("filter_100k");
    // The floor: reading one field of every connection, no filter.
    g.bench_function("baseline: proto == udp", |b| {
        b.iter(|| black_box(&conns).iter().filter(|c| c.proto == Proto::Udp).count())
    });
    for text in filters {
        let f = Filter::parse(text).expect("bench filters are valid");
        let hits = conns.iter().filter(|c| f.matches(c)).count();
        println!("{text:40} matches {hits} of {N}");
        // As the UI does it: the indices of the matching connections.
        let mut out = Vec::with_capacity(N);
        g.bench_function(text, |b| {
            b.iter(|| {
                out.clear();
                f.select(black_box(&conns), &mut out);
                out.len()
            })
        });
    }
    g.finish();
    // Parsing runs on every keystroke in the filter bar.
    let mut g = c.benchmark_group("parse");
    for text in ["443", "port:443 or 10.1.7.1", "google", "sport:443 state:syn_recv google"] {
        Filter::parse(text).expect("bench filters are valid");
        g.bench_function(text, |b| b.iter(|| Filter::parse(black_box(text))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

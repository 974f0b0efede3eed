//! `--ipfix` against real collectors and decoders: captures replayed with
//! `--read` to nfdump's collector (nfcapd) on loopback, and to a UDP socket
//! whose datagrams tshark decodes. Truth: tshark's view of the capture
//! (addresses, ports, packets and bytes per direction, first/last packet
//! times) and what the fixtures' clients were told to send.

mod common;

use common::testenv;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// (proto, src, sport, dst, dport): one direction of a conversation.
type Dir = (u8, String, u16, String, u16);

/// Per direction: packets, frame bytes, IP-layer bytes, first and last
/// packet time in milliseconds, as tshark reads the capture.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Truth {
    packets: u64,
    frame_bytes: u64,
    ip_bytes: u64,
    first_ms: u64,
    last_ms: u64,
}

fn tshark_directions(pcap: &Path) -> BTreeMap<Dir, Truth> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-T", "fields", "-E", "separator=,", "-e", "frame.len", "-e", "frame.time_epoch"])
        .args(["-e", "ip.src", "-e", "ip.dst", "-e", "ip.len", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "ipv6.plen"])
        .args(["-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport", "-e", "udp.dstport"])
        .output()
        .expect("run tshark");
    let mut m: BTreeMap<Dir, Truth> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 12 {
            continue;
        }
        // Tunnelled packets carry several addresses: the fixtures used here have none.
        let (src, dst, ip_len) = if !f[2].is_empty() {
            (f[2], f[3], f[4].parse::<u64>().unwrap_or(0))
        } else {
            (f[5], f[6], f[7].parse::<u64>().unwrap_or(0) + 40)
        };
        let (proto, sp, dp) = if !f[8].is_empty() {
            (6, f[8], f[9])
        } else if !f[10].is_empty() {
            (17, f[10], f[11])
        } else {
            continue;
        };
        let ms = (f[1].parse::<f64>().unwrap_or(0.0) * 1e6).round() as u64 / 1000;
        let key = (proto, src.to_string(), sp.parse().unwrap_or(0), dst.to_string(), dp.parse().unwrap_or(0));
        let t = m.entry(key).or_insert(Truth { first_ms: u64::MAX, ..Truth::default() });
        t.packets += 1;
        t.frame_bytes += f[0].parse::<u64>().unwrap_or(0);
        t.ip_bytes += ip_len;
        t.first_ms = t.first_ms.min(ms);
        t.last_ms = t.last_ms.max(ms);
    }
    m
}

fn reverse(d: &Dir) -> Dir {
    (d.0, d.3.clone(), d.4, d.1.clone(), d.2)
}

/// A UDP port free on loopback now.
fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

fn rustnet_export(capture: &Path, url: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .arg("--read")
        .arg(capture)
        .args(["--json", "--ipfix", url])
        .output()
        .expect("rustnet runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    common::parse_lines(&String::from_utf8_lossy(&out.stdout))
}

/// nfdump's records of one conversation, added up.
#[derive(Debug, Default)]
struct Sum {
    packets: (u64, u64),
    ip_bytes: (u64, u64),
    first_ms: u64,
    last_ms: u64,
    records: usize,
}

/// nfcapd on loopback ← rustnet --read; nfdump's flows against tshark's
/// directions of the same capture. With a 1 s active timeout, the interim
/// records of a 3.4 s capture add up to the same numbers.
#[test]
fn nfdump_collects_the_conversations_tshark_sees() {
    if !testenv::tools_ready(&["nfcapd", "nfdump", "tshark"]) {
        return;
    }
    let fixtures: [(&str, &[&str]); 6] = [
        ("http_curl.pcap", &[]),
        ("dns_udp.pcap", &[]),
        ("dns_tcp.pcap", &[]),
        ("mixed_ipv6.pcap", &[]),
        ("tls13_curl.pcap", &[]),
        ("netem_curl_iperf3.pcap", &["--ipfix-active-timeout", "1"]),
    ];
    let mut cases: Vec<(PathBuf, &[&str])> = fixtures.iter().map(|(n, e)| (common::fixture(n), *e)).collect();
    // Public corpus captures too (TCP and UDP only, no tunnels: tshark's
    // fields below read the outer headers).
    if let Some(dir) = common::corpus_dir() {
        for name in ["zeek_get.pcap", "ndpi_443-curl.pcap", "zeek_dns-two-responses.pcap", "tcpdump_ssh.pcap"] {
            cases.push((dir.join(name), &[]));
        }
    }
    for (capture, extra) in cases {
        let name = capture.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        assert!(capture.is_file(), "{name} is missing");
        let flows = nfdump_flows(&capture, extra);
        let truth = tshark_directions(&capture);
        // Per conversation (as exported: local → remote): summed records.
        // Summed: in (local → remote) and out packets and IP bytes, first
        // and last times, records.
        let mut sums: BTreeMap<Dir, Sum> = BTreeMap::new();
        for f in &flows {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            let n = |k: &str| f[k].as_u64().unwrap_or(0);
            let (src, dst) = if f.get("src4_addr").is_some() {
                (s("src4_addr"), s("dst4_addr"))
            } else {
                (s("src6_addr"), s("dst6_addr"))
            };
            let key: Dir = (n("proto") as u8, src, n("src_port") as u16, dst, n("dst_port") as u16);
            if key.0 != 6 && key.0 != 17 {
                continue;
            }
            let e = sums.entry(key).or_insert(Sum { first_ms: u64::MAX, ..Sum::default() });
            e.packets = (e.packets.0 + n("in_packets"), e.packets.1 + n("out_packets"));
            e.ip_bytes = (e.ip_bytes.0 + n("in_bytes"), e.ip_bytes.1 + n("out_bytes"));
            e.first_ms = e.first_ms.min(ms_of(&s("first")));
            e.last_ms = e.last_ms.max(ms_of(&s("last")));
            e.records += 1;
        }
        for (key, sum) in &sums {
            let fwd = truth.get(key).copied().unwrap_or_default();
            let rev = truth.get(&reverse(key)).copied().unwrap_or_default();
            assert!(fwd.packets + rev.packets > 0, "{name}: nfdump flow {key:?} not in tshark's view");
            assert_eq!(sum.packets, (fwd.packets, rev.packets), "{name} {key:?} packets");
            assert_eq!(sum.ip_bytes, (fwd.ip_bytes, rev.ip_bytes), "{name} {key:?} IP bytes");
            let (t0, t1) = (fwd.first_ms.min(rev.first_ms), fwd.last_ms.max(rev.last_ms));
            assert_eq!((sum.first_ms, sum.last_ms), (t0, t1), "{name} {key:?} times");
        }
        assert!(!truth.is_empty(), "{name}: tshark saw no TCP/UDP conversation");
        let convs: std::collections::BTreeSet<Dir> =
            truth.keys().map(|k| if k <= &reverse(k) { k.clone() } else { reverse(k) }).collect();
        assert_eq!(sums.len(), convs.len(), "{name}: nfdump flows {flows:?}");
        let records: usize = sums.values().map(|s| s.records).sum();
        if extra.is_empty() {
            assert_eq!(records, convs.len(), "{name}: one record per connection");
        } else {
            assert!(records >= convs.len() + 2, "{name}: interim records expected, got {records}");
        }
    }
}

/// The flows nfcapd collected from `rustnet --read capture --ipfix …`, as
/// `nfdump -o json` prints them.
fn nfdump_flows(capture: &Path, extra: &[&str]) -> Vec<Value> {
    let name = capture.file_name().and_then(|n| n.to_str()).unwrap_or("capture");
    let dir = tempdir(name);
    let port = free_udp_port();
    let mut nfcapd = Command::new("nfcapd")
        .args(["-b", "127.0.0.1", "-p", &port.to_string(), "-t", "3600", "-w"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nfcapd");
    wait_udp_bound(port);
    let url = format!("udp://127.0.0.1:{port}");
    let mut args = vec!["--ipfix", url.as_str()];
    args.extend_from_slice(extra);
    let run = common::run_json(capture, &args);
    assert!(run.status.success(), "{name}: {}", run.stderr);
    std::thread::sleep(Duration::from_millis(300));
    // SIGTERM: nfcapd writes its file and exits.
    let _ = Command::new("kill").arg(nfcapd.id().to_string()).status();
    let _ = nfcapd.wait();
    let out = Command::new("nfdump").arg("-R").arg(&dir).args(["-o", "json"]).output().expect("nfdump");
    let _ = std::fs::remove_dir_all(&dir);
    let flows: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: nfdump JSON: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    flows.as_array().cloned().unwrap_or_default()
}

/// nfdump's "2026-11-25T11:00:12.784" (local time, as `date` reads it) in
/// milliseconds since the epoch.
fn ms_of(s: &str) -> u64 {
    let out = Command::new("date").args(["-d", s, "+%s%3N"]).output().expect("date");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rustnet-ipfix-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Waits until something listens on the UDP port (nfcapd started).
fn wait_udp_bound(port: u16) {
    for _ in 0..100 {
        if UdpSocket::bind(("127.0.0.1", port)).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nfcapd never bound port {port}");
}

/// The datagrams rustnet sends for each of `captures` (one run, one
/// exporter, each), received on a UDP socket.
fn exported_datagrams(captures: &[&str]) -> (u16, Vec<Vec<Vec<u8>>>) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = sock.local_addr().expect("addr").port();
    sock.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
    let mut runs = Vec::new();
    let mut buf = vec![0u8; 65_536];
    for name in captures {
        rustnet_export(&common::fixture(name), &format!("udp://127.0.0.1:{port}"));
        let mut out = Vec::new();
        while let Ok(n) = sock.recv(&mut buf) {
            out.push(buf[..n].to_vec());
        }
        runs.push(out);
    }
    (port, runs)
}

/// A pcap (LINKTYPE_RAW) of the datagrams as IPv4/UDP to `port`, each run
/// from its own address (an exporter each).
fn write_pcap(path: &Path, port: u16, runs: &[Vec<Vec<u8>>]) {
    let mut f = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 101] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    let dgrams = runs.iter().enumerate().flat_map(|(r, ds)| ds.iter().map(move |d| (r as u8 + 1, d)));
    for (i, (run, d)) in dgrams.enumerate() {
        let len = 28 + d.len();
        let mut ip = vec![0x45, 0, (len >> 8) as u8, len as u8, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, run, 127, 0, 0, 1];
        let sum = ip.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum::<u32>();
        let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let udp_len = (8 + d.len()) as u16;
        ip.extend_from_slice(&40_000u16.to_be_bytes());
        ip.extend_from_slice(&port.to_be_bytes());
        ip.extend_from_slice(&udp_len.to_be_bytes());
        ip.extend_from_slice(&[0, 0]);
        ip.extend_from_slice(d);
        for v in [1_700_000_000 + i as u32, 0, ip.len() as u32, ip.len() as u32] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(&ip);
    }
    std::fs::write(path, f).expect("write pcap");
}

/// tshark's fields of every frame (one line each, values comma-separated).
fn tshark_fields(pcap: &Path, port: u16, fields: &[&str], filter: &str) -> Vec<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).args(["-d", &format!("udp.port=={port},cflow"), "-T", "fields", "-E", "separator=|"]);
    if !filter.is_empty() {
        cmd.args(["-Y", filter]);
    }
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            l.split('|')
                .map(|v| if v.is_empty() { Vec::new() } else { v.split(',').map(str::to_string).collect() })
                .collect()
        })
        .collect()
}

/// tshark decodes every exported element without "malformed": counters
/// per direction against tshark's reading of the capture, the HTTP, TLS
/// and DNS elements against what the fixtures' clients sent, ntop's
/// elements by name, the host name as observationDomainName.
#[test]
fn tshark_decodes_every_exported_element() {
    if !testenv::tools_ready(&["tshark"]) {
        return;
    }
    let captures = ["http_curl.pcap", "tls13_curl.pcap", "dns_udp.pcap", "mixed_ipv6.pcap"];
    let (port, runs) = exported_datagrams(&captures);
    assert!(runs.iter().all(|r| !r.is_empty()), "no IPFIX message received");
    let pcap = tempdir("tshark").join("ipfix.pcap");
    write_pcap(&pcap, port, &runs);
    let dgrams: Vec<_> = runs.concat();
    assert!(
        tshark_fields(&pcap, port, &["frame.number"], "_ws.malformed || _ws.expert.severity >= warning").is_empty()
    );
    assert_eq!(tshark_fields(&pcap, port, &["frame.number"], "cflow.version == 10").len(), dgrams.len());

    // Counters per direction, record by record.
    let mut truth = BTreeMap::new();
    for name in captures {
        truth.extend(tshark_directions(&common::fixture(name)));
    }
    let fields = [
        "cflow.protocol",
        "cflow.srcaddr",
        "cflow.srcaddrv6",
        "cflow.srcport",
        "cflow.dstaddr",
        "cflow.dstaddrv6",
        "cflow.dstport",
        "cflow.packets",
        "cflow.octets",
        "cflow.layer2_octet_delta_count",
    ];
    let mut records = 0;
    for frame in tshark_fields(&pcap, port, &fields, "") {
        let v = |i: usize, k: usize| frame.get(i).and_then(|x| x.get(k)).cloned().unwrap_or_default();
        let n = |i: usize, k: usize| v(i, k).parse::<u64>().unwrap_or(u64::MAX);
        let (mut v4, mut v6) = (0, 0);
        for r in 0..frame[0].len() {
            let proto = n(0, r) as u8;
            let (src, dst) = if !v(1, v4).is_empty() && frame[1].len() > v4 && proto != 0 {
                v4 += 1;
                (v(1, v4 - 1), v(4, v4 - 1))
            } else {
                v6 += 1;
                (v(2, v6 - 1), v(5, v6 - 1))
            };
            let key: Dir = (proto, src, n(3, r) as u16, dst, n(6, r) as u16);
            if proto != 6 && proto != 17 {
                continue;
            }
            let fwd = truth.get(&key).copied().unwrap_or_default();
            let rev = truth.get(&reverse(&key)).copied().unwrap_or_default();
            assert_eq!((n(7, 2 * r), n(7, 2 * r + 1)), (fwd.packets, rev.packets), "{key:?} packets");
            assert_eq!((n(8, 2 * r), n(8, 2 * r + 1)), (fwd.ip_bytes, rev.ip_bytes), "{key:?} IP bytes");
            assert_eq!((n(9, 2 * r), n(9, 2 * r + 1)), (fwd.frame_bytes, rev.frame_bytes), "{key:?} frame bytes");
            records += 1;
        }
    }
    let convs: std::collections::BTreeSet<Dir> =
        truth.keys().map(|k| if k <= &reverse(k) { k.clone() } else { reverse(k) }).collect();
    assert_eq!(records, convs.len());

    // Text elements against what the clients were told to send.
    let all = |field: &str| -> Vec<String> {
        let mut v: Vec<String> = tshark_fields(&pcap, port, &[field], "").into_iter().flatten().flatten().collect();
        v.sort();
        v
    };
    let exp = common::fixture_expected();
    let want = |key: &str, field: &str| -> Vec<String> {
        let mut v: Vec<String> = captures
            .iter()
            .flat_map(|c| exp[c][key].as_array().cloned().unwrap_or_default())
            .map(|x| x[field].as_str().unwrap_or_default().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(all("cflow.http_request_host"), want("http", "host"));
    assert_eq!(all("cflow.http_request_method"), want("http", "method"));
    assert_eq!(all("cflow.http_request_target"), want("http", "path"));
    assert_eq!(all("cflow.http_user_agent"), want("http", "user_agent"));
    assert_eq!(all("cflow.pie.ntop.ssl_server_name"), want("tls", "sni"));
    assert_eq!(all("cflow.pie.ntop.dns_query"), want("dns", "name"));
    let apps = all("cflow.pie.ntop.l7_proto_name");
    assert_eq!(apps.iter().filter(|a| *a == "HTTP").count(), want("http", "host").len());
    assert_eq!(apps.iter().filter(|a| *a == "TLS").count(), 1);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    assert!(all("cflow.observation_domain_name").iter().all(|n| n == host.trim()));
    let _ = std::fs::remove_dir_all(pcap.parent().expect("dir"));
}

/// pmacct's nfacctd with custom primitives for the ntop and rustnet
/// elements (the README's map): application, SNI, DNS query and state
/// against what the fixtures' clients sent.
#[test]
fn pmacct_decodes_the_enterprise_elements() {
    if !testenv::tools_ready(&["nfacctd"]) {
        return;
    }
    let dir = tempdir("pmacct");
    let port = free_udp_port();
    let primitives = dir.join("primitives.lst");
    std::fs::write(&primitives, PMACCT_PRIMITIVES).expect("write primitives");
    let out = dir.join("out.json");
    let conf = format!(
        "nfacctd_ip: 127.0.0.1\nnfacctd_port: {port}\naggregate_primitives: {}\n\
         aggregate: src_host, dst_host, src_port, dst_port, proto, app, sni, dns_query, conn_state, rtt_us\n\
         plugins: print\nprint_output: json\nprint_output_file: {}\nprint_output_file_append: true\n\
         print_refresh_time: 1\n",
        primitives.display(),
        out.display()
    );
    std::fs::write(dir.join("nfacctd.conf"), conf).expect("write conf");
    // Its own process group: SIGTERM leaves nfacctd waiting for its
    // plugin processes, so the group is killed at the end.
    let mut nfacctd = Command::new("nfacctd")
        .arg("-f")
        .arg(dir.join("nfacctd.conf"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nfacctd");
    wait_udp_bound(port);
    // The port is bound before its plugin runs: records sent at once were
    // lost in one run of eight under the parallel test load.
    std::thread::sleep(Duration::from_secs(1));
    let captures = ["tls13_curl.pcap", "dns_udp.pcap"];
    for name in captures {
        rustnet_export(&common::fixture(name), &format!("udp://127.0.0.1:{port}"));
    }
    // The print plugin writes every refresh (1 s).
    let mut rows = Vec::new();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(200));
        rows = std::fs::read_to_string(&out).map(|t| common::parse_lines(&t)).unwrap_or_default();
        if rows.len() >= 7 {
            break;
        }
    }
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", nfacctd.id())]).status();
    let _ = nfacctd.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let exp = common::fixture_expected();
    let col = |k: &str| -> Vec<String> {
        let mut v: Vec<String> =
            rows.iter().filter_map(|r| r[k].as_str()).filter(|s| !s.is_empty()).map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(col("sni"), [exp["tls13_curl.pcap"]["tls"][0]["sni"].as_str().unwrap_or("?")], "{rows:?}");
    let mut names: Vec<String> = exp["dns_udp.pcap"]["dns"]
        .as_array()
        .map(|a| a.iter().filter_map(|q| q["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    names.sort();
    assert_eq!(col("dns_query"), names);
    let apps = col("app");
    assert_eq!(apps.iter().filter(|a| *a == "TLS").count(), 1);
    assert_eq!(apps.iter().filter(|a| *a == "DNS").count(), names.len());
    // DNS transactions answered: the state name, and a response time.
    let dns: Vec<&Value> = rows.iter().filter(|r| r["app"] == "DNS").collect();
    assert!(dns.iter().all(|r| r["conn_state"] == "DNS_RESPONSE"), "{dns:?}");
    assert!(dns.iter().all(|r| r["rtt_us"].as_str().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) > 0));
}

/// nfacctd's custom primitives for rustnet's enterprise elements (README).
const PMACCT_PRIMITIVES: &str = "\
name=proc_pid    field_type=35632:168   len=4    semantics=u_int
name=proc_name   field_type=35632:169   len=vlen semantics=str
name=app         field_type=35632:119   len=vlen semantics=str
name=sni         field_type=35632:188   len=vlen semantics=str
name=dns_query   field_type=35632:205   len=vlen semantics=str
name=conn_state  field_type=32473:101   len=vlen semantics=str
name=rtt_us      field_type=32473:102   len=4    semantics=u_int
name=srtt_us     field_type=32473:103   len=4    semantics=u_int
name=retrans_tx  field_type=32473:104   len=4    semantics=u_int
name=retrans_rx  field_type=32473:16488 len=4    semantics=u_int
";

/// `tcp://`: the messages back to back on one connection, each framed by
/// its length field, the first with the templates, sequence numbers
/// counting the data records of those before (as Wireshark checks them
/// over UDP above).
#[test]
fn tcp_export_frames_messages_by_their_length() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut all = Vec::new();
        s.read_to_end(&mut all).expect("read");
        all
    });
    let capture = common::fixture("http_curl.pcap");
    rustnet_export(&capture, &format!("tcp://127.0.0.1:{port}"));
    let stream = reader.join().expect("reader");
    let mut rest = &stream[..];
    let mut messages = 0;
    let mut first_set = None;
    while !rest.is_empty() {
        assert!(rest.len() >= 16, "a cut message");
        assert_eq!(u16::from_be_bytes([rest[0], rest[1]]), 10);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        assert!(len >= 20 && len <= rest.len(), "length {len}");
        first_set.get_or_insert(u16::from_be_bytes([rest[16], rest[17]]));
        rest = &rest[len..];
        messages += 1;
    }
    assert!(messages >= 1);
    assert_eq!(first_set, Some(2), "the templates first");
    // Every TCP conversation tshark sees went out: its client port is in the stream.
    if testenv::tools_ready(&["tshark"]) {
        for (_, _, sport, _, dport) in tshark_directions(&capture).into_keys().filter(|k| k.4 == 80) {
            assert!(stream.windows(4).any(|w| w == [sport.to_be_bytes(), dport.to_be_bytes()].concat()), "{sport}");
        }
    }
}

/// A dead collector (nothing listens: the kernel answers ICMP port
/// unreachable, so sends fail with ECONNREFUSED) changes nothing of the
/// capture: the same records as without `--ipfix`; it is said once, at the
/// end, with the count of messages lost, and the exit status is 1.
#[test]
fn a_dead_collector_is_said_once_and_changes_nothing_else() {
    let port = UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map(|a| a.port()).expect("free port");
    let capture = common::fixture("netem_curl_iperf3.pcap");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rustnet"))
            .arg("--read")
            .arg(&capture)
            .arg("--json")
            .args(extra)
            .output()
            .expect("rustnet runs")
    };
    let url = format!("udp://127.0.0.1:{port}");
    let dead = run(&["--ipfix", &url, "--ipfix-mtu", "1200", "--ipfix-active-timeout", "0.2"]);
    let plain = run(&[]);
    assert_eq!(dead.stdout, plain.stdout, "the records do not depend on the collector");
    assert_eq!(dead.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&dead.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("ipfix")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let lost: u32 = lines[0]
        .split("ipfix: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // How many sends fail depends on when the ICMP answer comes back (the
    // first send to a connected UDP socket always goes).
    assert!(lost >= 1 && lines[0].contains("messages not sent") && lines[0].contains("refused"), "{stderr}");
}

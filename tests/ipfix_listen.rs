//! Collector mode (`--ipfix-listen`): rustnet exporters on two "hosts"
//! (their own UTS namespaces, so their observationDomainNames differ; live,
//! also their own network namespaces) into one listener. Truth: each
//! exporter's own `--json` of the same run (which tests/live_lab.rs and the
//! fixture tests hold to tcpdump/tshark), and tshark's conversations of the
//! capture files.

mod common;

use common::lab::{Lab, tshark_conversations, wait_thread};
use common::testenv::{root_ready, tools_ready};
use common::{finish, fixture, parse_lines, record_conversations};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_rustnet");

/// This test run's UDP ports (n < 4; +100 for a fifth): 47300-47499, apart
/// from other sessions'.
fn port(n: u16) -> u16 {
    47_300 + (std::process::id() % 25) as u16 * 4 + n
}

/// `rustnet ARGS` in a UTS namespace of its own whose host name is `host`.
fn as_host(host: &str, args: &[&str]) -> Command {
    let mut c = Command::new("unshare");
    c.args(["--uts", "sh", "-c", &format!("hostname {host} && exec \"$0\" \"$@\""), BIN]).args(args);
    c
}

fn listener(args: &[&str]) -> std::process::Child {
    let c = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the listener");
    wait_thread(c.id(), "collector");
    c
}

/// The fields a record carries through IPFIX, as text for comparison:
/// RTT to the microsecond, and of `app` what IPFIX has elements for. Times
/// apart ([`same`]).
fn carried(r: &Value) -> String {
    let app = &r["app"];
    let app = match app["protocol"].as_str() {
        None => "-".to_string(),
        Some("HTTP") => format!("HTTP {} {} {}", app["host"], app["method"], app["path"]),
        Some(p @ ("TLS" | "QUIC")) => format!("{p} {}", app["sni"]),
        Some(p @ ("DNS" | "mDNS" | "LLMNR")) => format!("{p} {}", app["queries"][0]["name"]),
        Some(p) => p.to_string(),
    };
    // IPFIX carries whole microseconds (truncated).
    let rtt = r["rtt"].as_f64().map(|s| (s * 1e6 + 1e-3).floor() as u64);
    format!(
        "{} {} {} {} {} {} {} {} {} {:?} tcp={} icmp={} {} {}",
        r["proto"],
        r["local"],
        r["remote"],
        r["state"],
        r["tx_packets"],
        r["rx_packets"],
        r["tx_bytes"],
        r["rx_bytes"],
        app,
        rtt,
        r["tcp"],
        r["icmp"],
        r["end_reason"],
        r["process"]["name"],
    )
}

/// The listener's records (left) equal the exporter's (right) in every
/// carried field, and their first/last times are the exporter's cut to
/// the millisecond (flowStart/EndMilliseconds).
fn same(host: &str, listener: &[&Value], exporter: &[&Value]) {
    let sorted = |v: &[&Value]| {
        let mut v: Vec<(String, f64, f64)> = v
            .iter()
            .map(|r| (carried(r), r["first_seen"].as_f64().unwrap_or(0.0), r["last_seen"].as_f64().unwrap_or(0.0)))
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v
    };
    let (l, e) = (sorted(listener), sorted(exporter));
    let text = |v: &[(String, f64, f64)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(text(&l), text(&e), "{host}: listener (left) vs the exporter's own --json (right)");
    for (a, b) in l.iter().zip(&e) {
        for (x, y) in [(a.1, b.1), (a.2, b.2)] {
            assert!(x <= y + 1e-6 && y - x < 0.001 + 1e-6, "{host}: time {x} vs {y} in {}", a.0);
        }
    }
}

/// Item 2 of issue 15, deterministic: two exporters replaying different
/// captures (different host names and observation domain ids) into one
/// listener, and into a second listener that keeps one exporter only.
#[test]
fn two_exporters_into_one_listener() {
    if !(root_ready() && tools_ready(&["unshare", "tshark"])) {
        return;
    }
    let (p1, p2) = (port(0), port(1));
    let (u1, u2) = (format!("udp://127.0.0.1:{p1}"), format!("udp://127.0.0.1:{p2}"));
    let all = listener(&["--ipfix-listen", &u1, "--json", "--duration", "6"]);
    let beta_only = listener(&["--ipfix-listen", &u2, "--json", "--duration", "6", "--filter", "exporter:exp-beta"]);
    let mut own = Vec::new();
    for (host, file, domain) in [("exp-alpha", "http_curl.pcap", "11"), ("exp-beta", "mixed_ipv6.pcap", "12")] {
        let path = fixture(file);
        let p = path.to_string_lossy();
        let out = as_host(host, &["--read", &p, "--json", "--ipfix", &u1, "--ipfix", &u2, "--ipfix-domain-id", domain])
            .output()
            .expect("run an exporter");
        assert!(out.status.success(), "{host}: {}", String::from_utf8_lossy(&out.stderr));
        own.push((host, path, parse_lines(&String::from_utf8_lossy(&out.stdout))));
    }
    let out = finish(all, Duration::from_secs(20), "the listener");
    assert!(out.status.success(), "listener: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "nothing dropped: {}", String::from_utf8_lossy(&out.stderr));
    let got = parse_lines(&String::from_utf8_lossy(&out.stdout));
    let mut total = 0;
    for (host, path, mine) in &own {
        // ARP is not an IP flow: IPFIX has no record for it.
        let want: Vec<&Value> = mine.iter().filter(|r| r["proto"] != "arp").collect();
        let theirs: Vec<&Value> = got.iter().filter(|r| r["exporter"] == *host).collect();
        assert!(!want.is_empty());
        same(host, &theirs, &want);
        let theirs_owned: Vec<Value> = theirs.iter().map(|r| (*r).clone()).collect();
        assert_eq!(record_conversations(&theirs_owned), tshark_conversations(path), "{host}: listener vs tshark");
        total += theirs.len();
    }
    assert_eq!(total, got.len(), "every record has one of the two exporters: {got:#?}");
    let out = finish(beta_only, Duration::from_secs(20), "the filtered listener");
    let beta = parse_lines(&String::from_utf8_lossy(&out.stdout));
    assert!(!beta.is_empty() && beta.iter().all(|r| r["exporter"] == "exp-beta"), "{beta:#?}");
    assert_eq!(beta.len(), own[1].2.iter().filter(|r| r["proto"] != "arp").count());
}

/// Live: an exporter in each of two network namespaces (client and server
/// host) while curl and dig talk between them; the listener runs in the
/// server's namespace. Each side's records reach it with its exporter, the
/// same as that exporter's own --json.
#[test]
fn live_exporters_in_two_namespaces() {
    if !(root_ready() && tools_ready(&["ip", "unshare", "curl", "dig", "dnsmasq", "python3"])) {
        return;
    }
    let mut lab = Lab::up(&format!("lx{}", std::process::id() % 10000));
    let (cli, srv) = (lab.cli_v4, lab.srv_v4);
    let p = port(0);
    let not_export = format!("!port:{p}");
    let listen = format!("udp://0.0.0.0:{p}");
    lab.spawn(true, &[BIN, "--ipfix-listen", &listen, "--json", "--duration", "14"]);
    let listener = lab.take_last();
    wait_thread(listener.id(), "collector");
    lab.spawn(true, &["python3", "-m", "http.server", "8080", "--bind", srv]);
    lab.wait_listening(8080);
    let dns_addr = format!("--address=/www.lab.test/{srv}");
    let dns_listen = format!("--listen-address={srv}");
    lab.spawn(
        true,
        &["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces", &dns_listen, &dns_addr],
    );
    let mut exporters = Vec::new();
    for (server, host, iface, to) in [
        (false, "lhost-cli", lab.cli_if.clone(), format!("udp://{srv}:{p}")),
        (true, "lhost-srv", format!("{}-veth-s", lab.prefix), format!("udp://127.0.0.1:{p}")),
    ] {
        let hn = format!("hostname {host} && exec \"$0\" \"$@\"");
        let argv = ["unshare", "--uts", "sh", "-c", &hn, BIN, "-i", &iface, "--json", "--duration", "8"];
        let mut argv = argv.to_vec();
        // The export's own datagrams cross the veth: not exported.
        argv.extend(["--ipfix", &to, "--filter", &not_export, "--ipfix-active-timeout", "2"]);
        lab.spawn(server, &argv);
        let c = lab.take_last();
        wait_thread(c.id(), "capture");
        exporters.push((host, c));
    }
    std::thread::sleep(Duration::from_millis(300));
    let url = format!("http://{srv}:8080/");
    for _ in 0..3 {
        let o = lab.client(&["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", &url]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "200", "curl: {o:?}");
    }
    let at = format!("@{srv}");
    let o = lab.client(&["dig", "+short", "+tries=1", "+time=2", &at, "www.lab.test", "A"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), srv, "dig: {o:?}");
    let mut own = Vec::new();
    for (host, c) in exporters {
        let out = finish(c, Duration::from_secs(30), host);
        assert!(out.status.success(), "{host}: {}", String::from_utf8_lossy(&out.stderr));
        own.push((host, parse_lines(&String::from_utf8_lossy(&out.stdout))));
    }
    let out = finish(listener, Duration::from_secs(30), "the listener");
    assert!(out.status.success(), "listener: {}", String::from_utf8_lossy(&out.stderr));
    let got = parse_lines(&String::from_utf8_lossy(&out.stdout));
    for (host, mine) in &own {
        let want: Vec<&Value> = mine.iter().filter(|r| r["proto"] != "arp").collect();
        let theirs: Vec<&Value> = got.iter().filter(|r| r["exporter"] == *host).collect();
        same(host, &theirs, &want);
    }
    // Each side saw the three HTTP connections and the DNS query, from its end.
    for (host, local, remote) in [("lhost-cli", cli, format!("{srv}:8080")), ("lhost-srv", srv, format!("{cli}:"))] {
        let http: Vec<_> = got
            .iter()
            .filter(|r| r["exporter"] == host && r["app"]["protocol"] == "HTTP")
            .filter(|r| r["local"].as_str().is_some_and(|l| l.starts_with(local)))
            .filter(|r| r["remote"].as_str().is_some_and(|x| x.starts_with(&remote)) || host == "lhost-srv")
            .collect();
        assert_eq!(http.len(), 3, "{host}: {got:#?}");
        assert!(http.iter().all(|r| r["app"]["host"] == format!("{srv}:8080") && r["app"]["path"] == "/"));
        let dns = got.iter().filter(|r| r["exporter"] == host && r["app"]["queries"][0]["name"] == "www.lab.test");
        assert_eq!(dns.count(), 1, "{host}: {got:#?}");
    }
}

/// A standard exporter: pmacct's nfprobe plugin (IPFIX v10, unidirectional
/// flows, IANA elements only) replaying a capture into the listener. Each
/// direction of each TCP conversation arrives as a flow of its own, with
/// tshark's packets, IP-layer bytes (octetDeltaCount) and times.
#[test]
fn pmacct_nfprobe_flows_decode() {
    if !tools_ready(&["pmacctd", "tshark"]) {
        return;
    }
    let p = port(2);
    let dir = std::env::temp_dir().join(format!("rustnet-ipfix-listen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pcap = fixture("http_curl.pcap");
    let conf = dir.join("pmacctd.conf");
    let text = format!(
        "daemonize: false\npcap_savefile: {}\npcap_savefile_wait: false\nplugins: nfprobe\n\
         nfprobe_receiver: 127.0.0.1:{p}\nnfprobe_version: 10\n\
         aggregate: src_host, dst_host, src_port, dst_port, proto, tcpflags\n",
        pcap.display()
    );
    std::fs::write(&conf, text).expect("write pmacctd.conf");
    let url = format!("udp://127.0.0.1:{p}");
    let l = listener(&["--ipfix-listen", &url, "--json", "--duration", "6"]);
    let mut pm = Command::new("pmacctd");
    pm.arg("-f").arg(&conf).stdout(Stdio::null()).stderr(Stdio::piped());
    let out = finish(pm.spawn().expect("run pmacctd"), Duration::from_secs(20), "pmacctd");
    assert!(out.status.success(), "pmacctd: {}", String::from_utf8_lossy(&out.stderr));
    let out = finish(l, Duration::from_secs(20), "the listener");
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = parse_lines(&String::from_utf8_lossy(&out.stdout));
    // tshark: per direction, packets, IP bytes, first and last time (ms).
    let t = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args(["-Y", "tcp", "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "tcp.srcport"])
        .args(["-e", "ip.dst", "-e", "tcp.dstport", "-e", "ip.len", "-e", "frame.time_epoch"])
        .output()
        .expect("run tshark");
    let mut want = std::collections::BTreeMap::<(String, String), (u64, u64, f64, f64)>::new();
    for line in String::from_utf8_lossy(&t.stdout).lines() {
        let f: Vec<&str> = line.split(',').collect();
        let key = (format!("{}:{}", f[0], f[1]), format!("{}:{}", f[2], f[3]));
        let ts: f64 = f[5].parse().expect("time");
        let e = want.entry(key).or_insert((0, 0, ts, ts));
        e.0 += 1;
        e.1 += f[4].parse::<u64>().expect("ip.len");
        e.3 = ts;
    }
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for r in &got {
        let key = (r["local"].as_str().unwrap_or("").to_string(), r["remote"].as_str().unwrap_or("").to_string());
        let (packets, bytes, first, last) = want[&key];
        assert_eq!(
            (r["tx_packets"].as_u64(), r["tx_bytes"].as_u64(), r["rx_packets"].as_u64()),
            (Some(packets), Some(bytes), Some(0)),
            "{r}"
        );
        for (x, y) in [(r["first_seen"].as_f64().unwrap_or(0.0), first), (r["last_seen"].as_f64().unwrap_or(0.0), last)]
        {
            assert!(x <= y + 1e-6 && y - x < 0.001 + 1e-6, "{x} vs tshark {y}: {r}");
        }
        assert_eq!(r["exporter"], "127.0.0.1", "no observationDomainName: the address");
        assert_eq!(r["proto"], "tcp");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// With --read (or -i) there is nothing to collect: a usage error.
#[test]
fn listen_with_a_capture_source_is_a_usage_error() {
    for extra in [["--read", "x.pcap"], ["-i", "lo"]] {
        let out = Command::new(BIN).args(["--ipfix-listen", "udp://127.0.0.1:47399", "--json"]).args(extra).output();
        let out = out.expect("run rustnet");
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("'--ipfix-listen <URL>' cannot be used with"), "{err}");
    }
    let out = Command::new(BIN).args(["--ipfix-listen", "tcp://127.0.0.1:47399"]).output().expect("run rustnet");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not udp://ADDR:PORT"));
}

/// Garbage and truncated datagrams before a good export: counted on
/// stderr, the good records still shown, no panic.
#[test]
fn hostile_datagrams_are_counted_and_the_rest_decoded() {
    let p = port(3);
    let url = format!("udp://127.0.0.1:{p}");
    let l = listener(&["--ipfix-listen", &url, "--json", "--duration", "4"]);
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("socket");
    let garbage: [&[u8]; 4] = [
        b"",
        b"\x00\x0a\xff\xff",
        b"\x00\x0a\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00",
        &[0xff; 1500],
    ];
    for g in garbage {
        s.send_to(g, ("127.0.0.1", p)).expect("send");
    }
    let pcap = fixture("http_curl.pcap");
    let out = Command::new(BIN).arg("--read").arg(&pcap).args(["--json", "--ipfix", &url]).output().expect("export");
    assert!(out.status.success());
    let out = finish(l, Duration::from_secs(20), "the listener");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(parse_lines(&String::from_utf8_lossy(&out.stdout)).len(), 4, "http_curl's four TCP connections");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dropped: 4 malformed messages"), "{err}");
}

/// Interim records (active timeout 0.5 s over a 3.4 s capture of an iperf3
/// transfer) fold into one connection each: the listener shows what the
/// exporter's own --json shows, not one record per interim. The datagrams
/// are also counted with tshark: more data records than connections.
#[test]
fn interim_records_make_one_connection() {
    if !tools_ready(&["tshark"]) {
        return;
    }
    let p = port(0) + 100;
    let url = format!("udp://127.0.0.1:{p}");
    let l = listener(&["--ipfix-listen", &url, "--json", "--duration", "5"]);
    let pcap = fixture("netem_curl_iperf3.pcap");
    let args = ["--json", "--ipfix", &url, "--ipfix-active-timeout", "0.5"];
    let out = Command::new(BIN).arg("--read").arg(&pcap).args(args).output().expect("export");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mine = parse_lines(&String::from_utf8_lossy(&out.stdout));
    let out = finish(l, Duration::from_secs(20), "the listener");
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = parse_lines(&String::from_utf8_lossy(&out.stdout));
    let want: Vec<&Value> = mine.iter().filter(|r| r["proto"] != "arp").collect();
    let got: Vec<&Value> = got.iter().collect();
    same("interim", &got, &want);
    // The same export once more, to a plain socket: the records really
    // were split (flowEndReason 2, active timeout), so folding was needed.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("socket");
    sock.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
    let to = format!("udp://{}", sock.local_addr().expect("addr"));
    let status = Command::new(BIN)
        .arg("--read")
        .arg(&pcap)
        .args(["--json", "--ipfix", &to, "--ipfix-active-timeout", "0.5"])
        .stdout(Stdio::null())
        .status()
        .expect("export");
    assert!(status.success());
    let mut d = rustnet_core::ipfix::decode::Decoder::new();
    let mut recs = Vec::new();
    let mut buf = [0u8; 65_535];
    while let Ok((n, from)) = sock.recv_from(&mut buf) {
        d.receive(from, &buf[..n], &mut recs);
    }
    let interim = recs.iter().filter(|r| r.flow.end_reason == Some(2)).count();
    assert!(interim >= 3 && recs.len() > want.len(), "{interim} interim of {} records", recs.len());
}

/// The receiving thread parses hostile bytes: it is sandboxed as the
/// capture thread is (open, exec and new sockets refused by seccomp's
/// allow list), and still receives and decodes.
#[test]
fn the_collector_thread_is_sandboxed_and_receives() {
    let p = port(3) + 100;
    let url = format!("udp://127.0.0.1:{p}");
    let c = Command::new(BIN)
        .args(["--ipfix-listen", &url, "--json", "--duration", "4"])
        .env("RUSTNET_SANDBOX_PROBE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the listener");
    wait_thread(c.id(), "collector");
    std::thread::sleep(Duration::from_millis(200));
    let pcap = fixture("tls13_curl.pcap");
    let out = Command::new(BIN).arg("--read").arg(&pcap).args(["--json", "--ipfix", &url]).output().expect("export");
    assert!(out.status.success());
    let out = finish(c, Duration::from_secs(20), "the listener");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let probe = err.lines().find(|l| l.contains("sandbox probe (collector)")).unwrap_or_else(|| panic!("{err}"));
    for want in ["open /etc/shadow refused (EPERM)", "exec refused (EPERM)", "socket refused (EPERM)"] {
        assert!(probe.contains(want), "{probe}");
    }
    let got = parse_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(got.len(), 1, "tls13_curl's connection: {got:#?}");
    assert_eq!(got[0]["app"]["sni"], "secure.example.test");
}

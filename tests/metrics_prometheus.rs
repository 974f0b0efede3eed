//! `--metrics ADDR` (issue 15 item 3): a real Prometheus scrapes a live
//! capture in the namespace lab, and `promtool query instant` sums equal the
//! totals of the same run's `--json` records; a `--read` of a FIFO held
//! open serves the same sums, parses (`promtool check metrics`), and
//! survives bad requests; a bad address or a port in use exits 2.

mod common;

use common::lab::Lab;
use common::testenv::{lab_ready, tools_ready};
use common::{finish, fixture, parse_lines};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rustnet-metrics-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Totals of a run's JSON records (the drops line apart).
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    tx_bytes: u64,
    rx_bytes: u64,
    packets: u64,
    connections: u64,
    retransmits: u64,
    drops: u64,
    by_process: BTreeMap<String, u64>,
    by_app: BTreeMap<String, u64>,
}

fn json_totals(records: &[Value]) -> Totals {
    let mut t = Totals::default();
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    for r in records {
        if let Some(d) = r.get("drops") {
            t.drops = n(&d["total"]);
            continue;
        }
        let bytes = n(&r["tx_bytes"]) + n(&r["rx_bytes"]);
        t.tx_bytes += n(&r["tx_bytes"]);
        t.rx_bytes += n(&r["rx_bytes"]);
        t.packets += n(&r["tx_packets"]) + n(&r["rx_packets"]);
        t.connections += 1;
        if r["tcp"].is_object() {
            t.retransmits += n(&r["tcp"]["tx"]["retransmits"]) + n(&r["tcp"]["rx"]["retransmits"]);
        }
        let name = r["process"]["name"].as_str().unwrap_or("unknown").to_string();
        *t.by_process.entry(name).or_default() += bytes;
        let app = r["app"]["protocol"].as_str().unwrap_or("none").to_string();
        *t.by_app.entry(app).or_default() += 1;
    }
    t
}

/// One sample of the Prometheus text format: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the Prometheus text format (what `promtool check metrics` also
/// reads); a line that is neither a comment nor `name{labels} value` fails.
fn parse_text(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line:?}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("bad labels: {line:?}"));
                let labels = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once("=\"").unwrap_or_else(|| panic!("bad label: {line:?}"));
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                (n.to_string(), labels)
            }
            None => (series.to_string(), BTreeMap::new()),
        };
        out.push((name, labels, value));
    }
    out
}

fn sum(samples: &[Sample], name: &str, with: Option<(&str, &str)>) -> u64 {
    samples
        .iter()
        .filter(|(n, l, _)| n == name && with.is_none_or(|(k, v)| l.get(k).map(String::as_str) == Some(v)))
        .map(|s| s.2 as u64)
        .sum()
}

/// One HTTP exchange: the raw request bytes, the whole answer.
fn http(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to --metrics");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    // The server may answer (and close) before all of a huge request is sent.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET /metrics` (Prometheus text, or OpenMetrics): the body.
fn scrape(addr: &str, openmetrics: bool) -> String {
    let accept = if openmetrics { "Accept: application/openmetrics-text; version=1.0.0\r\n" } else { "" };
    let answer = http(addr, format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{accept}\r\n").as_bytes());
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}

/// Waits until something accepts connections on `addr`.
fn wait_listening(addr: &str) {
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The fixture with `filler` LLDP frames (no connection) appended at its
/// last packet's time: they fill the worker's batch, so that every packet
/// of the capture reaches the worker while the FIFO is still open.
fn capture_with_filler(capture: &Path, filler: usize) -> Vec<u8> {
    let mut bytes = std::fs::read(capture).expect("read fixture");
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "a little-endian µs pcap");
    assert_eq!(u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]), 1, "Ethernet");
    let (mut at, mut last_ts) = (24, [0u8; 8]);
    while at + 16 <= bytes.len() {
        last_ts.copy_from_slice(&bytes[at..at + 8]);
        let incl = u32::from_le_bytes([bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]]) as usize;
        at += 16 + incl;
    }
    let mut frame = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x02, 0, 0, 0, 0, 0x99, 0x88, 0xcc];
    frame.resize(60, 0);
    for _ in 0..filler {
        bytes.extend_from_slice(&last_ts);
        bytes.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&frame);
    }
    bytes
}

/// `--read FIFO --json --metrics`: while the writer holds the FIFO open,
/// `/metrics` parses, answers bad requests with errors, and its sums are
/// the totals of the records printed once the FIFO closes.
#[test]
fn read_from_a_fifo_serves_the_json_totals() {
    if !tools_ready(&["promtool"]) {
        return;
    }
    let dir = temp_dir("fifo");
    let fifo = dir.join("cap");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let addr = format!("127.0.0.1:{}", free_port());
    // One worker: the filler fills its batch.
    let child = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .arg("--read")
        .arg(&fifo)
        .args(["--json", "--workers", "1", "--metrics", &addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rustnet");
    wait_listening(&addr);
    // netem_curl_iperf3: 7 connections, 3.5 MB, TCP retransmits under loss.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).expect("open the FIFO");
    writer.write_all(&capture_with_filler(&fixture("netem_curl_iperf3.pcap"), 1200)).expect("feed the FIFO");

    // Wait until the capture's last packets are in (the sums stop moving).
    let start = Instant::now();
    let (mut text, mut prev) = (String::new(), String::from("-"));
    while start.elapsed() < Duration::from_secs(30) {
        text = scrape(&addr, false);
        let samples = parse_text(&text);
        let now = format!("{:?}", (sum(&samples, "rustnet_process_bytes_total", None), samples.len()));
        // The capture's 4 252 frames (tshark) all counted on connections.
        if now == prev && sum(&samples, "rustnet_process_packets_total", None) >= 4_252 {
            break;
        }
        prev = now;
        std::thread::sleep(Duration::from_millis(300));
    }
    let held = parse_text(&text);

    // promtool reads the Prometheus text format without a complaint.
    let out = common::run_with_stdin(Command::new("promtool").args(["check", "metrics"]), text.as_bytes());
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}\n{text}");
    let om = scrape(&addr, true);
    assert!(om.ends_with("# EOF\n") && om.contains("# TYPE rustnet_process_bytes counter"), "{om}");

    // Bad requests: an error each, and the server goes on.
    let answers = [
        http(&addr, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n"),
        http(&addr, format!("GET /metrics HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(64 * 1024)).as_bytes()),
        http(&addr, b"DELETE /metrics HTTP/1.1\r\n\r\n"),
        http(&addr, b"GET /../../etc/passwd HTTP/1.1\r\n\r\n"),
    ];
    let codes: Vec<&str> = answers.iter().map(|a| a.get(9..12).unwrap_or("none")).collect();
    assert_eq!(codes, ["400", "431", "405", "404"], "{answers:?}");
    assert!(scrape(&addr, false).contains("rustnet_packets_total"), "served after the bad requests");

    drop(writer); // end of input
    let out = finish(child, Duration::from_secs(30), "rustnet --read FIFO");
    assert!(out.status.success(), "rustnet: {}", String::from_utf8_lossy(&out.stderr));
    let t = json_totals(&parse_lines(&String::from_utf8_lossy(&out.stdout)));
    eprintln!("JSON totals {t:?}");
    assert_eq!(t.connections, 7, "{t:?}");
    assert!(t.retransmits > 100, "the lossy transfer retransmitted: {t:?}");
    assert_eq!(sum(&held, "rustnet_process_bytes_total", None), t.tx_bytes + t.rx_bytes);
    assert_eq!(sum(&held, "rustnet_process_bytes_total", Some(("direction", "tx"))), t.tx_bytes);
    assert_eq!(sum(&held, "rustnet_process_packets_total", None), t.packets);
    assert_eq!(sum(&held, "rustnet_process_bytes_total", Some(("process", "unknown"))), t.tx_bytes + t.rx_bytes);
    assert_eq!(sum(&held, "rustnet_connections_total", None), t.connections);
    assert_eq!(sum(&held, "rustnet_tcp_retransmits_total", None), t.retransmits);
    assert_eq!(sum(&held, "rustnet_packets_dropped_total", None), t.drops);
    assert!(sum(&held, "rustnet_connections_open", None) <= t.connections);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bad ADDR, or a port in use, is a usage error: exit 2 and a message.
#[test]
fn a_bad_address_or_a_busy_port_exits_2() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_addr = busy.local_addr().expect("addr").to_string();
    let cases = [
        ("localhost", "is not an address and port"),
        ("127.0.0.1:99999", "is not an address and port"),
        (busy_addr.as_str(), "the port is already in use"),
        ("192.0.2.1:9464", "no such local address"),
    ];
    for (addr, want) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_rustnet"))
            .args(["--read", "/dev/null", "--json", "--metrics", addr])
            .output()
            .expect("run rustnet");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{addr}: {err}");
        assert!(err.starts_with("rustnet: --metrics") && err.contains(want), "{addr}: {err}");
        assert!(out.stdout.is_empty(), "{addr}: nothing on stdout");
    }
}

/// `promtool query instant` in the client namespace: each series' labels and value.
/// A query's answer: each series' labels and value.
type Series = Vec<(BTreeMap<String, String>, f64)>;

fn promql(lab: &Lab, url: &str, expr: &str) -> Series {
    try_promql(lab, url, expr).unwrap_or_else(|e| panic!("promtool query {expr}: {e}"))
}

/// As [`promql`]; Err while Prometheus is not ready.
fn try_promql(lab: &Lab, url: &str, expr: &str) -> Result<Series, String> {
    let o = lab.client(&["promtool", "query", "instant", "-o", "json", url, expr]);
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("promtool JSON for {expr}: {e}"));
    let rows = v.as_array().cloned().unwrap_or_default();
    let rows = rows
        .iter()
        .map(|r| {
            let labels = r["metric"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default();
            let value = r["value"][1].as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
            (labels, value)
        })
        .collect();
    Ok(rows)
}

/// The single value of a query (0 when it has no series).
fn promql_one(lab: &Lab, url: &str, expr: &str) -> u64 {
    let rows = promql(lab, url, expr);
    assert!(rows.len() <= 1, "{expr}: {rows:?}");
    rows.first().map_or(0, |r| r.1 as u64)
}

/// `sum by (label)`: label value → sum.
fn promql_by(lab: &Lab, url: &str, expr: &str, label: &str) -> BTreeMap<String, u64> {
    promql(lab, url, expr).into_iter().filter(|r| r.1 > 0.0).map(|(l, v)| (l[label].clone(), v as u64)).collect()
}

/// Each thread of `pid`: its name and its Seccomp mode (/proc status).
fn thread_seccomp(pid: u32) -> Vec<(String, String)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten();
    tasks
        .filter_map(|t| {
            let name = std::fs::read_to_string(t.path().join("comm")).ok()?.trim().to_string();
            let status = std::fs::read_to_string(t.path().join("status")).ok()?;
            let mode = status.lines().find_map(|l| l.strip_prefix("Seccomp:"))?.trim().to_string();
            Some((name, mode))
        })
        .collect()
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Issue 15: "Prometheus from Debian scrapes `--metrics`; `promtool query
/// instant` sums equal the JSON totals for the same run." A live capture in
/// the client namespace of real clients (curl, a download under 3 % loss
/// for retransmits, ping, dig), scraped every second by a real Prometheus
/// in the same namespace (its loopback: no port shared with the host), with
/// the sandbox on (the default); after a scrape that follows all traffic,
/// promtool's sums must be the totals of the records rustnet prints when
/// it is then stopped (SIGTERM).
#[test]
fn prometheus_scrapes_a_live_capture_and_sums_match_json() {
    let tools = ["prometheus", "promtool", "curl", "python3", "ping", "dig", "dnsmasq", "nft"];
    if !(lab_ready() && tools_ready(&tools)) {
        return;
    }
    let dir = temp_dir("live");
    let mut lab = Lab::up(&format!("mx{}", std::process::id() % 10000));
    let srv = lab.srv_v4;
    let www = dir.join("www");
    std::fs::create_dir_all(&www).expect("www dir");
    let blob: Vec<u8> = (0..2_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(www.join("blob"), blob).expect("write blob");
    let www_s = www.to_string_lossy().into_owned();
    lab.spawn(true, &["python3", "-m", "http.server", "8080", "--bind", srv, "--directory", &www_s]);
    lab.wait_listening(8080);
    let (addr, listen) = (format!("--address=/www.lab.test/{srv}"), format!("--listen-address={srv}"));
    lab.spawn(true, &["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces", &listen, &addr]);

    // rustnet, sandboxed (the default), its metrics on the namespace's loopback.
    let iface = lab.cli_if.clone();
    let metrics = "127.0.0.1:19464";
    let bin = env!("CARGO_BIN_EXE_rustnet");
    // ARP and IPv6 neighbour discovery come whenever the kernel likes: left
    // out of both outputs, so none can fall between the last scrape and the end.
    let filter = "!proto:arp !proto:icmpv6";
    lab.spawn(false, &[bin, "-i", &iface, "--json", "--metrics", metrics, "--filter", filter]);
    let rustnet = lab.take_last();
    common::lab::wait_thread(rustnet.id(), "capture");

    // Prometheus, scraping every second into a storage of its own.
    let config = dir.join("prometheus.yml");
    let scrape_config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: rustnet\n    \
         static_configs:\n      - targets: ['{metrics}']\n"
    );
    std::fs::write(&config, scrape_config).expect("write prometheus.yml");
    let (config_s, tsdb) = (config.to_string_lossy().into_owned(), dir.join("tsdb").to_string_lossy().into_owned());
    let web = "127.0.0.1:19090";
    let url = format!("http://{web}");
    lab.spawn(
        false,
        &[
            "prometheus",
            &format!("--config.file={config_s}"),
            &format!("--storage.tsdb.path={tsdb}"),
            &format!("--web.listen-address={web}"),
        ],
    );
    let start = Instant::now();
    while try_promql(&lab, &url, "up{job=\"rustnet\"} == 1").map_or(true, |r| r.is_empty()) {
        assert!(start.elapsed() < Duration::from_secs(60), "Prometheus never scraped rustnet up");
        std::thread::sleep(Duration::from_millis(250));
    }

    // The sandbox is on (seccomp filter mode 2 on the packet threads and
    // the HTTP thread's deny list) and the HTTP thread serves.
    let seccomp = thread_seccomp(rustnet.id());
    for kind in ["capture", "worker-0", "metrics-http"] {
        assert!(seccomp.iter().any(|(n, _)| n == kind), "no {kind} thread: {seccomp:?}");
    }
    assert!(
        seccomp
            .iter()
            .filter(|(n, _)| n == "capture" || n.starts_with("worker-") || n == "metrics-http")
            .all(|t| t.1 == "2"),
        "{seccomp:?}"
    );

    // The traffic.
    let page = format!("http://{srv}:8080/");
    for _ in 0..3 {
        let o = lab.client(&["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", &page]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "200", "curl failed: {o:?}");
    }
    // 3 % loss of the server's data segments after the capture point
    // (nftables input in the client namespace; this kernel has no
    // sch_netem): the server retransmits them.
    let nft = |rules: &str| {
        let o = Command::new("ip").args(["netns", "exec", &lab.cli_ns, "nft", rules]).output().expect("run nft");
        assert!(o.status.success(), "nft {rules}: {}", String::from_utf8_lossy(&o.stderr));
    };
    nft("add table inet mxloss");
    nft("add chain inet mxloss in { type filter hook input priority 0; }");
    nft("add rule inet mxloss in tcp sport 8080 ip length > 200 numgen random mod 100 < 3 drop");
    let o = lab.client(&["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", &format!("{page}blob")]);
    nft("delete table inet mxloss");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "2000000", "download: {o:?}");
    let o = lab.client(&["ping", "-c", "3", "-i", "0.2", srv]);
    assert!(o.status.success(), "ping failed: {o:?}");
    let o = lab.client(&["dig", "+short", "+tries=3", "+time=2", &format!("@{srv}"), "www.lab.test", "A"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), srv, "dig failed: {o:?}");
    let traffic_end = unix_now();

    // A scrape that began after all traffic (and its process lookups) ended.
    let start = Instant::now();
    loop {
        let t = promql(&lab, &url, "timestamp(up{job=\"rustnet\"})").first().map_or(0.0, |r| r.1);
        if t > traffic_end + 1.5 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no scrape after the traffic");
        std::thread::sleep(Duration::from_millis(200));
    }
    let q = |e: &str| promql_one(&lab, &url, e);
    let bytes = q("sum(rustnet_process_bytes_total)");
    let tx_bytes = q("sum(rustnet_process_bytes_total{direction=\"tx\"})");
    let packets = q("sum(rustnet_process_packets_total)");
    let connections = q("sum(rustnet_connections_total)");
    let retransmits = q("sum(rustnet_tcp_retransmits_total)");
    let drops = q("sum(rustnet_packets_dropped_total)");
    let analysed = q("sum(rustnet_packets_total)");
    let by_process = promql_by(&lab, &url, "sum by (process) (rustnet_process_bytes_total)", "process");
    let by_app = promql_by(&lab, &url, "sum by (app) (rustnet_connections_total)", "app");
    let open = q("sum(rustnet_connections_open)");

    // Stop rustnet: the records of every connection, open ones included.
    let killed = Command::new("kill").args(["-TERM", &rustnet.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let out = finish(rustnet, Duration::from_secs(30), "rustnet after SIGTERM");
    assert!(out.status.success(), "rustnet: {}", String::from_utf8_lossy(&out.stderr));
    let records = parse_lines(&String::from_utf8_lossy(&out.stdout));
    let t = json_totals(&records);
    eprintln!("JSON totals: {t:?}");
    eprintln!(
        "Prometheus: bytes {bytes} tx {tx_bytes} packets {packets} conns {connections} open {open} retrans {retransmits} drops {drops} analysed {analysed}"
    );
    eprintln!("Prometheus by process {by_process:?}, by app {by_app:?}");

    // The traffic is there: 5 TCP connections, ping, DNS; curl named.
    assert!(t.connections >= 6 && t.tx_bytes + t.rx_bytes > 2_000_000, "{t:?}");
    assert!(t.by_process.contains_key("curl"), "curl attributed: {t:?}");
    assert!(t.retransmits > 0, "the download under loss retransmitted: {t:?}");
    assert_eq!(bytes, t.tx_bytes + t.rx_bytes, "bytes");
    assert_eq!(tx_bytes, t.tx_bytes, "tx bytes");
    assert_eq!(packets, t.packets, "packets");
    assert_eq!(connections, t.connections, "connections");
    assert_eq!(retransmits, t.retransmits, "retransmits");
    assert_eq!(drops, t.drops, "drops");
    assert_eq!(by_process, t.by_process, "bytes by process");
    assert_eq!(by_app, t.by_app, "connections by application");
    assert!(analysed >= packets && open <= connections, "analysed {analysed}, open {open}");
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}

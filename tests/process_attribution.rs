//! Live process attribution end to end (root): rustnet captures on the
//! client side of the namespace lab (tests/lab/netns.sh) while 100
//! sequential curl requests and 50 dig queries run there; at least 95 % of
//! their connections must carry the right process in the JSON records.
//! It also prints rustnet's own latency figures (first packet → process
//! known), from its log: the README's attribution latency row comes from here.

mod common;

use common::lab::{Lab, unavailable};
use serde_json::Value;
use std::time::Duration;

const CURLS: usize = 100;
const DIGS: usize = 50;

#[test]
fn curl_and_dig_connections_name_their_process() {
    if let Some(why) = unavailable(&["curl", "dig", "dnsmasq", "python3"]) {
        eprintln!("skipping process attribution lab test: {why}");
        return;
    }
    let mut lab = Lab::up(&format!("pa{}", std::process::id() % 10000));
    let srv = lab.srv_v4;
    lab.spawn(true, &["python3", "-m", "http.server", "8080", "--bind", srv]);
    let listen = format!("--listen-address={srv}");
    let address = format!("--address=/lab.test/{srv}");
    let dnsmasq = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", &listen, "--bind-interfaces"];
    lab.spawn(true, &[&dnsmasq[..], &[&address, "--pid-file=", "--user=root"]].concat());
    std::thread::sleep(Duration::from_millis(800));

    // rustnet writes its log under ./logs: a directory of this test's own.
    let logs = std::env::temp_dir().join(format!("rustnet-pa-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).expect("log dir");
    let rustnet = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.cli_ns, env!("CARGO_BIN_EXE_rustnet")])
        .args(["-i", &lab.cli_if, "--json", "--duration", "25", "-l", "info"])
        .current_dir(&logs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rustnet");
    std::thread::sleep(Duration::from_secs(2));
    let url = format!("http://{srv}:8080/");
    for _ in 0..CURLS {
        let out = lab.client(&["curl", "-s", "-o", "/dev/null", "--max-time", "5", &url]);
        assert!(out.status.success(), "curl failed");
    }
    let at = format!("@{srv}");
    for i in 0..DIGS {
        let out = lab.client(&["dig", &at, "+tries=1", "+time=3", &format!("h{i}.lab.test")]);
        assert!(out.status.success(), "dig failed");
    }
    let out = rustnet.wait_with_output().expect("rustnet output");
    assert!(out.status.success(), "rustnet failed: {:?}", out.status);

    let text = String::from_utf8_lossy(&out.stdout);
    let recs: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let named = |r: &Value, name: &str| r["process"]["name"] == name && r["process"]["pid"].as_u64().is_some();
    let http = format!("{srv}:8080");
    let tcp: Vec<&Value> = recs.iter().filter(|r| r["proto"] == "tcp" && r["remote"] == http.as_str()).collect();
    let curl = tcp.iter().filter(|r| named(r, "curl")).count();
    // Per dig query, by its name: two digs that drew the same source port
    // within DNS's lifecycle share one connection record, which lists both
    // queries (so counting records would see one dig fewer).
    let dns_ep = format!("{srv}:53");
    let dns: Vec<&Value> = recs.iter().filter(|r| r["proto"] == "udp" && r["remote"] == dns_ep.as_str()).collect();
    let mut seen = 0;
    let mut dig = 0;
    for i in 0..DIGS {
        let name = format!("h{i}.lab.test");
        let asked = |r: &&&Value| {
            r["app"]["queries"].as_array().is_some_and(|q| q.iter().any(|q| q["name"].as_str() == Some(&name)))
        };
        let Some(r) = dns.iter().find(asked) else {
            continue;
        };
        seen += 1;
        if named(r, "dig") {
            dig += 1;
        }
    }
    eprintln!("curl: {curl}/{} attributed; dig: {dig}/{DIGS} queries attributed ({} records)", tcp.len(), dns.len());
    print_lookup_figures(&logs);
    let _ = std::fs::remove_dir_all(&logs);
    assert_eq!(tcp.len(), CURLS, "one record per curl connection");
    assert_eq!(seen, DIGS, "every dig query is in a record");
    assert!(curl * 100 >= CURLS * 95, "curl attributed {curl}/{CURLS}");
    assert!(dig * 100 >= DIGS * 95, "dig attributed {dig}/{DIGS}");
}

/// The resolver's summary line from rustnet's log (counts and latencies).
fn print_lookup_figures(dir: &std::path::Path) {
    let log = std::fs::read_dir(dir.join("logs"))
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .and_then(|e| std::fs::read_to_string(e.path()).ok())
        .unwrap_or_default();
    match log.lines().find_map(|l| l.find("process lookups:").map(|i| &l[i..])) {
        Some(line) => eprintln!("{line}"),
        None => eprintln!("no process lookup line in rustnet's log"),
    }
}

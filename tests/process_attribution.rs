//! Live process attribution end to end (root): rustnet captures on the
//! client side of the namespace lab (tests/lab/netns.sh) while 100
//! sequential curl requests and 50 dig queries run there over IPv4, and 20
//! of each over IPv6; at least 95 % of their connections must carry the
//! right process in the JSON records.
//! It also prints rustnet's own latency figures (first packet → process
//! known), from its log: the README's attribution latency row comes from here.

mod common;

use common::lab::{Lab, unavailable};
use serde_json::Value;
use std::time::Duration;

const CURLS: usize = 100;
const DIGS: usize = 50;
const CURLS_V6: usize = 20;
const DIGS_V6: usize = 20;
/// The server's IPv6 address in the lab (tests/lab/netns.sh).
const SRV_V6: &str = "fd77::2";

#[test]
fn curl_and_dig_connections_name_their_process() {
    if let Some(why) = unavailable(&["curl", "dig", "dnsmasq", "python3"]) {
        eprintln!("skipping process attribution lab test: {why}");
        return;
    }
    let mut lab = Lab::up(&format!("pa{}", std::process::id() % 10000));
    let srv = lab.srv_v4;
    lab.spawn(true, &["python3", "-m", "http.server", "8080", "--bind", srv]);
    lab.spawn(true, &["python3", "-m", "http.server", "8080", "--bind", SRV_V6]);
    let listen = format!("--listen-address={srv},{SRV_V6}");
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
        .args(["-i", &lab.cli_if, "--json", "--duration", "300", "-l", "info"])
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
    let url6 = format!("http://[{SRV_V6}]:8080/");
    for _ in 0..CURLS_V6 {
        let out = lab.client(&["curl", "-s", "-o", "/dev/null", "--max-time", "5", &url6]);
        assert!(out.status.success(), "curl over IPv6 failed");
    }
    let at6 = format!("@{SRV_V6}");
    for i in 0..DIGS_V6 {
        let out = lab.client(&["dig", &at6, "+tries=1", "+time=3", &format!("v6h{i}.lab.test")]);
        assert!(out.status.success(), "dig over IPv6 failed");
    }
    // Stopped once the clients are done (`ip netns exec` execs rustnet, so
    // this pid is rustnet's); --duration above is only a safety net.
    std::thread::sleep(Duration::from_secs(1));
    let pid = i32::try_from(rustnet.id()).expect("pid fits");
    // SAFETY: plain syscall; the child is ours and not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = rustnet.wait_with_output().expect("rustnet output");
    assert!(out.status.success(), "rustnet failed: {:?}", out.status);

    let text = String::from_utf8_lossy(&out.stdout);
    let recs: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let v4 = count(&recs, &format!("{srv}:8080"), &format!("{srv}:53"), "h", DIGS);
    let v6 = count(&recs, &format!("[{SRV_V6}]:8080"), &format!("[{SRV_V6}]:53"), "v6h", DIGS_V6);
    eprintln!("IPv4: {v4}");
    eprintln!("IPv6: {v6}");
    print_lookup_figures(&logs);
    let _ = std::fs::remove_dir_all(&logs);
    for (c, curls, digs) in [(&v4, CURLS, DIGS), (&v6, CURLS_V6, DIGS_V6)] {
        assert_eq!(c.curl_records, curls, "one record per curl connection");
        assert_eq!(c.dig_queries, digs, "every dig query is in a record");
        assert!(c.curl_named * 100 >= curls * 95, "curl attributed {c}");
        assert!(c.dig_named * 100 >= digs * 95, "dig attributed {c}");
    }
}

/// What one address family's records tell.
struct Counts {
    curl_records: usize,
    curl_named: usize,
    dig_records: usize,
    dig_queries: usize,
    dig_named: usize,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "curl {}/{} attributed; dig {}/{} queries attributed ({} records)",
            self.curl_named, self.curl_records, self.dig_named, self.dig_queries, self.dig_records
        )
    }
}

/// Curl connections to `http` and dig queries `{prefix}{i}.lab.test` to `dns`, and how many are named.
fn count(recs: &[Value], http: &str, dns: &str, prefix: &str, digs: usize) -> Counts {
    let named = |r: &Value, name: &str| r["process"]["name"] == name && r["process"]["pid"].as_u64().is_some();
    let tcp: Vec<&Value> = recs.iter().filter(|r| r["proto"] == "tcp" && r["remote"] == http).collect();
    // Per dig query, by its name: two digs that drew the same source port
    // within DNS's lifecycle share one connection record, which lists both
    // queries (so counting records would see one dig fewer).
    let udp: Vec<&Value> = recs.iter().filter(|r| r["proto"] == "udp" && r["remote"] == dns).collect();
    let (mut dig_queries, mut dig_named) = (0, 0);
    for i in 0..digs {
        let name = format!("{prefix}{i}.lab.test");
        let asked = |r: &&&Value| {
            r["app"]["queries"].as_array().is_some_and(|q| q.iter().any(|q| q["name"].as_str() == Some(&name)))
        };
        if let Some(r) = udp.iter().find(asked) {
            dig_queries += 1;
            dig_named += usize::from(named(r, "dig"));
        }
    }
    Counts {
        curl_records: tcp.len(),
        curl_named: tcp.iter().filter(|r| named(r, "curl")).count(),
        dig_records: udp.len(),
        dig_queries,
        dig_named,
    }
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

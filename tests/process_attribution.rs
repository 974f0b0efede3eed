//! Live process attribution end to end (root): rustnet captures on the
//! client side of the namespace lab (tests/lab/netns.sh) while 100
//! sequential curl requests and 50 dig queries run there over IPv4, and 20
//! of each over IPv6; at least 95 % of their connections must carry the
//! right process in the JSON records.
//! It also prints rustnet's own latency figures (first packet → process
//! known), from its log: the README's attribution latency row comes from here.

mod common;

use common::lab::Lab;
use common::testenv::{lab_ready, tools_ready};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The server's IPv6 address in the lab (tests/lab/netns.sh).
const SRV_V6: &str = "fd77::2";

/// The clients of one address family: the server they ask, how many curls
/// and digs, and the prefix of the digs' query names.
struct Family {
    name: &'static str,
    server: IpAddr,
    curls: usize,
    digs: usize,
    prefix: &'static str,
}

impl Family {
    fn endpoint(&self, port: u16) -> String {
        SocketAddr::new(self.server, port).to_string()
    }

    /// Runs the curls, then the digs, one after another in the client namespace.
    fn run(&self, lab: &Lab) {
        let url = format!("http://{}/", self.endpoint(8080));
        for _ in 0..self.curls {
            let out = lab.client(&["curl", "-s", "-o", "/dev/null", "--max-time", "5", &url]);
            assert!(out.status.success(), "curl over {} failed", self.name);
        }
        let at = format!("@{}", self.server);
        for i in 0..self.digs {
            let out = lab.client(&["dig", &at, "+tries=1", "+time=3", &format!("{}{i}.lab.test", self.prefix)]);
            assert!(out.status.success(), "dig over {} failed", self.name);
        }
    }
}

#[test]
fn curl_and_dig_connections_name_their_process() {
    if !(lab_ready() && tools_ready(&["curl", "dig", "dnsmasq", "python3"])) {
        return;
    }
    let mut lab = Lab::up(&format!("pa{}", std::process::id() % 10000));
    let srv = lab.srv_v4;
    let families = [
        Family { name: "IPv4", server: ip(srv), curls: 100, digs: 50, prefix: "h" },
        Family { name: "IPv6", server: ip(SRV_V6), curls: 20, digs: 20, prefix: "v6h" },
    ];
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
    for f in &families {
        f.run(&lab);
    }
    // Stopped once the clients are done (`ip netns exec` execs rustnet, so
    // this pid is rustnet's); --duration above is only a safety net.
    std::thread::sleep(Duration::from_secs(1));
    let pid = i32::try_from(rustnet.id()).expect("pid fits");
    // SAFETY: plain syscall; the child is ours and not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = rustnet.wait_with_output().expect("rustnet output");
    assert_eq!(out.status.code(), Some(130), "rustnet after SIGINT: {:?}", out.status);

    let text = String::from_utf8_lossy(&out.stdout);
    let recs: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let counts: Vec<Counts> = families.iter().map(|f| count(&recs, f)).collect();
    for (f, c) in families.iter().zip(&counts) {
        eprintln!("{}: {c}", f.name);
    }
    print_lookup_figures(&logs);
    let _ = std::fs::remove_dir_all(&logs);
    for (f, c) in families.iter().zip(&counts) {
        assert_eq!(c.curl_records, f.curls, "one record per curl connection over {}", f.name);
        assert_eq!(c.dig_queries, f.digs, "every dig query over {} is in a record", f.name);
        assert!(c.curl_named * 100 >= f.curls * 95, "{}: curl attributed {c}", f.name);
        assert!(c.dig_named * 100 >= f.digs * 95, "{}: dig attributed {c}", f.name);
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("lab address")
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

/// The family's curl connections and dig queries in `recs`, and how many are named.
fn count(recs: &[Value], f: &Family) -> Counts {
    let (http, dns) = (f.endpoint(8080), f.endpoint(53));
    let named = |r: &Value, name: &str| r["process"]["name"] == name && r["process"]["pid"].as_u64().is_some();
    let tcp: Vec<&Value> = recs.iter().filter(|r| r["proto"] == "tcp" && r["remote"] == http).collect();
    // Per dig query, by its name: two digs that drew the same source port
    // within DNS's lifecycle share one connection record, which lists both
    // queries (so counting records would see one dig fewer).
    let udp: Vec<&Value> = recs.iter().filter(|r| r["proto"] == "udp" && r["remote"] == dns).collect();
    let (mut dig_queries, mut dig_named) = (0, 0);
    for i in 0..f.digs {
        let name = format!("{}{i}.lab.test", f.prefix);
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

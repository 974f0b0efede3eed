//! Live process attribution end to end (root): rustnet captures on the
//! client side of the namespace lab (tests/lab/netns.sh) while 100
//! sequential curl requests and 50 dig queries run there; at least 95 % of
//! their connections must carry the right process in the JSON records.

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const PREFIX: &str = "rnpa";
const CURLS: usize = 100;
const DIGS: usize = 50;

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Lab;
impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash").args(["tests/lab/netns.sh", "down"]).env("LAB_PREFIX", PREFIX).status();
    }
}

#[test]
#[ignore = "timing-bound and not yet reliable for dig (a dig socket lives ~0.3 ms in this zero-RTT lab): \
curl 95-100 %, dig 32-100 % measured; issue 6 stays open. Run: cargo test --test process_attribution -- --ignored"]
fn curl_and_dig_connections_name_their_process() {
    let cli = format!("{PREFIX}-cli");
    let srv = format!("{PREFIX}-srv");
    let st = Command::new("bash")
        .args(["tests/lab/netns.sh", "up"])
        .env("LAB_PREFIX", PREFIX)
        .status()
        .expect("tests/lab/netns.sh");
    assert!(st.success(), "lab setup failed (needs root)");
    let _lab = Lab;
    let mut http = Command::new("ip")
        .args(["netns", "exec", &srv, "python3", "-m", "http.server", "8080"])
        .args(["--bind", "10.77.0.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let mut dns = Command::new("ip")
        .args(["netns", "exec", &srv, "dnsmasq", "--keep-in-foreground"])
        .args(["--no-resolv", "--no-hosts", "--listen-address=10.77.0.2"])
        .args(["--bind-interfaces", "--address=/lab.test/10.77.0.2"])
        .args(["--pid-file=", "--user=root"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq");
    std::thread::sleep(Duration::from_millis(800));

    let rustnet = Command::new("ip")
        .args(["netns", "exec", &cli, env!("CARGO_BIN_EXE_rustnet")])
        .args(["-i", &format!("{PREFIX}-veth-c"), "--json", "--duration", "25"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rustnet");
    std::thread::sleep(Duration::from_secs(2));
    for _ in 0..CURLS {
        assert!(sh(&[
            "ip",
            "netns",
            "exec",
            &cli,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "5",
            "http://10.77.0.2:8080/"
        ]));
    }
    for i in 0..DIGS {
        let name = format!("h{i}.lab.test");
        assert!(sh(&["ip", "netns", "exec", &cli, "dig", "@10.77.0.2", "+tries=1", "+time=3", &name]));
    }
    let out = rustnet.wait_with_output().expect("rustnet output");
    let _ = http.kill();
    let _ = dns.kill();
    let _ = http.wait();
    let _ = dns.wait();
    assert!(out.status.success(), "rustnet failed: {:?}", out.status);

    let text = String::from_utf8_lossy(&out.stdout);
    let recs: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let count = |proto: &str, remote: &str, name: &str| {
        let of: Vec<&Value> = recs.iter().filter(|r| r["proto"] == proto && r["remote"] == remote).collect();
        let named =
            of.iter().filter(|r| r["process"]["name"] == name && r["process"]["pid"].as_u64().is_some()).count();
        (of.len(), named)
    };
    let (tcp, curl) = count("tcp", "10.77.0.2:8080", "curl");
    // Per dig query, by its name: two digs that drew the same source port
    // within DNS's lifecycle share one connection record, which lists both
    // queries (so counting records would see one dig fewer).
    let dns: Vec<&Value> = recs.iter().filter(|r| r["proto"] == "udp" && r["remote"] == "10.77.0.2:53").collect();
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
        if r["process"]["name"] == "dig" && r["process"]["pid"].as_u64().is_some() {
            dig += 1;
        }
    }
    eprintln!("curl: {curl}/{tcp} attributed; dig: {dig}/{DIGS} queries attributed ({} records)", dns.len());
    assert_eq!(tcp, CURLS, "one record per curl connection");
    assert_eq!(seen, DIGS, "every dig query is in a record");
    assert!(curl * 100 >= tcp * 95, "curl attributed {curl}/{tcp}");
    assert!(dig * 100 >= DIGS * 95, "dig attributed {dig}/{DIGS}");
}

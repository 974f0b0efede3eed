//! `--history FILE`: a `--record` database read back as JSON lines, the
//! same records `--json` printed for the same inputs, and `--filter`,
//! `--since`, `--until` selecting what they select on the live records.

mod common;

use common::fixture;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INPUTS: [&str; 5] = ["tls13_curl.pcap", "http_curl.pcap", "dns_udp.pcap", "ssh.pcap", "ping.pcap"];

fn rustnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rustnet")).args(args).output().expect("the rustnet binary runs")
}

fn lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

/// A database holding the fixtures' runs, one after another.
fn recorded(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rustnet-history-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("h.db");
    for f in INPUTS {
        let o = rustnet(&["--read", &fixture(f).to_string_lossy(), "--json", "--record", &db.to_string_lossy()]);
        assert!(o.status.success(), "{f}: {}", String::from_utf8_lossy(&o.stderr));
    }
    db
}

/// What `--read --json [extra]` prints for every input, oldest first (a
/// stable sort: equal times keep recording order).
fn printed(extra: &[&str]) -> Vec<String> {
    let mut all = Vec::new();
    for f in INPUTS {
        let path = fixture(f).to_string_lossy().into_owned();
        let mut args = vec!["--read", path.as_str(), "--json"];
        args.extend(extra);
        all.extend(lines(&rustnet(&args)));
    }
    let first =
        |l: &String| serde_json::from_str::<serde_json::Value>(l).expect("JSON")["first_seen"].as_f64().unwrap_or(0.0);
    all.sort_by(|a, b| first(a).total_cmp(&first(b)));
    all
}

fn history(db: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--history".to_string(), db.to_string_lossy().into_owned()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = Command::new(env!("CARGO_BIN_EXE_rustnet")).args(&args).output().expect("runs");
    assert!(o.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

#[test]
fn history_prints_the_recorded_records() {
    let db = recorded("all");
    let want = printed(&[]);
    assert!(want.len() > 10);
    assert_eq!(lines(&history(&db, &[])), want);
    assert_eq!(lines(&history(&db, &["--json"])), want);
}

#[test]
fn history_filters_as_the_live_records_are_filtered() {
    let db = recorded("filter");
    for f in [
        "sni:secure",
        "app:dns",
        "state:time_wait",
        "!proto:udp",
        "port:80",
        "rtt:>0ms",
        "host:www.example",
        "ssh:openssh",
        "process:curl",
        "10.77.0.2",
        "txt.example",
        "icmp",
    ] {
        let want = printed(&["--filter", f]);
        assert_eq!(lines(&history(&db, &["--filter", f])), want, "--filter {f}");
    }
}

#[test]
fn history_time_window() {
    let db = recorded("window");
    let all = printed(&[]);
    let field =
        |l: &String, k: &str| serde_json::from_str::<serde_json::Value>(l).expect("JSON")[k].as_f64().unwrap_or(0.0);
    let mid = field(&all[all.len() / 2], "first_seen");
    let since: Vec<String> = all.iter().filter(|l| field(l, "last_seen") >= mid).cloned().collect();
    let until: Vec<String> = all.iter().filter(|l| field(l, "first_seen") <= mid).cloned().collect();
    assert!(!since.is_empty() && since.len() < all.len());
    let t = format!("{mid:.6}");
    assert_eq!(lines(&history(&db, &["--since", &t])), since);
    assert_eq!(lines(&history(&db, &["--until", &t])), until);
    assert!(lines(&history(&db, &["--since", "1h"])).is_empty(), "the fixtures are older than an hour");
}

#[test]
fn history_of_something_else_is_a_clear_error() {
    let o = rustnet(&["--history", &fixture("http_curl.pcap").to_string_lossy()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot read the history database") && err.contains("not a database"), "{err}");
    let o = rustnet(&["--history", "/nonexistent/h.db"]);
    assert_eq!(o.status.code(), Some(1));
    let o = rustnet(&["--history", "x.db", "--read", "y.pcap"]);
    assert_eq!(o.status.code(), Some(2), "--history and --read conflict");
}

//! Shared helpers for integration tests: run the binary, read truth JSONs.
#![allow(dead_code)]

pub mod frames;
pub mod lab;
#[path = "../../src/testenv.rs"]
pub mod testenv;
pub mod tmux;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The corpus directory from RUSTNET_CORPUS, or None after a note (the caller skips).
pub fn corpus_dir() -> Option<PathBuf> {
    testenv::corpus_dir()
}

/// Capture files of a directory (anything with a pcap/pcapng extension), sorted.
pub fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    v.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")));
    v.sort();
    v
}

/// The truth JSON beside a capture (`<file>.json`), if any.
pub fn truth(capture: &Path) -> Option<Value> {
    let mut name = capture.as_os_str().to_owned();
    name.push(".json");
    let text = std::fs::read_to_string(PathBuf::from(name)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Output of one run of the binary.
pub struct Run {
    pub records: Vec<Value>,
    pub status: std::process::ExitStatus,
    pub stderr: String,
}

/// `rustnet --read FILE --json [extra…]`.
pub fn run_json(file: &Path, extra: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .arg("--read")
        .arg(file)
        .arg("--json")
        .args(extra)
        .output()
        .expect("the rustnet binary runs");
    let records = parse_lines(&String::from_utf8_lossy(&out.stdout));
    Run { records, status: out.status, stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

/// Our own capture `name` in tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// What the fixtures' clients were told to do (tests/fixtures/expected.json).
pub fn fixture_expected() -> Value {
    let text = std::fs::read_to_string(fixture("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

/// `rustnet --read` of fixture `file`: its records (the run must succeed).
pub fn fixture_records(file: &str) -> Vec<Value> {
    let run = run_json(&fixture(file), &[]);
    assert!(run.status.success(), "{file}: {}", run.stderr);
    run.records
}

/// Splits "1.2.3.4:80" / "[::1]:80" into (address, port).
pub fn split_endpoint(s: &str) -> (String, u16) {
    if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once("]:").unwrap_or((rest, "0"));
        return (a.to_string(), p.parse().unwrap_or(0));
    }
    match s.rsplit_once(':') {
        Some((a, p)) => (a.to_string(), p.parse().unwrap_or(0)),
        None => (s.to_string(), 0),
    }
}

/// (proto, lower end, higher end).
pub type ConvKey = (String, (String, u16), (String, u16));

/// Order-independent conversation key.
pub fn conv_key(proto: &str, a: (String, u16), b: (String, u16)) -> ConvKey {
    let a = (normalize_addr(&a.0), a.1);
    let b = (normalize_addr(&b.0), b.1);
    if a <= b { (proto.to_string(), a, b) } else { (proto.to_string(), b, a) }
}

/// Canonical text of an IP address (tshark and Rust may format IPv6 alike, but be sure).
pub fn normalize_addr(a: &str) -> String {
    a.parse::<std::net::IpAddr>().map(|ip| ip.to_string()).unwrap_or_else(|_| a.to_string())
}

/// Exceptions: `tests/corpus_exceptions.json`, entries {file, check, reason}.
pub fn exceptions() -> Vec<(String, String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus_exceptions.json");
    let text = std::fs::read_to_string(path).expect("tests/corpus_exceptions.json exists");
    let v: Value = serde_json::from_str(&text).expect("exceptions file is JSON");
    v.as_array()
        .expect("exceptions file is a list")
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("file"), s("check"), s("reason"))
        })
        .collect()
}

pub fn is_exception(exc: &[(String, String, String)], file: &str, check: &str) -> bool {
    exc.iter().any(|(f, c, _)| f == file && c == check)
}

/// Sums records per TCP/UDP conversation: (packets, bytes).
pub fn record_conversations(records: &[Value]) -> std::collections::BTreeMap<ConvKey, (u64, u64)> {
    let mut m = std::collections::BTreeMap::new();
    for r in records {
        let proto = r["proto"].as_str().unwrap_or_default();
        if proto != "tcp" && proto != "udp" {
            continue;
        }
        let l = split_endpoint(r["local"].as_str().unwrap_or_default());
        let rr = split_endpoint(r["remote"].as_str().unwrap_or_default());
        let e = m.entry(conv_key(proto, l, rr)).or_insert((0, 0));
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        e.0 += n("tx_packets") + n("rx_packets");
        e.1 += n("tx_bytes") + n("rx_bytes");
    }
    m
}

/// Parses JSON lines.
pub fn parse_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"))).collect()
}

/// Waits for `child` up to `limit`; kills it and fails the test if it hangs.
pub fn finish(mut child: std::process::Child, limit: std::time::Duration, what: &str) -> std::process::Output {
    let start = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().expect("output"),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(std::time::Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: still running after {limit:?}");
            }
        }
    }
}

/// Runs `cmd` with `input` on its stdin; its whole output.
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let what = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    child.stdin.take().expect("piped").write_all(input).unwrap_or_else(|e| panic!("write to {what}: {e}"));
    child.wait_with_output().unwrap_or_else(|e| panic!("{what} ends: {e}"))
}

/// `sqlite3 DB` with `sql` on stdin (an argument starting with "--", an SQL
/// comment, would be an option): its output lines; the command must succeed.
pub fn sqlite(db: &Path, sql: &str) -> Vec<String> {
    let out = run_with_stdin(Command::new("sqlite3").arg(db), sql.as_bytes());
    assert!(out.status.success(), "sqlite3 {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

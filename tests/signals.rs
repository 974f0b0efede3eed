//! What signals and kills leave behind. SIGHUP ends a session like SIGTERM
//! (records printed, exit 0), unless it was ignored at start, as under
//! `nohup`: then rustnet keeps running. `--pcap-export` is on disk within
//! about a second, so even `kill -9` leaves the packets captured before.
//! The input is a pipe this test holds open, so rustnet waits for more.

mod common;

use common::*;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::Duration;

/// The pcap file header and the first `n` records of fixture `name`.
fn first_packets(name: &str, n: usize) -> Vec<u8> {
    let bytes = std::fs::read(fixture(name)).expect("fixture");
    let mut end = 24;
    for _ in 0..n {
        let incl = u32::from_le_bytes([bytes[end + 8], bytes[end + 9], bytes[end + 10], bytes[end + 11]]);
        end += 16 + incl as usize;
    }
    bytes[..end].to_vec()
}

/// `rustnet --read - --json [extra…]` with SIGHUP at its default or ignored
/// (set in the child before exec, whatever this test inherited), fed
/// `input`; the returned stdin keeps the pipe open.
fn start_waiting(hup_ignored: bool, input: &[u8], extra: &[&str]) -> (Child, ChildStdin) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rustnet"));
    cmd.args(["--read", "-", "--json"]).args(extra);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let disposition = if hup_ignored { libc::SIG_IGN } else { libc::SIG_DFL };
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGHUP, disposition);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn rustnet");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(700));
    (child, stdin)
}

fn kill(child: &Child, sig: &str) {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args([sig, &pid]).status().expect("kill").success());
}

fn records(out: &Output) -> usize {
    parse_lines(&String::from_utf8_lossy(&out.stdout)).len()
}

#[test]
fn sighup_ends_a_headless_session_like_sigterm() {
    let (child, stdin) = start_waiting(false, &first_packets("ping.pcap", 1), &[]);
    kill(&child, "-HUP");
    let out = finish(child, Duration::from_secs(5), "--read - after SIGHUP");
    drop(stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "exit status after SIGHUP ({:?}): {err}", out.status);
    assert_eq!(records(&out), 1, "the connection read before SIGHUP is reported: {err}");
}

#[test]
fn sighup_ignored_at_start_is_left_ignored() {
    let (mut child, stdin) = start_waiting(true, &first_packets("ping.pcap", 1), &[]);
    kill(&child, "-HUP");
    std::thread::sleep(Duration::from_millis(700));
    assert!(child.try_wait().expect("try_wait").is_none(), "an ignored SIGHUP (nohup) must not end rustnet");
    kill(&child, "-TERM");
    let out = finish(child, Duration::from_secs(5), "--read - after SIGTERM");
    drop(stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(records(&out), 1, "{err}");
}

#[test]
fn pcap_export_is_on_disk_within_a_second_and_survives_kill_9() {
    let dir = std::env::temp_dir().join(format!("rustnet-signals-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (sent, export) = (dir.join("sent.pcap"), dir.join("out.pcapng"));
    let input = first_packets("http_curl.pcap", 6);
    std::fs::write(&sent, &input).expect("write");
    let want = run_json(&sent, &[]);
    assert!(want.status.success() && !want.records.is_empty(), "{}", want.stderr);

    let (mut child, stdin) = start_waiting(false, &input, &["--pcap-export", export.to_str().expect("utf-8 path")]);
    // start_waiting waited 0.7 s; the export is due within about a second.
    std::thread::sleep(Duration::from_millis(800));
    assert!(child.try_wait().expect("try_wait").is_none(), "rustnet still waits for the pipe");
    let early = run_json(&export, &[]);
    child.kill().expect("kill -9");
    let _ = child.wait();
    drop(stdin);
    let after_kill = run_json(&export, &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(early.records, want.records, "export read 1.5 s in, while rustnet runs: {}", early.stderr);
    assert!(early.status.success(), "{}", early.stderr);
    assert_eq!(after_kill.records, want.records, "export after kill -9: {}", after_kill.stderr);
}

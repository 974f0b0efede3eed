//! SIGHUP ends a session like SIGTERM (records printed, exit 0), unless it
//! was ignored at start, as under `nohup`: then rustnet keeps running.
//! The input is a pipe this test holds open, so rustnet waits for more.

mod common;

use common::*;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Waits for `child` up to `limit`; kills it and fails the test if it hangs.
fn finish(mut child: Child, limit: Duration, what: &str) -> Output {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().expect("output"),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: still running after {limit:?}");
            }
        }
    }
}

/// `rustnet --read - --json` with SIGHUP at its default or ignored (set in
/// the child before exec, whatever this test inherited), fed the header and
/// first packet of a capture; the returned stdin keeps the pipe open.
fn start_waiting(hup_ignored: bool) -> (Child, ChildStdin) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rustnet"));
    cmd.args(["--read", "-", "--json"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
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
    let bytes = std::fs::read(fixture("ping.pcap")).expect("fixture");
    let first_packet = 24 + 16 + u32::from_le_bytes([bytes[32], bytes[33], bytes[34], bytes[35]]) as usize;
    stdin.write_all(&bytes[..first_packet]).expect("write");
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
    let (child, stdin) = start_waiting(false);
    kill(&child, "-HUP");
    let out = finish(child, Duration::from_secs(5), "--read - after SIGHUP");
    drop(stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "exit status after SIGHUP ({:?}): {err}", out.status);
    assert_eq!(records(&out), 1, "the connection read before SIGHUP is reported: {err}");
}

#[test]
fn sighup_ignored_at_start_is_left_ignored() {
    let (mut child, stdin) = start_waiting(true);
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

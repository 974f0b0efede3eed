//! `--read` of pipes, FIFOs and damaged files: a stream is read once (`-` is
//! standard input), a FIFO whose writer has finished is read to its end, a
//! wait for a silent or absent writer ends on SIGINT/SIGTERM, and a damaged file keeps the
//! records of its good packets, says what was wrong and where, and exits 2.

mod common;

use common::*;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

fn rustnet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rustnet"))
}

/// `rustnet --read ARG --json` with `input` written to its standard input.
fn run_stdin(arg: &str, input: Vec<u8>) -> Output {
    let mut child = rustnet()
        .args(["--read", arg, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rustnet");
    let mut stdin = child.stdin.take().expect("stdin");
    // A writer thread: the pipe holds 64 KiB, the file may be larger.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = finish(child, LIMIT, &format!("--read {arg} from a pipe"));
    let _ = writer.join();
    out
}

fn records(out: &Output) -> Vec<Value> {
    parse_lines(&String::from_utf8_lossy(&out.stdout))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rustnet-streams-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A pcapng copy of a fixture, written by rustnet's own export.
fn pcapng_of(fixture_name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{fixture_name}ng"));
    let run = run_json(&fixture(fixture_name), &["--pcap-export", out.to_str().expect("utf-8 path")]);
    assert!(run.status.success(), "export: {}", run.stderr);
    out
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(st.success(), "mkfifo {}", path.display());
}

#[test]
fn standard_input_reads_pcap_and_pcapng_like_the_file() {
    let dir = temp_dir("stdin");
    for file in [fixture("tcp_rst.pcap"), fixture("http_curl.pcap"), pcapng_of("tcp_rst.pcap", &dir)] {
        let want = run_json(&file, &[]);
        assert!(want.status.success() && !want.records.is_empty(), "{}: {}", file.display(), want.stderr);
        let bytes = std::fs::read(&file).expect("fixture");
        for arg in ["-", "/dev/stdin"] {
            let got = run_stdin(arg, bytes.clone());
            assert!(got.status.success(), "{} via {arg}: {}", file.display(), stderr(&got));
            assert_eq!(records(&got), want.records, "{} via {arg}: same records as the file", file.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fifo_whose_writer_has_finished_is_read_to_its_end() {
    let dir = temp_dir("fifo");
    for file in [fixture("tcp_rst.pcap"), pcapng_of("http_curl.pcap", &dir)] {
        let want = run_json(&file, &[]);
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        mkfifo(&fifo);
        let bytes = std::fs::read(&file).expect("fixture");
        let (path, w) = (fifo.clone(), bytes.clone());
        // Writes everything and closes before rustnet has read much.
        let writer = std::thread::spawn(move || {
            let _ = std::fs::OpenOptions::new().write(true).open(&path).and_then(|mut f| f.write_all(&w));
        });
        let child = rustnet()
            .arg("--read")
            .arg(&fifo)
            .arg("--json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let out = finish(child, LIMIT, "--read FIFO");
        let _ = writer.join();
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
        assert_eq!(records(&out), want.records, "{} through a FIFO", file.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn signals_end_a_wait_for_a_silent_or_absent_fifo_writer() {
    let dir = temp_dir("sigint");
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    // A writer that sends the file header and one packet, then stays silent
    // (held open by this test) until rustnet is interrupted.
    let bytes = std::fs::read(fixture("ping.pcap")).expect("fixture");
    let first_packet = 24 + 16 + u32::from_le_bytes([bytes[32], bytes[33], bytes[34], bytes[35]]) as usize;
    let child = rustnet()
        .arg("--read")
        .arg(&fifo)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).expect("open the FIFO for writing");
    w.write_all(&bytes[..first_packet]).expect("write");
    std::thread::sleep(Duration::from_millis(700));
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().expect("kill").success());
    let out = finish(child, Duration::from_secs(5), "--read of a silent FIFO after SIGINT");
    drop(w);
    // Headless and interrupted by Ctrl+C: 130, as shells expect (issue 18).
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(records(&out).len(), 1, "the packet read before the signal is reported: {}", stderr(&out));

    // No writer ever came: SIGTERM ends the wait (the open does not block).
    let lonely = dir.join("lonely");
    mkfifo(&lonely);
    let child = rustnet()
        .arg("--read")
        .arg(&lonely)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(500));
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let out = finish(child, Duration::from_secs(5), "--read of a FIFO without a writer after SIGTERM");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(records(&out).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Offset of record `k` (0-based) of a little-endian classic pcap, and its length.
fn pcap_record(bytes: &[u8], k: usize) -> (usize, usize) {
    let mut at = 24;
    for i in 0.. {
        let incl = u32::from_le_bytes([bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]]) as usize;
        if i == k {
            return (at, 16 + incl);
        }
        at += 16 + incl;
    }
    unreachable!()
}

#[test]
fn truncated_file_keeps_its_packets_says_where_and_exits_2() {
    let dir = temp_dir("trunc");
    let src = std::fs::read(fixture("tcp_rst.pcap")).expect("fixture");
    // Cut in the middle of record 20's data, and inside record 20's header.
    let (at, len) = pcap_record(&src, 20);
    let cases = [
        (
            at + len / 2,
            format!("truncated record ({} of {} bytes) at byte {at} after 20 packets", len / 2 - 16, len - 16),
        ),
        (at + 5, format!("truncated record header (5 of 16 bytes) at byte {at} after 20 packets")),
    ];
    // The records of the first 20 packets alone.
    let head = dir.join("head.pcap");
    std::fs::write(&head, &src[..at]).expect("write");
    let want = run_json(&head, &[]);
    assert!(want.status.success() && !want.records.is_empty(), "{}", want.stderr);
    for (cut, msg) in cases {
        let damaged = dir.join("cut.pcap");
        std::fs::write(&damaged, &src[..cut]).expect("write");
        let from_file = run_json(&damaged, &[]);
        let from_pipe = run_stdin("-", src[..cut].to_vec());
        for (how, status, err, recs) in [
            ("file", from_file.status, from_file.stderr.clone(), from_file.records.clone()),
            ("pipe", from_pipe.status, stderr(&from_pipe), records(&from_pipe)),
        ] {
            assert_eq!(status.code(), Some(2), "{how}, cut at {cut}: {err}");
            assert!(err.contains(&msg), "{how}: want {msg:?} in {err:?}");
            assert_eq!(recs, want.records, "{how}: the records of the good packets are written");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damaged_pcapng_block_says_which_and_where_and_exits_2() {
    let dir = temp_dir("ngdamage");
    let ng = std::fs::read(pcapng_of("tcp_rst.pcap", &dir)).expect("pcapng");
    // Walk the blocks (little endian, as the export writes them) to the 10th packet block.
    let (mut at, mut packets) = (0usize, 0);
    let block_len = |at: usize| u32::from_le_bytes([ng[at + 4], ng[at + 5], ng[at + 6], ng[at + 7]]) as usize;
    while packets < 10 {
        if u32::from_le_bytes([ng[at], ng[at + 1], ng[at + 2], ng[at + 3]]) == 6 {
            packets += 1;
        }
        at += block_len(at);
    }
    // Truncated in the middle of the next block.
    let cut = at + block_len(at) / 2;
    let out = run_stdin("-", ng[..cut].to_vec());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let want = format!(
        "truncated enhanced packet block ({} of {} bytes) at byte {at} after 10 packets",
        cut - at,
        block_len(at)
    );
    assert!(err.contains(&want), "want {want:?} in {err:?}");
    assert!(!records(&out).is_empty(), "the records of the good packets are written");
    // A block length that is not a multiple of 4.
    let mut bad = ng.clone();
    bad[at + 4] = bad[at + 4].wrapping_add(1);
    let file = dir.join("badlen.pcapng");
    std::fs::write(&file, &bad).expect("write");
    let run = run_json(&file, &[]);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("at byte {at} after 10 packets")), "{}", run.stderr);
    assert!(run.stderr.contains("enhanced packet block of length"), "{}", run.stderr);
    assert!(!run.stderr.contains("Error reading bytes"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn not_a_capture_and_empty_input_exit_1() {
    let out = run_stdin("-", Vec::new());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("standard input: not a capture file: empty input"), "{}", stderr(&out));
    let out = run_stdin("-", b"GET / HTTP/1.1\r\n".to_vec());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("standard input: not a pcap or pcapng file (it starts with 47 45 54 20, \"GET \")"),
        "{}",
        stderr(&out)
    );
}

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux(String);

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux").arg("-L").arg(&self.0).args(args).output().expect("tmux runs")
    }

    /// Waits until the screen shows every one of `want`; panics with the screen if it never does.
    fn wait_all(&self, want: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let s = String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "s"]).stdout).into_owned();
            if want.iter().all(|w| s.contains(w)) {
                return s;
            }
            assert!(start.elapsed() < LIMIT, "timed out waiting for {want:?}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn tui_replays_standard_input_and_a_damaged_one_exits_2() {
    if !common::testenv::tools_ready(&["tmux"]) {
        return;
    }
    let file = fixture("tls13_curl.pcap");
    let bytes = std::fs::read(&file).expect("fixture");
    // Cut 4 bytes into the header of record 11 (0-based).
    let (at, _) = pcap_record(&bytes, 11);
    let cases = [
        (format!("cat {}", file.display()), "packets 19 ", "RUSTNET_EXIT=0"),
        (format!("head -c {} {}", at + 4, file.display()), "packets 11 ", "RUSTNET_EXIT=2"),
    ];
    // Standard input that is the terminal is refused, not waited on.
    let tmux = Tmux(format!("rustnet-streams-{}-tty", std::process::id()));
    let cmd = format!("{} --read - --json; echo RUSTNET_EXIT=$?; sleep 60", env!("CARGO_BIN_EXE_rustnet"));
    assert!(tmux.cmd(&["new-session", "-d", "-s", "s", "-x", "120", "-y", "40", &cmd]).status.success());
    tmux.wait_all(&["standard input: cannot open capture file: it is a terminal", "RUSTNET_EXIT=1"]);
    drop(tmux);
    for (i, (feed, packets, exit)) in cases.iter().enumerate() {
        let tmux = Tmux(format!("rustnet-streams-{}-{i}", std::process::id()));
        let cmd = format!("{feed} | {} --read -; echo RUSTNET_EXIT=$?; sleep 60", env!("CARGO_BIN_EXE_rustnet"));
        let started = tmux.cmd(&["new-session", "-d", "-s", "s", "-x", "120", "-y", "40", &cmd]);
        assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
        tmux.wait_all(&["(finished)", "standard input", packets, "q quit"]);
        assert!(tmux.cmd(&["send-keys", "-t", "s", "q"]).status.success());
        tmux.wait_all(&["press q again to quit"]);
        assert!(tmux.cmd(&["send-keys", "-t", "s", "q"]).status.success());
        let s = tmux.wait_all(&["RUSTNET_EXIT="]);
        assert!(s.contains(exit), "{feed}: want {exit}: {s}");
        if *exit == "RUSTNET_EXIT=2" {
            let want = format!("truncated record header (4 of 16 bytes) at byte {at} after 11 packets");
            assert!(s.contains(&want), "want {want:?}: {s}");
        }
    }
}

#[test]
fn export_onto_the_file_redirected_to_standard_input_is_refused() {
    let dir = temp_dir("selfexport");
    let file = dir.join("in.pcap");
    let bytes = std::fs::read(fixture("ping.pcap")).expect("fixture");
    std::fs::write(&file, &bytes).expect("write");
    let out = rustnet()
        .args(["--read", "-", "--json", "--pcap-export"])
        .arg(&file)
        .stdin(std::fs::File::open(&file).expect("open"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("the same file"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&file).expect("read"), bytes, "the input is left alone");
    let _ = std::fs::remove_dir_all(&dir);
}

//! The binary under faults a user or another local user can cause: absurd
//! `--duration`, stdout closed early, a full disk or the input itself as the
//! export, and a log directory with a planted symbolic link.

mod common;

use common::testenv;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rustnet"))
}

/// A fresh temporary directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rustnet-faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A pcap of `flows` one-packet UDP flows (10.0.0.1:N → 10.0.0.2:53), one
/// JSON record each.
fn udp_flows_pcap(path: &Path, flows: u16) {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 1] {
        match v {
            // version 2.4 as two u16s
            0x0004_0002 => out.extend_from_slice(&[2, 0, 4, 0]),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    for i in 0..flows {
        let mut f = Vec::new();
        f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let mut ip = vec![0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let sum = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u32>();
        let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&(10_000 + i).to_be_bytes());
        f.extend_from_slice(&[0, 53, 0, 12, 0, 0, 1, 2, 3, 4]);
        let (secs, usecs) = (1_700_000_000u32 + u32::from(i) / 1000, u32::from(i) % 1000 * 1000);
        for v in [secs, usecs, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&f);
    }
    std::fs::write(path, out).expect("write pcap");
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_absurd_duration_is_a_usage_error_not_a_panic() {
    let dir = temp_dir("duration");
    let pcap = dir.join("in.pcap");
    udp_flows_pcap(&pcap, 3);
    for d in ["1e30", "2e19", "inf", "-5", "0"] {
        let o = bin().arg("--read").arg(&pcap).arg("--json").arg(format!("--duration={d}")).output().expect("run");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "--duration {d}: {err}");
        assert!(err.contains("--duration") && !err.contains("panicked"), "--duration {d}: {err}");
    }
    let o = bin().arg("--read").arg(&pcap).args(["--json", "--duration", "2.5"]).output().expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reader_that_stops_early_ends_the_run_quietly() {
    let dir = temp_dir("pipe");
    let pcap = dir.join("in.pcap");
    // ~3000 records of ~250 bytes: far more than a pipe holds.
    udp_flows_pcap(&pcap, 3000);
    let mut child = bin()
        .arg("--read")
        .arg(&pcap)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    {
        // `| head -1`: one line, then the pipe is closed.
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        out.read_line(&mut first).expect("read a line");
    }
    assert!(first.starts_with('{'), "{first}");
    let o = child.wait_with_output().expect("wait");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "nothing on stderr: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_disk_fails_the_export_and_says_so() {
    let dir = temp_dir("enospc");
    let pcap = dir.join("in.pcap");
    udp_flows_pcap(&pcap, 1500);
    let o = bin().arg("--read").arg(&pcap).args(["--json", "--pcap-export", "/dev/full"]).output().expect("run");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("rustnet: export: no space left on device (1500 packets not written)"), "{err}");
    assert!(!err.contains("fell behind") && !err.contains("Error reading bytes"), "{err}");
    // The records are still all there, and the loss is the last line (issue 21).
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().filter(|l| l.contains("\"proto\"")).count(), 1500);
    let last = out.lines().last().unwrap_or_default();
    assert!(last.starts_with("{\"drops\":") && last.contains("\"export\":1500"), "{last}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 64 KiB tmpfs mounted on a temporary directory; unmounted on drop.
struct SmallDisk(PathBuf);

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_disk_that_fills_midway_keeps_every_whole_packet_and_counts_the_rest() {
    if !testenv::root_ready() {
        return;
    }
    let dir = temp_dir("fills");
    let pcap = dir.join("in.pcap");
    udp_flows_pcap(&pcap, 3000);
    let mnt = dir.join("small");
    std::fs::create_dir(&mnt).expect("mount point");
    let st = Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"]).arg(&mnt).status();
    assert!(st.is_ok_and(|s| s.success()), "mount a tmpfs");
    let disk = SmallDisk(mnt);
    let export = disk.0.join("out.pcapng");
    let o = bin().arg("--read").arg(&pcap).arg("--json").arg("--pcap-export").arg(&export).output().expect("run");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let lost: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("rustnet: export: no space left on device ("))
        .and_then(|r| r.split_once(" packets not written)"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    // The file ends after its last whole packet: it reads without a warning,
    // and what it holds plus what was counted lost is every packet.
    let back = bin().arg("--read").arg(&export).arg("--json").output().expect("run");
    assert!(back.status.success() && back.stderr.is_empty(), "{}", stderr(&back));
    let kept = String::from_utf8_lossy(&back.stdout).lines().count() as u64;
    assert!(kept > 100 && lost > 100, "kept {kept}, lost {lost}");
    assert_eq!(kept + lost, 3000, "kept {kept}, lost {lost}");
    drop(disk);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_input_is_never_the_export() {
    let dir = temp_dir("inode");
    let (input, link) = (dir.join("in.pcap"), dir.join("link.pcap"));
    udp_flows_pcap(&input, 20);
    std::fs::hard_link(&input, &link).expect("hard link");
    let before = std::fs::read(&input).expect("read");
    for export in [&input, &link] {
        let o = bin().arg("--read").arg(&input).arg("--json").arg("--pcap-export").arg(export).output().expect("run");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("the same file"), "{err}");
        assert_eq!(std::fs::read(&input).expect("read"), before, "input untouched");
    }
    // Another file is fine.
    let out = dir.join("out.pcapng");
    let o = bin().arg("--read").arg(&input).arg("--json").arg("--pcap-export").arg(&out).output().expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rustnet --read PCAP --json -l info` in `cwd`.
fn run_logging(cwd: &Path, pcap: &Path) -> Output {
    bin().arg("--read").arg(pcap).args(["--json", "-l", "info"]).current_dir(cwd).output().expect("run")
}

fn stamp(secs: u64) -> String {
    // The same format as the log names: let the binary's clock decide which
    // one it uses by planting links for a span of seconds.
    let o = Command::new("date").args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%d_%H-%M-%S"]).output();
    String::from_utf8_lossy(&o.expect("run date").stdout).trim().to_string()
}

#[test]
fn a_planted_symlink_does_not_redirect_the_log() {
    let dir = temp_dir("logs");
    let pcap = dir.join("in.pcap");
    udp_flows_pcap(&pcap, 3);
    let logs = dir.join("logs");
    std::fs::create_dir(&logs).expect("logs dir");
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious\n").expect("victim");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    for s in now.saturating_sub(1)..now + 30 {
        let _ = std::os::unix::fs::symlink(&victim, logs.join(format!("rustnet_{}.log", stamp(s))));
    }
    let o = run_logging(&dir, &pcap);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&victim).expect("victim"), b"precious\n", "the link's target is untouched");
    // The log went to a new regular file beside the links, private to its owner.
    let logged: Vec<PathBuf> = std::fs::read_dir(&logs)
        .expect("read logs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.symlink_metadata().is_ok_and(|m| m.file_type().is_file()))
        .collect();
    assert_eq!(logged.len(), 1, "{logged:?}");
    let m = std::fs::metadata(&logged[0]).expect("log metadata");
    assert_eq!(m.mode() & 0o777, 0o600, "{logged:?}");
    assert!(std::fs::read_to_string(&logged[0]).expect("log").contains("logging to"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_log_directory_others_control_is_refused() {
    let dir = temp_dir("logdir");
    let pcap = dir.join("in.pcap");
    udp_flows_pcap(&pcap, 3);
    // logs/ as a symbolic link to somewhere else.
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("dir");
    std::os::unix::fs::symlink(&elsewhere, dir.join("logs")).expect("symlink");
    let o = run_logging(&dir, &pcap);
    assert!(!o.status.success() && stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&elsewhere).expect("read").count(), 0, "nothing written through the link");
    // logs/ writable by everyone.
    std::fs::remove_file(dir.join("logs")).expect("unlink");
    std::fs::create_dir(dir.join("logs")).expect("logs dir");
    std::fs::set_permissions(dir.join("logs"), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let o = run_logging(&dir, &pcap);
    assert!(!o.status.success() && stderr(&o).contains("writable by group or others"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(dir.join("logs")).expect("read").count(), 0);
    // A fresh logs/ is created private.
    std::fs::remove_dir(dir.join("logs")).expect("rmdir");
    let o = run_logging(&dir, &pcap);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(dir.join("logs")).expect("logs").mode() & 0o777, 0o700);
    let _ = std::fs::remove_dir_all(&dir);
}

fn run_args(args: &[&str]) -> (Option<i32>, String, String) {
    let o = bin().args(args).stdin(Stdio::null()).output().expect("run rustnet");
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Issue 18 item 4: the messages a new user meets first, in words.
#[test]
fn first_mistakes_get_plain_messages() {
    let dir = temp_dir("messages");
    // A missing capture file: the message names it.
    let missing = dir.join("no-such.pcap");
    let (code, _, err) = run_args(&["--read", missing.to_str().expect("utf-8"), "--json"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("{}: cannot open capture file", missing.display())), "{err}");
    // A file that is not a capture: said so, not as raw magic bytes.
    let text = dir.join("notes.txt");
    std::fs::write(&text, "root:x:0:0\n").expect("write");
    let (code, _, err) = run_args(&["--read", text.to_str().expect("utf-8"), "--json"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not a pcap or pcapng file"), "{err}");
    assert!(!err.contains("magic"), "{err}");
    // --duration -1: the tool's own message, not clap's "unexpected argument".
    let (code, _, err) = run_args(&["--duration", "-1", "--json"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("'-1' is not a positive number of seconds"), "{err}");
    // -r FILE, as tcpdump/tshark users type it: -r is the refresh interval.
    let (code, _, err) = run_args(&["-r", text.to_str().expect("utf-8"), "--json"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("did you mean --read {}?", text.display())), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 18 item 3: `--version` names the commit it was built from.
#[test]
fn version_names_the_git_commit() {
    let (code, out, err) = run_args(&["--version"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with(&format!("rustnet {}", env!("CARGO_PKG_VERSION"))), "{out}");
    let head = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "--short=7", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    match head {
        Some(h) => {
            let h = String::from_utf8_lossy(&h.stdout).trim().to_string();
            assert_eq!(out.trim(), format!("rustnet {} (git {h})", env!("CARGO_PKG_VERSION")));
        }
        None => {
            testenv::skip("the commit part needs git and a checkout");
        }
    }
}

//! The sandbox of the packet-reading threads (src/sys/sandbox.rs).
//!
//! - With the test hook RUSTNET_SANDBOX_PROBE, each capture and worker
//!   thread, after entering the sandbox, tries to open /etc/shadow, to exec
//!   and to open a socket: all refused by seccomp's allow list (EPERM), Landlock enforced behind it;
//!   with `--no-sandbox` the same probe is allowed (so the probe can tell).
//! - Live (root): the kernel's own view, /proc/PID/task/*/status, shows
//!   seccomp filter mode (2) and no_new_privs on every thread, and two
//!   stacked filters (deny list, allow list) on the capture and workers.
//!
//! The live lab tests (process attribution, DPI, export) run with the
//! sandbox on, as it is by default.

mod common;

use common::testenv::{lab_ready, skip};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn probe_lines(extra: &[&str]) -> Vec<String> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/http_curl.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .arg("--read")
        .arg(&fixture)
        .args(["--json", "--workers", "2"])
        .args(extra)
        .env("RUSTNET_SANDBOX_PROBE", "1")
        .output()
        .expect("run rustnet");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!out.stdout.is_empty(), "records are still written");
    String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("sandbox probe")).map(str::to_string).collect()
}

fn landlock_available() -> bool {
    // landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): the ABI version.
    // SAFETY: a query with null attributes; no memory is passed.
    let abi = unsafe { libc::syscall(444, std::ptr::null::<u8>(), 0usize, 1u32) };
    abi > 0
}

#[test]
fn packet_threads_are_refused_files_exec_and_sockets() {
    let lines = probe_lines(&[]);
    assert_eq!(lines.len(), 3, "one capture and two workers: {lines:?}");
    for l in &lines {
        // seccomp's allow list has no open call: EPERM comes first; Landlock
        // (no file system at all) stands behind it and would answer EACCES.
        assert!(l.contains("exec refused (EPERM)") && l.contains("socket refused (EPERM)"), "{l}");
        assert!(l.contains("open /etc/shadow refused (EPERM)"), "{l}");
        if landlock_available() {
            assert!(l.contains("landlock fully enforced"), "{l}");
        } else {
            skip("sandbox: this kernel has no Landlock; its status is not checked");
        }
    }
    // The same probe without the sandbox: the file opens (as root) and the
    // socket too, and exec fails only because the path does not exist.
    let open = probe_lines(&["--no-sandbox"]);
    assert_eq!(open.len(), 3, "{open:?}");
    for l in &open {
        assert!(l.contains("exec refused (ENOENT)") && l.contains("socket allowed"), "{l}");
        let root = unsafe { libc::geteuid() } == 0; // SAFETY: no arguments.
        assert!(!root || l.contains("open /etc/shadow allowed"), "{l}");
    }
}

#[test]
fn kernel_shows_seccomp_and_no_new_privs_per_thread() {
    if !lab_ready() {
        return;
    }
    let mut rustnet = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .args(["-i", "lo", "--json", "--duration", "30", "--workers", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rustnet");
    let pid = rustnet.id();
    common::lab::wait_thread(pid, "capture");
    std::thread::sleep(Duration::from_millis(500));
    let mut seen = Vec::new();
    let mut seen_all = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks").flatten() {
        let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default().trim().to_string();
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        let field = |k: &str| status.lines().find_map(|l| l.strip_prefix(k)).map(|v| v.trim().to_string());
        assert_eq!(field("NoNewPrivs:").as_deref(), Some("1"), "thread {name}: no_new_privs");
        let seccomp = field("Seccomp:");
        let filters = field("Seccomp_filters:").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        // Every thread has the deny list; the packet threads stack their
        // allow list on it (the main thread's filter, inherited, then theirs).
        println!("thread {name}: Seccomp {seccomp:?}, {filters} filters");
        seen_all.push((name.clone(), seccomp.clone(), filters));
        if name == "capture" || name.starts_with("worker-") {
            assert_eq!(seccomp.as_deref(), Some("2"), "thread {name}: seccomp filter mode");
            assert!(filters >= 2, "thread {name}: deny list and allow list, {filters} filters");
            seen.push(name);
        }
    }
    for (name, seccomp, filters) in &seen_all {
        assert_eq!(seccomp.as_deref(), Some("2"), "thread {name}: seccomp filter mode ({seen_all:?})");
        assert!(*filters >= 1, "thread {name}: {filters} filters");
    }
    let _ = rustnet.kill();
    let _ = rustnet.wait();
    seen.sort();
    assert_eq!(seen, ["capture", "worker-0", "worker-1"]);
}

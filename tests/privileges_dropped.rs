//! Live capture as root: once the capture is open, every thread of rustnet
//! holds only CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (permitted, effective
//! and bounding sets) and has no_new_privs, whether or not logging is on.

use std::process::{Command, Stdio};
use std::time::Duration;

/// CAP_DAC_READ_SEARCH (2) and CAP_SYS_PTRACE (19), as in /proc/<pid>/status.
const KEPT: u64 = (1 << 2) | (1 << 19);

fn field(status: &str, name: &str) -> Option<String> {
    status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string())
}

fn check_threads(extra: &[&str]) {
    let child = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .args(["-i", "lo", "--json", "--duration", "3"])
        .args(extra)
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rustnet");
    std::thread::sleep(Duration::from_millis(1500));
    let tasks = std::fs::read_dir(format!("/proc/{}/task", child.id())).expect("rustnet still running");
    let mut names = Vec::new();
    for t in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(t.path().join("status")) else {
            continue; // a thread that just ended
        };
        let name = field(&status, "Name:").unwrap_or_default();
        for set in ["CapPrm:", "CapEff:", "CapBnd:", "CapInh:", "CapAmb:"] {
            let v = field(&status, set).and_then(|v| u64::from_str_radix(&v, 16).ok()).expect("capability set");
            assert_eq!(v & !KEPT, 0, "thread {name}: {set} {v:x} holds more than ptrace + dac_read_search ({extra:?})");
        }
        assert_eq!(field(&status, "NoNewPrivs:").as_deref(), Some("1"), "thread {name} lacks no_new_privs");
        names.push(name);
    }
    let out = child.wait_with_output().expect("rustnet exit");
    assert!(out.status.success(), "rustnet failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(names.iter().any(|n| n == "capture"), "capture thread seen: {names:?}");
    assert!(names.iter().any(|n| n.starts_with("rustnet-hints")), "hint threads seen: {names:?}");
}

#[test]
fn every_thread_drops_its_capabilities() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: not root");
        return;
    }
    check_threads(&[]);
    check_threads(&["-l", "info"]);
}

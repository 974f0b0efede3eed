//! Live capture as root: once the capture is open, the process lookup
//! threads hold only CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (permitted,
//! effective and bounding sets), every other thread holds none, and all
//! have no_new_privs, whether or not logging is on.
//! The flow hint threads run real-time (FIFO 1) when started with
//! CAP_SYS_NICE, and with the fair scheduler's shortest slice without it.

#[path = "../src/testenv.rs"]
mod testenv;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// CAP_DAC_READ_SEARCH (2) and CAP_SYS_PTRACE (19), as in /proc/<pid>/status.
const KEPT: u64 = (1 << 2) | (1 << 19);

fn field(status: &str, name: &str) -> Option<String> {
    status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string())
}

/// One thread of a running process.
struct Thread {
    tid: i32,
    name: String,
    status: String,
    /// (rt_priority, policy): fields 40 and 41 of /proc/<pid>/task/<tid>/stat.
    sched: (u32, u32),
}

/// Starts rustnet on lo through `wrapper` (e.g. capsh), lets it settle and lists its threads.
fn threads_of_running(wrapper: &[&str], extra: &[&str]) -> (Child, Vec<Thread>) {
    let bin = env!("CARGO_BIN_EXE_rustnet");
    let mut cmd = match wrapper {
        [] => Command::new(bin),
        [w, rest @ ..] => {
            let mut c = Command::new(w);
            c.args(rest).arg(format!("exec {bin} -i lo --json --duration 3 {}", extra.join(" ")));
            c
        }
    };
    if wrapper.is_empty() {
        cmd.args(["-i", "lo", "--json", "--duration", "3"]).args(extra);
    }
    let child = cmd.current_dir(std::env::temp_dir()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let child = child.expect("start rustnet");
    std::thread::sleep(Duration::from_millis(1500));
    let tasks = std::fs::read_dir(format!("/proc/{}/task", child.id())).expect("rustnet still running");
    let mut out = Vec::new();
    for t in tasks.flatten() {
        let (Ok(status), Ok(stat)) =
            (std::fs::read_to_string(t.path().join("status")), std::fs::read_to_string(t.path().join("stat")))
        else {
            continue; // a thread that just ended
        };
        let after_comm: Vec<&str> =
            stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        // Field 3 (state) is the first after the name.
        let num = |field: usize| after_comm.get(field - 3).and_then(|v| v.parse().ok()).unwrap_or(u32::MAX);
        out.push(Thread {
            tid: t.file_name().to_str().and_then(|n| n.parse().ok()).unwrap_or(0),
            name: field(&status, "Name:").unwrap_or_default(),
            sched: (num(40), num(41)),
            status,
        });
    }
    (child, out)
}

fn finish(child: Child) {
    let out = child.wait_with_output().expect("rustnet exit");
    assert!(out.status.success(), "rustnet failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_thread_drops_its_capabilities_and_hint_threads_run_real_time() {
    if !testenv::root_ready() {
        return;
    }
    for extra in [&[][..], &["-l", "info"][..]] {
        let (child, threads) = threads_of_running(&[], extra);
        for t in &threads {
            // Only the process lookups read other processes' /proc; the
            // threads that parse packets (capture, workers) and the rest
            // hold nothing (issue 20: capabilities are per thread).
            let lookup = t.name.starts_with("rustnet-hints") || t.name == "rustnet-procs";
            for set in ["CapPrm:", "CapEff:", "CapBnd:", "CapInh:", "CapAmb:"] {
                let v = field(&t.status, set).and_then(|v| u64::from_str_radix(&v, 16).ok()).expect("capability set");
                assert_eq!(v & !KEPT, 0, "thread {}: {set} {v:x} holds more than ptrace + dac_read_search", t.name);
                if !lookup && set != "CapBnd:" {
                    assert_eq!(v, 0, "thread {} parses or writes, yet holds {set} {v:x}", t.name);
                }
            }
            assert_eq!(field(&t.status, "NoNewPrivs:").as_deref(), Some("1"), "thread {} lacks no_new_privs", t.name);
            if t.name.starts_with("rustnet-hints") {
                assert_eq!(t.sched, (1, libc::SCHED_FIFO as u32), "hint thread {} (rt_priority, policy)", t.name);
            } else {
                assert_eq!(t.sched.1, libc::SCHED_OTHER as u32, "thread {} stays normal", t.name);
            }
        }
        let names: Vec<&str> = threads.iter().map(|t| t.name.as_str()).collect();
        assert!(names.contains(&"capture"), "capture thread seen: {names:?}");
        assert!(names.iter().any(|n| n.starts_with("worker-")), "worker threads seen: {names:?}");
        assert!(names.contains(&"rustnet-procs"), "process lookup thread seen: {names:?}");
        assert!(names.iter().any(|n| n.starts_with("rustnet-hints")), "hint threads seen: {names:?}");
        finish(child);
    }
}

/// Linux 6.12 brought custom slices for the fair scheduler.
fn kernel_has_custom_slices() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (6, 12)
}

#[test]
fn without_cap_sys_nice_hint_threads_get_the_shortest_slice() {
    if !(testenv::root_ready() && testenv::tools_ready(&["capsh"])) {
        return;
    }
    let (child, threads) = threads_of_running(&["capsh", "--drop=cap_sys_nice", "--", "-c"], &[]);
    let hints: Vec<&Thread> = threads.iter().filter(|t| t.name.starts_with("rustnet-hints")).collect();
    assert!(!hints.is_empty(), "hint threads seen");
    for t in hints {
        assert_eq!(t.sched.1, libc::SCHED_OTHER as u32, "hint thread {} without CAP_SYS_NICE", t.name);
        // SAFETY: sched_attr is plain old data; all-zero is a valid value.
        let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
        let size = size_of::<libc::sched_attr>() as libc::c_uint;
        // SAFETY: `attr` is valid for writes of `size` bytes; a stale tid only makes the call fail.
        let rc = unsafe { libc::syscall(libc::SYS_sched_getattr, t.tid, &mut attr as *mut libc::sched_attr, size, 0) };
        assert_eq!(rc, 0, "sched_getattr of {}", t.name);
        assert_eq!(attr.sched_nice, 0, "no raised nice value without CAP_SYS_NICE");
        if kernel_has_custom_slices() {
            assert_eq!(attr.sched_runtime, 100_000, "hint thread {} slice (ns)", t.name);
        }
    }
    finish(child);
}

//! Memory comes back after a flood (issue 21): 60 000 one-packet TCP flows
//! fill the tables, packets a day later (packet time) expire them all,
//! and the resident set falls back while rustnet is still reading (standard
//! input held open), instead of staying at the flood's peak.

mod common;

use common::frames::{pcap_header, spawn_reading_stdin, syn};
use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

const FLOWS: u32 = 60_000;
const LATE: u32 = 1_000;

/// (VmRSS, VmHWM) of `pid` in KiB.
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn resident_memory_falls_back_after_a_flood_expires() {
    let (mut child, mut stdin, stdout) = spawn_reading_stdin();
    let pid = child.id();
    // Count the records as they come: all of the flood's once it expired
    // (the writer flushes whenever it has nothing more to write).
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut n = 0u32;
        for line in BufReader::new(stdout).lines() {
            if line.is_ok_and(|l| l.contains("\"proto\"")) {
                n += 1;
                if n == FLOWS {
                    let _ = tx.send(());
                }
            }
        }
        n
    });
    let mut flood = pcap_header();
    for i in 0..FLOWS {
        syn(&mut flood, 1_700_000_000, i);
    }
    // More flows a day later: every flood flow is long expired by then
    // (the pause after them hands them to the workers and moves every
    // worker's clock: tests/stream_pause.rs).
    for i in FLOWS..FLOWS + LATE {
        syn(&mut flood, 1_700_086_400, i);
    }
    stdin.write_all(&flood).expect("write the flood");
    stdin.flush().expect("flush");
    drop(flood);
    // Standard input stays open: rustnet is still running, waiting for more.
    rx.recv_timeout(Duration::from_secs(120)).expect("the flood's records were printed");
    let (_, peak) = rss(pid);
    let start = Instant::now();
    let mut now = rss(pid).0;
    while now * 4 > peak && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
        now = rss(pid).0;
    }
    drop(stdin);
    let status = child.wait().expect("rustnet ends at end of input");
    let printed = reader.join().expect("reader");
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(printed, FLOWS + LATE, "every flow printed once");
    eprintln!("peak {peak} KiB, after the flood expired {now} KiB ({:.1?})", start.elapsed());
    assert!(now * 4 <= peak, "resident {now} KiB a minute after the flood expired; peak {peak} KiB");
}

//! Memory comes back after a flood (issue 21): 60 000 one-packet TCP flows
//! fill the tables, packets a day later (packet time) expire them all,
//! and the resident set falls back while rustnet is still reading (standard
//! input held open), instead of staying at the flood's peak.

mod common;

use etherparse::PacketBuilder;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FLOWS: u32 = 60_000;
const LATE: u32 = 1_000;

/// A pcap global header (Ethernet, microseconds).
fn pcap_header() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65_535u32.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    v
}

/// One Ethernet/IPv4/TCP SYN from 10.7.x.y:sport to 10.9.0.1:80 at `secs`.
fn syn(out: &mut Vec<u8>, secs: u32, i: u32) {
    let src = [10, 7, (i >> 8) as u8, i as u8];
    let sport = 1024 + (i >> 16) as u16;
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, [10, 9, 0, 1], 64)
        .tcp(sport, 80, i, 64_240)
        .syn();
    let mut f = Vec::with_capacity(54);
    // Writing into a Vec cannot fail.
    b.write(&mut f, &[]).expect("vec write");
    out.extend_from_slice(&secs.to_le_bytes());
    out.extend_from_slice(&(i % 1_000_000).to_le_bytes());
    out.extend_from_slice(&(f.len() as u32).to_le_bytes());
    out.extend_from_slice(&(f.len() as u32).to_le_bytes());
    out.extend_from_slice(&f);
}

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .args(["--read", "-", "--json", "--workers", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rustnet");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
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
    // More flows a day later: every flood flow is long expired by then. A
    // thousand of them, so that every worker gets full batches (a partial
    // batch of a file waits for more packets) and its clock moves.
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

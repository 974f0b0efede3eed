//! Lost packets are never silent: a `--json` run whose `--pcap-export`
//! cannot keep up (here: it writes to /dev/full) reports how many packets it
//! lost on stderr and as the last JSON line.

mod common;

use common::*;
use std::io::Write;

/// A classic pcap of `n` UDP datagrams of 1000 bytes, 1 ms apart.
fn write_capture(path: &std::path::Path, n: u32) {
    let mut out = Vec::new();
    // Magic, version 2.4, zone, accuracy, snaplen, Ethernet.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for w in [0u32, 0, 65_535, 1] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    let frame = {
        let b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(40000, 40001);
        let mut v = Vec::new();
        b.write(&mut v, &[0u8; 958]).expect("vec write");
        v
    };
    for i in 0..n {
        let len = frame.len() as u32;
        for w in [1_700_000_000 + i / 1000, (i % 1000) * 1000, len, len] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&frame);
    }
    std::fs::File::create(path).and_then(|mut f| f.write_all(&out)).expect("write the capture");
}

#[test]
fn export_losses_are_on_stderr_and_the_last_json_line() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let dir = std::env::temp_dir().join(format!("rustnet-drops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("udp.pcap");
    write_capture(&input, 2_000);
    let run = run_json(&input, &["--pcap-export", "/dev/full"]);
    // A failed export also ends the run with status 1 and its cause (issue 20).
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("packets dropped:") && run.stderr.contains("not in the pcap export"), "{}", run.stderr);
    let last = run.records.last().expect("some lines");
    let drops = &last["drops"];
    let export = drops["export"].as_u64().expect("export count");
    assert!(export > 0 && export <= 2_000, "{last}");
    assert_eq!(drops["total"].as_u64(), Some(export), "{last}");
    assert_eq!((drops["kernel"].as_u64(), drops["queue"].as_u64()), (Some(0), Some(0)), "{last}");
    // Every line before it is a connection.
    assert!(run.records[..run.records.len() - 1].iter().all(|r| r["proto"].is_string()));
    let _ = std::fs::remove_dir_all(&dir);
}

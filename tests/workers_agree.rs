//! Issue 21, item 2: workers are chosen by the flow's 5-tuple (both
//! directions alike; IP fragments follow their datagram), so the output does
//! not depend on `--workers`, and the flows between two hosts spread over all
//! workers. Before, they were chosen by the address pair only: every flow
//! between two hosts sat on one worker, which held only cap/N of them, so
//! 100 000 flows with `--max-connections 100000` and 4 workers evicted 75 000.

mod common;

use common::*;
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use serde_json::Value;
use std::time::Duration;

fn lines(records: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(Value::to_string).collect();
    v.sort();
    v
}

#[test]
fn json_is_the_same_for_one_and_four_workers_on_every_corpus_capture() {
    let Some(dir) = corpus_dir() else {
        eprintln!("note: RUSTNET_CORPUS is not a folder; skipping the workers test");
        return;
    };
    let files = captures(&dir);
    let mut records = 0;
    for cap in &files {
        let one = run_json(cap, &["--workers", "1"]);
        let four = run_json(cap, &["--workers", "4"]);
        assert_eq!(one.status.success(), four.status.success(), "{}: {} / {}", cap.display(), one.stderr, four.stderr);
        assert_eq!(lines(&one.records), lines(&four.records), "{}: --workers 1 vs 4", cap.display());
        records += one.records.len();
    }
    eprintln!("{} captures, {records} records alike", files.len());
}

/// `n` TCP SYNs from 10.0.0.1 to 10.0.0.2, each on its own port pair.
fn two_host_flows(path: &std::path::Path, n: u32) {
    let file = std::fs::File::create(path).expect("create the capture");
    let hdr = PcapHeader { datalink: DataLink::ETHERNET, snaplen: 65_535, ..Default::default() };
    let mut w = PcapWriter::with_header(std::io::BufWriter::new(file), hdr).expect("pcap header");
    for i in 0..n {
        let mut f = vec![0u8; 54];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&40u16.to_be_bytes());
        f[22] = 64;
        f[23] = 6;
        f[26..30].copy_from_slice(&[10, 0, 0, 1]);
        f[30..34].copy_from_slice(&[10, 0, 0, 2]);
        f[34..36].copy_from_slice(&(1024 + (i % 50_000) as u16).to_be_bytes());
        f[36..38].copy_from_slice(&(8000 + (i / 50_000) as u16).to_be_bytes());
        f[46] = 0x50;
        f[47] = 0x02; // SYN
        let ts = Duration::from_secs(1_700_000_000) + Duration::from_micros(u64::from(i));
        w.write_packet(&PcapPacket::new(ts, 54, &f)).expect("write packet");
    }
}

#[test]
fn flows_between_two_hosts_fill_the_whole_cap() {
    let cap = std::env::temp_dir().join(format!("rustnet-two-hosts-{}.pcap", std::process::id()));
    two_host_flows(&cap, 100_000);
    let run = run_json(&cap, &["--workers", "4", "--max-connections", "100000"]);
    let _ = std::fs::remove_file(&cap);
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(run.records.len(), 100_000);
    let evicted = run.records.iter().filter(|r| r["end_reason"] == "evicted").count();
    // Each worker holds a quarter of the cap; hashing spreads the flows
    // within a few hundred of a quarter each (binomial, sd 137).
    assert!(evicted < 1_000, "{evicted} of 100 000 flows evicted below the cap");
}

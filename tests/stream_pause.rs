//! A capture stream that pauses (`tcpdump -w - | rustnet --read -` between
//! bursts): what came before the pause is processed during it. Packets a
//! day after 64 SYN flows (packet time) expire them, and their records are
//! printed while standard input is still open, on every worker, not only
//! when more packets or the end of input come.

mod common;

use common::frames::{pcap_header, spawn_reading_stdin, syn};
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

const FLOWS: u32 = 64;

#[test]
fn records_expired_before_a_pause_print_during_it() {
    let (mut child, mut stdin, stdout) = spawn_reading_stdin();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("\"proto\"") && tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut bytes = pcap_header();
    for i in 0..FLOWS {
        syn(&mut bytes, 1_700_000_000, i);
    }
    // One packet a day later (packet time): every flow above has expired.
    syn(&mut bytes, 1_700_086_400, FLOWS);
    stdin.write_all(&bytes).expect("write the packets");
    stdin.flush().expect("flush");
    // Standard input stays open: the stream has paused.
    let mut early = Vec::new();
    while early.len() < FLOWS as usize {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(l) => early.push(l),
            Err(_) => break,
        }
    }
    assert_eq!(early.len(), FLOWS as usize, "records printed during the pause: {early:?}");
    drop(stdin);
    let status = child.wait().expect("rustnet ends at end of input");
    reader.join().expect("reader");
    let late: Vec<String> = rx.try_iter().collect();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(late.len(), 1, "the last flow at the end of input: {late:?}");
}

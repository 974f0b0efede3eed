//! Issue 19's robustness sweep: every capture of the public corpus and of
//! our fixtures, whole, cut at spread points and with bytes changed at
//! random (a fixed seed per file, so a failure repeats), through the whole
//! engine in process (`capture::fuzzing::capture_through_engine`: link
//! layers, tunnels, fragments, tracking, analytics, DPI). No variant may
//! panic or take longer than a deadline, and the process's peak memory
//! stays bounded.

mod common;

use common::*;
use rustnet::capture::fuzzing::capture_through_engine;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

/// Cuts per file, and variants with changed bytes.
const CUTS: usize = 24;
const FLIPPED: u64 = 32;
/// Bytes changed in each flipped variant.
const FLIPS: usize = 24;
/// No file's variants together may take longer (a debug build reads the
/// largest corpus file's variants in well under a second).
const DEADLINE: Duration = Duration::from_secs(60);
/// The test process's peak resident memory, everything included.
const MAX_PEAK_KB: u64 = 1 << 20;

/// xorshift64: a fixed, seedable sequence without a dependency.
fn next(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// The damaged variants of one capture.
fn variants(data: &[u8], seed: u64) -> Vec<Vec<u8>> {
    let mut out = vec![data.to_vec()];
    let len = data.len();
    for k in 1..=CUTS {
        out.push(data[..len * k / (CUTS + 1)].to_vec());
    }
    // Inside the first record header: the file header alone, and one byte more.
    out.extend([24, 25, 41].into_iter().filter(|&c| c < len).map(|c| data[..c].to_vec()));
    let mut s = seed | 1;
    for _ in 0..FLIPPED {
        let mut d = data.to_vec();
        for _ in 0..FLIPS {
            let at = (next(&mut s) % len.max(1) as u64) as usize;
            if let Some(b) = d.get_mut(at) {
                *b ^= (next(&mut s) % 255 + 1) as u8;
            }
        }
        out.push(d);
    }
    out
}

fn peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn damaged_captures_neither_panic_nor_hang_and_memory_stays_bounded() {
    let mut files: Vec<PathBuf> = captures(&fixture(""));
    let corpus = corpus_dir();
    if let Some(dir) = &corpus {
        files.extend(captures(dir));
    }
    let (mut runs, mut connections) = (0usize, 0usize);
    for (i, path) in files.iter().enumerate() {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let seed = 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1);
        let all = variants(&data, seed);
        runs += all.len();
        // On a thread of its own, so that a hang fails the test instead of
        // stalling it; a panic there is reported as this file's.
        let (tx, rx) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            let n: usize = all.iter().map(|v| capture_through_engine(v)).sum();
            let _ = tx.send(n);
        });
        match rx.recv_timeout(DEADLINE) {
            Ok(n) => connections += n,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{}: variants still running after {DEADLINE:?}", path.display())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = worker.join();
                panic!("{}: a variant panicked (seed {seed:#x})", path.display());
            }
        }
    }
    let peak = peak_kb();
    eprintln!("{} captures, {runs} variants, {connections} connections, peak RSS {} MB", files.len(), peak / 1024);
    assert!(files.len() >= 30 + if corpus.is_some() { 60 } else { 0 }, "captures missing: {}", files.len());
    assert!(peak < MAX_PEAK_KB, "peak RSS {peak} kB");
}

//! Headless output.

pub mod json;

use crate::pipeline::{Records, add_stats};
use crossbeam_channel::Receiver;
use rustnet_core::Stats;
use rustnet_core::track::Timeouts;
use std::io::{self, BufWriter, Write};

/// Writes records as they arrive; the end-of-input flush is sorted by first
/// packet so a file always gives the same output. Returns summed counters.
pub fn write_json_lines(rx: Receiver<Records>, t: &Timeouts, workers: usize) -> io::Result<Stats> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut last = Vec::new();
    let mut stats = Stats::default();
    let mut finished_workers = 0;
    let mut now = rustnet_core::Timestamp::ZERO;
    for r in rx.iter() {
        if r.last {
            now = now.max(r.now);
            if last.is_empty() {
                last = r.conns;
            } else {
                last.extend(r.conns);
            }
            add_stats(&mut stats, &r.stats);
            finished_workers += 1;
            if finished_workers == workers {
                break;
            }
            continue;
        }
        for c in &r.conns {
            json::write_record(&mut out, c, r.now, t)?;
        }
        if rx.is_empty() {
            out.flush()?;
        }
    }
    last.sort_by_key(|c| (c.first_seen, c.id));
    for c in &last {
        json::write_record(&mut out, c, now, t)?;
    }
    out.flush()?;
    Ok(stats)
}

/// Discards records (TUI mode) until the workers are done.
pub fn discard(rx: Receiver<Records>) {
    for _ in rx.iter() {}
}

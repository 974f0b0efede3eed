//! Headless output.

pub mod json;

use crate::pipeline::{Records, add_stats};
use crossbeam_channel::Receiver;
use rustnet_core::Stats;
use std::io::{self, BufWriter, Write};

/// Writes records as they arrive; the end-of-input flush is sorted by first
/// packet so a file always gives the same output. Runs until every worker
/// has dropped its sender. Returns summed counters.
pub fn write_json_lines(rx: Receiver<Records>) -> io::Result<Stats> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut last = Vec::new();
    let mut stats = Stats::default();
    for r in rx.iter() {
        if r.last {
            if last.is_empty() {
                last = r.conns;
            } else {
                last.extend(r.conns);
            }
            add_stats(&mut stats, &r.stats);
            continue;
        }
        for c in &r.conns {
            json::write_record(&mut out, c)?;
        }
        if rx.is_empty() {
            out.flush()?;
        }
    }
    last.sort_by_key(|c| (c.first_seen, c.id));
    for c in &last {
        json::write_record(&mut out, c)?;
    }
    out.flush()?;
    Ok(stats)
}

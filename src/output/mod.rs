//! Headless output.

pub mod ipfix;
pub mod json;

use crate::pipeline::{Records, add_stats};
use crossbeam_channel::Receiver;
use rustnet_core::Stats;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Writes records as they arrive; the end-of-input flush is sorted by first
/// packet so a file always gives the same output. Runs until every worker
/// has dropped its sender. Returns summed counters.
///
/// When the reader of stdout goes away (`rustnet --json | head -1`), sets
/// `stop` so the source ends, and drains the rest without writing: the
/// session then ends quietly with status 0, as Unix filters do, with its
/// export (if any) closed properly.
pub fn write_json_lines(rx: Receiver<Records>, stop: &AtomicBool) -> io::Result<Stats> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut stats = Stats::default();
    match write_lines(&rx, &mut out, &mut stats) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            log::info!("stdout closed by its reader: stopping");
            stop.store(true, Ordering::Relaxed);
            // Unblock the workers until they finish; their stats are summed too.
            for r in rx.iter().filter(|r| r.last) {
                add_stats(&mut stats, &r.stats);
            }
            // What is still buffered can never be written: drop it without
            // trying again (dropping a BufWriter would).
            let _unwritable = out.into_parts();
            Ok(stats)
        }
        r => r.map(|()| stats),
    }
}

fn write_lines<W: Write>(rx: &Receiver<Records>, out: &mut W, stats: &mut Stats) -> io::Result<()> {
    let mut last = Vec::new();
    for r in rx.iter() {
        if r.last {
            if last.is_empty() {
                last = r.conns;
            } else {
                last.extend(r.conns);
            }
            add_stats(stats, &r.stats);
            continue;
        }
        for c in &r.conns {
            json::write_record(out, c)?;
        }
        if rx.is_empty() {
            out.flush()?;
        }
    }
    last.sort_by_key(|c| (c.first_seen, c.id));
    for c in &last {
        json::write_record(out, c)?;
    }
    out.flush()
}

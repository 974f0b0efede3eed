//! Headless output.

pub mod ipfix;
pub mod json;
pub mod metrics;

use crate::pipeline::{Records, add_stats};
use crate::record::Recorder;
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
///
/// Every record written also goes to `record` (`--record`), and so do
/// those drained after stdout closed.
pub fn write_json_lines(
    rx: Receiver<Records>,
    stop: &AtomicBool,
    mut record: Option<&mut Recorder>,
) -> io::Result<Stats> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut stats = Stats::default();
    match write_lines(&rx, &mut out, &mut stats, record.as_deref_mut()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            log::info!("stdout closed by its reader: stopping");
            stop.store(true, Ordering::Relaxed);
            // Unblock the workers until they finish; their stats are summed too.
            for r in rx.iter() {
                if let Some(rec) = record.as_deref_mut() {
                    record_all(rec, &r.conns);
                }
                if r.last {
                    add_stats(&mut stats, &r.stats);
                }
            }
            // What is still buffered can never be written: drop it without
            // trying again (dropping a BufWriter would).
            let _unwritable = out.into_parts();
            Ok(stats)
        }
        r => r.map(|()| stats),
    }
}

/// Queues connections for `--record` (with the TUI, and where stdout is gone).
pub fn record_all(rec: &mut Recorder, conns: &[rustnet_core::track::Connection]) {
    for c in conns {
        match json::line(c) {
            Ok(line) => rec.record(c, line.bytes, line.local, line.remote),
            Err(e) => log::warn!("record: cannot serialise a connection: {e}"),
        }
    }
}

fn write_lines<W: Write>(
    rx: &Receiver<Records>,
    out: &mut W,
    stats: &mut Stats,
    mut record: Option<&mut Recorder>,
) -> io::Result<()> {
    let mut emit = |out: &mut W, c: &rustnet_core::track::Connection| -> io::Result<()> {
        let line = json::line(c)?;
        let written = out.write_all(&line.bytes);
        // The recorder takes the line itself: copying it cost a malloc
        // and a memcpy of about 600 bytes a record.
        if let Some(rec) = record.as_deref_mut() {
            rec.record(c, line.bytes, line.local, line.remote);
        }
        written
    };
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
            emit(out, c)?;
        }
        if rx.is_empty() {
            out.flush()?;
        }
    }
    last.sort_by_key(|c| (c.first_seen, c.id));
    for c in &last {
        emit(out, c)?;
    }
    out.flush()
}

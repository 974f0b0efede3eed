//! The headless sink: one JSON object per connection on stdout, written as
//! connections end and, at the end of input, for those still open.

use super::drops;
use super::enrich::log_process_stats;
use super::live::SourceCounters;
use super::source::Feed;
use super::{Session, SourceEnd};
use crate::output;
use crate::pipeline::Pipeline;
use crossbeam_channel::bounded;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Runs the session to the end of its input. Returns the process exit code.
pub fn run(s: Session) -> anyhow::Result<i32> {
    let Session { source, tap, cfg, enrich, host, stop, duration, interrupted, mut recorder, ui: _ } = s;
    // Bounded: a slow stdout slows the workers instead of growing memory.
    let (rec_tx, rec_rx) = bounded(16);
    let pipeline = Pipeline::start(&cfg, enrich, Some(rec_tx));
    let disp = pipeline.dispatcher(cfg.live);
    let counters = Arc::new(SourceCounters::default());
    drops::share(cfg.metrics.as_ref(), &counters);
    let feed = Feed { stop: stop.clone(), duration, counters: counters.clone(), screen: None };
    let sandbox = cfg.sandbox;
    let capture = std::thread::Builder::new().name("capture".into()).spawn(move || {
        crate::sys::sandbox::thread_start(sandbox, "capture");
        source.feed(disp, tap, feed)
    })?;
    let stats = output::write_json_lines(rec_rx, &stop, recorder.as_mut())?;
    // Every record is in: commit the rest and stop the writer.
    drop(recorder);
    let queue_drops = pipeline.queue_drops();
    pipeline.join();
    let end = SourceEnd::from_thread(capture.join());
    stop.store(true, Ordering::Relaxed);
    if stats.unknown_link > 0 {
        eprintln!(
            "rustnet: warning: skipped {} packets of unsupported link types {:?}",
            stats.unknown_link, stats.unknown_link_types
        );
    }
    if stats.undecoded > 0 {
        let names: Vec<String> = stats.undecoded_encaps.iter().map(|e| e.to_string()).collect();
        eprintln!(
            "rustnet: warning: {} packets in encapsulations not decoded ({}); counted on their outer flow when it is TCP or UDP",
            stats.undecoded,
            names.join(", ")
        );
    }
    log::info!("done: {stats:?}");
    let lost = drops::collect(&counters, queue_drops);
    output::json::write_drops(&mut std::io::stdout().lock(), &lost)?;
    drops::report(&mut std::io::stderr().lock(), &lost)?;
    if let Some(h) = &host {
        log_process_stats(h);
    }
    let code = end.report();
    // Ctrl+C: 130 (128 + SIGINT), as shells expect of an interrupted
    // command, unless something worse is to report.
    Ok(if code == 0 && interrupted.load(Ordering::Relaxed) { 130 } else { code })
}

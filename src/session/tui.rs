//! The TUI sink: the capture thread feeds the pipeline, snapshots go to the
//! screen every refresh, and the UI runs on this thread until the user quits.

use super::drops;
use super::live::SourceCounters;
use super::source::{Feed, Screen};
use super::{Session, SourceEnd};
use crate::pipeline::{Pipeline, Records};
use crate::snapshot::Snapshot;
use crate::ui::{self, UiConfig};
use crossbeam_channel::bounded;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Runs the session on the screen. Returns the process exit code.
pub fn run(s: Session) -> anyhow::Result<i32> {
    // In the TUI, Ctrl+C is a key (raw mode) and quitting is success.
    let Session { source, tap, cfg, enrich, host: _, stop, duration, interrupted: _, recorder, ui } = s;
    let label = source.label();
    let ui = UiConfig::new(&ui, label.clone(), source.is_live());
    // Connections leaving the tables go to the screen's history; the UI
    // drains them at once (and drops the receiver when it ends). With
    // --record they pass through the recorder's feed first.
    let (ended_tx, ended_rx) = bounded::<Records>(64);
    let (rec_tx, recording) = match recorder {
        Some(mut rec) => {
            let (tx, rx) = bounded::<Records>(16);
            let t = std::thread::Builder::new().name("record-feed".into()).spawn(move || {
                for r in rx.iter() {
                    crate::output::record_all(&mut rec, &r.conns);
                    // The UI may have ended: its history no longer matters.
                    let _ = ended_tx.send(r);
                }
            })?;
            (tx, Some(t))
        }
        None => (ended_tx, None),
    };
    let pipeline = Pipeline::start(&cfg, enrich, Some(rec_tx));
    let (snap_tx, snap_rx) = bounded::<Snapshot>(2);
    let screen = Screen { pipeline: &pipeline, label: &label, refresh: ui.refresh, snaps: &snap_tx };
    let counters = Arc::new(SourceCounters::default());
    drops::share(cfg.metrics.as_ref(), &counters);
    let publishes_itself = source.publishes_itself();
    let disp = pipeline.dispatcher(cfg.live);
    let feed = Feed { stop: stop.clone(), duration, counters: counters.clone(), screen: Some(screen) };
    let (ui_result, end) = std::thread::scope(|sc| {
        let capture = sc.spawn(|| {
            // A panic stops the screen too (the capture thread cannot go on).
            let _stop_on_panic = StopOnDrop(&stop);
            crate::sys::sandbox::thread_start(cfg.sandbox, "capture");
            source.feed(disp, tap, feed)
        });
        if !publishes_itself {
            sc.spawn(|| super::publish::every_refresh(&screen, &stop, &counters));
        }
        let ui_result = ui::run(ui, ui::Feeds { snapshots: snap_rx, ended: ended_rx }, stop.clone());
        stop.store(true, Ordering::SeqCst);
        let end = SourceEnd::from_thread(capture.join());
        (ui_result, end)
    });
    let queue_drops = pipeline.queue_drops();
    pipeline.join();
    // The workers are gone, so is the last sender: the feed ends, and
    // dropping the recorder there commits the rest.
    if let Some(t) = recording {
        let _ = t.join();
    }
    ui_result?;
    drops::report(&mut std::io::stderr().lock(), &drops::collect(&counters, queue_drops))?;
    Ok(end.report())
}

/// Sets the stop flag when dropped: at the end of the capture thread,
/// including by a panic, so the UI does not wait for a source that is gone.
struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

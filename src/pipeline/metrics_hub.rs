//! `--metrics`: where a scrape gets its numbers. The pipeline registers its
//! workers here; a scrape asks each worker for its [`Tally`] (a message in
//! its queue, answered between batches, as a snapshot is), so nothing is
//! counted per packet. A worker that has ended left its last tally here.
//! The session adds the capture's drop counters.

use super::tally::Tally;
use super::worker::ToWorker;
use crate::snapshot::CaptureStats;
use crossbeam_channel::bounded;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a scrape waits for a busy worker's queue, and for its answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// The drop counters of the capture side (kernel ring, pcap export).
pub type DropSource = Arc<dyn Fn() -> CaptureStats + Send + Sync>;

/// What a scrape reports.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    pub tally: Tally,
    pub drops: CaptureStats,
}

#[derive(Default)]
struct Inner {
    /// Each worker's queue while it runs (emptied when the pipeline ends).
    workers: Vec<super::inbox::WorkerTx>,
    /// Each worker's last tally, left when it ended.
    last: Vec<Option<Tally>>,
    queue_drops: Option<Arc<AtomicU64>>,
    capture: Option<DropSource>,
}

/// Shared by the pipeline, the session and the HTTP server.
#[derive(Default)]
pub struct MetricsHub {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MetricsHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsHub")
    }
}

impl MetricsHub {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding it leaves plain numbers: still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pipeline's workers (index = worker number) and its queue-drop counter.
    pub(super) fn attach(&self, workers: &[super::inbox::WorkerTx], queue_drops: Arc<AtomicU64>) {
        let mut g = self.lock();
        g.workers = workers.to_vec();
        g.last = vec![None; workers.len()];
        g.queue_drops = Some(queue_drops);
    }

    /// The pipeline ends: no more asking (the workers must see their queues close).
    pub(super) fn detach(&self) {
        self.lock().workers.clear();
    }

    /// A worker's tally as it ends (every connection counted as ended).
    pub(super) fn worker_ended(&self, index: usize, tally: Tally) {
        if let Some(slot) = self.lock().last.get_mut(index) {
            *slot = Some(tally);
        }
    }

    /// The capture side's drop counters (kernel, export).
    pub fn set_capture(&self, source: DropSource) {
        self.lock().capture = Some(source);
    }

    /// Asks every running worker; takes the last tally of those that ended.
    pub fn collect(&self) -> Collected {
        let workers = self.lock().workers.clone();
        let mut answers: Vec<Option<Tally>> = workers.iter().map(ask).collect();
        let g = self.lock();
        answers.resize(g.last.len().max(answers.len()), None);
        let mut tally = Tally::default();
        for (i, a) in answers.iter().enumerate() {
            // Asked first, read after: a worker that did not answer had
            // ended (its tally is here) or is stuck (missing this time).
            if let Some(t) = a.as_ref().or_else(|| g.last.get(i).and_then(Option::as_ref)) {
                tally.merge(t);
            }
        }
        let mut drops = g.capture.as_ref().map(|f| f()).unwrap_or_default();
        drops.queue_drops = g.queue_drops.as_ref().map_or(0, |q| q.load(Ordering::Relaxed));
        Collected { tally, drops }
    }
}

/// One worker's tally now, or None if it has ended or does not answer in time.
fn ask(worker: &super::inbox::WorkerTx) -> Option<Tally> {
    let (tx, rx) = bounded(1);
    worker.send_timeout(ToWorker::Metrics(tx), ASK_TIMEOUT).ok()?;
    rx.recv_timeout(ASK_TIMEOUT).ok()
}

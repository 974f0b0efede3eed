//! Threads: capture -> flow-affine workers (one Engine each) -> records and
//! snapshots. Packets of one flow (same unordered 5-tuple; IP fragments
//! follow their datagram's first fragment, see `route`) always go to the
//! same worker, in order.

mod inbox;
pub mod ipfix_tap;
pub mod metrics_hub;
pub mod notes;
mod route;
pub mod tally;
#[cfg(test)]
mod tests;
mod worker;

// Batches are filled on the capture side, so they live in capture/.
pub use crate::capture::batch::Batch;

use crate::capture::Packet;
use crate::snapshot::{CaptureStats, Snapshot};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use route::{Route, Router};
use rustnet_core::filter::Filter;
use rustnet_core::track::Connection;
use rustnet_core::{Config, NewFlow, Stats, Timestamp};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};
use worker::{ToWorker, WorkerSnapshot};

/// What the shell adds to connections: process and host names.
pub trait Enrich: Send + Sync {
    /// Flows just created (ask for their process now, off the packet path).
    fn new_flows(&self, _flows: &[NewFlow]) {}
    /// Fill in what is known (process, hostname); learn from DNS answers.
    fn enrich(&self, _conn: &mut Connection) {}
}

/// Which connections are shown and reported.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub filter: Filter,
    pub no_localhost: bool,
    /// Hide this process's connections: rustnet's own reverse-DNS lookups
    /// (live, unless `--show-own-lookups`).
    pub hide_pid: Option<u32>,
}

impl View {
    pub fn shows(&self, c: &Connection) -> bool {
        if self.no_localhost && c.local.addr.is_loopback() && c.remote.addr.is_loopback() {
            return false;
        }
        if let (Some(pid), Some(p)) = (self.hide_pid, &c.process)
            && p.pid == pid
        {
            return false;
        }
        self.filter.matches(c)
    }
}

/// Connections leaving the tables, for the record writer.
#[derive(Debug)]
pub struct Records {
    /// Each with its state as of when it left its table.
    pub conns: Vec<Connection>,
    /// Part of the end-of-input flush.
    pub last: bool,
    /// The worker's counters at that moment.
    pub stats: Stats,
}

/// From a file: how long a closed TCP connection's record waits for late
/// packets after it leaves the table (core `Config::closed_linger`).
const FILE_CLOSED_LINGER: std::time::Duration = std::time::Duration::from_secs(300);

/// Pipeline settings.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub workers: usize,
    pub engine: Config,
    pub view: View,
    /// Live capture: drop batches rather than block the capture thread,
    /// and let workers move their clocks with the wall clock while idle.
    pub live: bool,
    /// `--pcapng-export`: every packet, annotated, to the export writer.
    pub notes: Option<notes::Annotator>,
    /// Workers enter the sandbox (src/sys/sandbox.rs) before their first packet.
    pub sandbox: bool,
    /// `--ipfix`: where workers send connection records for export.
    pub ipfix: Option<ipfix_tap::IpfixTap>,
    /// `--metrics`: where scrapes ask the workers for their tallies.
    pub metrics: Option<Arc<metrics_hub::MetricsHub>>,
}

/// Running workers.
pub struct Pipeline {
    senders: Vec<inbox::WorkerTx>,
    handles: Vec<JoinHandle<()>>,
    queue_drops: Arc<AtomicU64>,
    free: Receiver<Batch>,
    metrics: Option<Arc<metrics_hub::MetricsHub>>,
}

/// The capture thread's end: routes packets to workers.
pub struct Dispatcher {
    senders: Vec<inbox::WorkerTx>,
    current: Vec<Batch>,
    free: Receiver<Batch>,
    live: bool,
    queue_drops: Arc<AtomicU64>,
    /// Latest packet time pushed: where a file's input ends.
    last: Timestamp,
    router: Router,
}

const QUEUE_BATCHES: usize = 16;

impl Pipeline {
    /// `records` receives finished connections; None when nobody reads them
    /// (workers then skip their enrichment and filtering).
    pub fn start(cfg: &PipelineConfig, enrich: Arc<dyn Enrich>, records: Option<Sender<Records>>) -> Pipeline {
        let n = cfg.workers.max(1);
        let (free_tx, free_rx) = bounded::<Batch>(n * QUEUE_BATCHES);
        let mut senders = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = inbox::inbox(QUEUE_BATCHES);
            // The table cap and DPI's reassembly budget are shared out: each worker holds its part.
            let mut ecfg = cfg.engine.clone();
            ecfg.max_connections = cfg.engine.max_connections.div_ceil(n);
            ecfg.reassembly_budget = cfg.engine.reassembly_budget.div_ceil(n);
            if !cfg.live && ecfg.closed_linger.is_zero() {
                // From a file, a late packet of a closed TCP connection stays
                // on it, as in tshark; live, records are not held back.
                ecfg.closed_linger = FILE_CLOSED_LINGER;
            }
            let engine = rustnet_core::Engine::new(ecfg).with_ids(i as u64 + 1, n as u64);
            let w = worker::Worker::new(engine, cfg.view.clone(), enrich.clone(), records.clone(), free_tx.clone())
                .live(cfg.live)
                .notes(cfg.notes.as_ref().map(|a| a.for_worker(i)))
                .ipfix(cfg.ipfix.clone())
                .metrics(cfg.metrics.clone().map(|h| (h, i)));
            let sandbox = cfg.sandbox;
            let h = std::thread::Builder::new().name(format!("worker-{i}")).spawn(move || {
                crate::sys::sandbox::thread_start(sandbox, "worker");
                rx.register();
                w.run(rx)
            });
            match h {
                Ok(h) => handles.push(h),
                Err(e) => log::error!("cannot start worker thread: {e}"),
            }
            senders.push(tx);
        }
        let queue_drops = Arc::new(AtomicU64::new(0));
        if let Some(hub) = &cfg.metrics {
            hub.attach(&senders, queue_drops.clone());
        }
        Pipeline { senders, handles, queue_drops, free: free_rx, metrics: cfg.metrics.clone() }
    }

    pub fn dispatcher(&self, live: bool) -> Dispatcher {
        Dispatcher {
            senders: self.senders.clone(),
            current: (0..self.senders.len()).map(|_| Batch::with_capacity()).collect(),
            free: self.free.clone(),
            live,
            queue_drops: self.queue_drops.clone(),
            last: Timestamp::ZERO,
            router: Router::new(self.senders.len()),
        }
    }

    /// One consistent view: every worker's table at this moment, its clock
    /// moved to `now` first (packet time: the wall clock live, the replay's
    /// clock when paced).
    pub fn snapshot(&self, source: &str, kernel_drops: u64, finished: bool, now: Timestamp) -> Snapshot {
        let mut snap = Snapshot { source: source.to_string(), finished, ..Snapshot::default() };
        let replies: Vec<Receiver<WorkerSnapshot>> = self
            .senders
            .iter()
            .filter_map(|s| {
                let (tx, rx) = bounded(1);
                s.send(ToWorker::Snapshot(tx, now)).ok().map(|_| rx)
            })
            .collect();
        for rx in replies {
            if let Ok(ws) = rx.recv() {
                snap.now = snap.now.max(ws.now);
                snap.connections.extend(ws.conns);
                add_stats(&mut snap.stats, &ws.stats);
            }
        }
        snap.capture = CaptureStats { kernel_drops, queue_drops: self.queue_drops(), export_drops: 0 };
        // Here, on the publishing thread: neither the workers' packets nor
        // the UI's refresh wait for them (5–13 ms per 100 000 connections).
        snap.ensure_briefs();
        snap
    }

    /// Packets the dispatchers could not hand to a worker (queue full, or
    /// the worker gone) so far.
    pub fn queue_drops(&self) -> u64 {
        self.queue_drops.load(Ordering::Relaxed)
    }

    /// Waits for the workers to drain (after the dispatcher finished).
    pub fn join(self) {
        if let Some(hub) = &self.metrics {
            hub.detach();
        }
        drop(self.senders);
        for h in self.handles {
            if h.join().is_err() {
                log::error!("a worker thread panicked");
            }
        }
    }
}

/// The present as packet time (live capture stamps packets with it).
pub fn wall_clock() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_secs_nanos(d.as_secs(), d.subsec_nanos())
}

/// Sums counters of several engines.
pub fn add_stats(total: &mut Stats, s: &Stats) {
    total.packets += s.packets;
    total.bytes += s.bytes;
    total.malformed += s.malformed;
    total.unknown_link += s.unknown_link;
    total.non_ip += s.non_ip;
    total.other_ip += s.other_ip;
    total.orphan_fragments += s.orphan_fragments;
    total.evicted += s.evicted;
    total.undecoded += s.undecoded;
    for e in &s.undecoded_encaps {
        if !total.undecoded_encaps.contains(e) {
            total.undecoded_encaps.push(*e);
        }
    }
    for t in &s.unknown_link_types {
        if !total.unknown_link_types.contains(t) {
            total.unknown_link_types.push(*t);
        }
    }
}

impl Dispatcher {
    pub fn push(&mut self, p: &Packet<'_>) {
        self.last = self.last.max(p.ts);
        let route = self.router.route(p);
        // Fragments released by this packet go first (see `route`); checked
        // before collecting, which cost 28 instructions a packet (callgrind).
        if self.router.has_released() {
            let released: Vec<_> = self.router.take_released().collect();
            for (w, h) in released {
                self.push_to(w, &h.packet());
            }
        }
        if let Route::To(w) = route {
            self.push_to(w, p);
            if let Some(q) = self.router.take_quote() {
                self.current[q].push_quote(p);
                if self.current[q].is_full() {
                    self.flush_one(q);
                }
            }
        }
    }

    fn push_to(&mut self, w: usize, p: &Packet<'_>) {
        self.current[w].push(p);
        if self.current[w].is_full() {
            self.flush_one(w);
        }
    }

    fn flush_one(&mut self, w: usize) {
        let full = std::mem::take(&mut self.current[w]);
        let count = full.len() as u64;
        let sent = if self.live {
            self.senders[w].try_send(ToWorker::Batch(full))
        } else {
            self.senders[w].send(ToWorker::Batch(full)).map_err(|e| TrySendError::Disconnected(e.0))
        };
        match sent {
            Ok(()) => self.current[w] = self.free.try_recv().unwrap_or_else(|_| Batch::with_capacity()),
            // Full (live: never block the capture thread) or the worker is
            // gone: the packets are lost, and counted so that they are reported.
            Err(TrySendError::Full(msg) | TrySendError::Disconnected(msg)) => {
                self.queue_drops.fetch_add(count, Ordering::Relaxed);
                // Keep the batch's buffers as the next batch.
                if let ToWorker::Batch(mut b) = msg {
                    b.clear();
                    self.current[w] = b;
                }
            }
        }
    }

    /// Sends partial batches (live capture: after each poll).
    pub fn flush(&mut self) {
        for w in 0..self.current.len() {
            if !self.current[w].is_empty() {
                self.flush_one(w);
            }
        }
    }

    /// Latest packet time pushed so far.
    pub fn last_packet_time(&self) -> Timestamp {
        self.last
    }

    /// Moves every worker's clock (paced replay while waiting).
    pub fn advance(&mut self, now: Timestamp) {
        for s in &self.senders {
            let _ = s.try_send(ToWorker::Advance(now));
        }
    }

    /// End of input: flush and tell workers to emit everything left, with
    /// states as of one end time for all of them: a file ends at its last
    /// packet, a live capture now.
    pub fn finish(mut self) {
        for (w, h) in self.router.release_all() {
            self.push_to(w, &h.packet());
        }
        self.flush();
        let end = if self.live { self.last.max(wall_clock()) } else { self.last };
        for s in &self.senders {
            let _ = s.send(ToWorker::Finish(end));
        }
    }
}

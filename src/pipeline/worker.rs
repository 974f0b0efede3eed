//! A worker owns one Engine and the flows routed to it.

use super::inbox::WorkerRx;
use super::ipfix_tap::{IpfixTap, WorkerIpfix};
use super::metrics_hub::MetricsHub;
use super::notes::Annotator;
use super::tally::Tally;
use super::{Batch, Enrich, Records, View, wall_clock};
use crossbeam_channel::{RecvTimeoutError, Sender};
use rustnet_core::track::Connection;
use rustnet_core::{Engine, NewFlow, Stats, Timestamp};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub enum ToWorker {
    Batch(Batch),
    /// Move the clock (paced replay).
    Advance(Timestamp),
    /// Move the clock to this time, then reply with the table.
    Snapshot(Sender<WorkerSnapshot>, Timestamp),
    /// End of input at this time: emit everything left.
    Finish(Timestamp),
    /// `--metrics`: reply with the tally of every connection so far.
    Metrics(Sender<Tally>),
}

pub struct WorkerSnapshot {
    pub now: Timestamp,
    pub conns: Vec<Connection>,
    pub stats: Stats,
}

pub struct Worker {
    engine: Engine,
    view: View,
    enrich: Arc<dyn Enrich>,
    /// None when nobody reads finished connections (the TUI).
    records: Option<Sender<Records>>,
    free: Sender<Batch>,
    finished: Vec<Connection>,
    new_flows: Vec<NewFlow>,
    /// Live capture: at the engine's deadline, move its clock to the wall clock.
    live: bool,
    /// `--pcapng-export`.
    notes: Option<Annotator>,
    /// `--ipfix`: records for the exporter.
    ipfix: Option<WorkerIpfix>,
    /// `--metrics`: the hub, this worker's number, and the connections ended so far.
    metrics: Option<(Arc<MetricsHub>, usize, Tally)>,
}

enum Next {
    Msg(ToWorker),
    Deadline,
    Closed,
}

impl Worker {
    pub fn new(
        engine: Engine,
        view: View,
        enrich: Arc<dyn Enrich>,
        records: Option<Sender<Records>>,
        free: Sender<Batch>,
    ) -> Self {
        Worker {
            engine,
            view,
            enrich,
            records,
            free,
            finished: Vec::new(),
            new_flows: Vec::new(),
            live: false,
            notes: None,
            ipfix: None,
            metrics: None,
        }
    }

    /// Live capture: packet time is wall time, so when idle the worker moves
    /// the engine's clock itself, at the deadline the engine names.
    pub fn live(mut self, live: bool) -> Self {
        self.live = live;
        self
    }

    /// `--pcapng-export`: each packet processed goes to `notes`.
    pub fn notes(mut self, notes: Option<Annotator>) -> Self {
        self.notes = notes;
        self
    }

    /// Export finished connections and interim records of long-lived ones.
    pub fn ipfix(mut self, tap: Option<IpfixTap>) -> Self {
        self.ipfix = tap.map(|t| WorkerIpfix::new(t, self.live));
        self
    }

    /// `--metrics`: tally ended connections; answer scrapes.
    pub fn metrics(mut self, hub: Option<(Arc<MetricsHub>, usize)>) -> Self {
        self.metrics = hub.map(|(h, i)| (h, i, Tally::default()));
        self
    }

    pub fn run(mut self, rx: WorkerRx) {
        loop {
            let msg = match self.next(&rx) {
                Next::Msg(m) => m,
                Next::Deadline => {
                    self.engine.advance(wall_clock());
                    self.after_work(false);
                    continue;
                }
                Next::Closed => return,
            };
            match msg {
                ToWorker::Batch(mut b) => {
                    if self.ipfix.is_some() {
                        self.process_exporting(&b);
                    } else {
                        match &mut self.notes {
                            // Without --pcapng-export the loop is as it was: no test per packet.
                            None => {
                                for (p, quote) in b.iter_marked() {
                                    if quote {
                                        self.engine.quote_only(p.link, p.data);
                                    } else {
                                        self.engine.process(p.link, p.ts, p.data, p.wire_len);
                                    }
                                }
                            }
                            Some(notes) => annotated(&mut self.engine, &*self.enrich, notes, &b),
                        }
                    }
                    b.clear();
                    let _ = self.free.try_send(b);
                    self.after_work(false);
                }
                ToWorker::Advance(now) => {
                    self.engine.advance(now);
                    self.after_work(false);
                }
                ToWorker::Snapshot(reply, now) => {
                    self.engine.advance(now);
                    self.after_work(false);
                    let _ = reply.send(self.snapshot());
                }
                ToWorker::Finish(end) => {
                    self.engine.finish_all_at(end);
                    self.after_work(true);
                    if self.metrics.is_some() {
                        let t = self.tally();
                        if let Some((hub, i, _)) = &self.metrics {
                            hub.worker_ended(*i, t);
                        }
                    }
                    return;
                }
                ToWorker::Metrics(reply) => {
                    let _ = reply.send(self.tally());
                }
            }
        }
    }

    /// The next message; live, or the engine's deadline if that comes first.
    fn next(&self, rx: &WorkerRx) -> Next {
        let deadline = if self.live { self.engine.next_deadline() } else { None };
        let until = deadline
            .map(|d| Instant::now() + Duration::from_nanos(d.as_nanos().saturating_sub(wall_clock().as_nanos())));
        let r = rx.recv_until(until);
        match r {
            Ok(m) => Next::Msg(m),
            Err(RecvTimeoutError::Timeout) => Next::Deadline,
            Err(RecvTimeoutError::Disconnected) => Next::Closed,
        }
    }

    fn snapshot(&mut self) -> WorkerSnapshot {
        let enrich = &self.enrich;
        let view = &self.view;
        let mut conns = Vec::with_capacity(self.engine.len());
        for c in self.engine.connections_mut() {
            enrich.enrich(c);
            if view.shows(c) {
                conns.push(c.clone());
            }
        }
        WorkerSnapshot { now: self.engine.now(), conns, stats: self.engine.stats().clone() }
    }

    /// Hands new flows to the resolver and finished connections to the writer.
    fn after_work(&mut self, last: bool) {
        if self.engine.take_shrunk() {
            // The flood's buffers here go too, then the heap they were in.
            self.finished = Vec::new();
            self.new_flows = Vec::new();
            crate::sys::heap::give_back();
        }
        self.engine.take_new_flows(&mut self.new_flows);
        if !self.new_flows.is_empty() {
            self.enrich.new_flows(&self.new_flows);
            self.new_flows.clear();
        }
        self.engine.take_finished(&mut self.finished);
        if self.ipfix.is_some() {
            self.export_ipfix();
        }
        if self.records.is_none() && self.metrics.is_none() {
            // Nobody reads them: no lookup, no filter, no send.
            self.finished.clear();
            return;
        }
        if self.finished.is_empty() && !last {
            return;
        }
        let mut out = std::mem::take(&mut self.finished);
        for c in &mut out {
            self.enrich.enrich(c);
        }
        out.retain(|c| self.view.shows(c));
        if let Some((_, _, ended)) = &mut self.metrics {
            for c in &out {
                ended.add(c, false);
            }
        }
        if let Some(records) = &self.records {
            let _ = records.send(Records { conns: out, last, stats: self.engine.stats().clone() });
        }
    }

    /// `--metrics`: the connections ended so far, those open (and the
    /// closed ones held back for late packets), as the view shows them,
    /// and the engine's counters. Per scrape, never per packet.
    #[cold]
    fn tally(&mut self) -> Tally {
        let mut t = self.metrics.as_ref().map(|m| m.2.clone()).unwrap_or_default();
        let (enrich, view) = (&self.enrich, &self.view);
        for c in self.engine.connections_mut() {
            enrich.enrich(c);
            if view.shows(c) {
                t.add(c, true);
            }
        }
        for c in self.engine.lingering_mut() {
            enrich.enrich(c);
            if view.shows(c) {
                t.add(c, false);
            }
        }
        t.stats = self.engine.stats().clone();
        t
    }

    /// `--ipfix`: the batch's packets with a look for interim records
    /// after each one whose time passed the next scan, so that they do not
    /// depend on where batches end. A loop of its own: without `--ipfix`,
    /// the packet loop has no check at all.
    #[inline(never)]
    fn process_exporting(&mut self, b: &Batch) {
        for (p, quote) in b.iter_marked() {
            if quote {
                self.engine.quote_only(p.link, p.data);
                continue;
            }
            self.engine.process(p.link, p.ts, p.data, p.wire_len);
            if let Some(notes) = &mut self.notes {
                notes.packet(&mut self.engine, &*self.enrich, &p);
            }
            if self.ipfix.as_ref().is_some_and(|ix| ix.scan_due(p.ts)) {
                self.scan_interim();
            }
        }
    }

    /// `--ipfix`: final records of the connections that ended (enriched,
    /// those the view shows), and any interim records due, to the exporter.
    #[cold]
    fn export_ipfix(&mut self) {
        let Some(ix) = &mut self.ipfix else { return };
        for c in &mut self.finished {
            self.enrich.enrich(c);
            if self.view.shows(c) {
                ix.finished(c);
            } else {
                ix.forget(c);
            }
        }
        if ix.scan_due(self.engine.now()) {
            self.scan_interim();
        }
        if let Some(ix) = &mut self.ipfix {
            ix.send();
        }
    }

    /// Interim records of open connections whose active timeout passed.
    #[cold]
    fn scan_interim(&mut self) {
        let Some(ix) = &mut self.ipfix else { return };
        let now = self.engine.now();
        for c in self.engine.connections_mut() {
            if now.since(c.first_seen) >= ix.active_timeout() {
                self.enrich.enrich(c);
                if self.view.shows(c) {
                    ix.maybe_interim(c, now);
                }
            }
        }
        ix.scanned(now);
    }
}

/// A batch with `--pcapng-export`: each packet processed, then annotated.
#[inline(never)]
fn annotated(engine: &mut Engine, enrich: &dyn Enrich, notes: &mut Annotator, b: &Batch) {
    for (p, quote) in b.iter_marked() {
        if quote {
            engine.quote_only(p.link, p.data);
        } else {
            engine.process(p.link, p.ts, p.data, p.wire_len);
            notes.packet(engine, enrich, &p);
        }
    }
}

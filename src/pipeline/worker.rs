//! A worker owns one Engine and the flows routed to it.

use super::{Batch, Enrich, Records, View};
use crossbeam_channel::{Receiver, Sender};
use rustnet_core::track::Connection;
use rustnet_core::{Engine, NewFlow, Stats, Timestamp};
use std::sync::Arc;

pub enum ToWorker {
    Batch(Batch),
    Advance(Timestamp),
    Snapshot(Sender<WorkerSnapshot>),
    Finish,
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
}

impl Worker {
    pub fn new(
        engine: Engine,
        view: View,
        enrich: Arc<dyn Enrich>,
        records: Option<Sender<Records>>,
        free: Sender<Batch>,
    ) -> Self {
        Worker { engine, view, enrich, records, free, finished: Vec::new(), new_flows: Vec::new() }
    }

    pub fn run(mut self, rx: Receiver<ToWorker>) {
        while let Ok(msg) = rx.recv() {
            match msg {
                ToWorker::Batch(mut b) => {
                    for p in b.iter() {
                        self.engine.process(p.link, p.ts, p.data, p.wire_len);
                    }
                    b.clear();
                    let _ = self.free.try_send(b);
                    self.after_work(false);
                }
                ToWorker::Advance(now) => {
                    self.engine.advance(now);
                    self.after_work(false);
                }
                ToWorker::Snapshot(reply) => {
                    let _ = reply.send(self.snapshot());
                }
                ToWorker::Finish => {
                    self.engine.finish_all();
                    self.after_work(true);
                    return;
                }
            }
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
        self.engine.take_new_flows(&mut self.new_flows);
        if !self.new_flows.is_empty() {
            self.enrich.new_flows(&self.new_flows);
            self.new_flows.clear();
        }
        self.engine.take_finished(&mut self.finished);
        let Some(records) = &self.records else {
            // Nobody reads them: no lookup, no filter, no send.
            self.finished.clear();
            return;
        };
        if self.finished.is_empty() && !last {
            return;
        }
        let mut out = std::mem::take(&mut self.finished);
        for c in &mut out {
            self.enrich.enrich(c);
        }
        out.retain(|c| self.view.shows(c));
        let _ = records.send(Records { now: self.engine.now(), conns: out, last, stats: self.engine.stats().clone() });
    }
}

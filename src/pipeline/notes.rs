//! `--pcapng-export FILE`: every packet, as `--pcap-export` writes it, with a
//! pcapng comment (opt_comment; Wireshark's `frame.comment`) saying what
//! rustnet knew of its connection: `process=curl pid=4242 dir=out app=TLS
//! sni=example.com`.
//!
//! Workers annotate each packet right after their engine has processed it
//! ([`Annotator::packet`]), so the application and server name are those
//! known at that packet. The process is a property of the whole flow but is
//! found asynchronously, after the flow's first packets: the writer holds
//! packets for [`HOLD`] (live) and names, on packets annotated before it was
//! known, the process found meanwhile — so a connection is named from its
//! first SYN on. Held packets are also written in timestamp order (flows
//! run on several workers). Bounded: [`MAX_HELD`] packets and
//! [`MAX_HELD_BYTES`] held, [`QUEUE`] queued (live, a full queue drops the
//! packet from the export and counts it; from a file the worker waits).
//! Off, this costs the packet path one `None` check per packet.

use super::Enrich;
use crate::capture::Packet;
use crate::capture::export::{Writer, io_reason};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use rustnet_core::dpi::AppInfo;
use rustnet_core::filter::Filter;
use rustnet_core::track::Connection;
use rustnet_core::{Engine, Timestamp};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Packets queued from the workers to the writer.
const QUEUE: usize = 16_384;
/// Live: how long a packet waits for its flow's process to be found.
pub const HOLD: Duration = Duration::from_secs(1);
/// At most this many packets held (also the reordering window from a file).
pub const MAX_HELD: usize = 65_536;
/// At most this many bytes held.
pub const MAX_HELD_BYTES: usize = 64 << 20;
/// Flows whose process the writer remembers; past this it forgets them all.
const MAX_FLOWS: usize = 65_536;

/// What is known of a packet's connection when its worker processed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Note {
    pub process: Option<(String, u32)>,
    /// Sent by the connection's local end.
    pub outbound: bool,
    pub app: Option<&'static str>,
    /// ("sni", name) for TLS and QUIC, ("host", Host header) for HTTP.
    pub name: Option<(&'static str, String)>,
}

impl Note {
    fn of(c: &Connection, outbound: bool) -> Note {
        let name = match &c.app {
            Some(AppInfo::Tls(t)) => t.sni.clone().map(|s| ("sni", s)),
            Some(AppInfo::Quic(q)) => q.sni.clone().map(|s| ("sni", s)),
            Some(AppInfo::Http(h)) => h.host.clone().map(|s| ("host", s)),
            _ => None,
        };
        Note {
            process: c.process.as_ref().map(|p| (p.name.clone(), p.pid)),
            outbound,
            app: c.app.as_ref().map(AppInfo::protocol),
            name,
        }
    }

    /// The comment text: `process=NAME pid=N dir=out|in app=P sni=S|host=H`,
    /// each part only when known.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(64);
        if let Some((name, pid)) = &self.process {
            s.push_str(&format!("process={name} pid={pid} "));
        }
        s.push_str(if self.outbound { "dir=out" } else { "dir=in" });
        if let Some(app) = self.app {
            s.push_str(&format!(" app={app}"));
        }
        if let Some((key, v)) = &self.name {
            s.push_str(&format!(" {key}={v}"));
        }
        s
    }
}

/// One packet on its way to the file.
struct Noted {
    ts: Timestamp,
    /// Worker and its packet count: a stable order for equal timestamps.
    order: (u64, u64),
    link: rustnet_core::wire::LinkType,
    wire_len: u32,
    data: Vec<u8>,
    /// The connection's id, 0 when none.
    flow: u64,
    note: Option<Note>,
    /// `--export-filter`: whether the connection matched at this packet.
    verdict: Option<bool>,
    /// A flow's first packet carries its connection, for the writer to
    /// find the process later.
    conn: Option<Box<Connection>>,
}

impl PartialEq for Noted {
    fn eq(&self, o: &Self) -> bool {
        (self.ts, self.order) == (o.ts, o.order)
    }
}
impl Eq for Noted {}
impl PartialOrd for Noted {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Noted {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.ts, self.order).cmp(&(o.ts, o.order))
    }
}

/// A worker's end of the export.
#[derive(Clone, Debug)]
pub struct Annotator {
    tx: Sender<Noted>,
    /// `--export-filter`.
    filter: Option<Arc<Filter>>,
    blocking: bool,
    dropped: Arc<AtomicU64>,
    worker: u64,
    seq: u64,
}

impl std::fmt::Debug for Noted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Noted").field("ts", &self.ts).field("flow", &self.flow).finish_non_exhaustive()
    }
}

impl Annotator {
    /// This annotator for worker `i`.
    pub fn for_worker(&self, i: usize) -> Annotator {
        Annotator { worker: i as u64, seq: 0, ..self.clone() }
    }

    /// Queues `p`, which `engine` has just processed, with its note.
    pub fn packet(&mut self, engine: &mut Engine, enrich: &dyn Enrich, p: &Packet<'_>) {
        let (flow, note, conn, verdict) = match engine.connection_of(p.link, p.data) {
            Some((c, outbound)) => {
                let first = c.tx_packets + c.rx_packets <= 1 && c.process.is_none();
                let verdict = self.filter.as_ref().map(|f| {
                    // The filter may name the process: as far as it is known yet.
                    enrich.enrich(c);
                    f.matches(c)
                });
                (c.id, Some(Note::of(c, outbound)), first.then(|| Box::new(c.clone())), verdict)
            }
            None => (0, None, None, self.filter.as_ref().map(|_| false)),
        };
        self.seq += 1;
        let n = Noted {
            ts: p.ts,
            order: (self.worker, self.seq),
            link: p.link,
            wire_len: p.wire_len,
            data: p.data.to_vec(),
            flow,
            note,
            verdict,
            conn,
        };
        let sent = if self.blocking {
            self.tx.send(n).is_ok()
        } else {
            !matches!(self.tx.try_send(n), Err(TrySendError::Full(_)))
        };
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the export did, at the end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NotesStats {
    pub written: u64,
    pub dropped: u64,
    /// Packets received but not written after an error.
    pub lost: u64,
    /// Packets left out by `--export-filter`.
    pub filtered_out: u64,
    pub error: Option<String>,
}

/// The running export: [`finish`](Self::finish) once every annotator is gone.
pub struct NotesExport {
    writer: JoinHandle<NotesStats>,
    dropped: Arc<AtomicU64>,
}

impl NotesExport {
    /// Creates `path` (errors here, before capture starts) and starts the
    /// writer; returns the annotator for the pipeline. `live`: hold packets
    /// for the process lookups, and drop rather than wait when full.
    pub fn create(
        path: &Path,
        iface: Option<&str>,
        live: bool,
        enrich: Arc<dyn Enrich>,
        filter: Option<Filter>,
    ) -> std::io::Result<(NotesExport, Annotator)> {
        let filter = filter.map(Arc::new);
        let writer_filter = filter.clone();
        let w = Writer::create(path, iface)?;
        let (tx, rx) = bounded(QUEUE);
        let dropped = Arc::new(AtomicU64::default());
        let writer = std::thread::Builder::new().name("pcapng-export".into()).spawn(move || {
            let mut h = Held {
                w,
                live,
                enrich,
                filter: writer_filter,
                heap: BinaryHeap::new(),
                bytes: 0,
                flows: HashMap::new(),
                stats: NotesStats::default(),
            };
            h.run(&rx);
            h.stats
        })?;
        let a = Annotator { tx, filter, blocking: !live, dropped: dropped.clone(), worker: 0, seq: 0 };
        Ok((NotesExport { writer, dropped }, a))
    }

    /// Waits for the writer (every annotator must be dropped) and returns
    /// its counts.
    pub fn finish(self) -> NotesStats {
        let mut st = self
            .writer
            .join()
            .unwrap_or_else(|_| NotesStats { error: Some("the export writer panicked".into()), ..Default::default() });
        st.dropped = self.dropped.load(Ordering::Relaxed);
        st
    }
}

/// A flow's connection as first seen, and its process once found.
struct Flow {
    conn: Box<Connection>,
    process: Option<(String, u32)>,
    /// `--export-filter` matched one of its packets: all of them go out.
    matched: bool,
}

struct Held {
    w: Writer,
    live: bool,
    enrich: Arc<dyn Enrich>,
    filter: Option<Arc<Filter>>,
    heap: BinaryHeap<Reverse<Noted>>,
    bytes: usize,
    flows: HashMap<u64, Flow>,
    stats: NotesStats,
}

impl Held {
    fn run(&mut self, rx: &Receiver<Noted>) {
        if let Err(e) = self.w.write_out() {
            self.fail(&e);
        }
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(n) => self.take(n),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while let Ok(n) = rx.try_recv() {
                self.take(n);
                if self.heap.len() >= MAX_HELD {
                    break;
                }
            }
            self.release(false);
        }
        self.release(true);
    }

    fn take(&mut self, n: Noted) {
        if let Some(c) = &n.conn
            && n.flow != 0
        {
            if self.flows.len() >= MAX_FLOWS {
                self.flows.clear();
            }
            self.flows.entry(n.flow).or_insert_with(|| Flow { conn: c.clone(), process: None, matched: false });
        }
        if n.verdict == Some(true)
            && let Some(f) = self.flows.get_mut(&n.flow)
        {
            f.matched = true;
        }
        if let (Some(f), Some(p)) = (self.flows.get_mut(&n.flow), n.note.as_ref().and_then(|n| n.process.as_ref())) {
            f.process.get_or_insert_with(|| p.clone());
        }
        self.bytes += n.data.len();
        self.heap.push(Reverse(n));
    }

    /// Writes the packets that are due (all of them at the end).
    fn release(&mut self, all: bool) {
        let due =
            rustnet_core::Timestamp::from_nanos(super::wall_clock().as_nanos().saturating_sub(HOLD.as_nanos() as u64));
        let mut wrote = false;
        while let Some(Reverse(top)) = self.heap.peek() {
            let over = self.heap.len() > MAX_HELD || self.bytes > MAX_HELD_BYTES;
            if !(all || over || (self.live && top.ts <= due) || (!self.live && self.heap.len() > MAX_HELD / 2)) {
                break;
            }
            let Some(Reverse(n)) = self.heap.pop() else { break };
            self.bytes -= n.data.len();
            self.write(n);
            wrote = true;
        }
        if wrote && self.stats.error.is_none() {
            if let Err(e) = self.w.write_out() {
                self.fail(&e);
            }
            self.stats.written = self.w.written();
        }
    }

    fn write(&mut self, mut n: Noted) {
        if self.stats.error.is_some() {
            self.stats.lost += 1;
            return;
        }
        if let Some(note) = &mut n.note
            && note.process.is_none()
        {
            note.process = self.process_of(n.flow);
        }
        if self.filter.is_some() && !self.keep(&n) {
            self.stats.filtered_out += 1;
            return;
        }
        let p = Packet { ts: n.ts, data: &n.data, wire_len: n.wire_len, link: n.link };
        if let Err(e) = self.w.buffer(&p, n.note.map(|n| n.text())) {
            self.fail(&e);
        }
    }

    /// The flow's process, asking the lookups again while it is unknown (live).
    fn process_of(&mut self, flow: u64) -> Option<(String, u32)> {
        let f = self.flows.get_mut(&flow)?;
        if f.process.is_none() && self.live {
            self.enrich.enrich(&mut f.conn);
            f.process = f.conn.process.as_ref().map(|p| (p.name.clone(), p.pid));
        }
        f.process.clone()
    }

    /// `--export-filter`: a packet goes out when its connection matched at
    /// this or any earlier-released packet of the flow (while held), or
    /// matches now that its process may be known.
    fn keep(&self, n: &Noted) -> bool {
        if n.verdict == Some(true) {
            return true;
        }
        let (Some(f), Some(filter)) = (self.flows.get(&n.flow), &self.filter) else { return false };
        f.matched || (f.conn.process.is_some() && filter.matches(&f.conn))
    }

    fn fail(&mut self, e: &std::io::Error) {
        let msg = io_reason(e);
        log::warn!("pcapng export: {msg}");
        self.stats.error = Some(msg);
    }
}

/// Prints what went wrong with the export, if anything; returns the exit
/// code it calls for: 1 when the export failed, else 0.
pub fn report(st: &NotesStats) -> i32 {
    log::info!("pcapng export: {st:?}");
    if st.dropped > 0 {
        eprintln!("rustnet: warning: pcapng export dropped {} packets (the writer fell behind)", st.dropped);
    }
    if st.filtered_out > 0 {
        log::info!("pcapng export: {} packets left out by --export-filter", st.filtered_out);
    }
    if let Some(err) = &st.error {
        eprintln!("rustnet: pcapng export: {err} ({} packets not written)", st.lost);
        return 1;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_as_documented() {
        let n = Note {
            process: Some(("curl".into(), 42)),
            outbound: true,
            app: Some("TLS"),
            name: Some(("sni", "example.com".into())),
        };
        assert_eq!(n.text(), "process=curl pid=42 dir=out app=TLS sni=example.com");
        assert_eq!(Note::default().text(), "dir=in");
    }
}

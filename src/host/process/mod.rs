//! Which local process owns a connection.
//!
//! Event-driven: the pipeline calls [`ProcessResolver::request`] for each new
//! flow (a `try_send`, never blocking the packet path); one lookup thread asks
//! the kernel for the flow's socket (sock_diag, or /proc/net as a fallback),
//! maps its inode to a process through /proc/<pid>/fd, and publishes the
//! answer in a shared cache that [`ProcessResolver::lookup`] reads. Misses are
//! retried a few times (a server socket gets its inode only at accept()), and
//! a periodic full dump attributes flows whose request was dropped or missed.
//!
//! A short-lived client (curl, dig) holds its socket for a millisecond or
//! much less, less than the capture ring's block timeout: by the time the
//! pipeline asks, the socket is gone. So [`hints`] watches outgoing SYNs and
//! UDP datagrams on sockets of its own, one per CPU, and asks at once, on
//! the client's CPU and ahead of it ([`ProcessResolver::hint`]); the
//! pipeline's later request then finds the answer already cached.

mod cache;
pub mod hints;
pub mod owner;
mod pidfs;
mod priority;
mod proc_net;
pub mod procfs;
mod quick;
pub mod sock_diag;
#[cfg(test)]
mod tests;

use cache::{ResultCache, SockKey};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use proc_net::ProcNet;
use procfs::ProcIndex;
use quick::QuickLookup;
use rustnet_core::NewFlow;
use rustnet_core::track::{Endpoint, ProcessInfo, Proto};
use sock_diag::{SockDiag, SockEntry, SockRef};
use std::collections::{HashSet, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Asks waiting for the lookup thread; beyond this they are dropped (counted).
const QUEUE: usize = 8192;
/// Delays between attempts for a flow whose socket or owner is not found yet.
const RETRIES: [Duration; 6] = [
    Duration::from_millis(1),
    Duration::from_millis(5),
    Duration::from_millis(20),
    Duration::from_millis(100),
    Duration::from_millis(400),
    Duration::from_millis(1500),
];
/// Full socket dump for flows missed at creation.
const RECONCILE_EVERY: Duration = Duration::from_millis(1500);
/// Answers stay this long after their socket was last seen or looked up.
const KEEP: Duration = Duration::from_secs(120);
const CACHE_CAP: usize = 200_000;
const LATENCY_SAMPLES: usize = 100_000;

/// Counters of the resolver.
#[derive(Clone, Debug, Default)]
pub struct ResolverStats {
    /// "sock_diag", "proc_net" or "none" (no socket table readable).
    pub backend: &'static str,
    pub requests: u64,
    /// Requests answered with a process.
    pub hits: u64,
    /// Requests given up (socket gone, or no visible process holds it).
    pub misses: u64,
    /// Requests dropped because the queue was full.
    pub dropped: u64,
    /// Sockets attributed by the periodic dump rather than by a request.
    pub reconciled: u64,
    pub full_scans: u64,
    pub new_pid_scans: u64,
    /// Flows announced by the hint socket (first outgoing SYN/datagram).
    pub hints: u64,
    /// Flow's first packet → answer available, for hits (most recent samples).
    pub latencies: Vec<Duration>,
    /// Flow's first packet → the pipeline's request, for the same hits.
    pub request_lags: Vec<Duration>,
}

impl ResolverStats {
    /// The `q` quantile (0.0–1.0) of the latency samples.
    pub fn latency_quantile(&self, q: f64) -> Option<Duration> {
        quantile(&self.latencies, q)
    }

    /// The `q` quantile of the request lag samples.
    pub fn request_lag_quantile(&self, q: f64) -> Option<Duration> {
        quantile(&self.request_lags, q)
    }
}

fn quantile(v: &[Duration], q: f64) -> Option<Duration> {
    let mut v = v.to_vec();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let i = ((v.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    v.get(i).copied()
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    dropped: AtomicU64,
    reconciled: AtomicU64,
    full_scans: AtomicU64,
    new_pid_scans: AtomicU64,
    hints: AtomicU64,
}

struct Shared {
    cache: ResultCache,
    counters: Counters,
    /// (first packet → answer, first packet → request) of hits.
    latencies: Mutex<VecDeque<(Duration, Duration)>>,
    backend: &'static str,
    /// Asks sent and not yet taken by the lookup thread.
    queued: AtomicUsize,
}

/// Process attribution for flows; cheap to clone.
#[derive(Clone)]
pub struct ProcessResolver {
    shared: Arc<Shared>,
    tx: Sender<Vec<Ask>>,
    /// The hint threads' own lookup (only they take this lock).
    quick: Arc<Mutex<QuickLookup>>,
}

/// A flow to attribute, as queued for the lookup thread.
struct Ask {
    key: SockKey,
    /// When the flow's first packet was seen (answers from before belong to
    /// an earlier socket with the same addresses).
    seen: Instant,
    /// The pipeline's request time; None for a hint, which counts neither
    /// as a hit nor as a miss.
    asked: Option<Instant>,
}

impl ProcessResolver {
    /// Opens the socket tables in the calling thread's network namespace
    /// (call it from the thread that opened the capture) and spawns the
    /// lookup thread. Without any socket table it still starts and answers
    /// nothing.
    pub fn start() -> ProcessResolver {
        let (sockets, backend) = match SockDiag::open() {
            Ok(d) => (Sockets::Diag(d), "sock_diag"),
            Err(e) => {
                log::warn!("sock_diag unavailable ({e}); reading /proc/net instead");
                match ProcNet::open() {
                    Ok(p) => (Sockets::ProcNet(p), "proc_net"),
                    Err(e) => {
                        log::warn!("no socket table readable ({e}); no process names");
                        (Sockets::None, "none")
                    }
                }
            }
        };
        let shared = Arc::new(Shared {
            cache: ResultCache::new(CACHE_CAP),
            counters: Counters::default(),
            latencies: Mutex::new(VecDeque::new()),
            backend,
            queued: AtomicUsize::new(0),
        });
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let mut worker = Worker {
            sockets,
            index: ProcIndex::new(),
            shared: shared.clone(),
            pending: Vec::new(),
            unowned: HashSet::new(),
            next_reconcile: Instant::now(),
        };
        let spawned = std::thread::Builder::new().name("rustnet-procs".into()).spawn(move || {
            crate::sys::sandbox::helper_thread("processes");
            run(&mut worker, &rx)
        });
        if let Err(e) = spawned {
            log::error!("cannot start the process lookup thread: {e}");
        }
        ProcessResolver { shared, tx, quick: Arc::new(Mutex::new(QuickLookup::open())) }
    }

    /// Asks for the process of a new flow. Never blocks: when the queue is
    /// full the request is dropped and counted (the periodic dump may still
    /// attribute the flow).
    pub fn request(&self, flow: &NewFlow) {
        self.request_all(std::slice::from_ref(flow));
    }

    /// [`ProcessResolver::request`] for a batch of new flows, sent as one
    /// message: waking the lookup thread is a syscall (several µs here), so
    /// the packet path pays it at most once per batch.
    pub fn request_all(&self, flows: &[NewFlow]) {
        let now = Instant::now();
        let wall = SystemTime::now();
        let asks: Vec<Ask> = flows
            .iter()
            .filter(|f| f.proto.has_ports())
            .map(|f| Ask {
                key: SockKey::new(f.proto, f.local, f.remote),
                seen: packet_instant(f.ts.as_nanos(), now, wall),
                asked: Some(now),
            })
            .collect();
        if asks.is_empty() {
            return;
        }
        self.shared.counters.requests.fetch_add(asks.len() as u64, Ordering::Relaxed);
        self.send(asks);
    }

    /// A flow's first outgoing packet, just sent: looks its socket up now,
    /// in the calling thread, among the newest processes, before the
    /// pipeline asks; a miss goes on to the lookup thread for retries. Call
    /// it from a hint thread only, never from the packet path.
    pub fn hint(&self, proto: Proto, local: Endpoint, remote: Endpoint) {
        self.shared.counters.hints.fetch_add(1, Ordering::Relaxed);
        let key = SockKey::new(proto, local, remote);
        let seen = Instant::now();
        let found = match self.quick.lock() {
            Ok(mut q) => q.find(&key),
            Err(_) => None, // a panic in an earlier hint: the lookup thread still works
        };
        match found {
            Some((inode, info)) => self.shared.cache.insert_all(vec![(key, inode, info)]),
            None => self.send(vec![Ask { key, seen, asked: None }]),
        }
    }

    /// Queues `asks` unless [`QUEUE`] asks are already waiting (then they
    /// are dropped and counted).
    fn send(&self, asks: Vec<Ask>) {
        let c = &self.shared.counters;
        let n = asks.len();
        if self.shared.queued.fetch_add(n, Ordering::Relaxed) + n > QUEUE {
            self.shared.queued.fetch_sub(n, Ordering::Relaxed);
            c.dropped.fetch_add(n as u64, Ordering::Relaxed);
            return;
        }
        if self.tx.try_send(asks).is_err() {
            self.shared.queued.fetch_sub(n, Ordering::Relaxed);
            c.dropped.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// The process owning the socket `local`↔`remote`, if known. Only reads
    /// the shared cache.
    pub fn lookup(&self, proto: Proto, local: Endpoint, remote: Endpoint) -> Option<ProcessInfo> {
        self.shared.cache.get(proto, local, remote)
    }

    pub fn stats(&self) -> ResolverStats {
        let c = &self.shared.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (latencies, request_lags) =
            self.shared.latencies.lock().map(|v| v.iter().copied().unzip()).unwrap_or_default();
        ResolverStats {
            backend: self.shared.backend,
            requests: l(&c.requests),
            hits: l(&c.hits),
            misses: l(&c.misses),
            dropped: l(&c.dropped),
            reconciled: l(&c.reconciled),
            full_scans: l(&c.full_scans),
            new_pid_scans: l(&c.new_pid_scans),
            hints: l(&c.hints),
            latencies,
            request_lags,
        }
    }
}

enum Sockets {
    Diag(SockDiag),
    ProcNet(ProcNet),
    None,
}

impl Sockets {
    fn find(&mut self, k: &SockKey) -> io::Result<Option<SockRef>> {
        match self {
            Sockets::Diag(d) => d.find(k.proto, k.local, k.remote),
            Sockets::ProcNet(p) => p.find(k.proto, k.local, k.remote),
            Sockets::None => Ok(None),
        }
    }

    fn dump(&mut self, out: &mut Vec<SockEntry>) -> io::Result<()> {
        for proto in [Proto::Tcp, Proto::Udp] {
            match self {
                Sockets::Diag(d) => d.dump(proto, out)?,
                Sockets::ProcNet(p) => p.dump(proto, out)?,
                Sockets::None => {}
            }
        }
        Ok(())
    }
}

/// The monotonic instant of a packet's wall-clock time (ns since the epoch),
/// for comparing with cache times; `now` for times that make no sense here.
fn packet_instant(ts_nanos: u64, now: Instant, wall: SystemTime) -> Instant {
    let wall = wall.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    match wall.checked_sub(Duration::from_nanos(ts_nanos)) {
        Some(age) if age < Duration::from_secs(60) => now.checked_sub(age).unwrap_or(now),
        _ => now,
    }
}

struct Pending {
    key: SockKey,
    seen: Instant,
    asked: Option<Instant>,
    tries: usize,
    due: Instant,
}

struct Worker {
    sockets: Sockets,
    index: ProcIndex,
    shared: Arc<Shared>,
    pending: Vec<Pending>,
    /// Socket inodes no visible process held at the last full scan (other
    /// pid namespaces, kernel sockets): no rescan for them alone.
    unowned: HashSet<u64>,
    next_reconcile: Instant,
}

/// The lookup thread: waits for requests or the next due retry.
fn run(w: &mut Worker, rx: &Receiver<Vec<Ask>>) {
    loop {
        let next = w.pending.iter().map(|p| p.due).min().unwrap_or(w.next_reconcile).min(w.next_reconcile);
        let first = match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if let Some(m) = first {
            w.take(m);
        }
        // Take what else is queued, so one /proc scan serves a burst.
        while w.pending.len() < 1024 {
            match rx.try_recv() {
                Ok(m) => w.take(m),
                Err(_) => break,
            }
        }
        w.attempt();
        if Instant::now() >= w.next_reconcile {
            w.reconcile();
            w.next_reconcile = Instant::now() + RECONCILE_EVERY;
        }
    }
}

impl Worker {
    fn take(&mut self, asks: Vec<Ask>) {
        self.shared.queued.fetch_sub(asks.len(), Ordering::Relaxed);
        for a in asks {
            self.accept(a);
        }
    }

    fn accept(&mut self, ask: Ask) {
        let Ask { key, seen, asked } = ask;
        if let Some(at) = self.shared.cache.resolved_since(&key, seen) {
            // A hint or the dump got there first.
            if let Some(asked) = asked {
                self.record_hit(seen, asked, at);
            }
            return;
        }
        if let Some(p) = self.pending.iter_mut().find(|p| p.key == key) {
            // Already being looked up (hinted): the request joins it.
            if asked.is_some() {
                p.asked = asked;
            }
            return;
        }
        // An older answer for the same 5-tuple belongs to a previous socket.
        self.shared.cache.remove(&key);
        self.pending.push(Pending { key, seen, asked, tries: 0, due: Instant::now() });
    }

    fn record_hit(&self, seen: Instant, asked: Instant, answered: Instant) {
        self.shared.counters.hits.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut l) = self.shared.latencies.lock() {
            if l.len() >= LATENCY_SAMPLES {
                l.pop_front();
            }
            l.push_back((answered.saturating_duration_since(seen), asked.saturating_duration_since(seen)));
        }
    }

    /// Looks up the due flows.
    fn attempt(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<Pending>, Vec<Pending>) = self.pending.drain(..).partition(|p| p.due <= now);
        self.pending = later;
        if due.is_empty() {
            return;
        }
        let mut found = Vec::new();
        let mut retry = Vec::new();
        let mut answered_early = Vec::new();
        for p in due {
            if let Some(at) = self.shared.cache.resolved_since(&p.key, p.seen) {
                // A hint thread answered it meanwhile.
                answered_early.push((p, at));
                continue;
            }
            match self.sockets.find(&p.key) {
                Ok(Some(s)) if s.inode != 0 => found.push((p, s.inode)),
                Ok(_) => retry.push(p),
                Err(e) => {
                    log::debug!("socket lookup failed: {e}");
                    retry.push(p);
                }
            }
        }
        for (p, at) in answered_early {
            if let Some(asked) = p.asked {
                self.record_hit(p.seen, asked, at);
            }
        }
        let inodes: Vec<u64> = found.iter().map(|(_, i)| *i).collect();
        self.index.refresh_for(&inodes);
        self.sync_scan_stats();
        let mut answers = Vec::new();
        let mut hits = Vec::new();
        for (p, inode) in found {
            match self.index.owner(inode).and_then(|id| self.index.info(id)) {
                Some(info) => {
                    answers.push((p.key, inode, info));
                    hits.push(p);
                }
                None => retry.push(p),
            }
        }
        // Counted before they are published: whoever reads an answer also
        // finds it in the stats (a test read them in between, on a loaded CI).
        let answered = Instant::now();
        for p in hits {
            if let Some(asked) = p.asked {
                self.record_hit(p.seen, asked, answered);
            }
        }
        self.shared.cache.insert_all(answers);
        for mut p in retry {
            match RETRIES.get(p.tries) {
                Some(d) => {
                    p.tries += 1;
                    p.due = Instant::now() + *d;
                    self.pending.push(p);
                }
                None if p.asked.is_some() => {
                    self.shared.counters.misses.fetch_add(1, Ordering::Relaxed);
                }
                None => {}
            }
        }
    }

    /// Attributes every open socket not yet in the cache, and keeps the
    /// answers of open sockets alive.
    fn reconcile(&mut self) {
        let mut all = Vec::new();
        if let Err(e) = self.sockets.dump(&mut all) {
            log::debug!("socket dump failed: {e}");
        }
        // Sockets without a file, and TCP listeners (flows have their own sockets).
        all.retain(|e| e.sock.inode != 0);
        let keyed: Vec<(SockKey, u64)> = all
            .iter()
            .map(|e| (SockKey::new(e.proto, e.local, e.remote), e.sock.inode))
            .filter(|(k, _)| !(k.proto == Proto::Tcp && k.is_wildcard()))
            .collect();
        self.shared.cache.touch(keyed.iter().map(|(k, _)| k));
        let new: Vec<(SockKey, u64)> =
            keyed.into_iter().filter(|(k, i)| self.shared.cache.inode_of(k) != Some(*i)).collect();
        let needs_scan = new.iter().any(|(_, i)| self.index.owner(*i).is_none() && !self.unowned.contains(i));
        if needs_scan {
            self.index.full_rescan();
            self.sync_scan_stats();
            self.unowned.clear();
        }
        let mut answers = Vec::new();
        for (key, inode) in new {
            match self.index.owner(inode) {
                Some(id) => {
                    if let Some(info) = self.index.info(id) {
                        answers.push((key, inode, info));
                    }
                }
                None => {
                    self.unowned.insert(inode);
                }
            }
        }
        let n = answers.len() as u64;
        self.shared.counters.reconciled.fetch_add(n, Ordering::Relaxed);
        self.shared.cache.insert_all(answers);
        self.shared.cache.expire(KEEP);
    }

    fn sync_scan_stats(&self) {
        let s = self.index.stats;
        let c = &self.shared.counters;
        c.full_scans.store(s.full_scans, Ordering::Relaxed);
        c.new_pid_scans.store(s.new_pid_scans, Ordering::Relaxed);
    }
}

//! The once-per-refresh pass over all connections, for the Activity and
//! Graph tabs and the header: per-process rates and totals, connections by
//! state and application, rate totals.
//!
//! Per-process totals count each byte once: the open connections' current
//! counters (recomputed each pass) plus the final counters of those that
//! ended (added once, when their record arrives, and kept after the
//! history lets them go). A connection whose record arrived is skipped in
//! the snapshot (a snapshot taken just before it ended may still list it).

use crate::snapshot::{Brief, name_key};
use rustc_hash::FxHashMap;
use rustnet_core::Timestamp;
use rustnet_core::track::{Connection, ProcessInfo, State};
use std::net::IpAddr;

/// Most process rows kept. Beyond it, rows with nothing open and the
/// oldest activity are dropped (counted in [`Aggregate::dropped`]).
pub const PROCESS_CAP: usize = 4096;
/// Peers remembered per process: the busiest, found with a bounded list
/// (exact while a process talks to at most this many addresses).
const PEERS: usize = 8;
/// Ended connections queued between passes, at most.
const PENDING_CAP: usize = 10_000;
/// Recent rates kept per process for its pulse bar.
pub const PULSE: usize = 10;
/// Recent rates kept per connection for its overview sparkline (refreshes).
pub const SPARK: usize = 16;
/// Earlier connections looked at past the expected one, to step over those
/// that left since the last pass (the snapshot keeps the tables' order).
const LOOKAHEAD: usize = 8;

/// What the pass learned of one snapshot connection, carried to the next
/// pass while the connection stays: its row (so most connections find it
/// without a hash lookup) and its recent rates (its sparkline). A fixed
/// size: bounded memory per connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct Track {
    pub id: u64,
    /// Its row in [`Aggregate::rows`] (`u32::MAX`: skipped, or none yet).
    pub row: u32,
    pid: u32,
    /// [`name_key`] of its process name, [`NO_PROCESS`](crate::snapshot::NO_PROCESS) without one
    /// (0: a long name, looked up each pass).
    key: u128,
    /// Recent total rates as [`spark_level`]s, by pass number modulo [`SPARK`].
    spark: [u8; SPARK],
}

impl Track {
    /// Its process name packed (equal tags: equal names; [`NO_PROCESS`](crate::snapshot::NO_PROCESS):
    /// none), when the last pass read it: not for a skipped connection nor a
    /// name too long to pack.
    pub fn name_tag(&self) -> Option<u128> {
        (self.row != u32::MAX && self.key != 0).then_some(self.key)
    }
}

/// Hot per-row counters of the pass, in a dense vector (a process row is
/// large; these are what each connection adds to).
#[derive(Clone, Copy, Debug, Default)]
struct Hot {
    open: Counts,
    tx_rate: f64,
    rx_rate: f64,
    active: bool,
}

/// Bytes, connections and retransmissions of one process (or all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    pub conns: u64,
    pub retrans: u64,
}

impl Counts {
    fn add(&mut self, c: &Connection) {
        self.tx_bytes += c.tx_bytes;
        self.rx_bytes += c.rx_bytes;
        self.conns += 1;
        self.retrans += c.retransmits();
    }

    fn add_brief(&mut self, b: &Brief) {
        self.tx_bytes += b.tx_bytes;
        self.rx_bytes += b.rx_bytes;
        self.conns += 1;
        self.retrans += b.retrans;
    }

    fn sub(&mut self, c: &Connection) {
        self.tx_bytes = self.tx_bytes.saturating_sub(c.tx_bytes);
        self.rx_bytes = self.rx_bytes.saturating_sub(c.rx_bytes);
        self.conns = self.conns.saturating_sub(1);
        self.retrans = self.retrans.saturating_sub(c.retransmits());
    }

    fn plus(self, o: Counts) -> Counts {
        Counts {
            tx_bytes: self.tx_bytes + o.tx_bytes,
            rx_bytes: self.rx_bytes + o.rx_bytes,
            conns: self.conns + o.conns,
            retrans: self.retrans + o.retrans,
        }
    }
}

/// A remote address a process talked to, and the bytes both ways.
#[derive(Clone, Debug)]
pub struct Peer {
    pub addr: IpAddr,
    pub bytes: u64,
    /// Its name (host name or SNI) when known.
    pub name: Option<String>,
}

/// Bytes exchanged with one address, and how to name it: `T` is the name
/// for ended connections, the index of a connection to it in the snapshot
/// for open ones (named when drawn, so the pass copies no strings).
#[derive(Clone, Debug)]
struct Tally<T> {
    addr: IpAddr,
    bytes: u64,
    name: T,
}

/// One process (or the row of connections without one).
#[derive(Clone, Debug)]
pub struct ProcRow {
    /// None: the connections no process was found for.
    pub pid: Option<u32>,
    pub name: String,
    pub user: Option<String>,
    pub container: Option<String>,
    /// Of its connections that ended.
    pub closed: Counts,
    /// Of its connections open in the last pass.
    pub open: Counts,
    pub tx_rate: f64,
    pub rx_rate: f64,
    /// The last [`PULSE`] refreshes' rates (both ways), oldest first.
    pub pulse: [f32; PULSE],
    closed_peers: Vec<Tally<Option<String>>>,
    /// Packet time it last had something open.
    last_active: Timestamp,
    /// Next row with the same pid (pid reused by another program).
    next: Option<u32>,
}

impl ProcRow {
    fn new(p: Option<&ProcessInfo>) -> Self {
        ProcRow {
            pid: p.map(|p| p.pid),
            name: p.map_or_else(String::new, |p| p.name.clone()),
            user: p.and_then(|p| p.user.clone()),
            container: p.and_then(container_name),
            closed: Counts::default(),
            open: Counts::default(),
            tx_rate: 0.0,
            rx_rate: 0.0,
            pulse: [0.0; PULSE],
            closed_peers: Vec::new(),
            last_active: Timestamp::default(),
            next: None,
        }
    }

    /// Since start: open connections' counters plus those that ended.
    pub fn total(&self) -> Counts {
        self.open.plus(self.closed)
    }
}

/// The whole table in one pass: rates, states, applications, TCP totals.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub tx_rate: f64,
    pub rx_rate: f64,
    /// Open connections per state (`State::ALL` order).
    pub states: Vec<u32>,
    /// (protocol, open connections, bytes both ways) per application protocol.
    pub apps: Vec<(&'static str, u32, u64)>,
    /// Retransmitted and out-of-order segments of the open connections.
    pub retrans: u64,
    pub ooo: u64,
    pub open: usize,
}

/// Per-process activity kept across refreshes, and the last pass's summary.
#[derive(Default)]
pub struct Aggregate {
    rows: Vec<ProcRow>,
    /// pid → (first row with it, its name packed by [`name_key`]).
    by_pid: FxHashMap<u32, (u32, u128)>,
    /// Each snapshot connection in the last pass (its row, `u32::MAX`:
    /// skipped; its sparkline): the busiest peers of the rows drawn, and
    /// the overview's groups, are found from it.
    tracks: Vec<Track>,
    /// The previous pass's `tracks`, reused (no allocation per pass).
    spare: Vec<Track>,
    /// Total rate (both ways) of each snapshot connection in the last pass,
    /// for the overview's sort by rate.
    rates: Vec<f64>,
    hot: Vec<Hot>,
    /// Passes with a new snapshot so far (the sparklines' position).
    ticks: u64,
    /// Highest connection id in the last pass.
    max_id: u64,
    /// Row of the connections without a process.
    unknown: Option<u32>,
    /// Ended connections arrived since the last pass: (earlier copy of the
    /// same connection already counted, the final copy).
    pending: Vec<(Option<Connection>, Connection)>,
    /// Where each queued connection is in `pending`, by id.
    pending_ids: FxHashMap<u64, usize>,
    /// All ended connections' counters (every process).
    pub closed: Counts,
    pub summary: Summary,
    /// Process rows dropped to stay within [`PROCESS_CAP`].
    pub dropped: u64,
}

impl Aggregate {
    /// Queues an ended connection's final counters; `earlier` is the copy
    /// already counted when the same connection ended before (replaced).
    pub fn ended(&mut self, earlier: Option<&Connection>, last: &Connection) {
        if self.pending.len() >= PENDING_CAP {
            // No pass for long (the display is paused): fold them in now to
            // stay bounded (until the next pass they may also count as open).
            self.fold_pending();
        }
        // The same connection twice before a pass: the later copy replaces.
        if let Some(&i) = self.pending_ids.get(&last.id) {
            self.pending[i].1 = last.clone();
            return;
        }
        self.pending_ids.insert(last.id, self.pending.len());
        self.pending.push((earlier.cloned(), last.clone()));
    }

    /// The `n` busiest peers of each of `rows` (indices into [`Aggregate::rows`]),
    /// open and ended connections together: one look at the pass's
    /// row-per-connection list, then only those rows' connections.
    pub fn top_peers(&self, rows: &[u32], conns: &[Connection], n: usize) -> Vec<Vec<Peer>> {
        let mut out: Vec<Vec<Peer>> = rows
            .iter()
            .map(|&r| {
                let closed = self.rows.get(r as usize).map_or(&[][..], |row| &row.closed_peers[..]);
                closed.iter().map(|p| Peer { addr: p.addr, bytes: p.bytes, name: p.name.clone() }).collect()
            })
            .collect();
        let wanted: FxHashMap<u32, usize> = rows.iter().enumerate().map(|(k, &r)| (r, k)).collect();
        for (c, t) in conns.iter().zip(&self.tracks) {
            let Some(&k) = wanted.get(&t.row) else { continue };
            let bytes = c.tx_bytes + c.rx_bytes;
            match out[k].iter_mut().find(|q| q.addr == c.remote.addr) {
                Some(q) => {
                    q.bytes += bytes;
                    if q.name.is_none() {
                        q.name = peer_name(c);
                    }
                }
                None => out[k].push(Peer { addr: c.remote.addr, bytes, name: peer_name(c) }),
            }
        }
        for peers in &mut out {
            peers.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.addr.cmp(&b.addr)));
            peers.truncate(n);
        }
        out
    }

    /// Ended connections wait to be folded in by the next pass.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn rows(&self) -> &[ProcRow] {
        &self.rows
    }

    /// The pass: folds in the ended connections queued, then walks the open
    /// ones once (`skip` says which are already counted as ended). `tick`:
    /// a new refresh, so each row's pulse moves on.
    /// `briefs`: one per connection, rates as of `now` (made here when not).
    pub fn update(
        &mut self,
        conns: &[Connection],
        briefs: &[Brief],
        now: Timestamp,
        skip: &dyn Fn(u64) -> bool,
        tick: bool,
    ) {
        self.fold_pending();
        let made: Vec<Brief>;
        let briefs = if briefs.len() == conns.len() {
            briefs
        } else {
            made = Brief::all(conns, now);
            &made
        };
        self.pass(conns, briefs, now, skip, tick);
        self.prune();
    }

    /// Adds the ended connections queued to their rows' totals.
    fn fold_pending(&mut self) {
        self.pending_ids.clear();
        for (earlier, last) in std::mem::take(&mut self.pending) {
            if let Some(e) = &earlier {
                let r = self.row_of(e.process.as_deref());
                let row = &mut self.rows[r];
                row.closed.sub(e);
                if let Some(p) = row.closed_peers.iter_mut().find(|p| p.addr == e.remote.addr) {
                    p.bytes = p.bytes.saturating_sub(e.tx_bytes + e.rx_bytes);
                }
                self.closed.sub(e);
            }
            let r = self.row_of(last.process.as_deref());
            let row = &mut self.rows[r];
            row.closed.add(&last);
            row.last_active = row.last_active.max(last.last_seen);
            let bytes = last.tx_bytes + last.rx_bytes;
            let name = peer_name(&last);
            add_peer(&mut row.closed_peers, last.remote.addr, bytes, name);
            self.closed.add(&last);
        }
    }

    /// The walk over the open connections: each is read once, in order;
    /// its row comes from the last pass when it was there (no hash lookup).
    fn pass(&mut self, conns: &[Connection], briefs: &[Brief], now: Timestamp, skip: &dyn Fn(u64) -> bool, tick: bool) {
        self.hot.clear();
        self.hot.resize(self.rows.len(), Hot::default());
        let prev = std::mem::take(&mut self.tracks);
        let mut next = std::mem::take(&mut self.spare);
        next.clear();
        next.reserve(conns.len());
        self.rates.clear();
        self.rates.reserve(conns.len());
        if tick {
            self.ticks += 1;
        }
        let slot = (self.ticks % SPARK as u64) as usize;
        let mut step = InStep { prev: &prev, at: 0, max_id: self.max_id, by_id: None };
        let mut max_id = 0;
        let mut s = Summary { states: vec![0; State::ALL.len()], ..Default::default() };
        for (b, c) in briefs.iter().zip(conns) {
            let (tx, rx) = (b.tx_rate, b.rx_rate);
            self.rates.push(tx + rx);
            max_id = max_id.max(b.id);
            let before = step.find(b.id);
            let mut t = before.copied().unwrap_or(Track { id: b.id, row: u32::MAX, ..Track::default() });
            if tick {
                t.spark[slot] = spark_level(tx + rx);
            }
            if skip(b.id) {
                t.row = u32::MAX;
                next.push(t);
                continue;
            }
            s.tx_rate += tx;
            s.rx_rate += rx;
            s.open += 1;
            s.states[b.state as usize] += 1;
            s.retrans += b.retrans;
            s.ooo += b.ooo;
            let bytes = b.tx_bytes + b.rx_bytes;
            if let Some(p) = b.app {
                match s.apps.iter_mut().find(|e| e.0 == p) {
                    Some(e) => (e.1, e.2) = (e.1 + 1, e.2 + bytes),
                    None => s.apps.push((p, 1, bytes)),
                }
            }
            // The same process as last pass: its row, unless the row went.
            // Otherwise (rare) the connection itself is read.
            let (pid, key) = (b.pid, b.key);
            let r = if t.row != u32::MAX && key != 0 && (t.pid, t.key) == (pid, key) {
                t.row as usize
            } else {
                self.row_of(c.process.as_deref())
            };
            (t.row, t.pid, t.key) = (r as u32, pid, key);
            next.push(t);
            if self.hot.len() <= r {
                self.hot.resize(r + 1, Hot::default());
            }
            let h = &mut self.hot[r];
            h.open.add_brief(b);
            h.tx_rate += tx;
            h.rx_rate += rx;
            h.active = true;
        }
        drop(step);
        self.max_id = max_id;
        self.spare = prev;
        self.tracks = next;
        for (row, h) in self.rows.iter_mut().zip(&self.hot) {
            (row.open, row.tx_rate, row.rx_rate) = (h.open, h.tx_rate, h.rx_rate);
            if h.active {
                row.last_active = now;
            }
            if tick {
                row.pulse.rotate_left(1);
                row.pulse[PULSE - 1] = (h.tx_rate + h.rx_rate) as f32;
            }
        }
        self.summary = s;
    }

    /// What the last pass kept of snapshot connection `i` (the current
    /// snapshot's once a pass ran on it).
    pub fn track(&self, i: usize) -> Option<&Track> {
        self.tracks.get(i)
    }

    /// Total rates of the snapshot's connections from the last pass (empty
    /// before one).
    pub fn rates(&self) -> &[f64] {
        &self.rates
    }

    /// Connection `t`'s recent rates, oldest first, the last `n` (≤ [`SPARK`]).
    pub fn spark(&self, t: &Track, n: usize) -> impl Iterator<Item = f64> + Clone + use<> {
        let spark = t.spark;
        let n = n.min(SPARK) as u64;
        let last = self.ticks;
        (0..n).map(move |k| spark_value(spark[((last + SPARK as u64 - (n - 1 - k)) % SPARK as u64) as usize]))
    }

    /// The row of process `p`, made on first sight; fills in the owner and
    /// container when they are learned later.
    fn row_of(&mut self, p: Option<&ProcessInfo>) -> usize {
        let Some(p) = p else {
            if let Some(r) = self.unknown {
                return r as usize;
            }
            let r = self.push(ProcRow::new(None));
            self.unknown = Some(r);
            return r as usize;
        };
        let key = name_key(&p.name);
        let first = self.by_pid.get(&p.pid).copied();
        // The usual case: decided in the map's entry, no row read.
        if let Some((r, k)) = first
            && k != 0
            && k == key
        {
            return r as usize;
        }
        let mut at = first.map(|f| f.0);
        let mut last = None;
        while let Some(r) = at {
            let row = &mut self.rows[r as usize];
            if row.name == p.name {
                if row.user.is_none() && p.user.is_some() {
                    row.user = p.user.clone();
                }
                if row.container.is_none() && p.container.is_some() {
                    row.container = container_name(p);
                }
                return r as usize;
            }
            last = Some(r);
            at = row.next;
        }
        let r = self.push(ProcRow::new(Some(p)));
        match last {
            Some(l) => self.rows[l as usize].next = Some(r),
            None => {
                self.by_pid.insert(p.pid, (r, key));
            }
        }
        r as usize
    }

    fn push(&mut self, row: ProcRow) -> u32 {
        self.rows.push(row);
        // Bounded by PROCESS_CAP plus one pass's new rows: far below u32::MAX.
        (self.rows.len() - 1) as u32
    }

    /// Keeps the rows within [`PROCESS_CAP`]: those with nothing open, least
    /// recently active first, go (their bytes stay in [`Aggregate::closed`]).
    fn prune(&mut self) {
        if self.rows.len() <= PROCESS_CAP {
            return;
        }
        let mut idle: Vec<(Timestamp, usize)> =
            self.rows.iter().enumerate().filter(|(_, r)| r.open.conns == 0).map(|(i, r)| (r.last_active, i)).collect();
        if idle.is_empty() {
            // Every row has something open: nothing may go.
            return;
        }
        idle.sort_unstable();
        let excess = self.rows.len() - PROCESS_CAP * 3 / 4;
        let mut gone = vec![false; self.rows.len()];
        for &(_, i) in idle.iter().take(excess) {
            gone[i] = true;
        }
        // Old row → new row (`u32::MAX`: gone), for the connections' tracks.
        let mut moved = vec![u32::MAX; self.rows.len()];
        let mut n = 0;
        for (i, g) in gone.iter().enumerate() {
            if !g {
                moved[i] = n;
                n += 1;
            }
        }
        for t in &mut self.tracks {
            if let Some(&m) = moved.get(t.row as usize) {
                t.row = m;
            }
        }
        let mut k = 0;
        self.rows.retain(|_| {
            k += 1;
            !gone[k - 1]
        });
        self.dropped += idle.len().min(excess) as u64;
        self.by_pid.clear();
        self.unknown = None;
        for i in 0..self.rows.len() {
            self.rows[i].next = None;
            match self.rows[i].pid {
                None => self.unknown = Some(i as u32),
                Some(pid) => {
                    let i = i as u32;
                    match self.by_pid.get(&pid).map(|f| f.0) {
                        None => {
                            self.by_pid.insert(pid, (i, name_key(&self.rows[i as usize].name)));
                        }
                        Some(mut r) => {
                            while let Some(n) = self.rows[r as usize].next {
                                r = n;
                            }
                            self.rows[r as usize].next = Some(i);
                        }
                    }
                }
            }
        }
    }
}

/// Finds connections of the last pass in the next: the snapshot lists the
/// workers' tables in the same order each time (connections added or gone
/// in between), so most are found at the expected place or a few after.
/// One not found there is new when its id is above the last pass's (ids
/// only grow); otherwise the order changed or many left at once, and a map
/// by id is built (once per pass at most).
struct InStep<'a> {
    prev: &'a [Track],
    at: usize,
    max_id: u64,
    by_id: Option<FxHashMap<u64, u32>>,
}

impl<'a> InStep<'a> {
    fn find(&mut self, id: u64) -> Option<&'a Track> {
        let prev = self.prev;
        let end = (self.at + LOOKAHEAD).min(prev.len());
        if let Some(k) = prev.get(self.at..end).and_then(|w| w.iter().position(|t| t.id == id)) {
            self.at += k + 1;
            return prev.get(self.at - 1);
        }
        if id > self.max_id {
            return None;
        }
        let by_id = self.by_id.get_or_insert_with(|| prev.iter().enumerate().map(|(k, t)| (t.id, k as u32)).collect());
        let k = *by_id.get(&id)? as usize;
        self.at = k + 1;
        prev.get(k)
    }
}

/// A rate (bytes/s) on a log scale, 4 steps per doubling (0: none).
/// Integer bit tricks, not `log2`: it runs for every connection.
fn spark_level(rate: f64) -> u8 {
    let r = rate as u64;
    if r == 0 {
        return 0;
    }
    let e = 63 - r.leading_zeros();
    let frac = if e >= 2 { (r >> (e - 2)) & 3 } else { (r << (2 - e)) & 3 };
    (1 + 4 * u64::from(e) + frac).min(255) as u8
}

/// The rate a [`spark_level`] stands for (its step's lower bound).
fn spark_value(level: u8) -> f64 {
    if level == 0 {
        return 0.0;
    }
    let l = u32::from(level) - 1;
    (4.0 + f64::from(l & 3)) / 4.0 * 2f64.powi((l / 4) as i32)
}

/// Adds `bytes` to `addr`'s entry, or makes one: while there is room, or in
/// place of the smallest when this one is bigger (the busiest stay).
fn add_peer<T>(peers: &mut Vec<Tally<T>>, addr: IpAddr, bytes: u64, name: T) {
    if let Some(p) = peers.iter_mut().find(|p| p.addr == addr) {
        p.bytes += bytes;
    } else if peers.len() < PEERS {
        peers.push(Tally { addr, bytes, name });
    } else if let Some(min) = peers.iter_mut().min_by_key(|p| p.bytes)
        && min.bytes < bytes
    {
        *min = Tally { addr, bytes, name };
    }
}

/// The remote's name as the overview shows it (host name, else SNI / Host).
fn peer_name(c: &Connection) -> Option<String> {
    c.hostname.clone()
}

fn container_name(p: &ProcessInfo) -> Option<String> {
    let c = p.container.as_ref()?;
    Some(c.name.clone().unwrap_or_else(|| c.id.chars().take(12).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::fixture::{T_END, rich_connection};
    use rustnet_core::track::{Endpoint, RateMeter};

    fn conn(id: u64, pid: Option<u32>, name: &str, tx: u64, rx: u64, peer: [u8; 4]) -> Connection {
        let mut c = rich_connection(id, T_END);
        c.process = pid.map(|pid| Box::new(ProcessInfo { pid, name: name.into(), ..Default::default() }));
        (c.tx_bytes, c.rx_bytes) = (tx, rx);
        c.remote = Endpoint::new(peer.into(), 443);
        c.hostname = Some(format!("host-{}", peer[3]));
        c.tcp = None;
        c
    }

    fn row<'a>(a: &'a Aggregate, name: &str) -> &'a ProcRow {
        a.rows().iter().find(|r| r.name == name).expect("a row for the process")
    }

    const NONE: &dyn Fn(u64) -> bool = &|_| false;

    #[test]
    fn totals_keep_ended_connections_and_count_each_byte_once() {
        let mut a = Aggregate::default();
        let open =
            vec![conn(1, Some(10), "curl", 100, 1000, [10, 0, 0, 1]), conn(2, Some(10), "curl", 5, 50, [10, 0, 0, 2])];
        a.update(&open, &[], T_END, NONE, true);
        assert_eq!(row(&a, "curl").total(), Counts { tx_bytes: 105, rx_bytes: 1050, conns: 2, retrans: 0 });
        // Connection 2 ends with more bytes than the snapshot saw; the next
        // snapshot was taken before it ended and still lists its older copy.
        let last = conn(2, Some(10), "curl", 7, 70, [10, 0, 0, 2]);
        a.ended(None, &last);
        a.update(&open, &[], T_END, &|id| id == 2, false);
        let r = row(&a, "curl");
        assert_eq!(r.total(), Counts { tx_bytes: 107, rx_bytes: 1070, conns: 2, retrans: 0 }, "open 1 + final 2");
        assert_eq!((r.open.conns, r.closed.conns), (1, 1));
        // Both end; the table is empty: the totals stay.
        let one = conn(1, Some(10), "curl", 300, 3000, [10, 0, 0, 1]);
        a.ended(None, &one);
        a.update(&[], &[], T_END, NONE, true);
        let r = row(&a, "curl");
        assert_eq!(r.total(), Counts { tx_bytes: 307, rx_bytes: 3070, conns: 2, retrans: 0 });
        assert_eq!((r.tx_rate, r.rx_rate, r.open.conns), (0.0, 0.0, 0));
        // Twice before a pass: counted once, the later copy.
        let three = conn(3, Some(10), "curl", 1, 1, [10, 0, 0, 2]);
        a.ended(None, &three);
        a.ended(None, &conn(3, Some(10), "curl", 2, 2, [10, 0, 0, 2]));
        a.update(&[], &[], T_END, NONE, false);
        assert_eq!(row(&a, "curl").total(), Counts { tx_bytes: 309, rx_bytes: 3072, conns: 3, retrans: 0 });
        // A later copy of connection 1 replaces the earlier one, not adds to it.
        let again = conn(1, Some(10), "curl", 310, 3100, [10, 0, 0, 1]);
        a.ended(Some(&one), &again);
        a.update(&[], &[], T_END, NONE, false);
        assert_eq!(row(&a, "curl").total(), Counts { tx_bytes: 319, rx_bytes: 3172, conns: 3, retrans: 0 });
        assert_eq!(a.closed.tx_bytes + a.closed.rx_bytes, 319 + 3172);
        // Peers: both addresses, the busiest first, named.
        let r = a.rows().iter().position(|r| r.name == "curl").expect("curl's row") as u32;
        let peers = a.top_peers(&[r], &[], 3).remove(0);
        let names: Vec<_> = peers.iter().map(|p| (p.name.as_deref(), p.bytes)).collect();
        assert_eq!(names, [(Some("host-1"), 3410), (Some("host-2"), 81)]);
    }

    #[test]
    fn per_process_totals_are_the_sums_of_their_connections() {
        let mut conns = Vec::new();
        for i in 0..60u64 {
            let (pid, name) = match i % 3 {
                0 => (Some(1), "firefox"),
                1 => (Some(2), "ssh"),
                _ => (None, ""),
            };
            conns.push(conn(i, pid, name, i * 10, i * 100, [10, 0, 0, (i % 5) as u8]));
        }
        // The same pid reused by another program is another row.
        conns.push(conn(99, Some(1), "bash", 1, 2, [10, 0, 0, 9]));
        let mut a = Aggregate::default();
        a.update(&conns, &[], T_END, NONE, true);
        for r in a.rows() {
            let mine: Vec<&Connection> = conns
                .iter()
                .filter(|c| {
                    c.process.as_ref().map(|p| (p.pid, p.name.as_str())) == r.pid.map(|pid| (pid, r.name.as_str()))
                })
                .collect();
            let want = (mine.iter().map(|c| c.tx_bytes).sum::<u64>(), mine.iter().map(|c| c.rx_bytes).sum::<u64>());
            assert_eq!((r.total().tx_bytes, r.total().rx_bytes), want, "{:?} {}", r.pid, r.name);
            assert_eq!(r.open.conns, mine.len() as u64);
        }
        assert_eq!(a.rows().len(), 4, "firefox, ssh, bash and no process");
        assert_eq!(a.summary.open, conns.len());
        let rate: f64 = conns.iter().map(|c| c.rates(T_END).1).sum();
        assert!((a.summary.rx_rate - rate).abs() < 1e-6);
        assert_eq!(a.summary.apps, [("TLS", 61, conns.iter().map(|c| c.tx_bytes + c.rx_bytes).sum())]);
    }

    #[test]
    fn process_rows_are_bounded() {
        let mut a = Aggregate::default();
        for i in 0..(PROCESS_CAP as u64 + 10) {
            a.ended(None, &conn(i, Some(i as u32 + 1), "short", 1, 1, [10, 0, 0, 1]));
        }
        a.update(&[], &[], T_END, NONE, true);
        assert!(a.rows().len() <= PROCESS_CAP, "{}", a.rows().len());
        assert!(a.dropped > 0);
        assert_eq!(a.closed.conns, PROCESS_CAP as u64 + 10, "the totals keep every byte");
        // Lookups still find the rows kept.
        let kept = a.rows().len();
        let pid = a.rows().last().and_then(|r| r.pid).expect("a process row");
        a.update(&[conn(1, Some(pid), "short", 1, 1, [10, 0, 0, 1])], &[], T_END, NONE, true);
        assert_eq!(a.rows().len(), kept);
    }

    /// A connection moving `bytes` in the rate window at `T_END`: `bytes / 2` per second.
    fn moving(id: u64, pid: u32, name: &str, bytes: u32) -> Connection {
        let mut c = conn(id, Some(pid), name, 1, 1, [10, 0, 0, (id % 200) as u8]);
        c.rate = RateMeter::default();
        if bytes > 0 {
            c.rate.add(T_END, true, bytes);
        }
        c
    }

    fn spark_of(a: &Aggregate, conns: &[Connection], id: u64, n: usize) -> Vec<f64> {
        let i = conns.iter().position(|c| c.id == id).expect("listed");
        let t = a.track(i).expect("a track per connection");
        assert_eq!(t.id, id);
        a.spark(t, n).collect()
    }

    #[test]
    fn levels_are_within_a_quarter_step() {
        let mut last = 0;
        for x in (1..2_000_000u64).step_by(997).chain([1u64 << 40, u64::MAX >> 1]) {
            let l = spark_level(x as f64);
            assert!(l >= last, "monotonic at {x}");
            last = l;
            let v = spark_value(l);
            assert!(v <= x as f64 && x as f64 <= v * 1.25 + 1.0, "{x} -> {l} -> {v}");
        }
        assert_eq!((spark_level(0.0), spark_value(0)), (0, 0.0));
    }

    #[test]
    fn sparkline_follows_its_connection_and_keeps_the_last_refreshes() {
        let mut a = Aggregate::default();
        let mut conns = Vec::new();
        for k in 1..=21u64 {
            // Connections come and go around it (new ones in front, a block of
            // 100 gone at refresh 10, the order reversed at 15).
            conns = (0..k % 4).map(|j| moving(1000 + 10 * k + j, 7, "other", 40)).collect();
            if k < 10 {
                conns.extend((0..100).map(|j| moving(5000 + j, 8, "gone", 10)));
            }
            conns.push(moving(1, 10, "curl", 2000 * k as u32));
            conns.push(moving(2, 11, "ssh", 0));
            if k >= 15 {
                conns.reverse();
            }
            a.update(&conns, &[], T_END, NONE, true);
        }
        let got = spark_of(&a, &conns, 1, SPARK);
        assert_eq!(got.len(), SPARK, "bounded: the last {SPARK} refreshes");
        for (v, k) in got.iter().zip(21 - SPARK as u64 + 1..=21) {
            let want = 1000.0 * k as f64;
            assert!(*v <= want && want <= v * 1.25, "refresh {k}: {v} for {want} ({got:?})");
        }
        assert_eq!(spark_of(&a, &conns, 1, 3), got[SPARK - 3..], "the last few");
        assert!(spark_of(&a, &conns, 2, SPARK).iter().all(|&v| v == 0.0), "idle: blank");
        // A connection new in this refresh has only this refresh.
        let newest = conns.iter().find(|c| c.id >= 1000).map(|c| c.id).expect("one");
        let s = spark_of(&a, &conns, newest, SPARK);
        assert!(s[..SPARK - 1].iter().all(|&v| v == 0.0) && s[SPARK - 1] > 0.0, "{s:?}");
        // Rows still right after the reorders: the sums of their connections.
        assert_eq!(row(&a, "curl").open.conns, 1);
        assert_eq!(row(&a, "gone").open.conns, 0);
        assert_eq!(row(&a, "other").open.conns, conns.iter().filter(|c| c.id >= 1000).count() as u64);
    }

    #[test]
    fn a_connection_whose_process_changes_moves_row() {
        let mut a = Aggregate::default();
        a.update(&[moving(1, 10, "bash", 100)], &[], T_END, NONE, true);
        assert_eq!(row(&a, "bash").open.conns, 1);
        // exec: same pid, new name; then another pid.
        a.update(&[moving(1, 10, "curl", 100)], &[], T_END, NONE, true);
        assert_eq!((row(&a, "bash").open.conns, row(&a, "curl").open.conns), (0, 1));
        a.update(&[moving(1, 12, "curl", 100)], &[], T_END, NONE, true);
        let curls: Vec<_> = a.rows().iter().filter(|r| r.name == "curl").map(|r| (r.pid, r.open.conns)).collect();
        assert_eq!(curls, [(Some(10), 0), (Some(12), 1)]);
        let mut none = moving(1, 12, "curl", 100);
        none.process = None;
        a.update(&[none], &[], T_END, NONE, true);
        let unknown = a.rows().iter().find(|r| r.pid.is_none()).expect("the row without a process");
        assert_eq!(unknown.open.conns, 1);
    }
}

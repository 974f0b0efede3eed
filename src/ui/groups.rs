//! `a` in the overview: rows grouped by process. A group row (process name,
//! pid, connections, summed rates and bytes) stands before its connections,
//! which show while the group is expanded (Enter or →, ← collapses).
//! Groups come in the order of their first connection in the sorted table,
//! so the sort key orders them too (by rate: the busiest connection's
//! process first).

use super::aggregate::Aggregate;
use rustc_hash::{FxHashMap, FxHashSet};
use rustnet_core::Timestamp;
use rustnet_core::track::Connection;

/// Marks a group row in `App::rows` (the rest is its index in `groups`);
/// connection indices stay far below it.
pub const GROUP: usize = 1 << (usize::BITS - 1);

/// What identifies a process's group: pid and name (None: no process known).
pub type GroupKey = Option<(u32, String)>;

/// One process's row of the grouped overview.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub key: GroupKey,
    /// Connections shown in it (those the filter keeps).
    pub conns: usize,
    pub tx_rate: f64,
    pub rx_rate: f64,
    pub bytes: u64,
    pub expanded: bool,
}

impl Group {
    /// "curl (4101)", or what the connections without a process show.
    pub fn label(&self) -> String {
        match &self.key {
            Some((pid, name)) => format!("{name} ({pid})"),
            None => "(no process)".to_string(),
        }
    }
}

/// A view row's index into `groups`, when it is a group row.
pub fn group_of(row: usize) -> Option<usize> {
    (row & GROUP != 0).then_some(row & !GROUP)
}

/// The grouped rows from the sorted `order` ((id, index) pairs), with an
/// id per row (`u64::MAX - g` for group `g`'s row) to keep the selection.
/// `agg`, when its last pass ran on this snapshot, gives each connection's
/// process row, so a connection is looked up without hashing its name; the
/// sums are then taken in index order, not the sorted order's scattered
/// reads (100 000 connections of 50 000 processes: 53 ms → see README).
pub fn build<'a>(
    order: &[(u64, u32)],
    at: &dyn Fn(usize) -> Option<&'a Connection>,
    agg: Option<&'a Aggregate>,
    expanded: &FxHashSet<GroupKey>,
    now: Timestamp,
) -> (Vec<Group>, Vec<usize>, Vec<u64>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: FxHashMap<Option<(u32, &'a str)>, u32> = FxHashMap::default();
    let end = order.iter().map(|e| e.1 as usize + 1).max().unwrap_or(0);
    // Each connection's process row, copied in index order into a compact
    // array the sorted walk then reads (not the tracks, 48 bytes each).
    let row_at: Vec<u32> = match agg {
        Some(a) => (0..end).map(|i| a.track(i).map_or(u32::MAX, |t| t.row)).collect(),
        None => Vec::new(),
    };
    let rows_n = agg.map_or(0, |a| a.rows().len());
    let mut by_row = vec![u32::MAX; rows_n];
    // Connections counted per process row (dense, in about index order) or,
    // without one, per group; the groups get their sums at the end.
    let mut row_sums = vec![Sums::default(); rows_n];
    let mut group_at = vec![u32::MAX; end];
    let key_of_row = |r: u32| {
        let p = agg.and_then(|a| a.rows().get(r as usize))?;
        Some(p.pid.map(|pid| (pid, p.name.as_str())))
    };
    // Groups made from process rows are not hashed by name until a
    // connection without a row (an ended one) needs to find its group, and
    // get their keys later, the rows read in row order (see `name_groups`).
    let mut row_groups: Vec<(u32, u32)> = Vec::new();
    // In the sorted order: which group each connection is in, groups
    // numbered as they first appear.
    for &(_, i) in order {
        let i = i as usize;
        let r = row_at.get(i).copied().unwrap_or(u32::MAX);
        let g = match by_row.get(r as usize) {
            Some(&g) if g != u32::MAX => g,
            Some(_) => {
                let g = if by_key.is_empty() {
                    // Named later: its row is in `rows`, as `by_row` has it.
                    let g = push_group(&mut groups, None, expanded);
                    row_groups.push((r, g));
                    g
                } else {
                    let Some(k) = key_of_row(r) else { continue };
                    // An ended connection of this process may have made it.
                    *by_key.entry(k).or_insert_with(|| push_group(&mut groups, k, expanded))
                };
                if let Some(slot) = by_row.get_mut(r as usize) {
                    *slot = g;
                }
                g
            }
            None => {
                let Some(c) = at(i) else { continue };
                if let Some(a) = agg {
                    name_groups(&mut groups, &mut row_groups, a, expanded, Some(&mut by_key));
                }
                let k = c.process.as_deref().map(|p| (p.pid, p.name.as_str()));
                match by_key.get(&k) {
                    Some(&g) => g,
                    None => {
                        let g = push_group(&mut groups, k, expanded);
                        by_key.insert(k, g);
                        g
                    }
                }
            }
        };
        if let Some(slot) = group_at.get_mut(i) {
            *slot = g;
        }
    }
    if let Some(a) = agg {
        name_groups(&mut groups, &mut row_groups, a, expanded, None);
    }
    // Every connection of the snapshot, in groups: each process row's sums
    // are the pass's, and only connections without a row are read.
    let whole = agg.is_some_and(|a| order.len() == a.rates().len() && end <= order.len());
    if whole && let Some(a) = agg {
        for (s, p) in row_sums.iter_mut().zip(a.rows()) {
            let o = &p.open;
            *s = Sums {
                conns: o.conns as usize,
                tx_rate: p.tx_rate,
                rx_rate: p.rx_rate,
                bytes: o.tx_bytes + o.rx_bytes,
            };
        }
    }
    // The sums, reading the connections in index order.
    let mut group_sums = vec![Sums::default(); groups.len()];
    for (i, &g) in group_at.iter().enumerate() {
        let r = row_at.get(i).copied().unwrap_or(u32::MAX) as usize;
        if g == u32::MAX || (whole && r < row_sums.len()) {
            continue;
        }
        let Some(c) = at(i) else { continue };
        let sum = match row_sums.get_mut(r) {
            Some(s) => s,
            None => match group_sums.get_mut(g as usize) {
                Some(s) => s,
                None => continue,
            },
        };
        sum.add(c, now);
    }
    for (r, s) in row_sums.iter().enumerate() {
        if let Some(g) = by_row.get(r).and_then(|&g| group_sums.get_mut(g as usize)) {
            g.plus(s);
        }
    }
    for (g, s) in groups.iter_mut().zip(&group_sums) {
        (g.conns, g.tx_rate, g.rx_rate, g.bytes) = (s.conns, s.tx_rate, s.rx_rate, s.bytes);
    }
    let mut members: Vec<Vec<(u64, usize)>> = vec![Vec::new(); groups.len()];
    if groups.iter().any(|g| g.expanded) {
        for &(id, i) in order {
            let g = group_at.get(i as usize).copied().unwrap_or(u32::MAX) as usize;
            if let (Some(m), Some(true)) = (members.get_mut(g), groups.get(g).map(|g| g.expanded)) {
                m.push((id, i as usize));
            }
        }
    }
    let mut rows = Vec::with_capacity(groups.len());
    let mut ids = Vec::with_capacity(groups.len());
    for (g, m) in members.iter().enumerate() {
        rows.push(GROUP | g);
        ids.push(u64::MAX - g as u64);
        for &(id, i) in m {
            rows.push(i);
            ids.push(id);
        }
    }
    (groups, rows, ids)
}

/// Gives the groups made from process rows (`(row, group)`) their keys,
/// reading the rows in row order: in the sorted order each was a cache
/// miss (50 000 processes: half of the grouping's time by `perf`). With
/// `by_key`, also makes them findable by key there.
fn name_groups<'a>(
    groups: &mut [Group],
    pending: &mut Vec<(u32, u32)>,
    agg: &'a Aggregate,
    expanded: &FxHashSet<GroupKey>,
    mut by_key: Option<&mut FxHashMap<Option<(u32, &'a str)>, u32>>,
) {
    pending.sort_unstable();
    for (r, g) in pending.drain(..) {
        let (Some(p), Some(group)) = (agg.rows().get(r as usize), groups.get_mut(g as usize)) else { continue };
        let k = p.pid.map(|pid| (pid, p.name.as_str()));
        if let Some(m) = by_key.as_deref_mut() {
            m.insert(k, g);
        }
        group.key = k.map(|(pid, name)| (pid, name.to_string()));
        group.expanded = !expanded.is_empty() && expanded.contains(&group.key);
    }
}

/// Adds the group of process `k` (as yet with nothing counted).
fn push_group(groups: &mut Vec<Group>, k: Option<(u32, &str)>, expanded: &FxHashSet<GroupKey>) -> u32 {
    let key = k.map(|(pid, name)| (pid, name.to_string()));
    let expanded = !expanded.is_empty() && expanded.contains(&key);
    groups.push(Group { key, conns: 0, tx_rate: 0.0, rx_rate: 0.0, bytes: 0, expanded });
    groups.len() as u32 - 1
}

/// What a group adds up.
#[derive(Clone, Copy, Default)]
struct Sums {
    conns: usize,
    tx_rate: f64,
    rx_rate: f64,
    bytes: u64,
}

impl Sums {
    fn add(&mut self, c: &Connection, now: Timestamp) {
        let (tx, rx) = c.rates(now);
        self.conns += 1;
        self.tx_rate += tx;
        self.rx_rate += rx;
        self.bytes += c.tx_bytes + c.rx_bytes;
    }

    fn plus(&mut self, o: &Sums) {
        self.conns += o.conns;
        self.tx_rate += o.tx_rate;
        self.rx_rate += o.rx_rate;
        self.bytes += o.bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustnet_core::track::{Endpoint, ProcessInfo, Proto, State};

    fn conn(id: u64, process: Option<(u32, &str)>, bytes: u64) -> Connection {
        let at = Timestamp::from_secs_nanos(1_700_000_000, 0);
        let local = Endpoint::new([10, 0, 0, 1].into(), 40_000 + id as u16);
        let remote = Endpoint::new([10, 0, 0, 2].into(), 443);
        let mut c = Connection::new(id, Proto::Tcp, local, remote, at, State::Established);
        c.tx_bytes = bytes;
        c.process = process.map(|(pid, name)| Box::new(ProcessInfo { pid, name: name.into(), ..Default::default() }));
        c
    }

    /// An ended connection (no process row) sorted before its process's open
    /// ones, and one of a process only it has: one group per process either
    /// way, with or without the pass's rows.
    #[test]
    fn ended_and_open_connections_of_a_process_share_its_group() {
        let now = Timestamp::from_secs_nanos(1_700_000_001, 0);
        let snap = vec![conn(1, Some((7, "curl")), 10), conn(2, Some((7, "curl")), 20), conn(3, None, 5)];
        let hist = [conn(4, Some((7, "curl")), 100), conn(5, Some((8, "dig")), 1)];
        let at = |i: usize| snap.get(i).or_else(|| hist.get(i.checked_sub(snap.len())?));
        let mut agg = Aggregate::default();
        agg.update(&snap, &[], now, &|_| false, true);
        let order = [(4, 3), (1, 0), (5, 4), (3, 2), (2, 1)];
        for agg in [Some(&agg), None] {
            let (groups, rows, _) = build(&order, &at, agg, &FxHashSet::default(), now);
            let got: Vec<(String, usize, u64)> = groups.iter().map(|g| (g.label(), g.conns, g.bytes)).collect();
            let want = [("curl (7)", 3, 130), ("dig (8)", 1, 1), ("(no process)", 1, 5)];
            assert_eq!(got, want.map(|(l, n, b)| (l.to_string(), n, b)), "with the pass: {}", agg.is_some());
            assert_eq!(rows.len(), 3, "all collapsed");
        }
    }
}

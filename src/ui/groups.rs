//! `a` in the overview: rows grouped by process. A group row (process name,
//! pid, connections, summed rates and bytes) stands before its connections,
//! which show while the group is expanded (Enter or →, ← collapses).
//! Groups come in the order of their first connection in the sorted table,
//! so the sort key orders them too (by rate: the busiest connection's
//! process first).

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
pub fn build<'a>(
    order: &[(u64, u32)],
    at: &dyn Fn(usize) -> Option<&'a Connection>,
    expanded: &FxHashSet<GroupKey>,
    now: Timestamp,
) -> (Vec<Group>, Vec<usize>, Vec<u64>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut members: Vec<Vec<(u64, usize)>> = Vec::new();
    let mut by_key: FxHashMap<Option<(u32, &str)>, usize> = FxHashMap::default();
    for &(id, i) in order {
        let Some(c) = at(i as usize) else { continue };
        let k = c.process.as_deref().map(|p| (p.pid, p.name.as_str()));
        let g = *by_key.entry(k).or_insert_with(|| {
            let key = k.map(|(pid, name)| (pid, name.to_string()));
            let expanded = expanded.contains(&key);
            groups.push(Group { key, conns: 0, tx_rate: 0.0, rx_rate: 0.0, bytes: 0, expanded });
            members.push(Vec::new());
            groups.len() - 1
        });
        let (tx, rx) = c.rates(now);
        let grp = &mut groups[g];
        grp.conns += 1;
        grp.tx_rate += tx;
        grp.rx_rate += rx;
        grp.bytes += c.tx_bytes + c.rx_bytes;
        if grp.expanded {
            members[g].push((id, i as usize));
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

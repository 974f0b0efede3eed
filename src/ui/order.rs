//! The table's row order: the filter's walk (split over two threads for
//! large tables) and the sorts, which read the aggregation pass's rates,
//! ids and packed names where they can instead of the connections.

use super::aggregate::Aggregate;
use super::app::SortKey;
use rustnet_core::filter::Filter;
use rustnet_core::track::Connection;
use std::cmp::Ordering;

/// Looks a kept index up (see [`pool`]).
type At<'x, 'a> = &'x dyn Fn(usize) -> Option<&'a Connection>;

/// (id, index) of the kept connections in display order. One pass over the
/// connections computes each key once; the sort then touches only the
/// compact (key, id, index) entries, not the connections.
pub(super) fn sorted<'a>(
    at: At<'_, 'a>,
    keep: &[usize],
    key: SortKey,
    desc: bool,
    now: rustnet_core::Timestamp,
) -> Vec<(u64, u32)> {
    fn by<'a, K>(
        at: At<'_, 'a>,
        keep: &[usize],
        desc: bool,
        key: impl Fn(&'a Connection) -> K,
        cmp: impl Fn(&K, &K) -> Ordering,
    ) -> Vec<(u64, u32)> {
        let mut v: Vec<(K, u64, u32)> = keep.iter().filter_map(|&i| at(i).map(|c| (key(c), c.id, i as u32))).collect();
        // Ties keep id order so rows do not jump between refreshes.
        v.sort_unstable_by(|a, b| {
            let o = cmp(&a.0, &b.0);
            if desc { o.reverse() } else { o }.then(a.1.cmp(&b.1))
        });
        v.into_iter().map(|(_, id, i)| (id, i)).collect()
    }
    let num = |a: &f64, b: &f64| a.total_cmp(b);
    match key {
        SortKey::Rate => by(
            at,
            keep,
            desc,
            |c| {
                let (tx, rx) = c.rates(now);
                tx + rx
            },
            num,
        ),
        SortKey::Bytes => by(at, keep, desc, |c| c.tx_bytes.saturating_add(c.rx_bytes), u64::cmp),
        // Ascending age: youngest (latest first_seen) first.
        SortKey::Age => by(at, keep, desc, |c| std::cmp::Reverse(c.first_seen), Ord::cmp),
        SortKey::Process => by_process(at, keep, None, desc),
        SortKey::Remote => by(at, keep, desc, |c| (c.remote.addr, c.remote.port), Ord::cmp),
        SortKey::State => by(at, keep, desc, |c| c.state.name(), |a, b| a.cmp(b)),
        SortKey::Proto => by(at, keep, desc, |c| (c.proto, c.remote.addr, c.remote.port), Ord::cmp),
        // Connections without the number go after those with it, both ways.
        SortKey::Rtt => by(at, keep, desc, |c| (c.live_rtt().is_some() == desc, c.live_rtt()), Ord::cmp),
        SortKey::Retrans => by(at, keep, desc, |c| (c.tcp.is_some() == desc, c.retransmits()), Ord::cmp),
    }
}

/// Connections at least this many are filtered by two threads.
const SPLIT_FILTER: usize = 20_000;

/// [`Filter::select`] over `conns`, the second half on a scoped thread when
/// they are many and a filter is set: the walk waits on memory (a bare
/// word over 100 000 connections took 8 ms of a 17 ms refresh), and two
/// cores wait in parallel. Done inline if the thread cannot be made.
pub(super) fn select_split(f: &Filter, conns: &[Connection], keep: &mut Vec<usize>) {
    if f.is_empty() || conns.len() < SPLIT_FILTER {
        f.select(conns, keep);
        return;
    }
    let (head, tail) = conns.split_at(conns.len() / 2);
    let other = std::thread::scope(|s| {
        let h = std::thread::Builder::new().name("filter".into()).spawn_scoped(s, || {
            let mut k = Vec::with_capacity(tail.len());
            f.select(tail, &mut k);
            k
        });
        f.select(head, keep);
        h.ok().and_then(|h| h.join().ok())
    });
    let k = other.unwrap_or_else(|| {
        let mut k = Vec::new();
        f.select(tail, &mut k);
        k
    });
    keep.extend(k.into_iter().map(|i| i + head.len()));
}

/// Like [`sorted`] by rate, with the snapshot's connections' rates and ids
/// from the aggregation pass. Rates are never negative, so their bits sort
/// as the numbers do: one integer key, the rate as an f32 (rates within one
/// part in 16 million tie) above the id's low 32 bits (ties keep id order,
/// so rows do not jump between refreshes), radix sorted: 100 000 rows took
/// 4 ms with `sort_unstable` on (f64, id) and 2.5 ms with a radix sort of it.
pub(super) fn by_rate<'a>(
    at: At<'_, 'a>,
    keep: &[usize],
    agg: &Aggregate,
    desc: bool,
    now: rustnet_core::Timestamp,
) -> Vec<(u64, u32)> {
    let rates = agg.rates();
    let key = |r: f64, id: u64| {
        let r = (r as f32).to_bits();
        (u64::from(if desc { !r } else { r }) << 32) | (id & 0xffff_ffff)
    };
    let mut v: Vec<(u64, u64, u32)> = keep
        .iter()
        .filter_map(|&i| match (rates.get(i), agg.track(i)) {
            (Some(&r), Some(t)) => Some((key(r, t.id), t.id, i as u32)),
            _ => at(i).map(|c| {
                let (tx, rx) = c.rates(now);
                (key(tx + rx, c.id), c.id, i as u32)
            }),
        })
        .collect();
    radsort::sort_by_key(&mut v, |e| e.0);
    v.into_iter().map(|(_, id, i)| (id, i)).collect()
}

/// Like [`sorted`] by process name. Names are few beside connections (97
/// for the bench's 100 000), so each distinct name is ranked once and the
/// sort compares integers. The aggregation pass's packed names (`agg`, when
/// it ran on this snapshot) spare reading each connection's name: comparing
/// the names themselves, scattered on the heap, made a 100 000-row refresh
/// take 25.5 ms.
pub(super) fn by_process<'a>(at: At<'_, 'a>, keep: &[usize], agg: Option<&Aggregate>, desc: bool) -> Vec<(u64, u32)> {
    let name_of = |c: &'a Connection| c.process.as_ref().map_or("", |p| p.name.as_str());
    let mut by_tag: rustc_hash::FxHashMap<u128, u32> = rustc_hash::FxHashMap::default();
    let mut by_name: rustc_hash::FxHashMap<&'a str, u32> = rustc_hash::FxHashMap::default();
    let mut names: Vec<&'a str> = Vec::new();
    let mut intern = |name: &'a str| {
        *by_name.entry(name).or_insert_with(|| {
            names.push(name);
            names.len() as u32 - 1
        })
    };
    let mut v: Vec<(u32, u64, u32)> = Vec::with_capacity(keep.len());
    for &i in keep {
        let track = agg.and_then(|a| a.track(i)).and_then(|t| Some((t.id, t.name_tag()?)));
        let (id, slot) = match track {
            Some((id, tag)) => match by_tag.get(&tag) {
                Some(&s) => (id, s),
                None => {
                    let Some(c) = at(i) else { continue };
                    let s = intern(name_of(c));
                    by_tag.insert(tag, s);
                    (id, s)
                }
            },
            None => {
                let Some(c) = at(i) else { continue };
                (c.id, intern(name_of(c)))
            }
        };
        v.push((slot, id, i as u32));
    }
    // Rank of each distinct name; names equal but for case share one.
    let mut order: Vec<u32> = (0..names.len() as u32).collect();
    let name = |s: u32| names.get(s as usize).copied().unwrap_or_default();
    order.sort_unstable_by(|&a, &b| cmp_text(name(a), name(b)));
    let mut rank = vec![0u32; names.len()];
    let mut r = 0u32;
    for (k, &s) in order.iter().enumerate() {
        if k > 0 && cmp_text(name(order[k - 1]), name(s)) != Ordering::Equal {
            r += 1;
        }
        // In bounds: `order` holds each slot 0..names.len() once.
        rank[s as usize] = if desc { u32::MAX - r } else { r };
    }
    for e in &mut v {
        // In bounds: every slot pushed came from `intern`.
        e.0 = rank[e.0 as usize];
    }
    // Ties keep id order so rows do not jump between refreshes. A radix
    // sort: 100 000 rows took 4 ms with sort_unstable.
    radsort::sort_by_key(&mut v, |e| (e.0, e.1));
    v.into_iter().map(|(_, id, i)| (id, i)).collect()
}

/// Case-insensitive, empty last (a missing process sorts after named ones).
fn cmp_text(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.bytes().map(|c| c.to_ascii_lowercase())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::fixture::ranked;
    use rustnet_core::filter::Filter;

    #[test]
    fn a_split_filter_keeps_what_one_walk_keeps_in_order() {
        // Past the split size, with matches on both sides of the middle.
        let mut snap = ranked(SPLIT_FILTER + 1001, |i| i as u32, |i| i as u64);
        for (i, c) in snap.connections.iter_mut().enumerate() {
            c.remote.port = if i % 7 == 0 { 22 } else { 443 };
        }
        for text in ["port:22", "!port:22", "port:9", ""] {
            let f = Filter::parse(text).expect("a valid filter");
            let mut one = Vec::new();
            f.select(&snap.connections, &mut one);
            let mut two = Vec::new();
            select_split(&f, &snap.connections, &mut two);
            assert_eq!(two, one, "{text}");
        }
        let f = Filter::parse("port:22").expect("valid");
        let mut two = Vec::new();
        select_split(&f, &snap.connections, &mut two);
        assert_eq!(two.len(), (SPLIT_FILTER + 1001).div_ceil(7));
    }
}

//! `--metrics`: what the workers sum up for a scrape, with bounded keys
//! only (process names, protocol, state, application), never a connection.
//! Each worker keeps the totals of the connections that ended; a scrape
//! asks it for those plus its open ones (see [`super::metrics_hub`]). No
//! work on the packet path: summed when a connection ends and per scrape.

use rustnet_core::Stats;
use rustnet_core::track::Connection;
use std::collections::{BTreeMap, HashMap};

/// Distinct process names one tally keeps; the bytes of any further name
/// go to [`Tally::overflow`]. Bounds the memory of a worker whatever runs
/// on the host; the exposition bounds the label values further.
pub const MAX_NAMES: usize = 1024;

/// Packets and bytes one way and the other (local → remote = tx).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub tx_packets: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub rx_bytes: u64,
}

impl Traffic {
    pub fn add(&mut self, o: &Traffic) {
        self.tx_packets += o.tx_packets;
        self.rx_packets += o.rx_packets;
        self.tx_bytes += o.tx_bytes;
        self.rx_bytes += o.rx_bytes;
    }

    pub fn bytes(&self) -> u64 {
        self.tx_bytes + self.rx_bytes
    }

    fn of(c: &Connection) -> Traffic {
        Traffic { tx_packets: c.tx_packets, rx_packets: c.rx_packets, tx_bytes: c.tx_bytes, rx_bytes: c.rx_bytes }
    }
}

/// Sums over connections (and the engines' packet counters).
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Traffic by process name; "" = no process known.
    pub by_process: HashMap<String, Traffic>,
    /// Traffic of process names beyond [`MAX_NAMES`].
    pub overflow: Traffic,
    /// Connections open now, by (protocol, state, application protocol
    /// or "none").
    pub open: BTreeMap<(&'static str, &'static str, &'static str), u64>,
    /// Connections seen (ended or open), by (protocol, application).
    pub seen: BTreeMap<(&'static str, &'static str), u64>,
    /// TCP retransmitted segments, local → remote and remote → local.
    pub retransmits: [u64; 2],
    /// The engines' counters (packets and bytes analysed, malformed).
    pub stats: Stats,
}

/// The application protocol's name, as JSON `app.protocol`, or "none".
fn app_name(c: &Connection) -> &'static str {
    c.app.as_ref().map_or("none", |a| a.protocol())
}

impl Tally {
    /// Adds a connection: its traffic, retransmits and protocols; `open`
    /// when it is in the table now (counted in the gauges too).
    pub fn add(&mut self, c: &Connection, open: bool) {
        let name = c.process.as_ref().map_or("", |p| p.name.as_str());
        self.add_traffic(name, &Traffic::of(c));
        let (proto, app) = (c.proto.name(), app_name(c));
        *self.seen.entry((proto, app)).or_default() += 1;
        if open {
            *self.open.entry((proto, c.state.name(), app)).or_default() += 1;
        }
        if let Some(tcp) = &c.tcp {
            self.retransmits[0] += u64::from(tcp.tx.retransmits);
            self.retransmits[1] += u64::from(tcp.rx.retransmits);
        }
    }

    /// Adds traffic to a process name's, or to the overflow past the bound.
    fn add_traffic(&mut self, name: &str, t: &Traffic) {
        let full = self.by_process.len() >= MAX_NAMES;
        match self.by_process.get_mut(name) {
            Some(e) => e.add(t),
            None if !full => {
                self.by_process.insert(name.to_string(), *t);
            }
            None => self.overflow.add(t),
        }
    }

    /// Adds another tally (another worker's).
    pub fn merge(&mut self, o: &Tally) {
        for (name, t) in &o.by_process {
            self.add_traffic(name, t);
        }
        self.overflow.add(&o.overflow);
        for (k, n) in &o.open {
            *self.open.entry(*k).or_default() += n;
        }
        for (k, n) in &o.seen {
            *self.seen.entry(*k).or_default() += n;
        }
        self.retransmits[0] += o.retransmits[0];
        self.retransmits[1] += o.retransmits[1];
        super::add_stats(&mut self.stats, &o.stats);
    }

    /// All traffic, whatever the process.
    pub fn traffic(&self) -> Traffic {
        let mut t = self.overflow;
        for v in self.by_process.values() {
            t.add(v);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustnet_core::Timestamp;
    use rustnet_core::track::{Endpoint, ProcessInfo, Proto, State};

    fn conn(id: u64, name: Option<&str>, bytes: u64) -> Connection {
        let ep = |p| Endpoint::new(std::net::IpAddr::from([10, 0, 0, 1]), p);
        let mut c = Connection::new(id, Proto::Tcp, ep(5000), ep(80), Timestamp::ZERO, State::Established);
        c.tx_bytes = bytes;
        c.rx_bytes = 2 * bytes;
        c.tx_packets = 1;
        c.rx_packets = 2;
        c.process = name.map(|n| Box::new(ProcessInfo { pid: 1, name: n.into(), ..ProcessInfo::default() }));
        c
    }

    /// Every byte is counted once whatever the number of names: those
    /// beyond the bound go to the overflow, and a merge keeps the bound.
    #[test]
    fn names_are_bounded_and_no_byte_is_lost() {
        let mut a = Tally::default();
        for i in 0..(MAX_NAMES as u64 + 10) {
            a.add(&conn(i, Some(&format!("p{i}")), 10), false);
        }
        a.add(&conn(9_999, None, 5), true);
        assert_eq!(a.by_process.len(), MAX_NAMES);
        // Ten named ones, then the unknown one (5 bytes), past the bound.
        assert_eq!(a.overflow.tx_bytes, 105);
        let mut b = Tally::default();
        b.add(&conn(1, Some("fresh"), 1), true);
        b.merge(&a);
        assert_eq!(b.by_process.len(), MAX_NAMES);
        let t = b.traffic();
        assert_eq!(t.tx_bytes, 10 * (MAX_NAMES as u64 + 10) + 5 + 1);
        assert_eq!(t.rx_packets, 2 * (MAX_NAMES as u64 + 12));
        assert_eq!(b.open.get(&("tcp", "ESTABLISHED", "none")), Some(&2));
        assert_eq!(b.seen.get(&("tcp", "none")), Some(&(MAX_NAMES as u64 + 12)));
    }
}

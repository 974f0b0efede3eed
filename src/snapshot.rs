//! What the pipeline publishes to the UI at each refresh.

use rustnet_core::track::{Connection, State};
use rustnet_core::{Stats, Timestamp};

/// Capture-side counters (outside the core).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets the kernel dropped (ring full).
    pub kernel_drops: u64,
    /// Packets dropped between capture and workers (queues full).
    pub queue_drops: u64,
    /// Packets not in the `--pcap-export` file (its writer fell behind, or failed).
    pub export_drops: u64,
}

impl CaptureStats {
    /// Every packet lost anywhere between the wire and the output.
    pub fn total(&self) -> u64 {
        self.kernel_drops + self.queue_drops + self.export_drops
    }
}

/// One consistent view of all connections.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Packet time of the snapshot (latest timestamp seen).
    pub now: Timestamp,
    /// Connections currently in the table (all workers).
    pub connections: Vec<Connection>,
    /// What the UI's once-per-refresh pass reads of each connection, in the
    /// same order, rates as of `now`; made by the thread that publishes the
    /// snapshot, so the UI thread does not walk all connections for them.
    /// Empty when not made: the UI makes them itself
    /// (see [`Snapshot::ensure_briefs`]).
    pub briefs: Vec<Brief>,
    /// Engine counters summed over workers.
    pub stats: Stats,
    pub capture: CaptureStats,
    /// Interface name, or the file being read.
    pub source: String,
    /// True once a `--read` file has been fully replayed.
    pub finished: bool,
}

impl Snapshot {
    /// Makes the briefs if they are not one per connection (snapshots built
    /// by hand: fixtures, tests), so readers can rely on them.
    pub fn ensure_briefs(&mut self) {
        if self.briefs.len() != self.connections.len() {
            self.briefs = Brief::all(&self.connections, self.now);
        }
    }
}

/// The few fields of a connection that the UI's per-refresh pass over all
/// connections reads, packed together: 100 000 connections are 45 MB with
/// their process records elsewhere on the heap, and walking them cost the
/// UI thread 12.9 ms per refresh; their briefs are 9.6 MB in one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Brief {
    pub id: u64,
    /// Bytes per second each way as of the snapshot's `now`.
    pub tx_rate: f64,
    pub rx_rate: f64,
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    /// TCP retransmitted and out-of-order segments, both ways.
    pub retrans: u64,
    pub ooo: u64,
    /// The process name packed by [`name_key`] ([`NO_PROCESS`]: none; 0: a
    /// long name, read from the connection).
    pub key: u128,
    pub pid: u32,
    pub state: State,
    /// The application protocol's name, when known.
    pub app: Option<&'static str>,
}

/// [`Brief::key`] of a connection without a process (never a [`name_key`]).
pub const NO_PROCESS: u128 = u128::MAX;

impl Brief {
    /// A brief per connection, in order, rates taken at `now`.
    pub fn all(conns: &[Connection], now: Timestamp) -> Vec<Brief> {
        conns.iter().map(|c| Brief::of(c, now)).collect()
    }

    /// Connection `c`'s brief, its rates taken at `now`.
    pub fn of(c: &Connection, now: Timestamp) -> Brief {
        let (tx_rate, rx_rate) = c.rates(now);
        let (retrans, ooo) =
            c.tcp.map_or((0, 0), |t| (t.retransmits(), u64::from(t.tx.out_of_order) + u64::from(t.rx.out_of_order)));
        let (pid, key) = c.process.as_deref().map_or((0, NO_PROCESS), |p| (p.pid, name_key(&p.name)));
        Brief {
            id: c.id,
            tx_rate,
            rx_rate,
            tx_bytes: c.tx_bytes,
            rx_bytes: c.rx_bytes,
            retrans,
            ooo,
            key,
            pid,
            state: c.state,
            app: c.app.as_ref().map(|a| a.protocol()),
        }
    }
}

/// A name of up to 15 bytes packed with its length (0: longer, compare the text).
pub fn name_key(s: &str) -> u128 {
    if s.len() > 15 {
        return 0;
    }
    let mut b = [0u8; 16];
    b[..s.len()].copy_from_slice(s.as_bytes());
    b[15] = s.len() as u8 + 1;
    u128::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustnet_core::dpi::{AppInfo, TlsInfo};
    use rustnet_core::track::{Endpoint, ProcessInfo, Proto, RateMeter};
    use std::time::Duration;

    #[test]
    fn a_brief_carries_what_its_connection_says() {
        let now = Timestamp::from_secs_nanos(1_700_000_000, 0);
        let l = Endpoint::new([192, 168, 1, 2].into(), 40000);
        let r = Endpoint::new([10, 0, 0, 1].into(), 443);
        let mut c = Connection::new(7, Proto::Tcp, l, r, now, State::Established);
        c.rate = RateMeter::default();
        c.rate.add(now - Duration::from_millis(300), true, 3000);
        c.rate.add(now, false, 5000);
        (c.tx_bytes, c.rx_bytes) = (3000, 5000);
        c.app = Some(AppInfo::Tls(TlsInfo::default()));
        c.process = Some(Box::new(ProcessInfo { pid: 42, name: "curl".into(), ..ProcessInfo::default() }));
        let b = Brief::of(&c, now);
        assert_eq!((b.id, b.pid, b.state, b.app), (7, 42, State::Established, Some("TLS")));
        assert_eq!((b.tx_bytes, b.rx_bytes), (3000, 5000));
        assert_eq!((b.tx_rate, b.rx_rate), c.rates(now), "the 2 s window: 1500 and 2500 B/s");
        assert_eq!((b.tx_rate, b.rx_rate), (1500.0, 2500.0));
        assert_eq!(b.key, name_key("curl"));
        // Equal short names pack equal, others not; a long one is left to the text.
        assert_ne!(name_key("curl"), name_key("curl2"));
        assert_ne!(name_key(""), NO_PROCESS);
        assert_eq!(name_key("a-very-long-process-name"), 0);
        c.process = None;
        assert_eq!(Brief::of(&c, now).key, NO_PROCESS);
        // Made once per connection; kept when they are already there.
        let mut snap = Snapshot { now, connections: vec![c.clone(), c], ..Snapshot::default() };
        snap.ensure_briefs();
        assert_eq!(snap.briefs.len(), 2);
        snap.briefs[0].tx_rate = 1.0;
        snap.ensure_briefs();
        assert_eq!(snap.briefs[0].tx_rate, 1.0);
    }
}

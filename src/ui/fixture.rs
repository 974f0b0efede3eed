//! Test fixtures: snapshots built by running public corpus captures
//! (RUSTNET_CORPUS) through the real engine, plus one hand-built connection
//! with DPI, process and hostname set.

use crate::capture::file::read_file;
use crate::pipeline::add_stats;
use crate::snapshot::{CaptureStats, Snapshot};
use rustnet_core::dpi::{AppInfo, TlsInfo};
use rustnet_core::track::{Connection, Endpoint, ProcessInfo, Proto, RateMeter, State};
use rustnet_core::wire::LinkType;
use rustnet_core::{Config, Engine, Timestamp};
use std::path::PathBuf;
use std::time::Duration;

/// The corpus directory, or None after a note when RUSTNET_CORPUS is unset
/// or names no folder (a fresh clone).
pub fn corpus() -> Option<PathBuf> {
    crate::testenv::corpus_dir()
}

/// Where every fixture file's last packet is moved to (2023-11-14 22:13:20 UTC),
/// so files from different years share one "now" and ages stay meaningful.
pub const T_END: Timestamp = Timestamp::from_nanos(1_700_000_000_000_000_000);

/// A snapshot of every connection of `files` (one engine each, distinct ids),
/// each file's packet times shifted to end at [`T_END`].
pub fn corpus_snapshot(dir: &std::path::Path, files: &[&str]) -> Snapshot {
    let mut snap = Snapshot { now: T_END, source: files.join("+"), finished: true, ..Default::default() };
    let step = files.len() as u64;
    for (k, f) in files.iter().enumerate() {
        let mut e = Engine::new(Config::default()).with_ids(k as u64 + 1, step);
        let path = dir.join(f);
        let mut frames: Vec<(LinkType, u64, Vec<u8>, u32)> = Vec::new();
        read_file(&path, &mut |p| {
            frames.push((p.link, p.ts.as_nanos(), p.data.to_vec(), p.wire_len));
            true
        })
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let last = frames.iter().map(|f| f.1).max().unwrap_or(0);
        for (link, ts, data, len) in &frames {
            let ts = Timestamp::from_nanos(T_END.as_nanos() - (last - ts));
            e.process(*link, ts, data, *len);
        }
        add_stats(&mut snap.stats, e.stats());
        // Connections that expired during the replay, then those still open.
        let mut all = Vec::new();
        e.take_finished(&mut all);
        all.extend(e.connections().cloned());
        snap.connections.extend(all);
    }
    snap.capture = CaptureStats { kernel_drops: 0, queue_drops: 3, export_drops: 0 };
    snap
}

/// A connection with every UI-visible field set, active at `now`.
pub fn rich_connection(id: u64, now: Timestamp) -> Connection {
    let local = Endpoint::new([192, 168, 1, 20].into(), 51234);
    let remote = Endpoint::new([140, 82, 112, 6].into(), 443);
    let first = now - Duration::from_secs(75);
    let mut rate = RateMeter::default();
    // 12 kB received and 3 kB sent over the last second.
    for i in 0..4u64 {
        let ts = now - Duration::from_millis(250 * i);
        rate.add(ts, false, 3_000);
        rate.add(ts, true, 750);
    }
    // Connection and TlsInfo are non-exhaustive: built, then filled in.
    let mut c = Connection::new(id, Proto::Tcp, local, remote, first, State::Established);
    c.last_seen = now;
    (c.tx_packets, c.rx_packets, c.tx_bytes, c.rx_bytes) = (40, 55, 5_200, 81_000);
    c.rate = rate;
    let mut tls = TlsInfo::default();
    tls.sni = Some("api.github.com".into());
    tls.alpn = vec!["h2".into(), "http/1.1".into()];
    tls.version = Some("TLSv1.3".into());
    c.app = Some(AppInfo::Tls(tls));
    c.process = Some(Box::new(ProcessInfo {
        pid: 4242,
        name: "curl".into(),
        cmdline: Some("curl -s https://api.github.com/zen".into()),
        ..Default::default()
    }));
    c.hostname = Some("lb-140-82-112-6-iad.github.com".into());
    c
}

/// `n` connections at [`T_END`]: connection `i` has id 100+i, remote
/// 10.0.0.i:443, `bytes(i)` bytes, `rate(i)` bytes in the last 250 ms and was
/// first seen 100+i seconds ago.
#[cfg(test)]
pub fn ranked(n: usize, rate: impl Fn(usize) -> u32, bytes: impl Fn(usize) -> u64) -> Snapshot {
    let now = T_END;
    let connections = (0..n)
        .map(|i| {
            let mut r = RateMeter::default();
            r.add(now, false, rate(i));
            let mut c = rich_connection(100 + i as u64, now);
            c.remote = Endpoint::new([10, 0, 0, i as u8].into(), 443);
            c.hostname = None;
            c.rate = r;
            c.rx_bytes = bytes(i);
            c.tx_bytes = 0;
            c.first_seen = now - Duration::from_secs(100 + i as u64);
            c
        })
        .collect();
    Snapshot { now, connections, ..Default::default() }
}

/// Replays `file` through the real engine the way the live pipeline feeds
/// the screen: a snapshot every `step` of packet time, connections handed
/// over as they leave the table, then `linger` of packet time without
/// packets (closed connections expire). `attribute` names the processes,
/// as the host's lookup would live. Packet times are shifted to end at
/// [`T_END`]. Returns the time of the last snapshot.
pub fn replay(
    app: &mut super::app::App,
    path: &std::path::Path,
    step: Duration,
    linger: Duration,
    attribute: &dyn Fn(&mut Connection),
) -> Timestamp {
    let mut frames: Vec<(LinkType, u64, Vec<u8>, u32)> = Vec::new();
    read_file(path, &mut |p| {
        frames.push((p.link, p.ts.as_nanos(), p.data.to_vec(), p.wire_len));
        true
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let last = frames.iter().map(|f| f.1).max().unwrap_or(0);
    let first = frames.iter().map(|f| f.1).min().unwrap_or(0);
    let start = Timestamp::from_nanos(T_END.as_nanos() - (last - first));
    let mut e = Engine::new(Config::default());
    let mut next = start + step;
    let publish = |e: &mut Engine, app: &mut super::app::App, now: Timestamp| {
        e.advance(now);
        let mut ended = Vec::new();
        e.take_finished(&mut ended);
        ended.iter_mut().for_each(attribute);
        app.add_ended(ended);
        let mut connections: Vec<Connection> = e.connections().cloned().collect();
        connections.iter_mut().for_each(attribute);
        let source = path.file_name().map_or(String::new(), |f| f.to_string_lossy().into_owned());
        let mut snap = Snapshot { now, connections, source, ..Default::default() };
        add_stats(&mut snap.stats, e.stats());
        app.set_snapshot(snap);
    };
    for (link, ts, data, len) in &frames {
        let ts = Timestamp::from_nanos(T_END.as_nanos() - (last - ts));
        while ts >= next {
            publish(&mut e, app, next);
            next = next + step;
        }
        e.process(*link, ts, data, *len);
    }
    let end = T_END + linger;
    let mut now = T_END;
    while now < end {
        now = (now + step).min(end);
        publish(&mut e, app, now);
    }
    if linger.is_zero() {
        publish(&mut e, app, T_END);
    }
    now
}

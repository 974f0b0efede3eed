//! Collector mode (`--ipfix-listen`): instead of capturing, one thread
//! receives other hosts' IPFIX messages, decodes them (rustnet-core's
//! `ipfix::decode`) into a connection table (`ipfix::flows`), and feeds the
//! same sinks as a capture: finished connections to the JSON writer or the
//! screen's history, snapshots to the screen every refresh.

use super::enrich::with_geoip;
use super::sink::Sink;
use crate::capture::ipfix_listen::{ListenUrl, Listener, MAX_MESSAGE};
use crate::cli::Cli;
use crate::output;
use crate::pipeline::{Enrich, Records, View, wall_clock};
use crate::snapshot::Snapshot;
use crate::ui::{self, UiConfig};
use crossbeam_channel::{Sender, bounded};
use rustnet_core::Stats;
use rustnet_core::ipfix::decode::{DecodeStats, Decoder};
use rustnet_core::ipfix::flows::{FlowTable, TableConfig, TableStats};
use rustnet_core::track::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Longest wait for a datagram before the loop looks at the clock.
const POLL: Duration = Duration::from_millis(100);
/// How often connections without records are checked for the idle timeout.
const EXPIRE_EVERY: Duration = Duration::from_secs(1);

/// What the receiving thread needs.
struct Run {
    listener: Listener,
    table: TableConfig,
    view: View,
    enrich: Arc<dyn Enrich>,
    stop: Arc<AtomicBool>,
    duration: Option<Duration>,
    sandbox: bool,
    /// The screen's snapshots, its refresh and label; None headless.
    screen: Option<(Sender<Snapshot>, Duration, String)>,
}

/// What was received, reported at the end.
#[derive(Debug, Default)]
struct Summary {
    decode: DecodeStats,
    table: TableStats,
    exporters: usize,
    recv_errors: u64,
}

/// Runs collector mode; returns the exit code.
pub fn run(
    cli: &Cli,
    settings: &crate::ui::Settings,
    url: &ListenUrl,
    view: View,
    stop: Arc<AtomicBool>,
    interrupted: &AtomicBool,
) -> anyhow::Result<i32> {
    let listener = match Listener::bind(url, POLL) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rustnet: cannot listen on {}: {e}", url.url);
            return Ok(1);
        }
    };
    log::info!("collector: listening on {:?}", listener.local_addr());
    let mut enrich: Arc<dyn Enrich> = super::enrich::for_collector();
    if let Some(dir) = &cli.geoip {
        enrich = with_geoip(enrich, dir);
    }
    let table = TableConfig {
        max_connections: usize::try_from(cli.max_connections).unwrap_or(usize::MAX),
        ..TableConfig::default()
    };
    let label = format!("ipfix {}", url.url);
    let mut run = Run {
        listener,
        table,
        view,
        enrich,
        stop: stop.clone(),
        duration: cli.duration,
        sandbox: !cli.no_sandbox,
        screen: None,
    };
    let (rec_tx, rec_rx) = bounded::<Records>(16);
    let sum = match Sink::for_cli(cli) {
        Sink::Json => {
            let t = std::thread::Builder::new().name("collector".into()).spawn(move || receive(run, &rec_tx))?;
            output::write_json_lines(rec_rx, &stop, None)?;
            join(t)?
        }
        Sink::Tui => {
            let refresh = settings.refresh;
            let (snap_tx, snap_rx) = bounded::<Snapshot>(2);
            run.screen = Some((snap_tx, refresh, label.clone()));
            let t = std::thread::Builder::new().name("collector".into()).spawn(move || receive(run, &rec_tx))?;
            // Other hosts' connections: this host's interface counters are not theirs.
            let ui = UiConfig::new(settings, label, false);
            let r = ui::run(ui, ui::Feeds { snapshots: snap_rx, ended: rec_rx }, stop.clone());
            stop.store(true, Ordering::SeqCst);
            let sum = join(t)?;
            r?;
            sum
        }
    };
    report(&sum, &url.url);
    Ok(if interrupted.load(Ordering::Relaxed) { 130 } else { 0 })
}

fn join(t: std::thread::JoinHandle<Summary>) -> anyhow::Result<Summary> {
    t.join().map_err(|_| anyhow::anyhow!("internal error: the collector thread panicked; this is a bug in rustnet"))
}

/// Tells what was dropped, on stderr (all of it in the log).
fn report(s: &Summary, url: &str) {
    log::info!("collector {url}: {s:?}");
    let d = &s.decode;
    let dropped = d.malformed + d.unknown_template + d.templates_dropped + d.exporters_dropped + d.lost;
    if dropped > 0 || s.recv_errors > 0 || s.table.unsupported > 0 {
        eprintln!(
            "rustnet: ipfix-listen: {} messages, {} records from {} exporters; dropped: {} malformed messages, \
             {} data sets of unknown templates, {} templates and {} exporters over the limits, {} records lost \
             in transit (sequence numbers), {} records of other protocols, {} receive errors",
            d.messages,
            d.records,
            s.exporters,
            d.malformed,
            d.unknown_template,
            d.templates_dropped,
            d.exporters_dropped,
            d.lost,
            s.table.unsupported,
            s.recv_errors
        );
    }
}

/// The receiving thread: datagrams in, records and snapshots out, until
/// stopped or the duration passes; then every open connection ends.
fn receive(run: Run, records: &Sender<Records>) -> Summary {
    crate::sys::sandbox::thread_start(run.sandbox, "collector");
    let start = Instant::now();
    let mut decoder = Decoder::new();
    let mut table = FlowTable::new(run.table);
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut decoded = Vec::new();
    let mut finished = Vec::new();
    let mut recv_errors = 0u64;
    let mut last_expire = Instant::now();
    let mut last_snap: Option<Instant> = None;
    while !run.stop.load(Ordering::Relaxed) && run.duration.is_none_or(|d| start.elapsed() < d) {
        match run.listener.recv(&mut buf) {
            Ok(Some((msg, from))) => {
                decoder.receive(from, msg, &mut decoded);
                let now = wall_clock();
                for r in decoded.drain(..) {
                    table.add(&r, now);
                }
            }
            Ok(None) => {}
            Err(e) => {
                if recv_errors == 0 {
                    log::warn!("collector: receive failed: {e}");
                }
                recv_errors += 1;
                std::thread::sleep(POLL);
            }
        }
        if last_expire.elapsed() >= EXPIRE_EVERY {
            last_expire = Instant::now();
            table.expire(wall_clock());
        }
        table.take_finished(&mut finished);
        if !finished.is_empty() {
            send(&run, records, &mut finished, false, stats(&decoder, &table));
        }
        if let Some((snaps, refresh, label)) = &run.screen
            && last_snap.is_none_or(|t| t.elapsed() >= *refresh)
        {
            last_snap = Some(Instant::now());
            let mut conns: Vec<Connection> = table.connections().cloned().collect();
            conns.retain_mut(|c| {
                run.enrich.enrich(c);
                run.view.shows(c)
            });
            let mut snap = Snapshot {
                now: wall_clock(),
                connections: conns,
                stats: stats(&decoder, &table),
                source: label.clone(),
                ..Snapshot::default()
            };
            snap.ensure_briefs();
            let _ = snaps.try_send(snap);
        }
    }
    table.finish_all();
    table.take_finished(&mut finished);
    send(&run, records, &mut finished, true, stats(&decoder, &table));
    Summary {
        decode: decoder.stats().clone(),
        table: table.stats().clone(),
        exporters: decoder.exporters(),
        recv_errors,
    }
}

/// Finished connections the view shows, enriched, to the writer.
fn send(run: &Run, records: &Sender<Records>, finished: &mut Vec<Connection>, last: bool, stats: Stats) {
    let mut conns = std::mem::take(finished);
    conns.retain_mut(|c| {
        run.enrich.enrich(c);
        run.view.shows(c)
    });
    let _ = records.send(Records { conns, last, stats });
}

/// The header's counters: packets and bytes the records carried, and the
/// messages dropped as malformed.
fn stats(d: &Decoder, t: &FlowTable) -> Stats {
    let mut s = Stats::default();
    s.packets = t.stats().packets;
    s.bytes = t.stats().bytes;
    s.malformed = d.stats().malformed;
    s
}

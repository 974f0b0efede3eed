//! One place that runs a session, read top-down in [`run`]: open the source
//! (a live interface, a capture file, or a file replayed at its own pace for
//! the screen), start the pipeline, and run the sink (JSON lines or the TUI)
//! until the input ends or the user stops.
//!
//! A new source or sink is one module here plus one variant where they are
//! listed (`source.rs`, `sink.rs`) and its match arms.

mod collect;
mod drops;
mod enrich;
mod export;
mod file;
mod json;
mod live;
mod paced;
mod publish;
mod sink;
mod source;
mod tui;

pub use sink::Sink;
pub use source::{Source, SourceEnd};

use crate::capture::export::Exporter;
use crate::capture::tap::Tap;
use crate::cli::Cli;
use crate::logging;
use crate::output::ipfix::{self, IpfixExport};
use crate::output::metrics::Metrics;
use crate::pipeline::ipfix_tap::IpfixTap;
use crate::pipeline::notes::{self, NotesExport};
use crate::pipeline::{Enrich, PipelineConfig, View};
use crate::record::{self, Recorder, Retention};
use anyhow::Context;
use enrich::HostEnrich;
use rustnet_core::filter::Filter;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// An opened session: what a sink needs to run it.
pub struct Session {
    pub source: Source,
    /// Capture filter and `--pcap-export`, applied to every packet read.
    pub tap: Tap,
    pub cfg: PipelineConfig,
    pub enrich: Arc<dyn Enrich>,
    /// The live host lookups, kept for their end-of-run statistics.
    host: Option<Arc<HostEnrich>>,
    /// Set by a signal, the user quitting, or the session ending.
    pub stop: Arc<AtomicBool>,
    /// `--duration` (live capture).
    pub duration: Option<Duration>,
    /// Set by SIGINT (Ctrl+C) alone: headless runs then exit with 130, as
    /// shells expect of an interrupted command.
    pub interrupted: Arc<AtomicBool>,
    /// `--record`: finished connections into the history database.
    pub recorder: Option<Recorder>,
    /// The screen's settings (command line over the config file).
    pub ui: crate::ui::Settings,
}

/// Runs the session the command line asks for. Returns the process exit code.
pub fn run(cli: &Cli) -> anyhow::Result<i32> {
    // The config file is checked whatever the sink: a mistake in it is said
    // now, not on the next run that happens to open the screen.
    let ui = match crate::config::settings(cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rustnet: {e}");
            return Ok(2);
        }
    };
    let filter = match cli.filter.as_deref().map(Filter::parse).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => {
            eprintln!("rustnet: invalid filter: {e}");
            return Ok(2);
        }
    };
    let export_filter = match cli.export_filter.as_deref().map(Filter::parse).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rustnet: invalid export filter: {e}");
            return Ok(2);
        }
    };
    if let Some(path) = &cli.history {
        return history(cli, &ui, path, View { filter, no_localhost: cli.no_localhost, hide_pid: None });
    }
    for export in [&cli.pcap_export, &cli.pcapng_export].into_iter().flatten() {
        if let Some(input) = &cli.read
            && let Err(e) = export::check_not_input(input, export)
        {
            eprintln!("rustnet: {e}");
            return Ok(2);
        }
    }
    if let Some(level) = cli.log_level {
        let path = logging::init(level.filter()).context("cannot open the log file")?;
        log::info!("rustnet {} logging to {}", env!("CARGO_PKG_VERSION"), path.display());
    }
    // Threads started from here on by lower layers sandbox themselves.
    crate::sys::sandbox::enable(!cli.no_sandbox);
    // Bound before anything starts: a bad address or a port in use is a
    // usage error, and a privileged port is still allowed to root.
    let metrics = match cli.metrics.as_deref().map(Metrics::start).transpose() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("rustnet: {e}");
            return Ok(2);
        }
    };
    let (stop, interrupted) = install_stop_signals()?;
    if let Some(url) = &cli.ipfix_listen {
        let view = View { filter, no_localhost: cli.no_localhost, hide_pid: None };
        return collect::run(cli, &ui, url, view, stop, &interrupted);
    }
    let sink = Sink::for_cli(cli);
    let workers = cli.workers.map_or_else(default_workers, |n| n as usize);
    let mut engine = rustnet_core::Config::default();
    engine.dpi = !cli.no_dpi;
    engine.max_connections = usize::try_from(cli.max_connections).unwrap_or(usize::MAX);

    // 1. Open the source first: errors (permissions, unknown interface, bad
    // capture filter) end here.
    let (mut source, mut tap) = match Source::open(cli, sink, &mut engine, &stop)? {
        Ok(opened) => opened,
        Err(code) => return Ok(code),
    };
    // The process lookups start here, keeping what reading /proc needs;
    // every thread started after them (capture, workers, export, UI) and
    // this one hold no capability: they handle hostile packets.
    let (mut enrich, host) = enrich::for_source(&mut source, !cli.no_resolve_dns);
    if let Some(dir) = &cli.geoip {
        enrich = enrich::with_geoip(enrich, dir);
    }
    if source.is_live() {
        let errors = crate::host::privileges::drop_thread_capabilities();
        if !errors.is_empty() {
            log::warn!("privileges: {}", errors.join("; "));
        }
    }
    // This thread and every one it starts from here on: no exec, ptrace,
    // mounts, modules or set*id (the packet threads add their own limits).
    crate::sys::sandbox::helper_thread("main");
    let mut export_outcome = None;
    if let Some(path) = &cli.pcap_export {
        let name = source.interface().map(str::to_string);
        let e = Exporter::create(path, name.as_deref(), !source.is_live())
            .with_context(|| format!("cannot create the export file {}", path.display()))?;
        export_outcome = Some(e.outcome());
        tap.export = Some(e);
    }
    let live = source.is_live();
    let (notes_export, notes) = match &cli.pcapng_export {
        Some(path) => {
            let name = source.interface().map(str::to_string);
            let (e, a) = NotesExport::create(path, name.as_deref(), live, enrich.clone(), export_filter)
                .with_context(|| format!("cannot create the export file {}", path.display()))?;
            (Some(e), Some(a))
        }
        None => (None, None),
    };
    let mut record_outcome = None;
    let recorder = match &cli.record {
        Some(path) => {
            let retention = Retention { max_age: cli.record_max_age, max_size: cli.record_max_size };
            let r = Recorder::start(path, retention, !live, sink == Sink::Json)
                .with_context(|| format!("cannot open the record database {}", path.display()))?;
            record_outcome = Some((r.outcome(), path));
            Some(r)
        }
        None => None,
    };
    // 2. The pipeline's settings; 3. the sink starts it and runs to the end.
    let (ipfix, ipfix_tap) = match start_ipfix(cli, live)? {
        Some((e, t)) => (Some(e), Some(t)),
        None => (None, None),
    };
    let sandbox = !cli.no_sandbox;
    // rustnet's own reverse-DNS lookups are not what the user watches.
    let hide_pid = (live && !cli.show_own_lookups).then(std::process::id);
    let view = View { filter, no_localhost: cli.no_localhost, hide_pid };
    let metrics_hub = metrics.as_ref().map(|m| m.hub.clone());
    let cfg = PipelineConfig { workers, engine, view, live, sandbox, notes, ipfix: ipfix_tap, metrics: metrics_hub };
    let session = Session { source, tap, cfg, enrich, host, stop, duration: cli.duration, interrupted, recorder, ui };
    let code = sink.run(session);
    // Reported even when the sink failed: the export's fate is news either way.
    let export_code = export::report(export_outcome.as_ref());
    let record_code = record_outcome.map_or(0, |(o, path)| record::report(&o, path));
    // Every annotator went with the pipeline: the writer ends.
    let notes_code = notes_export.map_or(0, |e| notes::report(&e.finish()));
    // After the sink: every worker (and so every IPFIX sender) has ended.
    let ipfix_code = ipfix.map_or(0, |e| e.finish());
    code.map(|c| c.max(export_code).max(record_code).max(notes_code).max(ipfix_code))
}

/// `--history FILE`: the recorded connections as JSON lines.
fn history(cli: &Cli, ui: &crate::ui::Settings, path: &std::path::Path, view: View) -> anyhow::Result<i32> {
    let shows = |c: &rustnet_core::track::Connection| view.shows(c);
    let filtering = !view.filter.is_empty() || view.no_localhost;
    let q = record::history::Query { since: cli.since, until: cli.until, shows: filtering.then_some(&shows as _) };
    if !cli.json && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return history_tui(ui, path, &q);
    }
    let st = record::history::write(path, &q, &mut std::io::BufWriter::new(std::io::stdout().lock()))
        .with_context(|| format!("cannot read the history database {}", path.display()))?;
    log::info!("history: {st:?}");
    if st.unreadable > 0 {
        eprintln!("rustnet: warning: {} records of {} could not be read for the filter", st.unreadable, path.display());
    }
    Ok(0)
}

/// `--history FILE` in a terminal (without `--json`): the newest
/// connections of the file, as many as the screen's history keeps, in the
/// TUI with nothing captured; filters, sorting and Details work as live.
fn history_tui(
    settings: &crate::ui::Settings,
    path: &std::path::Path,
    q: &record::history::Query<'_>,
) -> anyhow::Result<i32> {
    let (conns, st) = record::history::connections(path, q, crate::ui::HISTORY_CAP)
        .with_context(|| format!("cannot read the history database {}", path.display()))?;
    log::info!("history: {st:?}");
    let source = format!("{} (history)", path.display());
    let now = conns.iter().map(|c| c.last_seen).max().unwrap_or_default();
    let (snap_tx, snapshots) = crossbeam_channel::bounded(1);
    let (ended_tx, ended) = crossbeam_channel::bounded(1);
    let snap = crate::snapshot::Snapshot { now, source: source.clone(), finished: true, ..Default::default() };
    // Both fit their one-slot channels; the UI keeps showing them once the
    // senders are gone.
    let _ = snap_tx.send(snap);
    let _ = ended_tx.send(crate::pipeline::Records { conns, last: true, stats: Default::default() });
    drop((snap_tx, ended_tx));
    // Recorded connections: this host's interface counters say nothing of them.
    let ui = crate::ui::UiConfig::new(settings, source, false);
    let (stop, _) = install_stop_signals()?;
    crate::ui::run(ui, crate::ui::Feeds { snapshots, ended }, stop)?;
    if st.unreadable > 0 {
        eprintln!("rustnet: warning: {} records of {} could not be read", st.unreadable, path.display());
    }
    Ok(0)
}

/// `--ipfix`: the exporter thread and the tap the workers send to.
fn start_ipfix(cli: &Cli, live: bool) -> anyhow::Result<Option<(IpfixExport, IpfixTap)>> {
    if cli.ipfix.is_empty() {
        return Ok(None);
    }
    let settings = ipfix::Settings {
        collectors: cli.ipfix.clone(),
        active_timeout: cli.ipfix_active_timeout,
        domain_id: cli.ipfix_domain_id,
        mtu: usize::from(cli.ipfix_mtu),
        live,
    };
    ipfix::start(settings).context("cannot start the IPFIX export").map(Some)
}

/// The flag that SIGINT, SIGTERM and SIGHUP set: each ends the session the
/// same way (records printed, terminal restored, export completed). SIGHUP
/// is left alone when it was ignored at start, as under `nohup`, so such a
/// run outlives its terminal. The second flag is set by SIGINT alone.
fn install_stop_signals() -> anyhow::Result<(Arc<AtomicBool>, Arc<AtomicBool>)> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    let hup = !crate::sys::signal::is_ignored(SIGHUP);
    for sig in [SIGINT, SIGTERM].into_iter().chain(hup.then_some(SIGHUP)) {
        signal_hook::flag::register(sig, stop.clone()).context("cannot install signal handlers")?;
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(SIGINT, interrupted.clone()).context("cannot install signal handlers")?;
    Ok((stop, interrupted))
}

/// min(cores, 4), as DESIGN.md says.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}

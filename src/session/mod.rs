//! One place that runs a session, read top-down in [`run`]: open the source
//! (a live interface, a capture file, or a file replayed at its own pace for
//! the screen), start the pipeline, and run the sink (JSON lines or the TUI)
//! until the input ends or the user stops.
//!
//! A new source or sink is one module here plus one variant where they are
//! listed (`source.rs`, `sink.rs`) and its match arms.

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
use crate::pipeline::{Enrich, PipelineConfig, View};
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
}

/// Runs the session the command line asks for. Returns the process exit code.
pub fn run(cli: &Cli) -> anyhow::Result<i32> {
    let filter = match cli.filter.as_deref().map(Filter::parse).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => {
            eprintln!("rustnet: invalid filter: {e}");
            return Ok(2);
        }
    };
    if let (Some(input), Some(export)) = (&cli.read, &cli.pcap_export)
        && let Err(e) = export::check_not_input(input, export)
    {
        eprintln!("rustnet: {e}");
        return Ok(2);
    }
    if let Some(level) = cli.log_level {
        let path = logging::init(level.filter()).context("cannot open the log file")?;
        log::info!("rustnet {} logging to {}", env!("CARGO_PKG_VERSION"), path.display());
    }
    let (stop, interrupted) = install_stop_signals()?;
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
    let (enrich, host) = enrich::for_source(&mut source, !cli.no_resolve_dns);
    if source.is_live() {
        let errors = crate::host::privileges::drop_thread_capabilities();
        if !errors.is_empty() {
            log::warn!("privileges: {}", errors.join("; "));
        }
    }
    let mut export_outcome = None;
    if let Some(path) = &cli.pcap_export {
        let name = source.interface().map(str::to_string);
        let e = Exporter::create(path, name.as_deref(), !source.is_live())
            .with_context(|| format!("cannot create the export file {}", path.display()))?;
        export_outcome = Some(e.outcome());
        tap.export = Some(e);
    }
    let live = source.is_live();
    // 2. The pipeline's settings; 3. the sink starts it and runs to the end.
    // rustnet's own reverse-DNS lookups are not what the user watches.
    let hide_pid = (live && !cli.show_own_lookups).then(std::process::id);
    let view = View { filter, no_localhost: cli.no_localhost, hide_pid };
    let cfg = PipelineConfig { workers, engine, view, live };
    let code = sink.run(Session { source, tap, cfg, enrich, host, stop, duration: cli.duration, interrupted }, cli);
    // Reported even when the sink failed: the export's fate is news either way.
    let export_code = export::report(export_outcome.as_ref());
    code.map(|c| c.max(export_code))
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

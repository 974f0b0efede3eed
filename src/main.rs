use anyhow::Context;
use clap::Parser;
use crossbeam_channel::bounded;
use rustnet::capture::export::Exporter;
use rustnet::capture::open::{file_filter, open_source};
use rustnet::capture::tap::Tap;
use rustnet::cli::Cli;
use rustnet::host::enrich::{FileEnrich, HostEnrich};
use rustnet::host::process::hints::FlowHints;
use rustnet::host::{interfaces, privileges};
use rustnet::pipeline::{Enrich, Pipeline, PipelineConfig, View};
use rustnet::source::{self, SourceCounters, SourceEnd};
use rustnet::{logging, output};
use rustnet_core::filter::Filter;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn main() {
    let code = match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rustnet: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    let filter = match cli.filter.as_deref().map(Filter::parse).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => {
            eprintln!("rustnet: invalid filter: {e}");
            return Ok(2);
        }
    };
    if let Some(d) = cli.duration
        && !(d.is_finite() && d > 0.0)
    {
        eprintln!("rustnet: --duration must be a positive number of seconds");
        return Ok(2);
    }
    if let Some(level) = cli.log_level {
        let path = logging::init(level.filter()).context("cannot open the log file")?;
        log::info!("rustnet {} logging to {}", env!("CARGO_PKG_VERSION"), path.display());
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("cannot install signal handlers")?;
    }
    let tui = !cli.json && std::io::stdout().is_terminal();
    let workers = cli.workers.map_or_else(default_workers, |n| n as usize);
    let mut engine = rustnet_core::Config { dpi: !cli.no_dpi, ..Default::default() };
    engine.max_connections = usize::try_from(cli.max_connections).unwrap_or(usize::MAX);

    // Open the capture first: errors (permissions, unknown interface, bad
    // capture filter) end here.
    let mut tap = Tap::default();
    let live = match &cli.read {
        Some(path) => {
            if let Some(expr) = &cli.bpf_filter {
                match file_filter(path, expr) {
                    Ok(f) => tap.filter = Some(f),
                    Err(e) => {
                        eprintln!("rustnet: {e}");
                        return Ok(e.exit_code());
                    }
                }
            }
            None
        }
        None => {
            let iface = match cli.interface.clone().or_else(interfaces::default_route_interface) {
                Some(i) => i,
                None => anyhow::bail!("no default route: name an interface with -i (or -i any)"),
            };
            let cap = match open_source(cli.backend, &iface, cli.bpf_filter.as_deref()) {
                Ok((c, user_filter)) => {
                    tap.filter = user_filter;
                    c
                }
                Err(e) => {
                    eprintln!("rustnet: {e}");
                    return Ok(e.exit_code());
                }
            };
            // Early word of short-lived clients' flows for the process
            // lookup; needs CAP_NET_RAW too, so it is opened now.
            let hints = match FlowHints::open(&iface) {
                Ok(h) => Some(h),
                Err(e) => {
                    log::warn!("no flow hint socket ({e}); short-lived processes may go unnamed");
                    None
                }
            };
            engine.local_addrs = interfaces::local_addresses(&iface);
            engine.report_new_flows = true;
            log::info!("capturing on {iface}; local addresses {:?}", engine.local_addrs);
            // The socket is open: give up what is no longer needed, before any
            // thread starts (capabilities are per thread).
            // Not inside log::info!: its arguments are not evaluated when logging is off.
            let dropped = privileges::drop_privileges();
            log::info!("privileges: {dropped}");
            Some((cap, hints))
        }
    };
    let (live, hints) = match live {
        Some((cap, hints)) => (Some(cap), hints),
        None => (None, None),
    };
    if let Some(path) = &cli.pcap_export {
        let name = live.as_ref().map(|c| c.interface().to_string());
        let e = Exporter::create(path, name.as_deref(), cli.read.is_some())
            .with_context(|| format!("cannot create the export file {}", path.display()))?;
        tap.export = Some(e);
    }
    let host = live.is_some().then(|| Arc::new(HostEnrich::start(!cli.no_resolve_dns, hints)));
    let enrich: Arc<dyn Enrich> = match &host {
        Some(h) => h.clone(),
        None => Arc::new(FileEnrich::new()),
    };
    let cfg =
        PipelineConfig { workers, engine, view: View { filter, no_localhost: cli.no_localhost }, live: live.is_some() };
    let duration = cli.duration.map(Duration::from_secs_f64);
    if tui {
        let ui = rustnet::ui::UiConfig {
            refresh: Duration::from_millis(cli.refresh_interval),
            source: cli.read.as_ref().map_or_else(
                || live.as_ref().map_or_else(String::new, |c| c.interface().to_string()),
                |p| p.display().to_string(),
            ),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        };
        return match (live, &cli.read) {
            (Some(cap), _) => rustnet::ui::session::run_live(cap, &cfg, enrich, ui, stop, duration, tap),
            (None, Some(path)) => rustnet::ui::session::run_file(path, &cfg, enrich, ui, stop, tap),
            (None, None) => anyhow::bail!("no packet source"),
        };
    }
    // Bounded: a slow stdout slows the workers instead of growing memory.
    let (rec_tx, rec_rx) = bounded(16);
    let pipeline = Pipeline::start(&cfg, enrich, Some(rec_tx));
    let disp = pipeline.dispatcher(cfg.live);
    let counters = Arc::new(SourceCounters::default());
    let (stop_src, counters_src) = (stop.clone(), counters.clone());
    let read = cli.read.clone();
    let capture = std::thread::Builder::new().name("capture".into()).spawn(move || match (live, read) {
        (Some(cap), _) => source::run_live(cap, disp, stop_src, duration, counters_src, tap),
        (None, Some(path)) => source::run_file(path, disp, stop_src, tap),
        (None, None) => SourceEnd::Failed("no packet source".into()),
    })?;
    let stats = output::write_json_lines(rec_rx)?;
    pipeline.join();
    let end = capture.join().map_err(|_| anyhow::anyhow!("capture thread panicked"))?;
    stop.store(true, Ordering::Relaxed);
    if stats.unknown_link > 0 {
        eprintln!(
            "rustnet: warning: skipped {} packets of unsupported link types {:?}",
            stats.unknown_link, stats.unknown_link_types
        );
    }
    source::warn_kernel_drops(&counters);
    log::info!("done: {stats:?}");
    if let Some(h) = &host {
        let st = h.procs.stats();
        let q = |f: &dyn Fn(f64) -> Option<Duration>| [0.5, 0.9, 0.99, 1.0].map(f);
        log::info!(
            "process lookups: {} requests, {} hints, {} hits, {} misses, {} dropped, {} reconciled, {} full / {} new-pid scans; \
             first packet → answer p50/p90/p99/max {:?}; first packet → request {:?}",
            st.requests,
            st.hints,
            st.hits,
            st.misses,
            st.dropped,
            st.reconciled,
            st.full_scans,
            st.new_pid_scans,
            q(&|x| st.latency_quantile(x)),
            q(&|x| st.request_lag_quantile(x)),
        );
    }
    Ok(end.report())
}

/// min(cores, 4), as DESIGN.md says.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}

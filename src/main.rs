use anyhow::Context;
use clap::Parser;
use crossbeam_channel::unbounded;
use rustnet::capture::file::{FileError, read_file};
use rustnet::cli::Cli;
use rustnet::pipeline::{NoEnrich, Pipeline, PipelineConfig, View};
use rustnet::{logging, output};
use rustnet_core::filter::Filter;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    if let Some(level) = cli.log_level {
        let path = logging::init(level.filter()).context("cannot open the log file")?;
        log::info!("rustnet {} logging to {}", env!("CARGO_PKG_VERSION"), path.display());
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("cannot install signal handlers")?;
    }
    let workers = cli.workers.map_or_else(default_workers, |n| n as usize);
    let mut engine = rustnet_core::Config { dpi: !cli.no_dpi, ..Default::default() };
    engine.max_connections = usize::try_from(cli.max_connections).unwrap_or(usize::MAX);
    let timeouts = engine.timeouts.clone();
    let cfg = PipelineConfig {
        workers,
        engine,
        view: View { filter, no_localhost: cli.no_localhost },
        live: cli.read.is_none(),
    };
    let Some(path) = cli.read.clone() else {
        anyhow::bail!("live capture is not built yet; use --read FILE");
    };
    if !cli.json && std::io::stdout().is_terminal() {
        let ui = rustnet::ui::UiConfig {
            refresh: std::time::Duration::from_millis(cli.refresh_interval),
            source: path.display().to_string(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        };
        return rustnet::ui::session::run_file(&path, &cfg, ui, stop);
    }
    let (rec_tx, rec_rx) = unbounded();
    let pipeline = Pipeline::start(&cfg, Arc::new(NoEnrich), rec_tx);
    let mut disp = pipeline.dispatcher(false);
    let stop_reader = stop.clone();
    let reader = std::thread::Builder::new().name("capture".into()).spawn(move || {
        let r = read_file(&path, &mut |p| {
            disp.push(p);
            !stop_reader.load(Ordering::Relaxed)
        });
        disp.finish();
        r
    })?;
    let stats = output::write_json_lines(rec_rx, &timeouts, workers)?;
    pipeline.join();
    let read = reader.join().map_err(|_| anyhow::anyhow!("capture thread panicked"))?;
    if stats.unknown_link > 0 {
        eprintln!(
            "rustnet: warning: skipped {} packets of unsupported link types {:?}",
            stats.unknown_link, stats.unknown_link_types
        );
    }
    log::info!("done: {stats:?}");
    match read {
        Ok(_) => Ok(0),
        Err(e @ FileError::Corrupt { .. }) => {
            eprintln!("rustnet: warning: {e}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("rustnet: {e}");
            Ok(1)
        }
    }
}

/// min(cores, 4), as DESIGN.md says.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}

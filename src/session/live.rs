//! A live interface: opened (with its capture filter, the flow-hint socket,
//! then privileges dropped) and run on the capture thread, feeding the
//! dispatcher until the duration passes or a stop is requested.

use super::SourceEnd;
use crate::capture::LiveSource;
use crate::capture::bpf::UserFilter;
use crate::capture::open::open_source;
use crate::capture::tap::Tap;
use crate::cli::Cli;
use crate::host::privileges;
use crate::host::process::hints::FlowHints;
use crate::pipeline::Dispatcher;
use crate::sys::interfaces;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// An opened interface: the capture, its flow-hint socket, and the part of
/// the capture filter that runs in user space.
pub type Opened = (Box<dyn LiveSource>, Option<FlowHints>, Option<UserFilter>);

/// Opens the interface of `-i` (default: the default route's) on the chosen
/// backend; sets `engine`'s local addresses. `Ok(Err(code))`: refused, the
/// reason already printed.
pub fn open(cli: &Cli, engine: &mut rustnet_core::Config) -> anyhow::Result<Result<Opened, i32>> {
    let iface = match cli.interface.clone().or_else(interfaces::default_route_interface) {
        Some(i) => i,
        None => anyhow::bail!("no default route: name an interface with -i (or -i any)"),
    };
    let (cap, user_filter) = match open_source(cli.backend, &iface, cli.bpf_filter.as_deref()) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("rustnet: {e}");
            return Ok(Err(e.exit_code()));
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
    Ok(Ok((cap, hints, user_filter)))
}

/// Counters the capture side shares with the UI.
#[derive(Debug, Default)]
pub struct SourceCounters {
    pub kernel_drops: AtomicU64,
    /// Packets `--pcap-export` lost (known once the capture has ended).
    pub export_drops: AtomicU64,
    /// Set when the capture has ended (duration, error or stop).
    pub done: AtomicBool,
}

const POLL: Duration = Duration::from_millis(100);
/// How often the kernel's drop counter is read for the UI.
const STATS_EVERY: Duration = Duration::from_millis(250);

/// Captures live until `stop` or `duration`.
pub fn run_live(
    mut cap: Box<dyn LiveSource>,
    mut disp: Dispatcher,
    stop: Arc<AtomicBool>,
    duration: Option<Duration>,
    counters: Arc<SourceCounters>,
    mut tap: Tap,
) -> SourceEnd {
    let start = Instant::now();
    let mut last_stats = Instant::now();
    let mut end = SourceEnd::Done;
    while !stop.load(Ordering::Relaxed) && duration.is_none_or(|d| start.elapsed() < d) {
        let wait = duration.map_or(POLL, |d| d.saturating_sub(start.elapsed()).min(POLL));
        let pushed = cap.poll(wait, &mut |p| {
            if tap.pass(p) {
                disp.push(p)
            }
        });
        if let Err(e) = pushed {
            log::error!("capture on {} failed: {e}", cap.interface());
            end = SourceEnd::Failed(format!("capture on {} failed: {e}", cap.interface()));
            break;
        }
        disp.flush();
        tap.flush();
        // Workers move their own clocks (at their engines' deadlines).
        if last_stats.elapsed() >= STATS_EVERY {
            last_stats = Instant::now();
            let k = cap.stats();
            counters.kernel_drops.store(k.drops, Ordering::Relaxed);
        }
    }
    let k = cap.stats();
    counters.kernel_drops.store(k.drops, Ordering::Relaxed);
    if k.drops > 0 {
        log::warn!("kernel dropped {} of {} packets", k.drops, k.packets);
    }
    disp.finish();
    counters.export_drops.store(tap.finish(), Ordering::Relaxed);
    counters.done.store(true, Ordering::Relaxed);
    end
}

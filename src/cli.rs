//! Command line (DESIGN.md fixes these names).

use crate::capture::open::Backend;
use clap::Parser;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// Terminal network monitor: connections, protocol state, DPI and processes,
/// live or from capture files.
#[derive(Debug, Parser)]
#[command(name = "rustnet", version, after_help = crate::host::privileges::PERMISSIONS_HELP)]
pub struct Cli {
    /// Interface to monitor; "any" = all; default: the interface of the default route
    #[arg(short, long, value_name = "IFACE")]
    pub interface: Option<String>,

    /// Hide connections whose both ends are loopback
    #[arg(long)]
    pub no_localhost: bool,

    /// UI refresh interval in milliseconds
    #[arg(short, long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub refresh_interval: u64,

    /// Disable deep packet inspection
    #[arg(long)]
    pub no_dpi: bool,

    /// Write logs to logs/rustnet_YYYY-MM-DD_HH-MM-SS.log (off by default)
    #[arg(short, long, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,

    /// Read a pcap or pcapng file instead of capturing
    #[arg(long, value_name = "FILE")]
    pub read: Option<PathBuf>,

    /// Headless: no TUI, one JSON object per connection on stdout
    #[arg(long)]
    pub json: bool,

    /// Only show/report connections matching EXPR (filter language, see the README)
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,

    /// Stop after this many seconds (live capture)
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,

    /// Connection table cap; the longest idle are evicted first
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_connections: u64,

    /// Do not look up host names of remote addresses (reverse DNS); names
    /// seen in DNS answers on the wire are still shown
    #[arg(long)]
    pub no_resolve_dns: bool,

    /// Capture filter in tcpdump syntax (compiled by libpcap), applied in the
    /// kernel for live capture and to --read files
    #[arg(short = 'f', long, value_name = "EXPR")]
    pub bpf_filter: Option<String>,

    /// Also write the captured packets (those passing --bpf-filter) to FILE, as pcapng
    #[arg(long, value_name = "FILE")]
    pub pcap_export: Option<PathBuf>,

    /// Live capture backend [default: afpacket on Linux, pcap elsewhere]
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<Backend>,

    /// Worker threads [default: min(cores, 4)]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub workers: Option<u64>,
}

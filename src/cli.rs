//! Command line (DESIGN.md fixes these names).

use crate::capture::open::Backend;
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// `rustnet --version`: the package version and, when built from a git
/// checkout, the commit (build.rs), e.g. `0.1.0 (git 927d089)`.
pub const VERSION: &str = env!("RUSTNET_VERSION");

/// The longest `--duration`: about 31 years, far below where adding it to a
/// clock could overflow (`Duration::from_secs_f64` panics from 1.8e19 s).
pub const MAX_DURATION_SECS: u64 = 1_000_000_000;

/// `--duration SECONDS`: a positive, finite number of seconds up to
/// [`MAX_DURATION_SECS`]; anything else is a usage error (exit status 2).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("'{s}' is not a positive number of seconds"));
    }
    if secs > MAX_DURATION_SECS as f64 {
        return Err(format!("'{s}' is too long (at most {MAX_DURATION_SECS} seconds)"));
    }
    // In range, so this cannot fail; checked rather than from_secs_f64 all the same.
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

/// The refresh interval range, in milliseconds.
const REFRESH_MS: std::ops::RangeInclusive<u64> = 10..=3_600_000;

/// `-r/--refresh-interval MS`. tcpdump and tshark users type `-r FILE` to
/// read a capture: when the value is not a number but names an existing
/// file, the error says `--read`.
pub fn parse_refresh(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(ms) if REFRESH_MS.contains(&ms) => Ok(ms),
        Ok(ms) => Err(format!("{ms} is outside {}..={} milliseconds", REFRESH_MS.start(), REFRESH_MS.end())),
        Err(_) if std::path::Path::new(s).exists() => {
            Err(format!("'{s}' is not a number of milliseconds (-r is the refresh interval); did you mean --read {s}?"))
        }
        Err(_) => Err(format!("'{s}' is not a number of milliseconds")),
    }
}

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
#[command(name = "rustnet", version = VERSION, after_help = crate::host::privileges::PERMISSIONS_HELP)]
pub struct Cli {
    /// Interface to monitor; "any" = all; default: the interface of the default route
    #[arg(short, long, value_name = "IFACE")]
    pub interface: Option<String>,

    /// Hide connections whose both ends are loopback
    #[arg(long)]
    pub no_localhost: bool,

    /// UI refresh interval in milliseconds
    #[arg(short, long, value_name = "MS", default_value_t = 1000, value_parser = parse_refresh)]
    pub refresh_interval: u64,

    /// Disable deep packet inspection
    #[arg(long)]
    pub no_dpi: bool,

    /// Write logs to logs/rustnet_YYYY-MM-DD_HH-MM-SS.log (off by default)
    #[arg(short, long, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,

    /// Read a pcap or pcapng file instead of capturing ("-": standard input)
    #[arg(long, value_name = "FILE")]
    pub read: Option<PathBuf>,

    /// Headless: no TUI, one JSON object per connection on stdout
    #[arg(long)]
    pub json: bool,

    /// Only show/report connections matching EXPR (filter language, see the README)
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,

    /// Stop after this many seconds (live capture)
    #[arg(long, value_name = "SECONDS", value_parser = parse_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,

    /// Connection table cap; the longest idle are evicted first
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_connections: u64,

    /// Do not look up host names of remote addresses (reverse DNS); names
    /// seen in DNS answers on the wire are still shown
    #[arg(long)]
    pub no_resolve_dns: bool,

    /// Show rustnet's own reverse-DNS lookups (connections of its own
    /// process), hidden by default
    #[arg(long)]
    pub show_own_lookups: bool,

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_checked_not_converted_blindly() {
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1000000000"), Ok(Duration::from_secs(MAX_DURATION_SECS)));
        for bad in ["1e30", "1.9e19", "1000000001", "inf", "NaN", "0", "-1", "1e-12", "", "5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn refresh_is_a_number_and_a_file_suggests_read() {
        assert_eq!(parse_refresh("250"), Ok(250));
        assert!(parse_refresh("5").is_err() && parse_refresh("abc").is_err());
        let here = env!("CARGO_MANIFEST_DIR");
        let cargo = format!("{here}/Cargo.toml");
        let e = parse_refresh(&cargo).expect_err("a path is not a number");
        assert!(e.ends_with(&format!("did you mean --read {cargo}?")), "{e}");
        assert!(!parse_refresh("no-such-file").expect_err("not a number").contains("--read"));
    }
}

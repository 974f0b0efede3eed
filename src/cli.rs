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

/// `--record-max-age`: seconds, or a number with s, m, h or d.
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
        _ => (t, 's'),
    };
    let mult = match unit {
        's' => 1.0,
        'm' => 60.0,
        'h' => 3600.0,
        'd' => 86400.0,
        _ => return Err(format!("'{s}': the unit is s, m, h or d")),
    };
    let n: f64 = num.parse().map_err(|_| format!("'{s}' is not an age (e.g. 3600, 90m, 12h, 7d)"))?;
    parse_duration(&(n * mult).to_string())
        .map_err(|_| format!("'{s}' is not a positive age up to {MAX_DURATION_SECS} s"))
}

/// `--since`/`--until`: Unix seconds (`1767225600`), a UTC date and time
/// (`2026-12-01`, `2026-12-01T08:00`, `2026-12-01 08:00:30`), or an age
/// before now (`90m`, `12h`, `7d`).
pub fn parse_time(s: &str) -> Result<f64, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<f64>() {
        return if n.is_finite() && n >= 0.0 { Ok(n) } else { Err(format!("'{s}' is not a time")) };
    }
    let t = t.trim_end_matches('Z');
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(d.and_utc().timestamp_micros() as f64 / 1e6);
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        && let Some(dt) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(dt.and_utc().timestamp() as f64);
    }
    let age = parse_age(t)
        .map_err(|_| format!("'{s}' is not a time (Unix seconds, 2026-12-01T08:00 UTC, or an age: 90m, 12h, 7d)"))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(now.saturating_sub(age).as_secs_f64())
}

/// `--record-max-size`: bytes, or a number with K, M or G (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().trim_end_matches(['b', 'B']).trim_end_matches(['i', 'I']);
    let (num, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => match c.to_ascii_uppercase() {
            'K' => (&t[..i], 10),
            'M' => (&t[..i], 20),
            'G' => (&t[..i], 30),
            'T' => (&t[..i], 40),
            _ => return Err(format!("'{s}': the unit is K, M, G or T")),
        },
        _ => (t, 0),
    };
    let n: u64 = num.trim().parse().map_err(|_| format!("'{s}' is not a size (e.g. 500M, 2G)"))?;
    match n.checked_mul(1 << shift) {
        Some(b) if b >= 64 * 1024 => Ok(b),
        Some(_) => Err(format!("'{s}' is too small (at least 64K)")),
        None => Err(format!("'{s}' is too large")),
    }
}

/// The refresh interval range, in milliseconds.
const REFRESH_MS: std::ops::RangeInclusive<u64> = 10..=3_600_000;

/// `-r/--refresh-interval MS`. tcpdump and tshark users type `-r FILE` to
/// read a capture: when the value is not a number but names an existing
/// file, the error says `--read`.
pub fn parse_refresh(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(ms) => check_refresh(ms),
        Err(_) if std::path::Path::new(s).exists() => {
            Err(format!("'{s}' is not a number of milliseconds (-r is the refresh interval); did you mean --read {s}?"))
        }
        Err(_) => Err(format!("'{s}' is not a number of milliseconds")),
    }
}

/// A refresh interval within the allowed range (the flag's and the config
/// file's).
pub fn check_refresh(ms: u64) -> Result<u64, String> {
    if REFRESH_MS.contains(&ms) {
        Ok(ms)
    } else {
        Err(format!("{ms} is outside {}..={} milliseconds", REFRESH_MS.start(), REFRESH_MS.end()))
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

    /// UI refresh interval in milliseconds [default: the config file's
    /// refresh_interval, else 1000]
    #[arg(short, long, value_name = "MS", value_parser = parse_refresh)]
    pub refresh_interval: Option<u64>,

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

    /// Directory of MaxMind-format databases (GeoLite2 or DB-IP lite
    /// Country, City, ASN .mmdb files): the remote address's country, city
    /// and AS in the overview, Details, JSON `geo` and `country:`. Never a
    /// network lookup
    #[arg(long, value_name = "DIR")]
    pub geoip: Option<PathBuf>,

    /// Do not sandbox the threads that read packets (Landlock and seccomp
    /// on Linux; see the README's permissions section)
    #[arg(long)]
    pub no_sandbox: bool,

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

    /// Also write the captured packets to FILE as pcapng, each with a
    /// comment: process, pid, direction, application, SNI/host
    #[arg(long, value_name = "FILE")]
    pub pcapng_export: Option<PathBuf>,

    /// With --pcapng-export: only the packets of connections matching EXPR
    /// (filter language), from their first packet on
    #[arg(long, value_name = "EXPR", requires = "pcapng_export")]
    pub export_filter: Option<String>,

    /// Live capture backend [default: afpacket on Linux, pcap elsewhere]
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<Backend>,

    /// Keep every finished connection (its --json record) in a SQLite
    /// database; a second run appends (see README: History)
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// With --record: delete connections that ended longer ago than AGE
    /// before the newest one (e.g. 3600, 90m, 12h, 7d)
    #[arg(long, value_name = "AGE", requires = "record", value_parser = parse_age)]
    pub record_max_age: Option<Duration>,

    /// With --record: delete the oldest connections while the database
    /// holds more than SIZE bytes (e.g. 500M, 2G)
    #[arg(long, value_name = "SIZE", requires = "record", value_parser = parse_size)]
    pub record_max_size: Option<u64>,

    /// Browse the connections of a --record database instead of capturing:
    /// in the TUI (the newest 10 000), or as JSON lines with --json or when
    /// stdout is not a terminal (with --since, --until, --filter, --no-localhost)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["read", "interface", "record", "pcap_export", "pcapng_export", "duration", "metrics"])]
    pub history: Option<PathBuf>,

    /// With --history: connections active at or after TIME (Unix seconds,
    /// 2026-12-01T08:00 UTC, or an age before now: 90m, 12h, 7d)
    #[arg(long, value_name = "TIME", requires = "history", value_parser = parse_time)]
    pub since: Option<f64>,

    /// With --history: connections begun at or before TIME (as --since)
    #[arg(long, value_name = "TIME", requires = "history", value_parser = parse_time)]
    pub until: Option<f64>,
    /// Export finished and active connections as IPFIX to a collector
    /// (udp://HOST:PORT or tcp://HOST:PORT); repeatable
    #[arg(long, value_name = "URL", value_parser = crate::output::ipfix::parse_url)]
    pub ipfix: Vec<crate::output::ipfix::Collector>,

    /// IPFIX: interim records of open connections this often (seconds)
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_duration)]
    pub ipfix_active_timeout: Duration,

    /// IPFIX: the Observation Domain ID of the messages
    #[arg(long, value_name = "ID", default_value_t = 1)]
    pub ipfix_domain_id: u32,

    /// IPFIX: largest message in bytes (UDP payload; keep below the path MTU)
    #[arg(long, value_name = "BYTES", default_value_t = 1400, value_parser = clap::value_parser!(u16).range(1200..))]
    pub ipfix_mtu: u16,

    /// Collector mode: show the connections other hosts export as IPFIX
    /// to udp://ADDR:PORT (e.g. udp://0.0.0.0:4739) instead of capturing
    #[arg(long, value_name = "URL", value_parser = crate::capture::ipfix_listen::parse_url,
          conflicts_with_all = ["read", "interface", "history", "bpf_filter", "pcap_export", "pcapng_export", "ipfix", "record", "metrics"])]
    pub ipfix_listen: Option<crate::capture::ipfix_listen::ListenUrl>,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g.
    /// 127.0.0.1:9464): traffic by process, connections by protocol, state
    /// and application, drops, retransmits (see README: Prometheus metrics)
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,

    /// Colours: dark, light (for light-background terminals), high-contrast
    /// or mono [default: the config file's theme, else dark]. The config file
    /// is $XDG_CONFIG_HOME/rustnet/config.toml, else
    /// ~/.config/rustnet/config.toml (see README: Configuration file)
    #[arg(long, value_name = "NAME")]
    pub theme: Option<crate::ui::ThemeName>,

    /// No colours (as NO_COLOR=1 or --theme mono): bold, reverse video and
    /// row markers still tell rows apart
    #[arg(long)]
    pub no_color: bool,

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
    fn ages_and_sizes_take_units() {
        assert_eq!(parse_age("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_age("1.5H"), Ok(Duration::from_secs(5400)));
        for bad in ["", "d", "7w", "-1h", "0", "1e30d", "nan", "é"] {
            assert!(parse_age(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("65536"), Ok(65536));
        for bad in ["", "1K", "M", "5X", "99999999999T", "-1M", "é"] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("1767225600"), Ok(1_767_225_600.0));
        assert_eq!(parse_time("2026-01-01"), Ok(1_767_225_600.0));
        assert_eq!(parse_time("2026-01-01T00:01Z"), Ok(1_767_225_660.0));
        assert_eq!(parse_time("2026-01-01 00:00:01.5"), Ok(1_767_225_601.5));
        let ago = parse_time("1h").expect("an age");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs_f64();
        assert!((now - 3600.0 - ago).abs() < 5.0);
        for bad in ["", "yesterday", "2026-13-01", "-5", "nan", "1e400"] {
            assert!(parse_time(bad).is_err(), "{bad:?} accepted");
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

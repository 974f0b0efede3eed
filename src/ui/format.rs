//! Text formatting for the UI: units, durations, timestamps, DPI summaries,
//! and cutting text to a column width with an ellipsis.

use rustnet_core::Timestamp;
use rustnet_core::dpi::{AppInfo, FieldValue};
use rustnet_core::track::{Connection, Proto};
use std::time::Duration;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Decimal (SI) units, as network tools usually count: "1.5 kB", "12 B".
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000.0 {
        return format!("{} B", n.round() as u64);
    }
    let mut v = n / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Compact duration: "850ms", "42s", "3m07s", "2h05m", "3d04h".
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.subsec_millis()),
        1..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// A round-trip time with 3 significant digits: "850µs", "12.3ms", "1.20s".
pub fn rtt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    match us {
        u if u < 1000.0 => format!("{u:.0}µs"),
        u if u < 10_000.0 => format!("{:.2}ms", u / 1e3),
        u if u < 100_000.0 => format!("{:.1}ms", u / 1e3),
        u if u < 1_000_000.0 => format!("{:.0}ms", u / 1e3),
        u => format!("{:.2}s", u / 1e6),
    }
}

/// A packet timestamp as a calendar time, local or UTC.
pub fn timestamp(ts: Timestamp, utc: bool) -> String {
    let secs = i64::try_from(ts.as_nanos() / 1_000_000_000).unwrap_or(i64::MAX);
    let nanos = (ts.as_nanos() % 1_000_000_000) as u32;
    let Some(t) = chrono::DateTime::from_timestamp(secs, nanos) else {
        return format!("{:.3}", ts.as_secs_f64());
    };
    if utc {
        t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
    } else {
        t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S%.3f %:z").to_string()
    }
}

/// Short protocol name for the table ("icmp6" fits the column).
pub fn proto(p: Proto) -> &'static str {
    match p {
        Proto::Icmpv6 => "icmp6",
        p => p.name(),
    }
}

/// A DPI field's value as text.
pub fn field_text(v: FieldValue<'_>) -> String {
    match v {
        FieldValue::Text(s) => s.to_string(),
        FieldValue::Number(n) => n.to_string(),
    }
}

/// One-line DPI summary: `TLS api.github.com`, `DNS A example.com`, …
pub fn app_summary(app: &AppInfo) -> String {
    let detail = match app {
        AppInfo::Http(h) => h.host.clone().or_else(|| h.path.clone()).unwrap_or_default(),
        AppInfo::Tls(t) => t.sni.clone().unwrap_or_default(),
        AppInfo::Dns(d) => d.queries.first().map(|q| format!("{} {}", q.qtype, q.name)).unwrap_or_default(),
        AppInfo::Ssh(s) => s.software.clone().unwrap_or_default(),
        AppInfo::Quic(q) => q.sni.clone().or_else(|| q.version.clone()).unwrap_or_default(),
        AppInfo::Mdns(d) | AppInfo::Llmnr(d) => {
            d.queries.first().map(|q| format!("{} {}", q.qtype, q.name)).unwrap_or_default()
        }
        AppInfo::NetBios(b) => b.names.first().cloned().unwrap_or_default(),
        AppInfo::Dhcp(d) => d.hostname.clone().or_else(|| d.message_types.last().cloned()).unwrap_or_default(),
        AppInfo::BitTorrent(b) => b.info_hash.clone().unwrap_or_else(|| b.transport.clone()),
        // Others: the first field AppInfo lists (or the name alone).
        _ => {
            let mut first = String::new();
            app.any_field(&mut |_, v| {
                first = field_text(v);
                !first.is_empty()
            });
            first
        }
    };
    if detail.is_empty() { app.protocol().to_string() } else { format!("{} {detail}", app.protocol()) }
}

/// The remote end as the table shows it: hostname (when known) with the port,
/// else the address; after the country code when GeoIP knows it ("DE host:443"),
/// and marked "(gw)" when it is the default gateway.
pub fn remote(c: &Connection) -> String {
    let end = match &c.hostname {
        Some(h) if c.proto.has_ports() => format!("{h}:{}", c.remote.port),
        Some(h) => h.clone(),
        None => c.remote.display(c.proto).to_string(),
    };
    let end = if c.gateway { format!("{end} (gw)") } else { end };
    match c.geo.as_ref().and_then(|g| g.country.as_deref()) {
        Some(cc) => format!("{cc} {end}"),
        None => end,
    }
}

/// GeoIP's answer for the remote address, as one line ("DE Berlin, AS64500 Example Transit").
pub fn geo(c: &Connection) -> Option<String> {
    let g = c.geo.as_ref().filter(|g| !g.is_empty())?;
    let place: Vec<&str> = [g.country.as_deref(), g.city.as_deref()].into_iter().flatten().collect();
    let net = match (g.asn, g.org.as_deref()) {
        (Some(n), Some(o)) => format!("AS{n} {o}"),
        (Some(n), None) => format!("AS{n}"),
        (None, Some(o)) => o.to_string(),
        (None, None) => String::new(),
    };
    Some([place.join(" "), net].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "))
}

/// Cuts `s` to `width` terminal cells, ending in "…" when cut.
pub fn fit(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in s.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(ch);
    }
    out.push('…');
    out
}

/// Like `fit`, but keeps a trailing ":port" visible ("very-long-na…:443").
pub fn fit_keep_port(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    match s.rfind(':') {
        Some(i) if !s.ends_with(']') && s.len() - i <= 6 && width > s.len() - i + 1 => {
            let port = &s[i..];
            format!("{}{port}", fit(&s[..i], width - port.len()))
        }
        _ => fit(s, width),
    }
}

/// A sparkline of `values` (oldest first), one block character each, scaled
/// to their largest; a blank where nothing flowed.
pub fn sparkline(values: impl Iterator<Item = f64> + Clone) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.clone().fold(0.0, f64::max);
    values
        .map(|v| {
            if v <= 0.0 || max <= 0.0 {
                ' '
            } else {
                // 1..=8 eighths of the largest, at least the lowest bar.
                let k = ((v / max) * 8.0).ceil() as usize;
                BARS[k.clamp(1, 8) - 1]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(1500.0), "1.5 kB");
        assert_eq!(bytes(2_345_678.0), "2.3 MB");
        assert_eq!(bytes(999_999.0), "1.0 MB");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_millis(850)), "850ms");
        assert_eq!(duration(Duration::from_secs(42)), "42s");
        assert_eq!(duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(duration(Duration::from_secs(7500)), "2h05m");
        assert_eq!(duration(Duration::from_secs(3 * 86400 + 4 * 3600)), "3d04h");
    }

    #[test]
    fn utc_timestamp() {
        // 2023-11-14 22:13:20 UTC is 1_700_000_000 s after the epoch.
        let ts = Timestamp::from_secs_nanos(1_700_000_000, 250_000_000);
        assert_eq!(timestamp(ts, true), "2023-11-14 22:13:20.250 UTC");
    }

    #[test]
    fn fitting() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("abcdefghij", 5), "abcd…");
        assert_eq!(fit_keep_port("a-very-long-hostname.example:443", 16), "a-very-long…:443");
        assert_eq!(fit_keep_port("[2001:db8::1]:443", 8), "[20…:443");
    }
}

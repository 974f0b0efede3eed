//! `--history FILE`: the connections of a `--record` database as JSON
//! lines (the stored records, byte for byte), within `--since`/`--until`
//! and matching `--filter` / `--no-localhost`.
//!
//! The filter runs on connections rebuilt from the stored JSON: every field
//! a record holds (addresses, state, process name and pid, app with its
//! fields, counters, rtt, end reason, the process with its owner, parents
//! and container, geo); what a record does not hold (rates, TCP flags, the
//! LAN device) does not match. The
//! remote's host name, which the TUI shows and `host:` matches, is kept in
//! its own column.

use super::db;
use rustnet_core::Timestamp;
use rustnet_core::dpi::AppInfo;
use rustnet_core::track::{
    Connection, ContainerInfo, EndReason, Endpoint, GeoInfo, ParentProcess, ProcessInfo, Proto, State,
};
use serde_json::Value;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

/// What to read.
pub struct Query<'a> {
    /// Connections still active at or after this time (last_seen ≥), Unix seconds.
    pub since: Option<f64>,
    /// Connections begun at or before this time (first_seen ≤), Unix seconds.
    pub until: Option<f64>,
    /// Which connections to print; None prints every one (no record is parsed).
    pub shows: Option<&'a dyn Fn(&Connection) -> bool>,
}

/// What was read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HistoryStats {
    pub printed: u64,
    pub filtered_out: u64,
    /// Records that could not be read back as connections (skipped when filtering).
    pub unreadable: u64,
}

/// Writes the matching records of `path` to `out`, oldest first.
pub fn write(path: &Path, q: &Query<'_>, out: &mut dyn Write) -> anyhow::Result<HistoryStats> {
    let conn = db::open_for_reading(path)?;
    let mut stmt = conn.prepare(
        "SELECT record, hostname FROM connections WHERE last_seen >= ?1 AND first_seen <= ?2 ORDER BY first_seen, id",
    )?;
    let mut rows = stmt.query(rusqlite::params![q.since.unwrap_or(f64::MIN), q.until.unwrap_or(f64::MAX)])?;
    let mut st = HistoryStats::default();
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        if let Some(shows) = q.shows {
            let hostname: Option<String> = row.get(1)?;
            let c = serde_json::from_str::<Value>(&text).ok().as_ref().and_then(connection);
            let c = c.map(|mut c| {
                c.hostname = hostname;
                c
            });
            match c {
                Some(c) if shows(&c) => {}
                Some(_) => {
                    st.filtered_out += 1;
                    continue;
                }
                None => {
                    st.unreadable += 1;
                    continue;
                }
            }
        }
        match out.write_all(text.as_bytes()).and_then(|()| out.write_all(b"\n")) {
            Ok(()) => st.printed += 1,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(st),
            Err(e) => return Err(e.into()),
        }
    }
    out.flush().or_else(|e| if e.kind() == io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e) })?;
    Ok(st)
}

/// The newest `max` matching connections of `path`, rebuilt from their
/// records (oldest first), for the terminal UI; each with its row id as
/// its connection id. Memory stays bounded by `max` however large the file.
pub fn connections(path: &Path, q: &Query<'_>, max: usize) -> anyhow::Result<(Vec<Connection>, HistoryStats)> {
    let conn = db::open_for_reading(path)?;
    let mut stmt = conn.prepare(
        "SELECT id, record, hostname FROM connections WHERE last_seen >= ?1 AND first_seen <= ?2 \
         ORDER BY first_seen DESC, id DESC",
    )?;
    let mut rows = stmt.query(rusqlite::params![q.since.unwrap_or(f64::MIN), q.until.unwrap_or(f64::MAX)])?;
    let mut st = HistoryStats::default();
    let mut out = Vec::new();
    while out.len() < max
        && let Some(row) = rows.next()?
    {
        let id: i64 = row.get(0)?;
        let text: String = row.get(1)?;
        let Some(mut c) = serde_json::from_str::<Value>(&text).ok().as_ref().and_then(connection) else {
            st.unreadable += 1;
            continue;
        };
        c.hostname = row.get(2)?;
        c.id = u64::try_from(id).unwrap_or(0);
        if q.shows.is_some_and(|shows| !shows(&c)) {
            st.filtered_out += 1;
            continue;
        }
        st.printed += 1;
        out.push(c);
    }
    out.reverse();
    Ok((out, st))
}

/// A connection rebuilt from its JSON record; None when the record lacks
/// what every record has (proto, local, remote, state, times).
pub fn connection(v: &Value) -> Option<Connection> {
    let proto = [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Icmpv6, Proto::Arp]
        .into_iter()
        .find(|p| Some(p.name()) == v["proto"].as_str())?;
    let state = State::ALL.into_iter().find(|s| Some(s.name()) == v["state"].as_str())?;
    let ts = |k: &str| v[k].as_f64().and_then(|s| Duration::try_from_secs_f64(s).ok()).map(timestamp);
    let (local, remote) = (endpoint(v["local"].as_str()?)?, endpoint(v["remote"].as_str()?)?);
    let mut c = Connection::new(0, proto, local, remote, ts("first_seen")?, state);
    c.last_seen = ts("last_seen")?;
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    (c.tx_packets, c.rx_packets, c.tx_bytes, c.rx_bytes) =
        (n("tx_packets"), n("rx_packets"), n("tx_bytes"), n("rx_bytes"));
    c.app = serde_json::from_value::<AppInfo>(v["app"].clone()).ok();
    c.process = v["process"].as_object().map(|p| Box::new(process(p)));
    c.geo = v["geo"].as_object().map(|g| {
        Box::new(GeoInfo {
            country: text(g.get("country")),
            city: text(g.get("city")),
            asn: g.get("asn").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()),
            org: text(g.get("org")),
        })
    });
    c.rtt = v["rtt"].as_f64().and_then(|s| Duration::try_from_secs_f64(s).ok());
    c.end_reason = [EndReason::Idle, EndReason::Closed, EndReason::Evicted, EndReason::EndOfInput]
        .into_iter()
        .find(|r| Some(r.name()) == v["end_reason"].as_str());
    Some(c)
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

fn pid(v: Option<&Value>) -> u32 {
    v.and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

/// The JSON `process` object back as a [`ProcessInfo`].
fn process(p: &serde_json::Map<String, Value>) -> ProcessInfo {
    let parents = p.get("parents").and_then(Value::as_array).into_iter().flatten();
    ProcessInfo {
        pid: pid(p.get("pid")),
        name: text(p.get("name")).unwrap_or_default(),
        cmdline: text(p.get("cmdline")),
        exe: text(p.get("exe")),
        uid: p.get("uid").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()),
        user: text(p.get("user")),
        parents: parents
            .map(|q| ParentProcess { pid: pid(q.get("pid")), name: text(q.get("name")).unwrap_or_default() })
            .collect(),
        container: p.get("container").and_then(Value::as_object).map(|k| ContainerInfo {
            runtime: text(k.get("runtime")).unwrap_or_default(),
            id: text(k.get("id")).unwrap_or_default(),
            name: text(k.get("name")),
            pod: text(k.get("pod")),
            namespace: text(k.get("namespace")),
        }),
    }
}

fn timestamp(d: Duration) -> Timestamp {
    Timestamp::from_secs_nanos(d.as_secs(), d.subsec_nanos())
}

/// "10.0.0.1:80", "[fd00::1]:443" or a bare address (ICMP, ARP).
fn endpoint(s: &str) -> Option<Endpoint> {
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some(Endpoint::new(a, 0));
    }
    let sa: std::net::SocketAddr = s.parse().ok()?;
    Some(Endpoint::new(sa.ip(), sa.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(endpoint("[fd00::1]:443"), Some(Endpoint::new("fd00::1".parse().expect("v6"), 443)));
        assert_eq!(endpoint("10.0.0.1"), Some(Endpoint::new("10.0.0.1".parse().expect("v4"), 0)));
        assert_eq!(endpoint("10.0.0.1:x"), None);
    }

    #[test]
    fn a_record_comes_back_as_its_connection() {
        let line = r#"{"proto":"tcp","local":"10.77.0.1:34832","remote":"10.77.0.2:443","state":"CLOSED","service":"https","first_seen":1795604425.69762,"last_seen":1795604425.8,"tx_packets":9,"rx_packets":10,"tx_bytes":1452,"rx_bytes":5000,"app":{"protocol":"TLS","sni":"secure.example.test","alpn":["h2"],"version":"TLSv1.3","ja4":null,"negotiated_version":null,"cipher":null},"process":{"pid":7,"name":"curl"},"rtt":0.000052,"tcp":null,"icmp":null,"end_reason":"closed"}"#;
        let v: Value = serde_json::from_str(line).expect("JSON");
        let c = connection(&v).expect("a connection");
        assert_eq!((c.proto, c.state, c.remote.port, c.tx_bytes), (Proto::Tcp, State::Closed, 443, 1452));
        assert_eq!(c.process.as_ref().map(|p| (p.pid, p.name.as_str())), Some((7, "curl")));
        assert_eq!(c.end_reason, Some(EndReason::Closed));
        // The app object reads back to what it was written from.
        assert_eq!(serde_json::to_value(c.app.as_ref().expect("app")).expect("JSON"), v["app"]);
        let f = rustnet_core::filter::Filter::parse("sni:secure process:curl state:closed").expect("filter");
        assert!(f.matches(&c));
        assert!(connection(&serde_json::json!({"proto": "tcp"})).is_none());
    }
}

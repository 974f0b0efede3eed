//! JSON lines (`--json`): one object per connection, per DESIGN.md.

use crate::snapshot::CaptureStats;
use rustnet_core::dpi::AppInfo;
use rustnet_core::track::{Connection, ContainerInfo, ProcessInfo, TcpDirStats};
use serde::Serialize;
use std::io::{self, Write};

/// DESIGN.md's `process`: unknown fields are null (`parents` empty).
#[derive(Serialize)]
struct ProcessRecord<'a> {
    pid: u32,
    name: &'a str,
    exe: Option<&'a str>,
    cmdline: Option<&'a str>,
    user: Option<&'a str>,
    uid: Option<u32>,
    parents: Vec<ParentRecord<'a>>,
    container: Option<&'a ContainerInfo>,
}

#[derive(Serialize)]
struct DeviceRecord {
    mac: Option<String>,
    vendor: Option<&'static str>,
    gateway: bool,
}

#[derive(Serialize)]
struct ParentRecord<'a> {
    pid: u32,
    name: &'a str,
}

impl<'a> ProcessRecord<'a> {
    fn of(p: &'a ProcessInfo) -> Self {
        ProcessRecord {
            pid: p.pid,
            name: &p.name,
            exe: p.exe.as_deref(),
            cmdline: p.cmdline.as_deref(),
            user: p.user.as_deref(),
            uid: p.uid,
            parents: p.parents.iter().map(|q| ParentRecord { pid: q.pid, name: &q.name }).collect(),
            container: p.container.as_ref(),
        }
    }
}

/// The JSON record; field names and order as DESIGN.md fixes them.
#[derive(Serialize)]
struct Record<'a> {
    proto: &'static str,
    local: &'a str,
    remote: &'a str,
    state: &'static str,
    service: Option<&'static str>,
    first_seen: f64,
    last_seen: f64,
    tx_packets: u64,
    rx_packets: u64,
    tx_bytes: u64,
    rx_bytes: u64,
    app: Option<&'a AppInfo>,
    process: Option<ProcessRecord<'a>>,
    rtt: Option<f64>,
}

/// Writes one connection as a JSON line, with the state the engine stamped.
pub fn write_record<W: Write>(out: &mut W, c: &Connection) -> io::Result<()> {
    out.write_all(&record_line(c)?)
}

/// One connection's JSON line, line end included.
pub fn record_line(c: &Connection) -> io::Result<Vec<u8>> {
    line(c).map(|l| l.bytes)
}

/// A connection's JSON line and its two endpoints as the line shows them:
/// `--record` stores those in columns of their own, and formatting the
/// addresses a second time cost it 4 000 instructions a record.
pub struct Line {
    /// The JSON line, line end included.
    pub bytes: Vec<u8>,
    /// `local`, as in the line.
    pub local: String,
    /// `remote`, as in the line.
    pub remote: String,
}

/// One connection's JSON line, with its endpoints (see [`Line`]).
pub fn line(c: &Connection) -> io::Result<Line> {
    let local = c.local.display(c.proto).to_string();
    let remote = c.remote.display(c.proto).to_string();
    let bytes = serialize(c, &local, &remote)?;
    Ok(Line { bytes, local, remote })
}

fn serialize(c: &Connection, local: &str, remote: &str) -> io::Result<Vec<u8>> {
    let r = Record {
        proto: c.proto.name(),
        local,
        remote,
        state: c.state.name(),
        service: c.service(),
        first_seen: c.first_seen.as_secs_f64(),
        last_seen: c.last_seen.as_secs_f64(),
        tx_packets: c.tx_packets,
        rx_packets: c.rx_packets,
        tx_bytes: c.tx_bytes,
        rx_bytes: c.rx_bytes,
        app: c.app.as_ref(),
        process: c.process.as_deref().map(ProcessRecord::of),
        rtt: c.rtt.map(|d| d.as_secs_f64()),
    };
    let mut line = Vec::with_capacity(640);
    // io::Error::from keeps an I/O error's kind (a closed pipe must read as BrokenPipe).
    serde_json::to_writer(&mut line, &r).map_err(io::Error::from)?;
    // The last fields by hand, after the object's closing brace is taken
    // off: serde_json escapes every constant key, which made `tcp` cost 3.8k
    // instructions a record (1.5 % of a file run); they hold only numbers
    // and fixed ASCII names.
    line.pop();
    analytics_fields(&mut line, c);
    // `geo`: null without --geoip or when the databases know nothing of the address.
    line.extend_from_slice(b",\"geo\":");
    serde_json::to_writer(&mut line, &c.geo.as_ref().filter(|g| !g.is_empty())).map_err(io::Error::from)?;
    // `device`: the LAN peer's MAC and vendor (ARP / neighbour discovery), and
    // whether the remote is the default gateway; null when neither is known.
    line.extend_from_slice(b",\"device\":");
    let device = (c.mac.is_some() || c.gateway).then(|| DeviceRecord {
        mac: c.mac.map(crate::host::oui::format),
        vendor: c.mac.and_then(crate::host::oui::vendor),
        gateway: c.gateway,
    });
    serde_json::to_writer(&mut line, &device).map_err(io::Error::from)?;
    // `exporter`: collector mode only (DESIGN.md), the host that exported it.
    if let Some(e) = &c.exporter {
        line.extend_from_slice(b",\"exporter\":");
        serde_json::to_writer(&mut line, &**e).map_err(io::Error::from)?;
    }
    line.extend_from_slice(b"}\n");
    Ok(line)
}

/// `,"tcp":…,"icmp":…,"end_reason":…` as DESIGN.md names them.
fn analytics_fields(v: &mut Vec<u8>, c: &Connection) {
    let mut num = itoa::Buffer::new();
    v.extend_from_slice(b",\"tcp\":");
    match &c.tcp {
        None => v.extend_from_slice(b"null"),
        Some(t) => {
            v.extend_from_slice(b"{\"tx\":");
            tcp_direction(v, &t.tx, &mut num);
            v.extend_from_slice(b",\"rx\":");
            tcp_direction(v, &t.rx, &mut num);
            v.push(b'}');
        }
    }
    v.extend_from_slice(b",\"icmp\":");
    match &c.icmp {
        None => v.extend_from_slice(b"null"),
        Some(i) => {
            v.extend_from_slice(b"{\"type\":");
            v.extend_from_slice(num.format(i.icmp_type).as_bytes());
            v.extend_from_slice(b",\"code\":");
            v.extend_from_slice(num.format(i.code).as_bytes());
            v.extend_from_slice(b",\"name\":\"");
            v.extend_from_slice(i.name().as_bytes());
            v.extend_from_slice(b"\"}");
        }
    }
    v.extend_from_slice(b",\"end_reason\":");
    match c.end_reason {
        None => v.extend_from_slice(b"null"),
        Some(r) => {
            v.push(b'"');
            v.extend_from_slice(r.name().as_bytes());
            v.push(b'"');
        }
    }
}

fn tcp_direction(v: &mut Vec<u8>, d: &TcpDirStats, num: &mut itoa::Buffer) {
    let counts = [
        ("{\"retransmits\":", d.retransmits),
        (",\"fast_retransmits\":", d.fast_retransmits),
        (",\"out_of_order\":", d.out_of_order),
        (",\"dup_acks\":", d.dup_acks),
        (",\"zero_window\":", d.zero_window),
    ];
    for (key, n) in counts {
        v.extend_from_slice(key.as_bytes());
        v.extend_from_slice(num.format(n).as_bytes());
    }
    v.extend_from_slice(b",\"flags\":\"");
    v.extend_from_slice(d.flag_letters().as_str().as_bytes());
    v.extend_from_slice(b"\"}");
}

#[derive(Serialize)]
struct DropCounts {
    kernel: u64,
    queue: u64,
    export: u64,
    total: u64,
}

#[derive(Serialize)]
struct DropsLine {
    drops: DropCounts,
}

/// The last line of a run that lost packets (DESIGN.md names no summary
/// line; this is the smallest one a script can test for):
/// `{"drops":{"kernel":K,"queue":Q,"export":E,"total":T}}`. Nothing is
/// written when nothing was lost, so every other line stays a connection.
pub fn write_drops<W: Write>(out: &mut W, d: &CaptureStats) -> io::Result<()> {
    if d.total() == 0 {
        return Ok(());
    }
    let line = DropsLine {
        drops: DropCounts { kernel: d.kernel_drops, queue: d.queue_drops, export: d.export_drops, total: d.total() },
    };
    serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()
}

//! JSON lines (`--json`): one object per connection, per DESIGN.md.

use crate::snapshot::CaptureStats;
use rustnet_core::dpi::AppInfo;
use rustnet_core::track::{Connection, TcpDirStats};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct ProcessRecord<'a> {
    pid: u32,
    name: &'a str,
}

/// The JSON record; field names and order as DESIGN.md fixes them.
#[derive(Serialize)]
struct Record<'a> {
    proto: &'static str,
    local: String,
    remote: String,
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
    tcp: Option<TcpRecord>,
    icmp: Option<IcmpRecord>,
    end_reason: Option<&'static str>,
}

/// One direction's TCP analysis (DESIGN.md's `tcp.tx` / `tcp.rx`).
#[derive(Serialize)]
struct TcpDirRecord {
    retransmits: u32,
    fast_retransmits: u32,
    out_of_order: u32,
    dup_acks: u32,
    zero_window: u32,
    flags: String,
}

impl From<&TcpDirStats> for TcpDirRecord {
    fn from(d: &TcpDirStats) -> Self {
        TcpDirRecord {
            retransmits: d.retransmits,
            fast_retransmits: d.fast_retransmits,
            out_of_order: d.out_of_order,
            dup_acks: d.dup_acks,
            zero_window: d.zero_window,
            flags: d.flag_letters().as_str().to_string(),
        }
    }
}

#[derive(Serialize)]
struct TcpRecord {
    tx: TcpDirRecord,
    rx: TcpDirRecord,
}

#[derive(Serialize)]
struct IcmpRecord {
    #[serde(rename = "type")]
    icmp_type: u8,
    code: u8,
    name: &'static str,
}

/// Writes one connection as a JSON line, with the state the engine stamped.
pub fn write_record<W: Write>(out: &mut W, c: &Connection) -> io::Result<()> {
    let r = Record {
        proto: c.proto.name(),
        local: c.local.display(c.proto).to_string(),
        remote: c.remote.display(c.proto).to_string(),
        state: c.state.name(),
        service: c.service(),
        first_seen: c.first_seen.as_secs_f64(),
        last_seen: c.last_seen.as_secs_f64(),
        tx_packets: c.tx_packets,
        rx_packets: c.rx_packets,
        tx_bytes: c.tx_bytes,
        rx_bytes: c.rx_bytes,
        app: c.app.as_ref(),
        process: c.process.as_ref().map(|p| ProcessRecord { pid: p.pid, name: &p.name }),
        rtt: c.rtt.map(|d| d.as_secs_f64()),
        tcp: c.tcp.as_ref().map(|t| TcpRecord { tx: (&t.tx).into(), rx: (&t.rx).into() }),
        icmp: c.icmp.map(|i| IcmpRecord { icmp_type: i.icmp_type, code: i.code, name: i.name() }),
        end_reason: c.end_reason.map(|r| r.name()),
    };
    // io::Error::from keeps an I/O error's kind (a closed pipe must read as BrokenPipe).
    serde_json::to_writer(&mut *out, &r).map_err(io::Error::from)?;
    out.write_all(b"\n")
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

//! `--ipfix URL`: the exporter thread. Workers hand it connection records
//! through a bounded queue (`pipeline::ipfix_tap`); it encodes them
//! (rustnet-core's `ipfix`) once per collector and sends the messages: UDP
//! datagrams, or a TCP stream (RFC 7011 §10.4: messages back to back,
//! framed by their length field). A dead collector costs this thread only.

use crate::pipeline::ipfix_tap::{IpfixRecord, IpfixTap};
use crossbeam_channel::{Receiver, bounded};
use rustnet_core::ipfix::{Encoder, ExportConfig, FlowRecord};
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A collector's transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// A collector from `--ipfix`: `udp://HOST:PORT` or `tcp://HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collector {
    pub transport: Transport,
    pub addr: SocketAddr,
    /// As given, for messages.
    pub url: String,
}

/// Parses and resolves an `--ipfix` URL (clap value parser).
pub fn parse_url(s: &str) -> Result<Collector, String> {
    let (transport, rest) = if let Some(r) = s.strip_prefix("udp://") {
        (Transport::Udp, r)
    } else if let Some(r) = s.strip_prefix("tcp://") {
        (Transport::Tcp, r)
    } else {
        return Err(format!("'{s}' is not udp://HOST:PORT or tcp://HOST:PORT"));
    };
    let rest = rest.trim_end_matches('/');
    let addr = rest
        .to_socket_addrs()
        .map_err(|e| format!("'{s}': {e}"))?
        .next()
        .ok_or_else(|| format!("'{s}': the host has no address"))?;
    Ok(Collector { transport, addr, url: s.to_string() })
}

/// Export settings from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    pub collectors: Vec<Collector>,
    pub active_timeout: Duration,
    pub domain_id: u32,
    pub mtu: usize,
    /// Live capture (export time from the wall clock, biflowDirection
    /// perimeter); from a file, export time is packet time, so a replay
    /// gives the same messages.
    pub live: bool,
}

/// Batches the queue holds before workers drop (live) or wait (file).
const QUEUE_BATCHES: usize = 64;

/// The running exporter.
pub struct IpfixExport {
    handle: JoinHandle<Summary>,
    dropped: Arc<AtomicU64>,
}

/// What the exporter did, reported at the end.
#[derive(Debug, Default)]
pub struct Summary {
    pub records: u64,
    pub messages: u64,
    pub send_errors: u64,
    pub first_error: Option<String>,
    /// Records of connections that are not IP flows (ARP).
    pub skipped: u64,
}

/// Starts the exporter thread; the tap goes to the workers.
pub fn start(s: Settings) -> anyhow::Result<(IpfixExport, IpfixTap)> {
    let (tx, rx) = bounded(QUEUE_BATCHES);
    let dropped = Arc::new(AtomicU64::new(0));
    let tap = IpfixTap { tx, active_timeout: s.active_timeout, dropped: dropped.clone() };
    let name = host_name();
    let mut outs = Vec::new();
    for c in &s.collectors {
        let cfg = ExportConfig {
            domain_id: s.domain_id,
            domain_name: name.clone(),
            mtu: s.mtu,
            live: s.live,
            ..ExportConfig::default()
        };
        outs.push(Out::new(c.clone(), Encoder::new(cfg))?);
    }
    let live = s.live;
    let handle = std::thread::Builder::new().name("ipfix".into()).spawn(move || run(&rx, &mut outs, live))?;
    Ok((IpfixExport { handle, dropped }, tap))
}

impl IpfixExport {
    /// Waits for the thread (after every worker ended) and reports on
    /// stderr what was lost. Returns 1 when records were lost, else 0.
    pub fn finish(self) -> i32 {
        let sum = self.handle.join().unwrap_or_else(|_| {
            log::error!("the ipfix thread panicked");
            Summary { first_error: Some("the exporter thread panicked".into()), ..Summary::default() }
        });
        let dropped = self.dropped.load(Ordering::Relaxed);
        log::info!("ipfix: {sum:?}, {dropped} records dropped (queue full)");
        if dropped > 0 {
            eprintln!("rustnet: warning: ipfix: {dropped} records dropped (exporter queue full)");
        }
        if sum.send_errors > 0 {
            let e = sum.first_error.as_deref().unwrap_or("?");
            eprintln!("rustnet: warning: ipfix: {} messages not sent (first error: {e})", sum.send_errors);
        }
        i32::from(dropped > 0 || sum.send_errors > 0)
    }
}

/// This host's name (observationDomainName).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

fn run(rx: &Receiver<Vec<IpfixRecord>>, outs: &mut [Out], live: bool) -> Summary {
    let mut sum = Summary::default();
    let mut msgs = Vec::new();
    // From a file: packet time, never going back (several workers).
    let mut file_clock = 0u32;
    for batch in rx {
        let recs: Vec<FlowRecord<'_>> =
            batch.iter().map(|r| FlowRecord { conn: &r.conn, fwd: r.fwd, rev: r.rev, interim: r.interim }).collect();
        let now = if live {
            secs(crate::pipeline::wall_clock())
        } else {
            let latest = batch.iter().map(|r| secs(r.conn.last_seen)).max().unwrap_or(0);
            file_clock = file_clock.max(latest);
            file_clock
        };
        sum.records += recs.len() as u64;
        for out in outs.iter_mut() {
            msgs.clear();
            out.prepare();
            out.encoder.encode(now, &recs, &mut msgs);
            for m in &msgs {
                match out.send(m) {
                    Ok(()) => sum.messages += 1,
                    Err(e) => {
                        if sum.send_errors == 0 {
                            log::warn!("ipfix: cannot send to {}: {e}", out.collector.url);
                        }
                        sum.send_errors += 1;
                        sum.first_error.get_or_insert_with(|| format!("{}: {e}", out.collector.url));
                    }
                }
            }
        }
    }
    sum.skipped = outs.first().map_or(0, |o| o.encoder.skipped());
    sum
}

fn secs(t: rustnet_core::Timestamp) -> u32 {
    u32::try_from(t.as_nanos() / 1_000_000_000).unwrap_or(u32::MAX)
}

/// One collector's session.
struct Out {
    collector: Collector,
    encoder: Encoder,
    udp: Option<UdpSocket>,
    tcp: Option<TcpStream>,
    /// TCP: when the last connection attempt failed (retried after [`RETRY`]).
    failed_at: Option<Instant>,
}

const RETRY: Duration = Duration::from_secs(5);

impl Out {
    fn new(collector: Collector, encoder: Encoder) -> anyhow::Result<Out> {
        let udp = match collector.transport {
            Transport::Udp => {
                let any: SocketAddr = if collector.addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse()?;
                let s = UdpSocket::bind(any)?;
                s.connect(collector.addr)?;
                Some(s)
            }
            Transport::Tcp => None,
        };
        Ok(Out { collector, encoder, udp, tcp: None, failed_at: None })
    }

    /// TCP: (re)connects if needed before encoding, so that a new
    /// transport session starts with the templates.
    fn prepare(&mut self) {
        if self.collector.transport != Transport::Tcp || self.tcp.is_some() {
            return;
        }
        if self.failed_at.is_some_and(|t| t.elapsed() < RETRY) {
            return;
        }
        match TcpStream::connect_timeout(&self.collector.addr, Duration::from_secs(2)) {
            Ok(s) => {
                self.tcp = Some(s);
                self.failed_at = None;
                self.encoder.resend_templates();
            }
            Err(e) => {
                log::warn!("ipfix: cannot connect to {}: {e}", self.collector.url);
                self.failed_at = Some(Instant::now());
            }
        }
    }

    fn send(&mut self, m: &[u8]) -> std::io::Result<()> {
        if let Some(s) = &self.udp {
            return s.send(m).map(|_| ());
        }
        let Some(s) = self.tcp.as_mut() else {
            return Err(std::io::Error::from(std::io::ErrorKind::NotConnected));
        };
        let r = s.write_all(m);
        if r.is_err() {
            self.tcp = None;
        }
        r
    }
}

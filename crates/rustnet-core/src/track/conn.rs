//! The public record of one connection: what the UI, filter and JSON see.

use super::analysis::TcpStats;
use super::icmp::IcmpInfo;
use super::key::{Endpoint, Proto};
use super::rate::RateMeter;
use super::services::{is_service_port, service_name};
use super::state::State;
use crate::app::AppInfo;
use crate::time::Timestamp;
use std::time::Duration;

/// Why a connection left the table (JSON `end_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// Its lifecycle timeout passed without packets.
    Idle,
    /// Closed by FIN or RST, or by a QUIC CONNECTION_CLOSE.
    Closed,
    /// Evicted early because the table was full.
    Evicted,
    /// Still open when the input ended (end of file, `--duration`, a signal).
    EndOfInput,
}

impl EndReason {
    /// The JSON name: "idle", "closed", "evicted", "end_of_input".
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Idle => "idle",
            EndReason::Closed => "closed",
            EndReason::Evicted => "evicted",
            EndReason::EndOfInput => "end_of_input",
        }
    }
}

/// The local process that owns a connection's socket. Fields the host
/// could not read (another user's `exe` without the capability, a process
/// gone before it was read) are None / empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Short name (`comm`), e.g. "curl".
    pub name: String,
    /// Full command line, for the details view.
    pub cmdline: Option<String>,
    /// Path of the executable (`/proc/<pid>/exe`).
    pub exe: Option<String>,
    /// Real user id.
    pub uid: Option<u32>,
    /// User name of `uid` on the capturing host.
    pub user: Option<String>,
    /// Parent chain, nearest first, at most [`MAX_PARENTS`].
    pub parents: Vec<ParentProcess>,
    /// The container the process runs in, from its cgroup.
    pub container: Option<ContainerInfo>,
}

/// The remote address's place and network, from MaxMind-format databases.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2 country code ("DE").
    pub country: Option<String>,
    /// City name (English).
    pub city: Option<String>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// The autonomous system's organisation.
    pub org: Option<String>,
}

impl GeoInfo {
    /// Nothing known (the databases have no entry for the address).
    pub fn is_empty(&self) -> bool {
        self == &GeoInfo::default()
    }
}

/// Most parents kept in [`ProcessInfo::parents`] (DESIGN.md: up to 4).
pub const MAX_PARENTS: usize = 4;

/// One ancestor of a process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParentProcess {
    /// Process id.
    pub pid: u32,
    /// Short name (`comm`).
    pub name: String,
}

/// A container, as its cgroup path and the runtime's own files name it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContainerInfo {
    /// "docker", "podman", "containerd", "cri-o", "systemd-nspawn", "lxc".
    pub runtime: String,
    /// The runtime's id (64 hex digits for OCI runtimes; the machine name for nspawn).
    pub id: String,
    /// The container's name, where the runtime's metadata was readable.
    pub name: Option<String>,
    /// Kubernetes pod (its uid, from the cgroup slice), when one is known.
    pub pod: Option<String>,
    /// Kubernetes namespace, when known.
    pub namespace: Option<String>,
}

/// A tracked connection, from the local side's point of view.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Connection {
    /// Unique per engine; stable for the connection's life (UI selection).
    pub id: u64,
    /// Transport protocol.
    pub proto: Proto,
    /// Live: the end whose address belongs to the capturing host; from a file
    /// (or when neither or both ends are local): the end that opened the connection.
    pub local: Endpoint,
    /// The other side.
    pub remote: Endpoint,
    /// Transport or application state, as of the engine's clock when the
    /// connection was last read from it (UDP activity states age with idle time).
    pub state: State,
    /// Time of its first packet.
    pub first_seen: Timestamp,
    /// Time of its latest packet.
    pub last_seen: Timestamp,
    /// Packets sent by the local side.
    pub tx_packets: u64,
    /// Packets received by the local side.
    pub rx_packets: u64,
    /// Bytes on the wire sent by the local side (frame length on the wire).
    pub tx_bytes: u64,
    /// Bytes on the wire received by the local side (frame length on the wire).
    pub rx_bytes: u64,
    /// IP-layer bytes sent by the local side (the IP headers' lengths, as
    /// IPFIX's octetDeltaCount; inner packets of a tunnel).
    pub tx_ip_bytes: u64,
    /// IP-layer bytes received by the local side.
    pub rx_ip_bytes: u64,
    /// Recent throughput in each direction.
    pub rate: RateMeter,
    /// What DPI learned; None until a protocol is recognised.
    pub app: Option<AppInfo>,
    /// The owning local process, filled in by the caller (the engine sees only packets).
    pub process: Option<Box<ProcessInfo>>,
    /// Name of the remote address (the flow's SNI or HTTP Host, DNS answers
    /// seen, or reverse DNS), filled in by the caller; a leading `~` marks a
    /// name only inferred from other traffic.
    pub hostname: Option<String>,
    /// Where the remote address is, from local GeoIP databases (`--geoip`):
    /// Some once looked up, even when the databases know nothing of it.
    pub geo: Option<Box<GeoInfo>>,
    /// The remote's hardware (MAC) address, learned from its ARP messages
    /// or IPv6 neighbour discovery options on this connection's row.
    pub mac: Option<[u8; 6]>,
    /// The remote address is the capturing host's default gateway (set
    /// live by the host layer from its routing table).
    pub gateway: bool,
    /// Round-trip time: TCP handshake (SYN → ACK of the SYN-ACK), DNS
    /// query → response, ICMP echo request → reply, QUIC first client
    /// Initial → first server packet; as seen at the capture point.
    pub rtt: Option<Duration>,
    /// TCP analysis per direction; None for other protocols.
    pub tcp: Option<TcpStats>,
    /// The last ICMP message other than echo (ICMP flows only).
    pub icmp: Option<IcmpInfo>,
    /// Why it left the table; None while it is in it.
    pub end_reason: Option<EndReason>,
    /// Collector mode (`--ipfix-listen`): the host that exported the
    /// record (its observationDomainName, else its address); shared by
    /// that exporter's connections.
    pub exporter: Option<std::sync::Arc<str>>,
}

impl Connection {
    /// A connection first seen at `ts`, nothing counted yet. The engine makes
    /// its own; this is for tools and tests that build records by hand.
    pub fn new(id: u64, proto: Proto, local: Endpoint, remote: Endpoint, ts: Timestamp, state: State) -> Self {
        Connection {
            id,
            proto,
            local,
            remote,
            state,
            first_seen: ts,
            last_seen: ts,
            tx_packets: 0,
            rx_packets: 0,
            tx_bytes: 0,
            rx_bytes: 0,
            tx_ip_bytes: 0,
            rx_ip_bytes: 0,
            rate: RateMeter::default(),
            app: None,
            process: None,
            hostname: None,
            geo: None,
            mac: None,
            gateway: false,
            rtt: None,
            tcp: (proto == Proto::Tcp).then(TcpStats::default),
            icmp: None,
            end_reason: None,
            exporter: None,
        }
    }

    /// Closed by its protocol: a FIN or RST seen, or a QUIC close.
    pub fn is_closed(&self) -> bool {
        self.tcp.is_some_and(|t| t.fin_or_rst()) || matches!(self.state, State::QuicClosed | State::QuicDraining)
    }

    /// The RTT to show live: TCP's smoothed RTT once it has one, else `rtt`
    /// (the handshake's, DNS, ICMP echo, QUIC).
    pub fn live_rtt(&self) -> Option<Duration> {
        self.tcp.and_then(|t| t.smoothed_rtt).or(self.rtt)
    }

    /// Retransmitted TCP segments, both directions (0 for other protocols).
    pub fn retransmits(&self) -> u64 {
        self.tcp.map_or(0, |t| t.retransmits())
    }

    /// Well-known name of the server port: the remote port if it has one, else the local.
    pub fn service(&self) -> Option<&'static str> {
        if !self.proto.has_ports() {
            return None;
        }
        let (r, l) = (self.remote.port, self.local.port);
        if is_service_port(r) || !is_service_port(l) {
            service_name(self.proto, r).or_else(|| service_name(self.proto, l))
        } else {
            service_name(self.proto, l)
        }
    }

    /// (tx, rx) bytes per second at `now`.
    pub fn rates(&self, now: Timestamp) -> (f64, f64) {
        self.rate.rates(now)
    }

    /// Adds packets, wire bytes and IP bytes to one direction's counters.
    pub(crate) fn add(&mut self, from_local: bool, packets: u64, bytes: u64, ip_bytes: u64) {
        if from_local {
            self.tx_packets += packets;
            self.tx_bytes += bytes;
            self.tx_ip_bytes += ip_bytes;
        } else {
            self.rx_packets += packets;
            self.rx_bytes += bytes;
            self.rx_ip_bytes += ip_bytes;
        }
    }

    /// Counts one packet of `bytes` on the wire and `ip_len` at the IP layer.
    pub(crate) fn count(&mut self, ts: Timestamp, from_local: bool, bytes: u32, ip_len: u32) {
        self.add(from_local, 1, u64::from(bytes), u64::from(ip_len));
        if ts > self.last_seen {
            self.last_seen = ts;
        }
        if ts < self.first_seen {
            self.first_seen = ts;
        }
        self.rate.add(ts, from_local, bytes);
    }
}

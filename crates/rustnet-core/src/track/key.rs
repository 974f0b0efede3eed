//! Flow identity: protocol plus the unordered pair of endpoints.

use std::fmt;
use std::net::IpAddr;

/// Transport protocol of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
    /// ICMP over IPv4 (IP protocol 1).
    Icmp,
    /// ICMPv6 (IPv6 next header 58).
    Icmpv6,
    /// ARP (EtherType 0x0806), tracked as a flow between two IPv4 addresses.
    Arp,
}

impl Proto {
    /// Lower-case name as printed in JSON and the UI (`tcp`, `udp`, `icmp`,
    /// `icmpv6`, `arp`).
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmpv6 => "icmpv6",
            Proto::Arp => "arp",
        }
    }

    /// Whether endpoints carry ports.
    pub fn has_ports(self) -> bool {
        matches!(self, Proto::Tcp | Proto::Udp)
    }
}

/// One end of a connection. ICMP echo flows keep the echo identifier in `port`
/// (not shown); ARP and other ICMP use 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IP address (for ARP, the protocol address).
    pub addr: IpAddr,
    /// TCP/UDP port, ICMP echo identifier, or 0.
    pub port: u16,
}

impl Endpoint {
    /// An endpoint from its parts (no canonicalisation; see [`Self::canonical`]).
    pub fn new(addr: IpAddr, port: u16) -> Self {
        Endpoint { addr, port }
    }

    /// The same endpoint with an IPv4-mapped IPv6 address as plain IPv4.
    pub fn canonical(self) -> Self {
        Endpoint { addr: self.addr.to_canonical(), port: self.port }
    }

    /// `10.0.0.5:51234`, `[fd00::1]:443`, or the bare address for port-less protocols.
    pub fn display(&self, proto: Proto) -> EndpointDisplay {
        EndpointDisplay { ep: *self, with_port: proto.has_ports() }
    }
}

/// Formats an endpoint as DESIGN.md's JSON does.
pub struct EndpointDisplay {
    ep: Endpoint,
    with_port: bool,
}

impl fmt::Display for EndpointDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.with_port, self.ep.addr) {
            (false, a) => write!(f, "{a}"),
            (true, IpAddr::V4(a)) => write!(f, "{a}:{}", self.ep.port),
            (true, IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.ep.port),
        }
    }
}

/// Order-independent flow key: `lo <= hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// Transport protocol.
    pub proto: Proto,
    /// The smaller endpoint (by address, then port).
    pub lo: Endpoint,
    /// The larger endpoint (by address, then port).
    pub hi: Endpoint,
}

impl FlowKey {
    /// The key of the flow between `a` and `b`, in either order: the same
    /// key for both directions of a flow.
    pub fn new(proto: Proto, a: Endpoint, b: Endpoint) -> Self {
        if a <= b { FlowKey { proto, lo: a, hi: b } } else { FlowKey { proto, lo: b, hi: a } }
    }
}

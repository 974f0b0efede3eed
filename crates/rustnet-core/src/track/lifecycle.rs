//! How long a connection stays in the table after its last packet, by state.

use super::state::State;
use std::time::Duration;

/// Lifecycle timeouts (DESIGN.md defaults); one place to configure them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Idle time before a CLOSED TCP connection leaves the table (default 5 s).
    pub tcp_closed: Duration,
    /// Idle time before a TIME_WAIT TCP connection leaves the table (default 5 s).
    pub tcp_time_wait: Duration,
    /// Handshake and teardown states other than TIME_WAIT/CLOSED.
    pub tcp_transient: Duration,
    /// Idle time before an ESTABLISHED TCP connection leaves the table
    /// (default 300 s).
    pub tcp_established: Duration,
    /// Idle time before a draining QUIC connection leaves the table (default 10 s).
    pub quic_draining: Duration,
    /// Idle time before a closed QUIC connection leaves the table (default 1 s).
    pub quic_closed: Duration,
    /// Idle time before a DNS query/response flow leaves the table (default 30 s).
    pub dns: Duration,
    /// Idle time before an SSH connection (any SSH state) leaves the table
    /// (default 1800 s).
    pub ssh: Duration,
    /// A UDP flow idle for less than this shows as UDP_ACTIVE (default 10 s).
    pub udp_active: Duration,
    /// A UDP flow idle for at least this shows as UDP_STALE; between
    /// `udp_active` and this, UDP_IDLE (default 60 s).
    pub udp_stale_after: Duration,
    /// Idle time before a plain UDP flow, or a QUIC connection that is not
    /// draining/closed, leaves the table (default 120 s).
    pub udp_remove: Duration,
    /// Idle time before an ICMP echo or ARP flow leaves the table (default 10 s).
    pub icmp_arp: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let s = Duration::from_secs;
        Timeouts {
            tcp_closed: s(5),
            tcp_time_wait: s(5),
            tcp_transient: s(120),
            tcp_established: s(300),
            quic_draining: s(10),
            quic_closed: s(1),
            dns: s(30),
            ssh: s(1800),
            udp_active: s(10),
            udp_stale_after: s(60),
            udp_remove: s(120),
            icmp_arp: s(10),
        }
    }
}

impl Timeouts {
    /// Idle time after which a connection in `state` leaves the table.
    pub fn idle_limit(&self, state: State) -> Duration {
        use State::*;
        match state {
            Closed => self.tcp_closed,
            TimeWait => self.tcp_time_wait,
            SynSent | SynRecv | FinWait1 | FinWait2 | CloseWait | LastAck | Closing => self.tcp_transient,
            Established => self.tcp_established,
            SshBanner | SshKeyExchange | SshAuthentication | SshEstablished => self.ssh,
            QuicDraining => self.quic_draining,
            QuicClosed => self.quic_closed,
            QuicInitial | QuicHandshake | QuicConnected => self.udp_remove,
            DnsQuery | DnsResponse => self.dns,
            UdpActive | UdpIdle | UdpStale => self.udp_remove,
            EchoRequest | EchoReply | IcmpError | IcmpOther | ArpRequest | ArpReply => self.icmp_arp,
        }
    }

    /// The state shown after `idle` without packets: UDP activity states age
    /// (active, idle, stale); the others keep their name until they expire.
    pub(crate) fn aged(&self, state: State, idle: Duration) -> State {
        match state {
            State::UdpActive | State::UdpIdle | State::UdpStale => self.udp_state(idle),
            s => s,
        }
    }

    /// The UDP activity state after `idle` without packets.
    pub fn udp_state(&self, idle: Duration) -> State {
        if idle < self.udp_active {
            State::UdpActive
        } else if idle < self.udp_stale_after {
            State::UdpIdle
        } else {
            State::UdpStale
        }
    }
}

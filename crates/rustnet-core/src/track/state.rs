//! Connection state names, as DESIGN.md fixes them for the TUI, filter and JSON.

use std::fmt;

/// Every state a connection can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    SynSent,
    SynRecv,
    Established,
    FinWait1,
    FinWait2,
    TimeWait,
    CloseWait,
    LastAck,
    Closing,
    Closed,
    QuicInitial,
    QuicHandshake,
    QuicConnected,
    QuicDraining,
    QuicClosed,
    UdpActive,
    UdpIdle,
    UdpStale,
    DnsQuery,
    DnsResponse,
    SshBanner,
    SshKeyExchange,
    SshAuthentication,
    SshEstablished,
    EchoRequest,
    EchoReply,
    ArpRequest,
    ArpReply,
}

impl State {
    /// Every state, in declaration order (`ALL[s as usize] == s`, checked by
    /// `all_is_complete`). A new variant must be named in `name` below, in
    /// this file: add it here as well.
    pub const ALL: [State; 28] = {
        use State::*;
        [
            SynSent,
            SynRecv,
            Established,
            FinWait1,
            FinWait2,
            TimeWait,
            CloseWait,
            LastAck,
            Closing,
            Closed,
            QuicInitial,
            QuicHandshake,
            QuicConnected,
            QuicDraining,
            QuicClosed,
            UdpActive,
            UdpIdle,
            UdpStale,
            DnsQuery,
            DnsResponse,
            SshBanner,
            SshKeyExchange,
            SshAuthentication,
            SshEstablished,
            EchoRequest,
            EchoReply,
            ArpRequest,
            ArpReply,
        ]
    };

    /// The name shown everywhere; SSH's ESTABLISHED shares TCP's name.
    pub fn name(self) -> &'static str {
        use State::*;
        match self {
            SynSent => "SYN_SENT",
            SynRecv => "SYN_RECV",
            Established | SshEstablished => "ESTABLISHED",
            FinWait1 => "FIN_WAIT1",
            FinWait2 => "FIN_WAIT2",
            TimeWait => "TIME_WAIT",
            CloseWait => "CLOSE_WAIT",
            LastAck => "LAST_ACK",
            Closing => "CLOSING",
            Closed => "CLOSED",
            QuicInitial => "QUIC_INITIAL",
            QuicHandshake => "QUIC_HANDSHAKE",
            QuicConnected => "QUIC_CONNECTED",
            QuicDraining => "QUIC_DRAINING",
            QuicClosed => "QUIC_CLOSED",
            UdpActive => "UDP_ACTIVE",
            UdpIdle => "UDP_IDLE",
            UdpStale => "UDP_STALE",
            DnsQuery => "DNS_QUERY",
            DnsResponse => "DNS_RESPONSE",
            SshBanner => "BANNER",
            SshKeyExchange => "KEYEXCHANGE",
            SshAuthentication => "AUTHENTICATION",
            EchoRequest => "ECHO_REQUEST",
            EchoReply => "ECHO_REPLY",
            ArpRequest => "ARP_REQUEST",
            ArpReply => "ARP_REPLY",
        }
    }

    /// TCP teardown states, which win over any application state.
    pub fn is_tcp_closing(self) -> bool {
        use State::*;
        matches!(self, FinWait1 | FinWait2 | TimeWait | CloseWait | LastAck | Closing | Closed)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::State;

    #[test]
    fn all_is_complete() {
        for (i, s) in State::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
    }
}

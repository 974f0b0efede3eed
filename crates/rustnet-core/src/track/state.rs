//! Connection state names, as DESIGN.md fixes them for the TUI, filter and JSON.

use std::fmt;

/// Declares [`State`], [`State::ALL`] and [`State::name`] from one list, so
/// a state cannot be added to one and forgotten in another.
macro_rules! states {
    ($($variant:ident => $name:literal,)*) => {
        /// Every state a connection can show.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum State {
            $($variant,)*
        }

        impl State {
            /// Every state, in declaration order (`ALL[s as usize] == s`).
            pub const ALL: [State; [$($name),*].len()] = [$(State::$variant),*];

            /// The name shown everywhere; SSH's ESTABLISHED shares TCP's name.
            pub fn name(self) -> &'static str {
                match self {
                    $(State::$variant => $name,)*
                }
            }
        }
    };
}

states! {
    SynSent => "SYN_SENT",
    SynRecv => "SYN_RECV",
    Established => "ESTABLISHED",
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
    SshEstablished => "ESTABLISHED",
    EchoRequest => "ECHO_REQUEST",
    EchoReply => "ECHO_REPLY",
    ArpRequest => "ARP_REQUEST",
    ArpReply => "ARP_REPLY",
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

//! Connection state names, as DESIGN.md fixes them for the TUI, filter and JSON.

use std::fmt;

/// Declares [`State`], [`State::ALL`] and [`State::name`] from one list, so
/// a state cannot be added to one and forgotten in another.
macro_rules! states {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// Every state a connection can show.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum State {
            $($(#[$doc])* $variant,)*
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
    /// TCP: the local end sent a SYN; no SYN-ACK yet.
    SynSent => "SYN_SENT",
    /// TCP: the local end received a SYN (and may have answered SYN-ACK); handshake not complete.
    SynRecv => "SYN_RECV",
    /// TCP: handshake complete, or picked up mid-stream without a SYN.
    Established => "ESTABLISHED",
    /// TCP: the local end sent FIN first; not yet acknowledged.
    FinWait1 => "FIN_WAIT1",
    /// TCP: the local FIN was acknowledged; waiting for the remote FIN.
    FinWait2 => "FIN_WAIT2",
    /// TCP: both ends sent FIN, the local end first, and the local FIN is acknowledged.
    TimeWait => "TIME_WAIT",
    /// TCP: the remote end sent FIN first; the local end has not yet.
    CloseWait => "CLOSE_WAIT",
    /// TCP: the local end sent FIN after the remote one; waiting for its ACK.
    LastAck => "LAST_ACK",
    /// TCP: the remote FIN arrived before the local FIN was acknowledged.
    Closing => "CLOSING",
    /// TCP: reset (RST seen), or the local FIN that answered the remote one was acknowledged.
    Closed => "CLOSED",
    /// QUIC: Initial (or 0-RTT) packets seen.
    QuicInitial => "QUIC_INITIAL",
    /// QUIC: Handshake packets seen.
    QuicHandshake => "QUIC_HANDSHAKE",
    /// QUIC: short-header (1-RTT) packets seen from both ends.
    QuicConnected => "QUIC_CONNECTED",
    /// QUIC: in its draining period (RFC 9000 section 10.2).
    QuicDraining => "QUIC_DRAINING",
    /// QUIC: a CONNECTION_CLOSE was seen.
    QuicClosed => "QUIC_CLOSED",
    /// UDP: a packet seen less than `Timeouts::udp_active` ago.
    UdpActive => "UDP_ACTIVE",
    /// UDP: idle for at least `Timeouts::udp_active`, less than `udp_stale_after`.
    UdpIdle => "UDP_IDLE",
    /// UDP: idle for at least `Timeouts::udp_stale_after`.
    UdpStale => "UDP_STALE",
    /// DNS: the last DNS message seen was a query.
    DnsQuery => "DNS_QUERY",
    /// DNS: the last DNS message seen was a response.
    DnsResponse => "DNS_RESPONSE",
    /// SSH: version banners being exchanged (shown as `BANNER`).
    SshBanner => "BANNER",
    /// SSH: key exchange begun (a KEXINIT seen).
    SshKeyExchange => "KEYEXCHANGE",
    /// SSH: both ends sent NEWKEYS; user authentication under encryption.
    SshAuthentication => "AUTHENTICATION",
    /// SSH: encrypted traffic from both ends after authentication (shown as `ESTABLISHED`, like TCP).
    SshEstablished => "ESTABLISHED",
    /// ICMP: the last message was an echo request.
    EchoRequest => "ECHO_REQUEST",
    /// ICMP: the last message was an echo reply.
    EchoReply => "ECHO_REPLY",
    /// ICMP: the last message was an error (destination unreachable, time
    /// exceeded, packet too big, parameter problem, redirect, …).
    IcmpError => "ICMP_ERROR",
    /// ICMP: the last message was neither echo, error nor neighbour discovery.
    IcmpOther => "ICMP_OTHER",
    /// ARP request, or IPv6 router/neighbour solicitation (IPv6's ARP).
    ArpRequest => "ARP_REQUEST",
    /// ARP reply, or IPv6 router/neighbour advertisement.
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

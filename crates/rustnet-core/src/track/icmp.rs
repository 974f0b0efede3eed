//! Names of ICMP and ICMPv6 messages (RFC 792, RFC 4443, RFC 4861), for the
//! `icmp` record of connections that saw a message other than echo.

/// A non-echo ICMP message: its type, code and name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpInfo {
    /// ICMPv6 (true) or ICMPv4.
    pub v6: bool,
    /// The ICMP type.
    pub icmp_type: u8,
    /// The ICMP code.
    pub code: u8,
}

impl IcmpInfo {
    /// The message's name, e.g. "port unreachable", "time exceeded".
    pub fn name(&self) -> &'static str {
        if self.v6 { v6_name(self.icmp_type, self.code) } else { v4_name(self.icmp_type, self.code) }
    }

    /// An error about another packet (whose headers it quotes): destination
    /// unreachable, time exceeded, parameter problem, packet too big,
    /// source quench, redirect.
    pub fn is_error(&self) -> bool {
        is_error(self.v6, self.icmp_type)
    }
}

/// See [`IcmpInfo::is_error`].
pub(crate) fn is_error(v6: bool, t: u8) -> bool {
    if v6 { matches!(t, 1..=4 | 137) } else { matches!(t, 3 | 4 | 5 | 11 | 12) }
}

fn v4_name(t: u8, code: u8) -> &'static str {
    match (t, code) {
        (0, _) => "echo reply",
        (3, 0) => "network unreachable",
        (3, 1) => "host unreachable",
        (3, 2) => "protocol unreachable",
        (3, 3) => "port unreachable",
        (3, 4) => "fragmentation needed",
        (3, 5) => "source route failed",
        (3, 9 | 10 | 13) => "administratively prohibited",
        (3, _) => "destination unreachable",
        (4, _) => "source quench",
        (5, _) => "redirect",
        (8, _) => "echo request",
        (9, _) => "router advertisement",
        (10, _) => "router solicitation",
        (11, 1) => "fragment reassembly time exceeded",
        (11, _) => "time exceeded",
        (12, _) => "parameter problem",
        (13, _) => "timestamp request",
        (14, _) => "timestamp reply",
        (15, _) => "information request",
        (16, _) => "information reply",
        (17, _) => "address mask request",
        (18, _) => "address mask reply",
        _ => "unknown",
    }
}

fn v6_name(t: u8, code: u8) -> &'static str {
    match (t, code) {
        (1, 0) => "no route to destination",
        (1, 1) => "administratively prohibited",
        (1, 3) => "address unreachable",
        (1, 4) => "port unreachable",
        (1, _) => "destination unreachable",
        (2, _) => "packet too big",
        (3, 1) => "fragment reassembly time exceeded",
        (3, _) => "time exceeded",
        (4, _) => "parameter problem",
        (128, _) => "echo request",
        (129, _) => "echo reply",
        (130, _) => "multicast listener query",
        (131 | 143, _) => "multicast listener report",
        (132, _) => "multicast listener done",
        (133, _) => "router solicitation",
        (134, _) => "router advertisement",
        (135, _) => "neighbor solicitation",
        (136, _) => "neighbor advertisement",
        (137, _) => "redirect",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let i = |v6, t, c| IcmpInfo { v6, icmp_type: t, code: c };
        assert_eq!(i(false, 3, 3).name(), "port unreachable");
        assert_eq!(i(true, 1, 4).name(), "port unreachable");
        assert_eq!(i(true, 2, 0).name(), "packet too big");
        assert_eq!(i(false, 200, 0).name(), "unknown");
        assert!(i(false, 11, 0).is_error() && !i(false, 13, 0).is_error() && !i(true, 135, 0).is_error());
    }
}

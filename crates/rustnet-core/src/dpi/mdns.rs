//! Multicast DNS, RFC 6762: DNS's wire format on udp/5353, read by the DNS
//! reader (`dns.rs`) and reported under its own `app.protocol`.

use super::AppInfo;
use super::dns::{self, Flavour};
use super::inspect::{Datagram, Match, Outcome};

/// A datagram on udp/5353 (the lower DNS-family port of the two, as tshark
/// picks) that parses as DNS.
pub(crate) fn classify(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    dns::classify_flavour(d, Flavour::Mdns, app)
}

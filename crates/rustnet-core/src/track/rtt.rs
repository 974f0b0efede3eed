//! Request → response times of UDP and ICMP: DNS (tshark's `dns.time`),
//! ICMP echo (`icmp.resptime`) and QUIC (first client Initial → first
//! server packet). A few pending requests per connection, no more.

use crate::time::Timestamp;
use std::time::Duration;

/// Requests kept while unanswered; a newer one replaces the oldest.
const PENDING: usize = 4;

/// Requests waiting for their response, matched by a 16-bit id (DNS
/// transaction id, ICMP echo sequence number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    slots: [(u16, Timestamp); PENDING],
    used: u8,
    /// Next slot to overwrite once all are used.
    next: u8,
    /// Time of the request behind the RTT reported so far.
    answered_request: Option<Timestamp>,
}

impl Pending {
    fn find(&self, id: u16) -> Option<Timestamp> {
        let used = self.slots.get(..usize::from(self.used)).unwrap_or_default();
        used.iter().find(|(i, _)| *i == id).map(|&(_, ts)| ts)
    }

    /// A request. With `latest`, a response is timed from the latest
    /// request with its id (DNS: a retransmitted query restarts the clock,
    /// as tshark's dns.time does); else from the first (ICMP echo).
    fn request(&mut self, id: u16, ts: Timestamp, latest: bool) {
        let used = self.slots.get_mut(..usize::from(self.used)).unwrap_or_default();
        if let Some(slot) = used.iter_mut().find(|(i, _)| *i == id) {
            if latest {
                slot.1 = ts;
            }
            return;
        }
        let at = if usize::from(self.used) < PENDING {
            self.used += 1;
            usize::from(self.used) - 1
        } else {
            let at = usize::from(self.next);
            self.next = ((at + 1) % PENDING) as u8;
            at
        };
        if let Some(slot) = self.slots.get_mut(at) {
            *slot = (id, ts);
        }
    }

    /// A response: the time since its request. With `earliest_request`, a
    /// response to an earlier request than the one timed so far replaces it
    /// (tshark's DNS truth: the first answered query); else only the first
    /// response counts (ICMP echo: the first reply in frame order).
    fn response(&mut self, id: u16, ts: Timestamp, earliest_request: bool) -> Option<Duration> {
        let req = self.find(id)?;
        let beaten = self.answered_request.is_some_and(|a| !earliest_request || a <= req);
        if beaten || ts < req {
            return None;
        }
        self.answered_request = Some(req);
        Some(ts.since(req))
    }
}

/// RTT tracking of a UDP or ICMP connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum RttTracker {
    /// Nothing timed (yet, or for this kind of flow).
    #[default]
    None,
    /// DNS (also mDNS, LLMNR) queries by transaction id.
    Dns(Pending),
    /// ICMP echo requests by sequence number.
    Echo(Pending),
    /// QUIC: when the client's first Initial was seen, and from which side.
    Quic { initial_at: Timestamp, client_is_local: bool },
    /// Nothing (more) to time: QUIC measured, or a flow whose first
    /// datagram was neither DNS nor a QUIC Initial.
    Done,
}

/// UDP ports whose datagrams tshark decodes as DNS, mDNS and LLMNR.
fn is_dns_port(p: u16) -> bool {
    matches!(p, 53 | 5353 | 5355)
}

/// A QUIC long-header Initial: fixed bit set, a known version, and the
/// Initial packet type of that version (RFC 9000 17.2; v2 renumbered types,
/// RFC 9369 3.2).
fn is_quic_initial(p: &[u8]) -> bool {
    let (Some(&b0), Some(v)) = (p.first(), p.get(1..5)) else { return false };
    if b0 & 0xc0 != 0xc0 {
        return false;
    }
    let version = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
    let ty = (b0 >> 4) & 3;
    match version {
        0x6b33_43cf => ty == 1,
        1 | 0xff00_0000..=0xff00_00ff | 0xface_b001..=0xface_b00f => ty == 0,
        _ => false,
    }
}

impl RttTracker {
    /// A UDP datagram; returns the RTT when this packet completes one.
    pub(crate) fn on_udp(
        &mut self,
        from_local: bool,
        ports: (u16, u16),
        payload: &[u8],
        ts: Timestamp,
    ) -> Option<Duration> {
        if is_dns_port(ports.0) || is_dns_port(ports.1) {
            let (Some(id), Some(&flags)) = (payload.get(0..2), payload.get(2)) else { return None };
            if payload.len() < 12 {
                return None;
            }
            let id = u16::from_be_bytes([id[0], id[1]]);
            if matches!(self, RttTracker::None) {
                *self = RttTracker::Dns(Pending::default());
            }
            let RttTracker::Dns(p) = self else { return None };
            return if flags & 0x80 == 0 {
                p.request(id, ts, true);
                None
            } else {
                p.response(id, ts, true)
            };
        }
        match *self {
            RttTracker::None if is_quic_initial(payload) => {
                *self = RttTracker::Quic { initial_at: ts, client_is_local: from_local };
                None
            }
            // The client's first datagram of a QUIC connection is an Initial.
            RttTracker::None => {
                *self = RttTracker::Done;
                None
            }
            RttTracker::Quic { initial_at, client_is_local } if client_is_local != from_local => {
                *self = RttTracker::Done;
                Some(ts.since(initial_at))
            }
            _ => None,
        }
    }

    /// An ICMP echo request (`request`) or reply with its sequence number.
    pub(crate) fn on_echo(&mut self, request: bool, seq: u16, ts: Timestamp) -> Option<Duration> {
        if matches!(self, RttTracker::None) {
            *self = RttTracker::Echo(Pending::default());
        }
        let RttTracker::Echo(p) = self else { return None };
        if request {
            p.request(seq, ts, false);
            None
        } else {
            p.response(seq, ts, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn dns_response_matched_by_id() {
        let mut r = RttTracker::None;
        let q = |id: u16, resp: bool| {
            let mut v = vec![0u8; 12];
            v[0..2].copy_from_slice(&id.to_be_bytes());
            v[2] = if resp { 0x81 } else { 0x01 };
            v
        };
        assert_eq!(r.on_udp(true, (40000, 53), &q(7, false), t(0)), None);
        assert_eq!(r.on_udp(true, (40000, 53), &q(8, false), t(5)), None);
        // A retransmitted query restarts its clock (tshark's dns.time in
        // ndpi_dns_fragmented.pcap frames 36, 37, 39: from frame 37).
        assert_eq!(r.on_udp(true, (40000, 53), &q(7, false), t(6)), None);
        assert_eq!(r.on_udp(false, (40000, 53), &q(9, true), t(7)), None);
        assert_eq!(r.on_udp(false, (40000, 53), &q(7, true), t(8)), Some(Duration::from_millis(2)));
        // The earlier query's answer replaces it; a later one does not.
        assert_eq!(r.on_udp(false, (40000, 53), &q(8, true), t(10)), Some(Duration::from_millis(5)));
        assert_eq!(r.on_udp(false, (40000, 53), &q(7, true), t(13)), None);
    }

    #[test]
    fn pending_is_bounded() {
        let mut p = Pending::default();
        for id in 0..1000u16 {
            p.request(id, t(u64::from(id)), false);
        }
        assert_eq!(p.find(0), None);
        assert_eq!(p.response(999, t(1000), false), Some(Duration::from_millis(1)));
    }

    #[test]
    fn quic_initial_to_first_server_packet() {
        let mut r = RttTracker::None;
        let initial = [0xc3, 0, 0, 0, 1, 8];
        assert_eq!(r.on_udp(true, (5000, 443), &initial, t(1)), None);
        assert_eq!(r.on_udp(true, (5000, 443), &initial, t(2)), None);
        assert_eq!(r.on_udp(false, (5000, 443), &[0xe0, 0, 0, 0, 1], t(31)), Some(Duration::from_millis(30)));
        assert_eq!(r.on_udp(false, (5000, 443), &[0x40], t(40)), None);
        // Not an Initial (a v1 Handshake packet): nothing timed.
        let mut r = RttTracker::None;
        assert_eq!(r.on_udp(true, (5000, 443), &[0xe3, 0, 0, 0, 1], t(1)), None);
        assert_eq!(r.on_udp(false, (5000, 443), &[0x40], t(3)), None);
    }
}

//! Fragmented datagrams, reassembled (`track::defrag`) and shown whole to
//! the connection's DPI and request/response timing once their last missing
//! fragment arrives. Counting is not affected: every fragment was already
//! counted on its datagram's flow when it came (DESIGN.md).

use super::{Engine, inspect};
use crate::time::Timestamp;
use crate::track::analysis::Segment;
use crate::track::defrag::Added;
use crate::track::{Endpoint, FlowKey, Proto};
use crate::wire::{self, LinkType, Packet};

/// A whole datagram's transport header and payload.
#[derive(Debug)]
struct Transport<'a> {
    proto: Proto,
    sport: u16,
    dport: u16,
    /// TCP: the segment's fields (sequence, ack, flags, window).
    tcp: Option<(u32, u32, u8, u16)>,
    payload: &'a [u8],
}

impl Engine {
    /// Adds a fragment (of TCP or UDP) to its datagram; when that completes
    /// it, shows the datagram to its connection, as of this packet's time
    /// (tshark too dissects a datagram at the fragment that completes it).
    #[cold]
    #[inline(never)]
    pub(super) fn reassemble(&mut self, pkt: &Packet<'_>, link: LinkType, frame: &[u8], ts: Timestamp) {
        let Some(f) = pkt.frag.filter(|f| matches!(f.proto, 6 | 17)) else { return };
        let Some(data) = wire::fragment_data(link, frame) else { return };
        let id = (pkt.src, pkt.dst, f.proto, f.id);
        let Added::Complete(whole) = self.defrag.add(id, f.offset(), f.more, data, ts) else { return };
        let Some(t) = transport(f.proto, &whole) else { return };
        let src = Endpoint::new(pkt.src, t.sport);
        let key = FlowKey::new(t.proto, src, Endpoint::new(pkt.dst, t.dport));
        let Some(e) = self.table.map.get_mut(&key) else { return };
        let from_local = e.conn.local == src;
        // The first fragment had no window and was not analysed: the
        // segment is, now, as tshark analyses it at its reassembly.
        match t.tcp {
            Some((seq, ack, flags, window)) => {
                let len = u32::try_from(t.payload.len()).unwrap_or(u32::MAX);
                e.analyse_tcp(&Segment { from_local, ts, seq, ack, flags, window, len });
            }
            None => e.analyse_udp(from_local, (t.sport, t.dport), t.payload, ts),
        }
        let tcp = t.tcp.map(|(seq, _, flags, _)| (seq, flags));
        let after = inspect(e, from_local, tcp, t.payload, ts);
        if let Some(a) = after.announce {
            let (local, remote) = (e.conn.local, e.conn.remote);
            self.ftp_expect.announce(a, local, remote, ts);
        }
        if after.dpi_memory {
            self.dpi_memory(key);
        }
    }
}

/// The transport header of a whole datagram (6 TCP, 17 UDP); None when it
/// is too short or its header length is impossible.
fn transport(proto: u8, d: &[u8]) -> Option<Transport<'_>> {
    let be16 = |at: usize| d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let be32 = |at: usize| d.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let (sport, dport) = (be16(0)?, be16(2)?);
    match proto {
        17 => {
            // The UDP length bounds the payload (a datagram may be padded).
            let len = usize::from(be16(4)?).clamp(8, d.len());
            Some(Transport { proto: Proto::Udp, sport, dport, tcp: None, payload: d.get(8..len)? })
        }
        6 => {
            let header = usize::from(*d.get(12)? >> 4) * 4;
            if header < 20 {
                return None;
            }
            let tcp = Some((be32(4)?, be32(8)?, *d.get(13)?, be16(14)?));
            Some(Transport { proto: Proto::Tcp, sport, dport, tcp, payload: d.get(header..)? })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::transport;

    #[test]
    fn transport_headers_of_whole_datagrams() {
        let mut udp = vec![0, 53, 0x9c, 0x40, 0, 12, 0, 0, 1, 2, 3, 4, 9, 9];
        let t = transport(17, &udp).expect("udp");
        assert_eq!((t.sport, t.dport, t.tcp, t.payload), (53, 40000, None, &[1, 2, 3, 4][..]));
        udp[5] = 200; // a length past the data: what is there
        assert_eq!(transport(17, &udp).expect("udp").payload.len(), 6);
        udp[5] = 2; // below the header: empty
        assert_eq!(transport(17, &udp).expect("udp").payload.len(), 0);
        assert!(transport(17, &udp[..3]).is_none());
        let mut tcp = vec![0; 24];
        tcp[12] = 0x50;
        tcp[13] = 0x18;
        tcp[20..].copy_from_slice(b"GET ");
        let t = transport(6, &tcp).expect("tcp");
        assert_eq!((t.payload, t.tcp), (&b"GET "[..], Some((0, 0, 0x18, 0))));
        tcp[12] = 0xf0; // 60-byte header in 24 bytes
        assert!(transport(6, &tcp).is_none());
        tcp[12] = 0x10;
        assert!(transport(6, &tcp).is_none());
        assert!(transport(1, &tcp).is_none());
    }
}

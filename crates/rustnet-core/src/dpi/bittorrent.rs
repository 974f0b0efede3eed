//! BitTorrent (BEP 3): the peer wire handshake over TCP (info-hash, client
//! from the peer id), the same handshake over uTP (BEP 29), and the DHT's
//! KRPC messages over UDP (BEP 5). By hand: only the fixed handshake and a
//! few bencoded keys are read; no crate parses them without owning the data.

use super::inspect::{Datagram, Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::Reassembler;
use super::side::Side;
use super::text::shown;
use super::{AppInfo, BitTorrentInfo};
use std::fmt::Write;

/// The handshake's first 20 bytes: length 19, then the protocol name.
const PSTR: &[u8; 20] = b"\x13BitTorrent protocol";
/// Protocol name, 8 reserved bytes, 20 info-hash bytes, 20 peer-id bytes.
const HANDSHAKE_LEN: usize = 68;
/// A uTP header without extensions.
const UTP_HEADER: usize = 20;
/// DHT query methods kept per flow.
const MAX_QUERIES: usize = 4;
/// Datagrams read per flow before DPI stops.
const MAX_DATAGRAMS: u32 = 8;

/// (info-hash in hex, client) from a whole handshake at the front of `d`.
fn handshake(d: &[u8]) -> Option<(String, Option<String>)> {
    if d.get(..20)? != PSTR {
        return None;
    }
    let hash = d.get(28..48)?;
    let mut hex = String::with_capacity(40);
    for b in hash {
        let _ = write!(hex, "{b:02x}");
    }
    Some((hex, d.get(48..68).and_then(client)))
}

/// Azureus-style peer ids ("-qB4250-…"): the part between the dashes.
fn client(peer_id: &[u8]) -> Option<String> {
    let id = peer_id.strip_prefix(b"-")?;
    let end = id.iter().position(|b| *b == b'-')?;
    let name = id.get(..end).filter(|n| (2..=8).contains(&n.len()) && n.iter().all(u8::is_ascii_alphanumeric))?;
    Some(shown(name))
}

/// A stream that starts with the handshake (the whole 20-byte name is
/// needed; a shorter prefix of it waits).
pub(crate) fn classify_stream(s: &Stream<'_>) -> Sniffed {
    let n = s.data.len().min(PSTR.len());
    if s.data[..n] != PSTR[..n] {
        return Sniffed::No;
    }
    if n < PSTR.len() {
        return Sniffed::NeedMore;
    }
    // Both peers send a handshake: who sent it says nothing about roles.
    Sniffed::Yes(Match::new(Peer, None))
}

/// Reads the peer handshake of each direction.
#[derive(Debug)]
struct Peer;

impl Inspector for Peer {
    fn on_stream(&mut self, _side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        if r.data().len() < HANDSHAKE_LEN && !r.overflowed() && r.data().starts_with(PSTR) {
            return Outcome::need_more();
        }
        let found = handshake(r.data());
        r.clear();
        let Some(info) = super::bittorrent_info(app) else {
            return Outcome::need_more();
        };
        if info.transport.is_empty() {
            info.transport = "peer".into();
        }
        if let Some((hash, client)) = found {
            info.info_hash.get_or_insert(hash);
            if info.client.is_none() {
                info.client = client;
            }
        }
        Outcome::new(Verdict::SideDone, None)
    }
}

/// The bencoded string value after `key` (e.g. `1:q`) in `d`: `4:ping` gives "ping".
fn bencoded_after<'a>(d: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = d.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = d.get(at..)?;
    let colon = rest.iter().take(3).position(|b| *b == b':')?;
    let len: usize = std::str::from_utf8(rest.get(..colon)?).ok()?.parse().ok()?;
    rest.get(colon + 1..colon + 1 + len)
}

/// A DHT KRPC message: a bencoded dictionary with a transaction id and a
/// message type `y` of q, r or e. Returns the query method of a query.
fn krpc(d: &[u8]) -> Option<Option<String>> {
    if !d.starts_with(b"d") || !d.ends_with(b"e") || d.len() < 12 {
        return None;
    }
    let y = bencoded_after(d, b"1:y")?;
    bencoded_after(d, b"1:t")?;
    match y {
        b"q" => Some(bencoded_after(d, b"1:q").map(shown)),
        b"r" | b"e" => Some(None),
        _ => None,
    }
}

/// uTP carrying a peer handshake: version 1, a known type, no extension,
/// then the handshake.
fn utp_handshake(d: &[u8]) -> Option<(String, Option<String>)> {
    let (&b0, &ext) = (d.first()?, d.get(1)?);
    if b0 & 0x0f != 1 || b0 >> 4 > 4 || ext != 0 {
        return None;
    }
    handshake(d.get(UTP_HEADER..)?)
}

/// One UDP datagram: DHT, or uTP with a handshake.
fn read_datagram(d: &[u8], info: &mut BitTorrentInfo) -> bool {
    if let Some(method) = krpc(d) {
        if info.transport.is_empty() {
            info.transport = "dht".into();
        }
        if let Some(m) = method
            && info.dht_queries.len() < MAX_QUERIES
            && !info.dht_queries.contains(&m)
        {
            info.dht_queries.push(m);
        }
        return true;
    }
    if let Some((hash, client)) = utp_handshake(d) {
        if info.transport.is_empty() {
            info.transport = "utp".into();
        }
        info.info_hash.get_or_insert(hash);
        if info.client.is_none() {
            info.client = client;
        }
        return true;
    }
    false
}

/// A UDP datagram that is a DHT message or a uTP packet with a handshake.
pub(crate) fn classify_datagram(d: &Datagram<'_>, app: &mut Option<AppInfo>) -> Option<(Match, Outcome)> {
    // Cheap first bytes before any parsing: 'd' (bencode) or uTP version 1.
    let first = *d.payload.first()?;
    if first != b'd' && first & 0x0f != 1 {
        return None;
    }
    let mut info = BitTorrentInfo::default();
    if !read_datagram(d.payload, &mut info) {
        return None;
    }
    *app = Some(AppInfo::BitTorrent(info));
    Some((Match::new(Udp { datagrams: 1 }, None), Outcome::need_more()))
}

/// Reads further DHT queries or uTP handshakes.
#[derive(Debug)]
struct Udp {
    datagrams: u32,
}

impl Inspector for Udp {
    fn on_datagram(&mut self, _side: Side, payload: &[u8], app: &mut Option<AppInfo>) -> Outcome {
        if let Some(info) = super::bittorrent_info(app) {
            read_datagram(payload, info);
        }
        self.datagrams += 1;
        Outcome::new(if self.datagrams >= MAX_DATAGRAMS { Verdict::Done } else { Verdict::NeedMore }, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first handshake of the corpus's ndpi_bittorrent.pcap (frame 13).
    const CORPUS: &[u8] = b"\x13BitTorrent protocol\x00\x00\x00\x00\x00\x10\x00\x05\xdc\xfc\xdc\xcf\xb9\xe6\x70\xcc\xc3\xdd\x40\xc7\x8c\x16\x1f\x2b\xea\x24\x31\x26-UM1860-A\x8e\xc7Le2\xd7\xbd\xde\x66\xec\x31";

    #[test]
    fn handshake_info_hash_and_client() {
        let (hash, client) = handshake(CORPUS).expect("handshake");
        // tshark: bittorrent.info_hash dcfcdccfb9e670ccc3dd40c78c161f2bea243126
        assert_eq!(hash, "dcfcdccfb9e670ccc3dd40c78c161f2bea243126");
        assert_eq!(client.as_deref(), Some("UM1860"));
        assert!(matches!(classify_stream(&Stream { data: &CORPUS[..5], ports: (1, 2) }), Sniffed::NeedMore));
        assert!(matches!(classify_stream(&Stream { data: CORPUS, ports: (1, 2) }), Sniffed::Yes(_)));
        assert!(matches!(classify_stream(&Stream { data: b"\x13BitTorrenX", ports: (1, 2) }), Sniffed::No));
    }

    #[test]
    fn dht_query_and_utp() {
        let q = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
        let mut info = BitTorrentInfo::default();
        assert!(read_datagram(q, &mut info));
        assert_eq!(info.transport, "dht");
        assert_eq!(info.dht_queries, vec!["ping"]);
        let mut u = vec![0x01, 0, 0x12, 0x34];
        u.resize(UTP_HEADER, 0);
        u.extend_from_slice(CORPUS);
        let mut info = BitTorrentInfo::default();
        assert!(read_datagram(&u, &mut info));
        assert_eq!(info.transport, "utp");
        assert!(!read_datagram(b"d1:x1:ye", &mut BitTorrentInfo::default()));
        assert!(!read_datagram(b"\x01\x00garbage", &mut BitTorrentInfo::default()));
    }
}

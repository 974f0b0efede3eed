//! TLS over TCP: ClientHello (SNI, ALPN, offered version, ECH, JA4) and
//! ServerHello (negotiated version, cipher suite), from a reassembled stream.
//!
//! The record layer is walked here (5-byte headers) because handshake
//! messages may span several records; each complete handshake message is
//! then handed to tls-parser.

use super::inspect::{Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::{MAX_CAP, Reassembler};
use super::side::{PerSide, Side};
use super::{AppInfo, TlsInfo};
use tls_parser::{
    TlsCipherSuite, TlsExtension, parse_tls_client_hello_extension, parse_tls_handshake_client_hello,
    parse_tls_handshake_server_hello, parse_tls_server_hello_extension,
};

const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
/// Largest record body: 2^14 plus the expansion TLS 1.2 allows.
const MAX_RECORD: usize = 16384 + 2048;
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const EXT_ECH: u16 = 0xfe0d;
pub(crate) const EXT_SNI: u16 = 0x0000;
pub(crate) const EXT_ALPN: u16 = 0x0010;
pub(crate) const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// Whether a stream's first bytes look like TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniff {
    Yes,
    No,
    NeedMore,
}

/// TLS handshake record (22, 3.x) or an SSLv2-format ClientHello.
pub(crate) fn sniff(d: &[u8]) -> Sniff {
    if d.is_empty() {
        return Sniff::NeedMore;
    }
    if d[0] == CONTENT_HANDSHAKE {
        return match d.get(1..3) {
            None => Sniff::NeedMore,
            Some([3, minor]) if *minor <= 4 => Sniff::Yes,
            Some(_) => Sniff::No,
        };
    }
    if sslv2_client_hello(d).is_some() {
        return Sniff::Yes;
    }
    if d[0] & 0x80 != 0 && d.len() < 5 {
        return Sniff::NeedMore;
    }
    Sniff::No
}

/// A stream that starts like TLS; the side whose first handshake message is
/// not a ServerHello is the client.
pub(crate) fn classify(s: &Stream<'_>) -> Sniffed {
    match sniff(s.data) {
        Sniff::Yes => {
            let server_hello = s.data.first() == Some(&CONTENT_HANDSHAKE) && s.data.get(5) == Some(&HS_SERVER_HELLO);
            let sender = if server_hello { Side::Server } else { Side::Client };
            Sniffed::Yes(Match::new(TlsState::default(), Some(sender)))
        }
        Sniff::NeedMore => Sniffed::NeedMore,
        Sniff::No => Sniffed::No,
    }
}

/// SSLv2 record header with a CLIENT-HELLO: returns the offered version.
fn sslv2_client_hello(d: &[u8]) -> Option<u16> {
    match d {
        [h, l, 1, vmaj, vmin, ..] if h & 0x80 != 0 => {
            let len = (usize::from(h & 0x7f) << 8) | usize::from(*l);
            let v = u16::from_be_bytes([*vmaj, *vmin]);
            (len >= 9 && (v == 2 || (0x0300..=0x0304).contains(&v))).then_some(v)
        }
        _ => None,
    }
}

/// "TLSv1.3", "TLSv1.2" … for a wire version.
pub(crate) fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1.0".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        0x0304 => "TLSv1.3".into(),
        v if v >> 8 == 0x7f => format!("TLSv1.3-draft-{}", v & 0xff),
        v => format!("0x{v:04x}"),
    }
}

pub(crate) fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a
}

/// What one ClientHello body says (also usable by QUIC, whose CRYPTO
/// frames carry the same message).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClientHello {
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// Highest offered version (supported_versions, else the legacy field).
    pub version: u16,
    pub ech: bool,
    /// JA4 fingerprint, when asked for (TLS over TCP: QUIC's record has none).
    pub ja4: Option<String>,
}

/// Whether [`parse_client_hello`] computes the JA4 fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ja4 {
    /// With "t" (TLS over TCP) as its transport.
    Tcp,
    /// Not wanted: two SHA-256 digests saved.
    Skip,
}

/// Parses a ClientHello body (after the 4-byte handshake header).
pub(crate) fn parse_client_hello(body: &[u8], ja4: Ja4) -> Option<ClientHello> {
    let (_, ch) = parse_tls_handshake_client_hello(body).ok()?;
    let ext_block = ch.ext.unwrap_or(&[]);
    let ja4 = match ja4 {
        Ja4::Tcp => Some(super::ja4::fingerprint('t', ch.version.0, ch.ciphers.iter().map(|c| c.0), ext_block)),
        Ja4::Skip => None,
    };
    let mut out = ClientHello { version: ch.version.0, ja4, ..ClientHello::default() };
    for (typ, ext) in extensions(ext_block) {
        if typ == EXT_ECH {
            out.ech = true;
            continue;
        }
        // Only these are read: tls-parser is not asked to decode the rest.
        if !matches!(typ, EXT_SNI | EXT_ALPN | EXT_SUPPORTED_VERSIONS) {
            continue;
        }
        // One broken extension must not hide the others.
        let Ok((_, e)) = parse_tls_client_hello_extension(ext) else {
            continue;
        };
        match e {
            TlsExtension::SNI(names) => {
                out.sni = names.iter().find(|(t, _)| t.0 == 0).map(|(_, n)| String::from_utf8_lossy(n).into_owned());
            }
            TlsExtension::ALPN(list) => {
                out.alpn = list.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            }
            TlsExtension::SupportedVersions(vs) => {
                if let Some(m) = vs.iter().map(|v| v.0).filter(|v| !is_grease(*v)).max() {
                    out.version = m;
                }
            }
            _ => {}
        }
    }
    Some(out)
}

/// What a ServerHello chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ServerHello {
    /// Negotiated version (supported_versions wins over the legacy field).
    pub version: u16,
    pub cipher: u16,
}

/// IANA name of a cipher suite (tls-parser's table), or its hex value.
pub(crate) fn cipher_name(id: u16) -> String {
    match TlsCipherSuite::from_id(id) {
        Some(c) => c.name.to_string(),
        None => format!("0x{id:04x}"),
    }
}

/// Negotiated version and cipher suite from a ServerHello body.
pub(crate) fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let (_, sh) = parse_tls_handshake_server_hello(body).ok()?;
    let mut v = sh.version.0;
    for (_, ext) in extensions(sh.ext.unwrap_or(&[])) {
        if let Ok((_, TlsExtension::SupportedVersions(vs))) = parse_tls_server_hello_extension(ext)
            && let Some(s) = vs.first()
        {
            v = s.0;
        }
    }
    Some(ServerHello { version: v, cipher: sh.cipher.0 })
}

/// Splits an extensions block into (type, whole extension TLV) pairs.
/// By hand: only the 4-byte TLV framing, so that tls-parser sees one extension at a time.
pub(crate) fn extensions(mut d: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if d.len() < 4 {
            return None;
        }
        let typ = u16::from_be_bytes([d[0], d[1]]);
        let len = usize::from(u16::from_be_bytes([d[2], d[3]]));
        let total = (4 + len).min(d.len());
        let (ext, rest) = d.split_at(total);
        d = rest;
        Some((typ, ext))
    })
}

/// One step of reading handshake messages from a direction.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// A whole handshake message (type) is at the front of `hs`.
    Message(u8),
    NeedMore,
    /// A non-handshake record (CCS, alert, application data) or garbage.
    Stop,
}

/// Collects handshake messages of one direction across records and segments.
#[derive(Clone, Debug, Default)]
struct HandshakeReader {
    hs: Vec<u8>,
}

impl HandshakeReader {
    fn next(&mut self, r: &mut Reassembler) -> Step {
        loop {
            if self.hs.len() >= 4 {
                let len = (usize::from(self.hs[1]) << 16) | (usize::from(self.hs[2]) << 8) | usize::from(self.hs[3]);
                if len + 4 > MAX_CAP {
                    return Step::Stop; // larger than we are willing to hold
                }
                if self.hs.len() >= len + 4 {
                    return Step::Message(self.hs[0]);
                }
                // Room for the rest of the message in records, with their headers.
                r.raise_cap(len + 4 - self.hs.len() + 5 * (len / 16384 + 2));
            }
            let d = r.data();
            if d.len() < 5 {
                return Step::NeedMore;
            }
            let len = usize::from(u16::from_be_bytes([d[3], d[4]]));
            // A warning alert before the hello (servers send unrecognized_name
            // ahead of their ServerHello): skipped, the hello follows.
            if d[0] == CONTENT_ALERT && d[1] == 3 && len == 2 && d.get(5) == Some(&1) && self.hs.is_empty() {
                if d.len() < 7 {
                    return Step::NeedMore;
                }
                r.consume(7);
                continue;
            }
            if d[0] != CONTENT_HANDSHAKE || d[1] != 3 || len > MAX_RECORD {
                return Step::Stop;
            }
            if d.len() < 5 + len {
                r.raise_cap(5 + len);
                return Step::NeedMore;
            }
            if self.hs.len() + len > MAX_CAP {
                return Step::Stop;
            }
            self.hs.extend_from_slice(&d[5..5 + len]);
            r.consume(5 + len);
        }
    }

    /// The body of the message at the front (after `next` returned Message).
    fn body(&self) -> &[u8] {
        let len = (usize::from(self.hs[1]) << 16) | (usize::from(self.hs[2]) << 8) | usize::from(self.hs[3]);
        &self.hs[4..4 + len]
    }
}

/// Progress of TLS inspection on one connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsState {
    readers: PerSide<HandshakeReader>,
    /// The side's hello was handled, or cannot be: nothing more is read from it.
    pub done: PerSide<bool>,
}

impl TlsState {
    /// Reads what it can from one direction: the client's ClientHello (SNI,
    /// ALPN, offered version, ECH) or the server's ServerHello (negotiated
    /// version). The direction is done after its first handshake message.
    pub(crate) fn on_data(&mut self, side: Side, r: &mut Reassembler, info: &mut TlsInfo) {
        if self.done[side] {
            return;
        }
        let reader = &mut self.readers[side];
        if side == Side::Client
            && let Some(v) = sslv2_client_hello(r.data())
        {
            // SSLv2 hellos carry no extensions, hence no SNI.
            info.version.get_or_insert_with(|| version_name(v));
        } else {
            match reader.next(r) {
                Step::NeedMore if !r.overflowed() => return,
                Step::NeedMore | Step::Stop => {}
                Step::Message(t) => read_hello(side, t, reader.body(), info),
            }
        }
        self.done[side] = true;
        reader.hs = Vec::new();
        r.clear();
    }
}

impl Inspector for TlsState {
    fn on_stream(&mut self, side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        let Some(info) = super::tls_info(app) else {
            return Outcome::need_more();
        };
        self.on_data(side, r, info);
        let verdict = match (self.done[Side::Client], self.done[Side::Server]) {
            (true, true) => Verdict::Done,
            _ if self.done[side] => Verdict::SideDone,
            _ => Verdict::NeedMore,
        };
        Outcome::new(verdict, None)
    }

    fn held(&self) -> usize {
        self.readers.iter().map(|r| r.hs.len()).sum()
    }
}

/// What a side's first handshake message tells.
fn read_hello(side: Side, typ: u8, body: &[u8], info: &mut TlsInfo) {
    let client = side == Side::Client;
    if client && typ == HS_CLIENT_HELLO {
        if let Some(ch) = parse_client_hello(body, Ja4::Tcp) {
            info.sni = ch.sni;
            info.alpn = ch.alpn;
            info.ech = ch.ech;
            info.ja4 = ch.ja4;
            info.version = Some(version_name(ch.version));
        }
    } else if !client
        && typ == HS_SERVER_HELLO
        && let Some(sh) = parse_server_hello(body)
    {
        info.negotiated_version = Some(version_name(sh.version));
        info.cipher = Some(cipher_name(sh.cipher));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ClientHello handshake message (with header) by hand.
    pub(crate) fn client_hello(sni: &str, alpn: &[&str], versions: &[u16], pad: usize) -> Vec<u8> {
        let mut ext = Vec::new();
        let name = sni.as_bytes();
        let mut sni_ext = Vec::new();
        sni_ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        sni_ext.push(0);
        sni_ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sni_ext.extend_from_slice(name);
        push_ext(&mut ext, 0, &sni_ext);
        if !alpn.is_empty() {
            let mut l = Vec::new();
            for p in alpn {
                l.push(p.len() as u8);
                l.extend_from_slice(p.as_bytes());
            }
            let mut a = (l.len() as u16).to_be_bytes().to_vec();
            a.extend_from_slice(&l);
            push_ext(&mut ext, 16, &a);
        }
        if !versions.is_empty() {
            let mut v = vec![(versions.len() * 2) as u8];
            for x in versions {
                v.extend_from_slice(&x.to_be_bytes());
            }
            push_ext(&mut ext, 43, &v);
        }
        if pad > 0 {
            push_ext(&mut ext, 21, &vec![0; pad]);
        }
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut msg = vec![1];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        msg
    }

    pub(crate) fn push_ext(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
        out.extend_from_slice(&typ.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
    }

    /// Wraps handshake bytes in records of at most `max` bytes each.
    pub(crate) fn records(hs: &[u8], max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for c in hs.chunks(max) {
            out.extend_from_slice(&[22, 3, 1]);
            out.extend_from_slice(&(c.len() as u16).to_be_bytes());
            out.extend_from_slice(c);
        }
        out
    }

    fn run(stream_segments: &[(u32, &[u8])]) -> TlsInfo {
        let mut r = Reassembler::default();
        r.on_syn(stream_segments.iter().map(|s| s.0).min().unwrap_or(0).wrapping_sub(1));
        let mut st = TlsState::default();
        let mut info = TlsInfo::default();
        for (seq, seg) in stream_segments {
            r.push(*seq, seg);
            st.on_data(Side::Client, &mut r, &mut info);
        }
        info
    }

    #[test]
    fn simple_client_hello() {
        let rec = records(&client_hello("example.com", &["h2", "http/1.1"], &[0x0a0a, 0x0304, 0x0303], 0), 16384);
        assert_eq!(sniff(&rec), Sniff::Yes);
        let info = run(&[(1, &rec)]);
        assert_eq!(info.sni.as_deref(), Some("example.com"));
        assert_eq!(info.alpn, vec!["h2", "http/1.1"]);
        assert_eq!(info.version.as_deref(), Some("TLSv1.3"));
        assert!(!info.ech);
    }

    #[test]
    fn split_over_segments_out_of_order_and_retransmitted() {
        let rec = records(&client_hello("big.example", &[], &[], 6000), 16384);
        let segs: Vec<(u32, &[u8])> =
            rec.chunks(1400).enumerate().map(|(i, c)| (1000 + (i * 1400) as u32, c)).collect();
        let mut order = vec![segs[1], segs[0], segs[0], segs[3], segs[2], segs[2]];
        order.extend_from_slice(&segs[4..]);
        let info = run(&order);
        assert_eq!(info.sni.as_deref(), Some("big.example"));
        assert_eq!(info.version.as_deref(), Some("TLSv1.2"));
    }

    #[test]
    fn handshake_split_over_several_records() {
        let rec = records(&client_hello("frag.example", &["h2"], &[], 100), 50);
        let info = run(&[(0, &rec)]);
        assert_eq!(info.sni.as_deref(), Some("frag.example"));
    }

    #[test]
    fn huge_client_hello_above_default_cap() {
        // Two full records: more than the default 16 KiB cap, under MAX_CAP.
        let rec = records(&client_hello("pq.example", &[], &[0x0304], 20000), 16384);
        let segs: Vec<(u32, &[u8])> = rec.chunks(1448).enumerate().map(|(i, c)| ((i * 1448) as u32, c)).collect();
        let info = run(&segs);
        assert_eq!(info.sni.as_deref(), Some("pq.example"));
    }

    #[test]
    fn over_max_cap_gives_up_cleanly() {
        let rec = records(&client_hello("toolarge.example", &[], &[], 70000), 16384);
        let segs: Vec<(u32, &[u8])> = rec.chunks(1448).enumerate().map(|(i, c)| ((i * 1448) as u32, c)).collect();
        let mut r = Reassembler::default();
        let mut st = TlsState::default();
        let mut info = TlsInfo::default();
        for (seq, seg) in segs {
            r.push(seq, seg);
            st.on_data(Side::Client, &mut r, &mut info);
            if st.done[Side::Client] {
                break;
            }
        }
        assert!(st.done[Side::Client]);
        assert_eq!(info.sni, None);
    }

    #[test]
    fn truncated_record_waits_then_nothing() {
        let rec = records(&client_hello("t.example", &[], &[], 0), 16384);
        let info = run(&[(0, &rec[..rec.len() - 10])]);
        assert_eq!(info.sni, None);
        // A corrupted length inside the hello: no panic, no SNI.
        let mut bad = rec.clone();
        bad[5 + 4 + 2 + 32 + 1] = 0xff; // cipher suites length high byte
        let info = run(&[(0, &bad)]);
        assert_eq!(info.sni, None);
    }

    #[test]
    fn ech_and_server_hello_13() {
        let mut ch = client_hello("public.example", &[], &[0x0304], 0);
        // Append an ECH extension by rebuilding the extension block length.
        let ext_len_pos = 4 + 2 + 32 + 1 + 4 + 2;
        let mut extra = Vec::new();
        push_ext(&mut extra, EXT_ECH, &[0, 1, 2]);
        let old = u16::from_be_bytes([ch[ext_len_pos], ch[ext_len_pos + 1]]);
        ch[ext_len_pos..ext_len_pos + 2].copy_from_slice(&(old + extra.len() as u16).to_be_bytes());
        ch.extend_from_slice(&extra);
        let body_len = (ch.len() - 4) as u32;
        ch[1..4].copy_from_slice(&body_len.to_be_bytes()[1..]);
        let ch = parse_client_hello(&ch[4..], Ja4::Tcp).expect("valid hello");
        assert!(ch.ech);
        // ServerHello 1.3: legacy 0x0303 + supported_versions 0x0304.
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[1; 32]);
        sh.extend_from_slice(&[0, 0x13, 0x01, 0]);
        let mut ext = Vec::new();
        push_ext(&mut ext, 43, &[3, 4]);
        sh.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        sh.extend_from_slice(&ext);
        assert_eq!(parse_server_hello(&sh), Some(ServerHello { version: 0x0304, cipher: 0x1301 }));
        assert_eq!(cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0xfefe), "0xfefe");
    }

    #[test]
    fn warning_alert_before_server_hello_is_skipped() {
        // As ndpi_http_ipv6.pcap's server sends it: Alert(warning, unrecognized_name), ServerHello.
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[1; 32]);
        sh.extend_from_slice(&[0, 0xc0, 0x2f, 0, 0, 0]);
        let mut msg = vec![HS_SERVER_HELLO, 0, 0, sh.len() as u8];
        msg.extend_from_slice(&sh);
        let mut d = vec![21, 3, 3, 0, 2, 1, 112];
        d.extend_from_slice(&records(&msg, 16384));
        let mut r = Reassembler::default();
        r.on_syn(0);
        r.push(1, &d);
        let (mut st, mut info) = (TlsState::default(), TlsInfo::default());
        st.on_data(Side::Server, &mut r, &mut info);
        assert_eq!(info.negotiated_version.as_deref(), Some("TLSv1.2"));
        assert_eq!(info.cipher.as_deref(), Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
    }

    #[test]
    fn sslv2_hello_is_tls_without_sni() {
        // SSLv2 CLIENT-HELLO offering TLS 1.0 (as old clients sent).
        let d = [0x80, 0x2e, 1, 3, 1, 0, 0x15, 0, 0, 0, 0x10];
        assert_eq!(sniff(&d), Sniff::Yes);
        let info = run(&[(0, &d)]);
        assert_eq!(info.sni, None);
        assert_eq!(info.version.as_deref(), Some("TLSv1.0"));
    }
}

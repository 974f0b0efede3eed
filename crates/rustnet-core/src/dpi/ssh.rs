//! SSH: identification strings of both sides and the protocol phase,
//! read by hand (RFC 4253 framing is a few lines; no crate parses a
//! passive, one-directional view of it).
//!
//! Phases: BANNER once an identification string is seen; KEYEXCHANGE at
//! the first KEXINIT (msg 20); AUTHENTICATION once both sides sent NEWKEYS
//! (msg 21). After that everything is encrypted, so ESTABLISHED is a
//! heuristic: [`ESTABLISHED_AFTER`] encrypted segments from each side after
//! NEWKEYS. A successful login exchanges service request/accept, one or more
//! userauth request/reply pairs and then channel open/confirm and session
//! traffic, so both sides pass that count right after a login, while a
//! client that fails and gives up usually sends fewer.

use super::inspect::{Inspector, Match, Outcome, Sniffed, Stream, Verdict};
use super::reassembly::Reassembler;
use super::side::{PerSide, Side};
use super::{AppInfo, SshInfo};
use crate::track::State;

/// Encrypted segments per side after NEWKEYS before the session counts as established.
pub(crate) const ESTABLISHED_AFTER: u32 = 4;
/// Identification lines longer than this are cut (RFC 4253 allows 255).
const MAX_BANNER: usize = 255;
const MSG_KEXINIT: u8 = 20;
const MSG_NEWKEYS: u8 = 21;
/// Largest binary packet we step over (RFC 4253 requires 35000 to be supported).
const MAX_PACKET: usize = 256 * 1024;
/// Payload packets looked at: SSH needs the key exchange and the first encrypted packets.
pub(crate) const MAX_SSH: u32 = 512;

/// Whether a stream starts like an SSH identification string.
pub(crate) fn sniff(d: &[u8]) -> Option<bool> {
    let n = d.len().min(4);
    if d[..n] != b"SSH-"[..n] {
        return Some(false);
    }
    if n < 4 { None } else { Some(true) }
}

/// A stream that starts with "SSH-". Either side may speak first, so the
/// client is what the handshake said (or the local end).
pub(crate) fn classify(s: &Stream<'_>) -> Sniffed {
    match sniff(s.data) {
        Some(true) => Sniffed::Yes(Match::new(SshState::default(), None)),
        None => Sniffed::NeedMore,
        Some(false) => Sniffed::No,
    }
}

/// What one side has shown so far.
#[derive(Clone, Debug, Default)]
struct Half {
    banner_done: bool,
    newkeys: bool,
    encrypted_segments: u32,
    /// Gave up parsing packets (bad framing); the phase stays where it is.
    lost: bool,
}

/// Progress of SSH inspection on one connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct SshState {
    sides: PerSide<Half>,
    pub phase: Option<State>,
}

impl SshState {
    /// Reads what is contiguous in `side`'s direction.
    pub(crate) fn on_data(&mut self, side: Side, r: &mut Reassembler, info: &mut SshInfo) {
        // Servers may send other lines before the identification (RFC 4253 4.2).
        while !self.sides[side].banner_done {
            let d = r.data();
            let Some(end) = d.iter().position(|&b| b == b'\n') else {
                if d.len() > MAX_BANNER + 2 || r.overflowed() {
                    self.sides[side].banner_done = true;
                    self.sides[side].lost = true;
                }
                return;
            };
            let line = &d[..end.min(MAX_BANNER + 1)];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.starts_with(b"SSH-") {
                let s = String::from_utf8_lossy(line).into_owned();
                if side == Side::Client {
                    info.client = Some(s);
                } else {
                    info.server = Some(s);
                }
                self.sides[side].banner_done = true;
                info.software = software(info);
                self.phase.get_or_insert(State::SshBanner);
            }
            r.consume(end + 1);
        }
        while !self.sides[side].newkeys && !self.sides[side].lost {
            let d = r.data();
            if d.len() < 6 {
                break;
            }
            let len = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
            if !(5..=MAX_PACKET).contains(&len) {
                self.sides[side].lost = true;
                break;
            }
            match d[5] {
                MSG_KEXINIT => self.phase = Some(State::SshKeyExchange),
                MSG_NEWKEYS => self.sides[side].newkeys = true,
                _ => {}
            }
            r.consume(4 + len);
        }
        if self.sides.iter().all(|s| s.newkeys) && self.phase < Some(State::SshAuthentication) {
            self.phase = Some(State::SshAuthentication);
        }
    }

    /// Counts a segment if this side already sent NEWKEYS (called per packet with payload).
    pub(crate) fn count_segment(&mut self, side: Side) {
        if self.sides[side].newkeys {
            self.sides[side].encrypted_segments += 1;
        }
        if self.phase == Some(State::SshAuthentication)
            && self.sides.iter().all(|s| s.encrypted_segments >= ESTABLISHED_AFTER)
        {
            self.phase = Some(State::SshEstablished);
        }
    }

    pub(crate) fn newkeys(&self, side: Side) -> bool {
        self.sides[side].newkeys
    }

    /// Nothing more to learn: established, or both sides' framing lost after the banners.
    pub(crate) fn is_done(&self) -> bool {
        self.phase == Some(State::SshEstablished) || self.sides.iter().all(|s| s.banner_done && s.lost)
    }
}

impl Inspector for SshState {
    fn on_stream(&mut self, side: Side, r: &mut Reassembler, app: &mut Option<AppInfo>) -> Outcome {
        let Some(info) = super::ssh_info(app) else {
            return Outcome::need_more();
        };
        self.on_data(side, r, info);
        self.outcome()
    }

    /// After NEWKEYS a side's segments are encrypted: counted, not buffered.
    fn on_segment(&mut self, side: Side) -> Option<Outcome> {
        if !self.newkeys(side) {
            return None;
        }
        self.count_segment(side);
        Some(self.outcome())
    }

    fn state(&self) -> Option<State> {
        self.phase
    }

    fn max_packets(&self) -> u32 {
        MAX_SSH
    }
}

impl SshState {
    fn outcome(&self) -> Outcome {
        let verdict = if self.is_done() { Verdict::Done } else { Verdict::NeedMore };
        Outcome::new(verdict, self.phase)
    }
}

/// "OpenSSH_9.2p1" from "SSH-2.0-OpenSSH_9.2p1 Debian-2": the server's, else the client's.
fn software(info: &SshInfo) -> Option<String> {
    let b = info.server.as_deref().or(info.client.as_deref())?;
    let rest = b.splitn(3, '-').nth(2)?;
    let sw = rest.split(' ').next().unwrap_or(rest);
    (!sw.is_empty()).then(|| sw.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An unencrypted binary packet with message type `t`.
    pub(crate) fn packet(t: u8, body: usize) -> Vec<u8> {
        let pad = 4;
        let len = (1 + 1 + body + pad) as u32;
        let mut p = len.to_be_bytes().to_vec();
        p.push(pad as u8);
        p.push(t);
        p.extend(std::iter::repeat_n(0u8, body + pad));
        p
    }

    #[test]
    fn banner_split_then_kex_and_newkeys() {
        let mut st = SshState::default();
        let mut info = SshInfo::default();
        let mut c = Reassembler::default();
        let mut s = Reassembler::default();
        s.push(0, b"SSH-2.0-OpenSSH_9.2p1 Deb");
        st.on_data(Side::Server, &mut s, &mut info);
        assert_eq!(info.server, None);
        s.push(25, b"ian-2\r\n");
        st.on_data(Side::Server, &mut s, &mut info);
        assert_eq!(info.server.as_deref(), Some("SSH-2.0-OpenSSH_9.2p1 Debian-2"));
        assert_eq!(info.software.as_deref(), Some("OpenSSH_9.2p1"));
        assert_eq!(st.phase, Some(State::SshBanner));
        let mut cdata = b"SSH-2.0-PuTTY_Release_0.78\r\n".to_vec();
        cdata.extend(packet(MSG_KEXINIT, 1000));
        c.push(0, &cdata);
        st.on_data(Side::Client, &mut c, &mut info);
        assert_eq!(info.client.as_deref(), Some("SSH-2.0-PuTTY_Release_0.78"));
        assert_eq!(info.software.as_deref(), Some("OpenSSH_9.2p1"));
        assert_eq!(st.phase, Some(State::SshKeyExchange));
        let mut n = packet(MSG_NEWKEYS, 0);
        c.push(cdata.len() as u32, &n);
        st.on_data(Side::Client, &mut c, &mut info);
        assert!(st.newkeys(Side::Client));
        assert_eq!(st.phase, Some(State::SshKeyExchange));
        n = packet(MSG_KEXINIT, 500);
        n.extend(packet(MSG_NEWKEYS, 0));
        s.push(32, &n);
        st.on_data(Side::Server, &mut s, &mut info);
        assert_eq!(st.phase, Some(State::SshAuthentication));
        for _ in 0..ESTABLISHED_AFTER {
            st.count_segment(Side::Client);
            assert!(!st.is_done());
            st.count_segment(Side::Server);
        }
        assert_eq!(st.phase, Some(State::SshEstablished));
        assert!(st.is_done());
    }

    #[test]
    fn ssh1_banner_and_client_only_software() {
        let mut st = SshState::default();
        let mut info = SshInfo::default();
        let mut c = Reassembler::default();
        c.push(0, b"SSH-1.5-1.2.27\n");
        st.on_data(Side::Client, &mut c, &mut info);
        assert_eq!(info.client.as_deref(), Some("SSH-1.5-1.2.27"));
        assert_eq!(info.software.as_deref(), Some("1.2.27"));
        assert_eq!(sniff(b"SS"), None);
        assert_eq!(sniff(b"SSH-"), Some(true));
        assert_eq!(sniff(b"GET "), Some(false));
    }
}

//! Live capture through libpcap (`--backend pcap`, cargo feature `pcap`): the
//! path macOS, the BSDs and Windows (Npcap) need, and an alternative to
//! AF_PACKET on Linux. Packets take the same path into the core as AF_PACKET's.

use super::live::KernelStats;
use super::{LiveSource, Packet};
use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;
use std::io;
use std::time::Duration;

/// Read timeout of the handle: how long `poll` may wait for a packet.
const TIMEOUT_MS: i32 = 100;
/// Packets handed out per `poll`, so the caller gets to flush and tick.
const MAX_PER_POLL: usize = 4096;
const SNAPLEN: i32 = 262_144;

/// Why a libpcap capture could not be opened.
#[derive(Debug)]
pub enum PcapOpenError {
    /// libpcap could not open or activate the device (its message).
    Open(String),
    /// libpcap rejected the capture filter (its message).
    Filter(String),
}

impl std::fmt::Display for PcapOpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PcapOpenError::Open(m) => write!(f, "libpcap: {m}"),
            PcapOpenError::Filter(m) => write!(f, "invalid BPF filter: {m}"),
        }
    }
}

/// A libpcap capture on one device ("any" on Linux for all).
pub struct PcapCapture {
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    iface: String,
}

impl PcapCapture {
    /// Opens `iface` (not promiscuous, immediate delivery) with `filter`
    /// installed by libpcap (in the kernel where the platform allows).
    pub fn open(iface: &str, filter: Option<&str>) -> Result<PcapCapture, PcapOpenError> {
        #[cfg(target_os = "macos")]
        if iface == "any" {
            // PKTAP ("any" on macOS) needs its own link type handling we cannot test here.
            return Err(PcapOpenError::Open(
                "\"any\" (PKTAP) is not supported on this platform; name an interface".into(),
            ));
        }
        let open = |e: pcap::Error| PcapOpenError::Open(e.to_string());
        let cap = pcap::Capture::from_device(iface)
            .map_err(open)?
            .promisc(false)
            .snaplen(SNAPLEN)
            .immediate_mode(true)
            .timeout(TIMEOUT_MS)
            .open()
            .map_err(open)?;
        // Non-blocking, with our own poll() for the wait: libpcap's read
        // timeout does not bound the wait in immediate mode on Linux.
        #[cfg(unix)]
        let cap = cap.setnonblock().map_err(open)?;
        let mut cap = cap;
        if let Some(expr) = filter {
            cap.filter(expr, true).map_err(|e| PcapOpenError::Filter(e.to_string()))?;
        }
        let dlt = cap.get_datalink().0;
        let link = LinkType::from_number(u32::try_from(dlt).unwrap_or(u32::MAX));
        Ok(PcapCapture { cap, link, iface: iface.to_string() })
    }

    /// Link type of the frames this capture delivers.
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// Delivers the packets libpcap has ready (at most MAX_PER_POLL).
    fn drain(&mut self, f: &mut dyn FnMut(&Packet<'_>)) -> io::Result<usize> {
        let mut n = 0;
        while n < MAX_PER_POLL {
            match self.cap.next_packet() {
                Ok(p) => {
                    let ts = p.header.ts;
                    let (secs, usecs) = (u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_usec).unwrap_or(0));
                    f(&Packet {
                        ts: Timestamp::from_secs_nanos(secs, usecs.saturating_mul(1000)),
                        data: p.data,
                        wire_len: p.header.len,
                        link: self.link,
                    });
                    n += 1;
                }
                Err(pcap::Error::TimeoutExpired) => break,
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
        }
        Ok(n)
    }
}

impl LiveSource for PcapCapture {
    fn poll(&mut self, timeout: Duration, f: &mut dyn FnMut(&Packet<'_>)) -> io::Result<usize> {
        let n = self.drain(f)?;
        if n > 0 {
            return Ok(n);
        }
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            let mut pfd = libc::pollfd { fd: self.cap.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
            // SAFETY: one valid pollfd, count 1.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                return if e.kind() == io::ErrorKind::Interrupted { Ok(0) } else { Err(e) };
            }
        }
        #[cfg(not(unix))]
        let _ = timeout; // the handle's read timeout bounds the wait
        self.drain(f)
    }

    /// libpcap's counters: received, and dropped by the kernel buffer
    /// (ps_drop) plus by the interface (ps_ifdrop).
    fn stats(&mut self) -> KernelStats {
        match self.cap.stats() {
            Ok(s) => {
                KernelStats { packets: u64::from(s.received), drops: u64::from(s.dropped) + u64::from(s.if_dropped) }
            }
            Err(_) => KernelStats::default(),
        }
    }

    fn interface(&self) -> &str {
        &self.iface
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn unknown_device_and_bad_filter_give_libpcaps_messages() {
        let e = PcapCapture::open("no-such-if0", None).err().expect("unknown device fails");
        assert!(matches!(e, PcapOpenError::Open(_)), "{e}");
        if !crate::testenv::root_ready() {
            return;
        }
        let e = PcapCapture::open("lo", Some("udp port")).err().expect("bad filter fails");
        assert!(matches!(&e, PcapOpenError::Filter(m) if m.contains("syntax error")), "{e}");
    }

    #[test]
    fn loopback_udp_through_libpcap_with_filter() {
        if !crate::testenv::root_ready() {
            return;
        }
        let mut cap = PcapCapture::open("lo", Some("udp port 39999")).expect("open lo");
        assert_eq!(cap.link_type(), LinkType::Ethernet);
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        for i in 0..5u8 {
            sock.send_to(&vec![i; 10 + usize::from(i)], "127.0.0.1:39999").expect("send");
            sock.send_to(b"other", "127.0.0.1:39998").expect("send");
        }
        let mut lens = Vec::new();
        let start = std::time::Instant::now();
        while lens.len() < 5 && start.elapsed() < Duration::from_secs(5) {
            cap.poll(Duration::from_millis(100), &mut |p| lens.push(p.wire_len)).expect("poll");
        }
        // Ethernet 14 + IPv4 20 + UDP 8 + payload; the 39998 datagrams are filtered out.
        assert_eq!(lens, (0..5).map(|i| 42 + 10 + i).collect::<Vec<u32>>());
        assert!(cap.stats().packets >= 5);
    }
}

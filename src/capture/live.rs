//! Live capture on Linux: an AF_PACKET socket with a memory-mapped TPACKET_V3
//! receive ring, so no C capture library is needed to build or run.
//!
//! Written against libc directly: the ring protocol is a handful of
//! setsockopt/mmap calls and two status words, and no maintained pure-Rust
//! crate exposes TPACKET_V3 blocks with borrowed, zero-copy frames.
//!
//! Link framing per packet:
//! - Ethernet and loopback devices: SOCK_RAW, frames as on the wire (`Ethernet`).
//! - Devices without a link header (tun, ARPHRD_NONE, PPP, raw IP): SOCK_RAW,
//!   the frame starts at the IP header (`Raw`).
//! - "any" and every other device type: SOCK_DGRAM, and a 16-byte Linux cooked
//!   (SLL v1) header is written from the ring's sockaddr_ll into the headroom
//!   the kernel leaves before each packet (`LinuxSll`).
//!
//! VLAN tags the kernel moved into packet metadata are put back into the frame,
//! so the decoder sees what was on the wire. Outgoing copies on loopback
//! devices are skipped: the kernel shows each loopback packet twice (once
//! leaving, once arriving), and the arriving copy is the one kept.

use super::Packet;
use crate::sys::interfaces;
use crate::sys::socket::{bind_all_protocols, getsockopt, setsockopt};
use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;
use std::fmt;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Kernel socket counters since open, cumulative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the socket was handed, dropped ones included.
    pub packets: u64,
    /// Packets dropped because the ring was full.
    pub drops: u64,
}

/// Ring geometry. The kernel requires the block size to be a multiple of the
/// page size and the frame size a multiple of 16; frames larger than a block
/// are truncated to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingConfig {
    pub block_size: u32,
    pub block_count: u32,
    pub frame_size: u32,
    /// A partly filled block is handed over after this long. Short, so that a
    /// new flow reaches the process resolver while its (maybe short-lived)
    /// process still holds the socket.
    pub block_timeout_ms: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig { block_size: 1 << 20, block_count: 64, frame_size: 2048, block_timeout_ms: 2 }
    }
}

/// Why a live capture could not be opened.
#[derive(Debug)]
pub enum CaptureError {
    /// No CAP_NET_RAW (EPERM/EACCES from socket()).
    PermissionDenied { iface: String, source: io::Error },
    /// No interface of that name; `available` lists the ones there are.
    UnknownInterface { name: String, available: Vec<String> },
    /// Any other failure, with what was being done.
    Io { context: String, source: io::Error },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::PermissionDenied { iface, source } => write!(
                f,
                "cannot capture on {iface}: {source}. Live capture needs CAP_NET_RAW: run with sudo, \
                 or grant it once with: sudo setcap cap_net_raw,cap_net_admin=eip $(which rustnet)"
            ),
            CaptureError::UnknownInterface { name, available } => write!(
                f,
                "unknown interface \"{name}\"; available: {}, or \"any\" for all",
                if available.is_empty() { "(none found)".to_string() } else { available.join(", ") }
            ),
            CaptureError::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::PermissionDenied { source, .. } | CaptureError::Io { source, .. } => Some(source),
            CaptureError::UnknownInterface { .. } => None,
        }
    }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> CaptureError {
    move |source| CaptureError::Io { context: context.into(), source }
}

/// How the frames of this socket are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Ethernet,
    Raw,
    Cooked,
}

impl Framing {
    fn for_hw_type(hw: Option<u16>) -> Framing {
        match hw {
            Some(libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK) => Framing::Ethernet,
            Some(libc::ARPHRD_NONE | libc::ARPHRD_PPP | ARPHRD_RAWIP) => Framing::Raw,
            _ => Framing::Cooked,
        }
    }

    fn link(self) -> LinkType {
        match self {
            Framing::Ethernet => LinkType::Ethernet,
            Framing::Raw => LinkType::Raw,
            Framing::Cooked => LinkType::LinuxSll,
        }
    }
}

/// Not in libc: <linux/if_arp.h> ARPHRD_RAWIP.
const ARPHRD_RAWIP: u16 = 519;
const SLL_HDR_LEN: usize = 16;
const VLAN_TAG_LEN: usize = 4;
const ETHERTYPE_VLAN: u16 = 0x8100;
const MAC_PAIR_LEN: usize = 12;

const fn tpacket_align(x: usize) -> usize {
    (x + 15) & !15
}
/// Where the kernel puts the sockaddr_ll after each packet header.
const SLL_OFFSET: usize = tpacket_align(size_of::<libc::tpacket3_hdr>());
/// First byte after it: frame data may be moved down to here, not further.
const HEADROOM_START: usize = SLL_OFFSET + size_of::<libc::sockaddr_ll>();
const BLOCK_STATUS: usize = offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, block_status);
const BLOCK_NUM_PKTS: usize = offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, num_pkts);
const BLOCK_FIRST_PKT: usize =
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt);

/// The mmap'ed ring, unmapped on drop.
struct Ring {
    base: *mut u8,
    block_size: usize,
    block_count: usize,
}

impl Ring {
    fn status(&self, block: usize) -> &AtomicU32 {
        // SAFETY: block < block_count (callers take it modulo), so the word is
        // inside the mapping; blocks are page-aligned so it is 4-byte aligned;
        // the kernel and we only touch it atomically.
        unsafe { AtomicU32::from_ptr(self.base.add(block * self.block_size + BLOCK_STATUS).cast()) }
    }

    fn ready(&self, block: usize) -> bool {
        self.status(block).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    fn release(&self, block: usize) {
        self.status(block).store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: base/len are exactly what mmap returned; nothing borrows the
        // mapping once the owner is dropped.
        unsafe {
            libc::munmap(self.base.cast(), self.block_size * self.block_count);
        }
    }
}

/// A live capture on one interface or on all ("any").
pub struct LiveCapture {
    ring: Ring,
    // Declared after `ring`: the mapping goes before the socket closes.
    fd: OwnedFd,
    next_block: usize,
    framing: Framing,
    iface: String,
    stats: KernelStats,
    ring_errors: u64,
    /// For the rare frame without headroom for a synthesised header.
    scratch: Vec<u8>,
}

// SAFETY: the ring mapping is owned by this value alone and only touched
// through `&mut self`; moving it to another thread is fine.
unsafe impl Send for LiveCapture {}

impl LiveCapture {
    /// Opens `iface` (a name, or "any") with the default ring.
    pub fn open(iface: &str) -> Result<LiveCapture, CaptureError> {
        LiveCapture::open_with(iface, RingConfig::default())
    }

    /// Opens `iface` with the given ring geometry.
    pub fn open_with(iface: &str, cfg: RingConfig) -> Result<LiveCapture, CaptureError> {
        LiveCapture::open_filtered(iface, cfg, None)
    }

    /// The link type `open` would deliver on `iface` (to compile a BPF filter for it).
    pub fn link_type_of(iface: &str) -> Result<LinkType, CaptureError> {
        Ok(resolve(iface)?.1.link())
    }

    /// Opens `iface` with a classic BPF program (for the socket's view of the
    /// packets: see bpf::for_cooked_socket) attached before the socket is
    /// bound, so no unfiltered packet reaches the ring.
    pub fn open_filtered(
        iface: &str,
        cfg: RingConfig,
        filter: Option<&[super::bpf::Insn]>,
    ) -> Result<LiveCapture, CaptureError> {
        let (ifindex, framing) = resolve(iface)?;
        LiveCapture::open_resolved(iface, ifindex, framing, cfg, filter)
    }

    fn open_resolved(
        iface: &str,
        ifindex: u32,
        framing: Framing,
        cfg: RingConfig,
        filter: Option<&[super::bpf::Insn]>,
    ) -> Result<LiveCapture, CaptureError> {
        let ifindex = i32::try_from(ifindex).map_err(|_| CaptureError::Io {
            context: format!("interface index of {iface}"),
            source: io::Error::from(io::ErrorKind::InvalidData),
        })?;
        let (ring_len, req) = ring_request(&cfg).ok_or_else(|| CaptureError::Io {
            context: format!("ring geometry {cfg:?}"),
            source: io::Error::from(io::ErrorKind::InvalidInput),
        })?;

        let sock_type = if framing == Framing::Cooked { libc::SOCK_DGRAM } else { libc::SOCK_RAW };
        // Protocol 0: the socket receives nothing until bind() names the
        // interface, so no frames of other interfaces slip into the ring.
        // SAFETY: plain syscall; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, sock_type | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPERM | libc::EACCES) => {
                    CaptureError::PermissionDenied { iface: iface.to_string(), source: e }
                }
                _ => io_err("creating AF_PACKET socket")(e),
            });
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        if let Some(prog) = filter {
            crate::sys::socket::attach_filter(fd.as_raw_fd(), prog).map_err(io_err("attaching the BPF filter"))?;
        }
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version).map_err(io_err("selecting TPACKET_V3"))?;
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req).map_err(io_err("setting up the receive ring"))?;

        // SAFETY: maps the ring the kernel just allocated for this socket;
        // length matches the request; result checked against MAP_FAILED.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io_err("mapping the receive ring")(io::Error::last_os_error()));
        }
        let ring =
            Ring { base: base.cast(), block_size: cfg.block_size as usize, block_count: cfg.block_count as usize };

        bind_all_protocols(fd.as_raw_fd(), ifindex).map_err(io_err(format!("binding to {iface}")))?;

        Ok(LiveCapture {
            scratch: Vec::with_capacity(ring.block_size + SLL_HDR_LEN + VLAN_TAG_LEN),
            ring,
            fd,
            next_block: 0,
            framing,
            iface: iface.to_string(),
            stats: KernelStats::default(),
            ring_errors: 0,
        })
    }

    /// Waits up to `timeout` for packets; calls `f` for each packet of the
    /// ready ring blocks; returns how many it delivered (0 on timeout or
    /// signal). Fails with the socket's error, e.g. ENETDOWN when the interface
    /// goes down (capture resumes if it comes back up).
    pub fn poll(&mut self, timeout: Duration, f: &mut dyn FnMut(&Packet<'_>)) -> io::Result<usize> {
        if !self.ring.ready(self.next_block) {
            let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN | libc::POLLERR, revents: 0 };
            let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
            // SAFETY: one valid pollfd, count 1.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                return if e.kind() == io::ErrorKind::Interrupted { Ok(0) } else { Err(e) };
            }
            if pfd.revents & libc::POLLERR != 0 {
                let err = self.take_socket_error()?;
                if err != 0 {
                    return Err(io::Error::from_raw_os_error(err));
                }
            }
        }
        let mut delivered = 0;
        // At most one lap, so a busy link cannot keep the caller here forever.
        for _ in 0..self.ring.block_count {
            let block = self.next_block;
            if !self.ring.ready(block) {
                break;
            }
            // SAFETY: the block is inside the mapping and its status says user
            // space owns it: the kernel does not write it until `release`.
            // `&mut self` makes this the only reference.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(self.ring.base.add(block * self.ring.block_size), self.ring.block_size)
            };
            let (n, errors) = walk_block(bytes, self.framing, &mut self.scratch, f);
            delivered += n;
            self.ring_errors += errors;
            self.ring.release(block);
            self.next_block = (block + 1) % self.ring.block_count;
        }
        Ok(delivered)
    }

    /// Kernel counters since open (PACKET_STATISTICS resets on read; they
    /// are accumulated here).
    pub fn stats(&mut self) -> KernelStats {
        // SAFETY: plain old data; all-zero is valid.
        let mut st: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let read = getsockopt(&self.fd, libc::SOL_PACKET, libc::PACKET_STATISTICS, &mut st);
        if read.is_ok() {
            self.stats.packets += u64::from(st.tp_packets);
            self.stats.drops += u64::from(st.tp_drops);
        }
        self.stats
    }

    /// Ring entries that were inconsistent and skipped (should stay 0).
    pub fn ring_errors(&self) -> u64 {
        self.ring_errors
    }

    /// The interface name as given to `open` ("any" included).
    pub fn interface(&self) -> &str {
        &self.iface
    }

    fn take_socket_error(&self) -> io::Result<i32> {
        let mut err: libc::c_int = 0;
        getsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_ERROR, &mut err)?;
        Ok(err)
    }
}

/// Interface index (0 = all) and framing of `iface`.
fn resolve(iface: &str) -> Result<(u32, Framing), CaptureError> {
    if iface == "any" {
        return Ok((0, Framing::Cooked));
    }
    let all = interfaces::list().map_err(io_err("listing interfaces"))?;
    match all.iter().find(|i| i.name == iface) {
        Some(i) => Ok((i.index, Framing::for_hw_type(i.hw_type))),
        None => Err(CaptureError::UnknownInterface {
            name: iface.to_string(),
            available: all.into_iter().map(|i| i.name).collect(),
        }),
    }
}

/// Checks the geometry and builds the kernel request; None if invalid.
fn ring_request(cfg: &RingConfig) -> Option<(usize, libc::tpacket_req3)> {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    let (bs, fs) = (cfg.block_size as usize, cfg.frame_size as usize);
    let valid = page > 0
        && bs >= page
        && bs % page == 0
        && fs % 16 == 0
        && fs > HEADROOM_START
        && fs <= bs
        && cfg.block_count > 0;
    if !valid {
        return None;
    }
    let len = bs.checked_mul(cfg.block_count as usize)?;
    let frame_nr = u32::try_from(bs / fs).ok()?.checked_mul(cfg.block_count)?;
    Some((
        len,
        libc::tpacket_req3 {
            tp_block_size: cfg.block_size,
            tp_block_nr: cfg.block_count,
            tp_frame_size: cfg.frame_size,
            tp_frame_nr: frame_nr,
            tp_retire_blk_tov: cfg.block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        },
    ))
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

/// The fields of one tpacket3_hdr and its sockaddr_ll that we use.
struct PacketHeader {
    next: usize,
    sec: u32,
    nsec: u32,
    snaplen: usize,
    len: u32,
    status: u32,
    mac: usize,
    vlan_tci: u16,
    vlan_tpid: u16,
    /// sockaddr_ll, network byte order as the kernel wrote it.
    protocol: [u8; 2],
    hatype: u16,
    pkttype: u8,
    halen: u8,
    addr: [u8; 8],
}

impl PacketHeader {
    fn read(b: &[u8], at: usize) -> Option<PacketHeader> {
        use libc::{sockaddr_ll as L, tpacket_hdr_variant1 as V, tpacket3_hdr as H};
        let h = |off| at.checked_add(off);
        let v = |off| h(offset_of!(H, hv1) + off);
        let s = |off| h(SLL_OFFSET + off);
        let addr_at = s(offset_of!(L, sll_addr))?;
        let addr = b.get(addr_at..addr_at.checked_add(8)?)?;
        let proto_at = s(offset_of!(L, sll_protocol))?;
        let proto = b.get(proto_at..proto_at.checked_add(2)?)?;
        Some(PacketHeader {
            next: ne_u32(b, h(offset_of!(H, tp_next_offset))?)? as usize,
            sec: ne_u32(b, h(offset_of!(H, tp_sec))?)?,
            nsec: ne_u32(b, h(offset_of!(H, tp_nsec))?)?,
            snaplen: ne_u32(b, h(offset_of!(H, tp_snaplen))?)? as usize,
            len: ne_u32(b, h(offset_of!(H, tp_len))?)?,
            status: ne_u32(b, h(offset_of!(H, tp_status))?)?,
            mac: usize::from(ne_u16(b, h(offset_of!(H, tp_mac))?)?),
            // tp_vlan_tci is a u32 holding a 16-bit TCI.
            vlan_tci: ne_u32(b, v(offset_of!(V, tp_vlan_tci))?)? as u16,
            vlan_tpid: ne_u16(b, v(offset_of!(V, tp_vlan_tpid))?)?,
            protocol: [proto[0], proto[1]],
            hatype: ne_u16(b, s(offset_of!(L, sll_hatype))?)?,
            pkttype: *b.get(s(offset_of!(L, sll_pkttype))?)?,
            halen: *b.get(s(offset_of!(L, sll_halen))?)?,
            addr: [addr[0], addr[1], addr[2], addr[3], addr[4], addr[5], addr[6], addr[7]],
        })
    }

    fn vlan_tag(&self) -> Option<[u8; VLAN_TAG_LEN]> {
        if self.status & libc::TP_STATUS_VLAN_VALID == 0 {
            return None;
        }
        let tpid = if self.status & libc::TP_STATUS_VLAN_TPID_VALID != 0 && self.vlan_tpid != 0 {
            self.vlan_tpid
        } else {
            ETHERTYPE_VLAN
        };
        let [t0, t1] = tpid.to_be_bytes();
        let [c0, c1] = self.vlan_tci.to_be_bytes();
        Some([t0, t1, c0, c1])
    }

    /// The bytes to insert before the captured data (cooked) or after the MAC
    /// addresses (Ethernet with a stripped VLAN tag), and how many data bytes
    /// stay in front of them.
    fn insertion(&self, framing: Framing) -> ([u8; SLL_HDR_LEN + VLAN_TAG_LEN], usize, usize) {
        let mut buf = [0u8; SLL_HDR_LEN + VLAN_TAG_LEN];
        let vlan = self.vlan_tag();
        match framing {
            Framing::Raw => (buf, 0, 0),
            Framing::Ethernet => match vlan {
                Some(tag) if self.snaplen >= MAC_PAIR_LEN => {
                    buf[..VLAN_TAG_LEN].copy_from_slice(&tag);
                    (buf, VLAN_TAG_LEN, MAC_PAIR_LEN)
                }
                _ => (buf, 0, 0),
            },
            Framing::Cooked => {
                buf[0..2].copy_from_slice(&u16::from(self.pkttype).to_be_bytes());
                buf[2..4].copy_from_slice(&self.hatype.to_be_bytes());
                let halen = self.halen.min(8);
                buf[4..6].copy_from_slice(&u16::from(halen).to_be_bytes());
                buf[6..6 + usize::from(halen)].copy_from_slice(&self.addr[..usize::from(halen)]);
                match vlan {
                    // SLL protocol becomes the tag's TPID, then TCI and the inner protocol.
                    Some(tag) => {
                        buf[14..18].copy_from_slice(&tag);
                        buf[18..20].copy_from_slice(&self.protocol);
                        (buf, SLL_HDR_LEN + VLAN_TAG_LEN, 0)
                    }
                    None => {
                        buf[14..16].copy_from_slice(&self.protocol);
                        (buf, SLL_HDR_LEN, 0)
                    }
                }
            }
        }
    }
}

/// Delivers the packets of one block; returns (delivered, inconsistent entries).
fn walk_block(
    block: &mut [u8],
    framing: Framing,
    scratch: &mut Vec<u8>,
    f: &mut dyn FnMut(&Packet<'_>),
) -> (usize, u64) {
    let (Some(num), Some(first)) = (ne_u32(block, BLOCK_NUM_PKTS), ne_u32(block, BLOCK_FIRST_PKT)) else {
        return (0, 1);
    };
    let mut at = first as usize;
    let mut delivered = 0;
    for i in 0..num {
        let Some(h) = PacketHeader::read(block, at) else {
            return (delivered, 1);
        };
        let loopback_echo = h.pkttype == libc::PACKET_OUTGOING && h.hatype == libc::ARPHRD_LOOPBACK;
        if !loopback_echo {
            let (ins, ins_len, keep) = h.insertion(framing);
            let Some(data) = frame_with_insertion(block, at, h.mac, h.snaplen, &ins[..ins_len], keep, scratch) else {
                return (delivered, 1);
            };
            let pkt = Packet {
                ts: Timestamp::from_secs_nanos(u64::from(h.sec), h.nsec),
                data,
                wire_len: h.len.saturating_add(ins_len as u32),
                link: framing.link(),
            };
            f(&pkt);
            delivered += 1;
        }
        if i + 1 < num {
            if h.next == 0 {
                return (delivered, 1);
            }
            let Some(n) = at.checked_add(h.next) else {
                return (delivered, 1);
            };
            at = n;
        }
    }
    (delivered, 0)
}

/// The frame of the packet whose header is at `hdr`: data[..keep] ++ insert ++
/// data[keep..]. Built in place in the headroom before the data when there is
/// room (always, with the kernel's layout), else in `scratch`. None if the
/// entry points outside the block.
fn frame_with_insertion<'b>(
    block: &'b mut [u8],
    hdr: usize,
    mac: usize,
    snaplen: usize,
    insert: &[u8],
    keep: usize,
    scratch: &'b mut Vec<u8>,
) -> Option<&'b [u8]> {
    let start = hdr.checked_add(mac)?;
    let end = start.checked_add(snaplen)?;
    if end > block.len() || keep > snaplen {
        return None;
    }
    if insert.is_empty() {
        return block.get(start..end);
    }
    let floor = hdr.checked_add(HEADROOM_START)?;
    match start.checked_sub(insert.len()) {
        Some(new_start) if new_start >= floor => {
            block.copy_within(start..start + keep, new_start);
            block[new_start + keep..start + keep].copy_from_slice(insert);
            block.get(new_start..end)
        }
        _ => {
            scratch.clear();
            scratch.extend_from_slice(&block[start..start + keep]);
            scratch.extend_from_slice(insert);
            scratch.extend_from_slice(&block[start + keep..end]);
            Some(&scratch[..])
        }
    }
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;

//! Early word of new outgoing flows, for the resolver.
//!
//! The capture ring hands packets over a block at a time (up to its block
//! timeout late), and a short-lived client such as curl or dig has closed
//! its socket by then. This second AF_PACKET socket has no ring: a classic
//! BPF filter (the tcpdump kind, not eBPF) passes only outgoing TCP SYNs and
//! outgoing UDP datagrams, truncated to their headers, and each one wakes
//! the hint thread at once, which asks the resolver while the socket is
//! still open. It is lossy by design: a full receive buffer drops hints,
//! and the pipeline's own request still follows for every flow.

use super::ProcessResolver;
use crate::host::interfaces;
use rustnet_core::track::{Endpoint, Proto};
use rustnet_core::wire::{self, L4, LinkType};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Bytes kept of each packet: IPv6 header plus TCP/UDP ports and flags.
const SNAP: u32 = 96;
/// A flow hinted this recently is not hinted again (long UDP exchanges).
const REPEAT_AFTER: Duration = Duration::from_secs(10);
const DEDUP_CAP: usize = 16_384;

/// The hint socket of one interface (or "any").
pub struct FlowHints {
    fd: OwnedFd,
    recent: HashMap<(Proto, Endpoint, Endpoint), Instant>,
    buf: Vec<u8>,
}

fn op(code: u32, k: u32) -> libc::sock_filter {
    // Codes are 16-bit by definition (linux/filter.h); ours are small constants.
    libc::sock_filter { code: code as u16, jt: 0, jf: 0, k }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code: code as u16, jt, jf, k }
}

/// Outgoing TCP SYN (without ACK) or UDP, IPv4 (first fragments) or IPv6
/// (transport header right after the fixed header). Offsets are from the
/// network header: on a SOCK_DGRAM packet socket the filter sees no link header.
/// Jump offsets count instructions after the jump (indices in comments).
fn program() -> Vec<libc::sock_filter> {
    use libc::*;
    let pkttype = (SKF_AD_OFF + SKF_AD_PKTTYPE) as u32;
    vec![
        /* 0 */ op(BPF_LD | BPF_W | BPF_ABS, pkttype),
        /* 1 */ jump(BPF_JMP | BPF_JEQ | BPF_K, u32::from(PACKET_OUTGOING), 0, 19), // → 21 drop
        /* 2 */ op(BPF_LD | BPF_B | BPF_ABS, 0),
        /* 3 */ op(BPF_ALU | BPF_RSH | BPF_K, 4),
        /* 4 */ jump(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 8), // → 13 (not IPv4)
        /* 5 */ op(BPF_LD | BPF_H | BPF_ABS, 6),
        /* 6 */ jump(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 14, 0), // later fragment → 21 drop
        /* 7 */ op(BPF_LD | BPF_B | BPF_ABS, 9),
        /* 8 */ jump(BPF_JMP | BPF_JEQ | BPF_K, 17, 11, 0), // UDP → 20 accept
        /* 9 */ jump(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 11), // not TCP → 21 drop
        /* 10 */ op(BPF_LDX | BPF_B | BPF_MSH, 0),
        /* 11 */ op(BPF_LD | BPF_B | BPF_IND, 13),
        /* 12 */ op(BPF_JMP | BPF_JA, 5), // → 18 flags
        /* 13 */ jump(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 7), // not IPv6 → 21 drop
        /* 14 */ op(BPF_LD | BPF_B | BPF_ABS, 6),
        /* 15 */ jump(BPF_JMP | BPF_JEQ | BPF_K, 17, 4, 0), // UDP → 20 accept
        /* 16 */ jump(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 4), // not TCP → 21 drop
        /* 17 */ op(BPF_LD | BPF_B | BPF_ABS, 40 + 13),
        /* 18 */ op(BPF_ALU | BPF_AND | BPF_K, 0x12),
        /* 19 */ jump(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1), // SYN alone → 20, else 21
        /* 20 */ op(BPF_RET | BPF_K, SNAP),
        /* 21 */ op(BPF_RET | BPF_K, 0),
    ]
}

impl FlowHints {
    /// Opens the hint socket on `iface` ("any": every interface). Needs
    /// CAP_NET_RAW: open it with the capture, before dropping privileges.
    pub fn open(iface: &str) -> io::Result<FlowHints> {
        let ifindex = if iface == "any" {
            0
        } else {
            let all = interfaces::list()?;
            let i = all.iter().find(|i| i.name == iface).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            i32::try_from(i.index).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?
        };
        // Protocol 0 until bind(): nothing is queued before the filter is on.
        // SAFETY: plain syscall; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut prog = program();
        let fprog = libc::sock_fprog {
            len: u16::try_from(prog.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
            filter: prog.as_mut_ptr(),
        };
        // SAFETY: `fprog` points at `prog`, alive for the call; the kernel copies it.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&fprog as *const libc::sock_fprog).cast(),
                size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        crate::capture::live::bind_all_protocols(fd.as_raw_fd(), ifindex)?;
        allow_raised_priority();
        Ok(FlowHints { fd, recent: HashMap::new(), buf: vec![0; 256] })
    }

    /// Waits for the next new outgoing flow: (proto, local, remote). Errors
    /// are those of recv(); a packet that does not parse is skipped.
    pub fn next_flow(&mut self) -> io::Result<(Proto, Endpoint, Endpoint)> {
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), self.buf.as_mut_ptr().cast(), self.buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let len = usize::try_from(n).unwrap_or(0).min(self.buf.len());
            let Ok(p) = wire::parse(LinkType::Raw, &self.buf[..len]) else {
                continue;
            };
            let (proto, sport, dport) = match p.l4 {
                L4::Tcp { sport, dport, .. } => (Proto::Tcp, sport, dport),
                L4::Udp { sport, dport, .. } => (Proto::Udp, sport, dport),
                _ => continue,
            };
            let key = (proto, Endpoint::new(p.src, sport), Endpoint::new(p.dst, dport));
            let now = Instant::now();
            if self.recent.get(&key).is_some_and(|t| now.duration_since(*t) < REPEAT_AFTER) {
                continue;
            }
            if self.recent.len() >= DEDUP_CAP {
                self.recent.retain(|_, t| now.duration_since(*t) < REPEAT_AFTER);
                if self.recent.len() >= DEDUP_CAP {
                    self.recent.clear();
                }
            }
            self.recent.insert(key, now);
            return Ok(key);
        }
    }

    /// Feeds `resolver` from a thread of its own, for the rest of the program.
    pub fn start(mut self, resolver: ProcessResolver) {
        let run = move || {
            raise_priority();
            loop {
                match self.next_flow() {
                    Ok((proto, local, remote)) => resolver.hint(proto, local, remote),
                    Err(e) => {
                        // E.g. ENETDOWN while the interface is down: retry calmly.
                        log::debug!("flow hints: {e}");
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        };
        if let Err(e) = std::thread::Builder::new().name("rustnet-hints".into()).spawn(run) {
            log::warn!("cannot start the flow hint thread: {e}");
        }
    }
}

/// How far the hint thread raises its priority (nice value): enough to be
/// woken ahead of ordinary work on a busy machine, the race with a
/// short-lived client's socket being a few hundred microseconds. Not a
/// real-time policy: measured worse in the lab (it preempts the very client
/// and capture it races with), and a flood of hints must not starve the machine.
const HINT_NICE: libc::c_int = -10;

/// Lets the process's threads lower their nice value to [`HINT_NICE`] after
/// privileges are dropped (RLIMIT_NICE: 20 - limit is the floor). Called
/// while still privileged; failure only costs the priority.
fn allow_raised_priority() {
    let want = libc::rlim_t::try_from(20 - HINT_NICE).unwrap_or(0);
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid rlimit to write into.
    if unsafe { libc::getrlimit(libc::RLIMIT_NICE, &mut lim) } != 0 || lim.rlim_cur >= want {
        return;
    }
    let new = libc::rlimit { rlim_cur: want, rlim_max: lim.rlim_max.max(want) };
    // SAFETY: plain syscall with a valid rlimit; the result is only logged.
    if unsafe { libc::setrlimit(libc::RLIMIT_NICE, &new) } != 0 {
        log::debug!("cannot raise RLIMIT_NICE: {}", io::Error::last_os_error());
    }
}

/// Raises the calling thread's priority (on Linux a nice value is per thread).
fn raise_priority() {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let who = libc::id_t::try_from(tid).unwrap_or(0);
    // SAFETY: plain syscall on our own thread; the result is only logged.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, who, HINT_NICE) } != 0 {
        log::debug!("flow hints keep normal priority: {}", io::Error::last_os_error());
    }
}

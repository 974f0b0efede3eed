//! Early word of new outgoing flows, for the resolver.
//!
//! The capture ring hands packets over a block at a time (up to its block
//! timeout late), and a short-lived client such as curl or dig has closed
//! its socket by then. Sockets of this module have no ring: a classic BPF
//! filter (the tcpdump kind, not eBPF) passes only outgoing TCP SYNs and
//! outgoing UDP datagrams, truncated to their headers, and each one wakes a
//! hint thread at once, which asks the resolver while the socket is still
//! open. It is lossy by design: a full receive buffer drops hints, and the
//! pipeline's own request still follows for every flow.
//!
//! One socket per CPU, in a PACKET_FANOUT_CPU group, each read by a thread
//! pinned to its CPU: an outgoing packet is tapped on the CPU its sender
//! runs on, so the hint is handled there, ahead of the sender (see
//! [`priority`]), instead of waiting for an idle CPU to wake up — measured
//! 30–60 µs here, about what a dig's socket lives in a zero-RTT network.

use super::ProcessResolver;
use super::priority;
use crate::host::privileges;
use crate::sys::interfaces;
use crate::sys::socket::{self, Insn, getsockopt, setsockopt};
use crossbeam_channel::Sender;
use rustnet_core::track::{Endpoint, Proto};
use rustnet_core::wire::{self, L4, LinkType};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Bytes kept of each packet: IPv6 header plus TCP/UDP ports and flags.
const SNAP: u32 = 96;
/// Receive buffer of a hint socket (the kernel doubles it for bookkeeping):
/// a few dozen queued packets.
const HINT_QUEUE_BYTES: libc::c_int = 64 * 1024;
/// A flow hinted this recently is not hinted again (long UDP exchanges).
const REPEAT_AFTER: Duration = Duration::from_secs(10);
const DEDUP_CAP: usize = 16_384;
/// Repeats in a row that arrive within [`FLOOD_SPAN`] mean a flood of known
/// flows (over 6 400 packets a second): the thread then naps [`FLOOD_NAP`]
/// between reads, so the queued packets are read in a run instead of each
/// waking it (under a 64-byte UDP flood the wake-ups were 27 % of
/// rustnet's CPU). A new flow ends the nap at once.
const FLOOD_STREAK: u32 = 64;
const FLOOD_SPAN: Duration = Duration::from_millis(10);
const FLOOD_NAP: Duration = Duration::from_millis(1);

/// At most this many per-CPU sockets (the kernel's historic fanout group
/// limit); beyond it one unpinned socket serves all CPUs.
const MAX_CPUS: usize = 256;

/// The hint threads of one interface (or "any"), one per CPU if it can,
/// waiting for the resolver to feed.
pub struct FlowHints {
    waiting: Vec<Sender<ProcessResolver>>,
}

/// One hint socket.
pub struct HintSocket {
    fd: OwnedFd,
    recent: HashMap<(Proto, Endpoint, Endpoint), Instant>,
    buf: Vec<u8>,
    streak: Streak,
}

/// Repeated flows in a row, and when the first of them came.
#[derive(Clone, Copy, Debug)]
struct Streak {
    n: u32,
    since: Instant,
}

impl Streak {
    fn new() -> Streak {
        Streak { n: 0, since: Instant::now() }
    }

    /// Counts a repeat at `now`; true when it completes a flood's worth
    /// (see [`FLOOD_STREAK`]) and the reader should nap.
    fn repeat(&mut self, now: Instant) -> bool {
        if self.n == 0 {
            self.since = now;
        }
        self.n += 1;
        if self.n < FLOOD_STREAK {
            return false;
        }
        self.n = 0;
        now.duration_since(self.since) < FLOOD_SPAN
    }

    /// A new flow: the streak is over.
    fn reset(&mut self) {
        self.n = 0;
    }
}

impl FlowHints {
    /// Opens the hint sockets on `iface` ("any": every interface) and
    /// starts their threads, each pinned and raised (see [`priority`]) and
    /// then stripped of its privileges like the rest of the program. Needs
    /// CAP_NET_RAW (and CAP_SYS_NICE for the priority): call it with the
    /// capture, before dropping privileges.
    pub fn open(iface: &str) -> io::Result<FlowHints> {
        let sockets = open_sockets(iface)?;
        let (ready_tx, ready_rx) = crossbeam_channel::unbounded();
        let mut waiting = Vec::new();
        for (cpu, socket) in sockets {
            let (tx, rx) = crossbeam_channel::bounded::<ProcessResolver>(1);
            let ready = ready_tx.clone();
            let run = move || {
                let raised = priority::raise(cpu);
                let dropped = privileges::drop_privileges();
                let _ = ready.send((raised, dropped));
                drop(ready);
                if let Ok(resolver) = rx.recv() {
                    // It also looks processes up (/proc, sock_diag): the deny list only.
                    crate::sys::sandbox::helper_thread("hints");
                    feed(socket, &resolver);
                }
            };
            let name = match cpu {
                Some(c) => format!("rustnet-hints{c}"),
                None => "rustnet-hints".to_string(),
            };
            std::thread::Builder::new().name(name).spawn(run)?;
            waiting.push(tx);
        }
        // Each thread has dropped its privileges before the capture goes on.
        // (Each thread holds a sender only until it reports: one that dies
        // before that ends the wait instead of blocking it.)
        drop(ready_tx);
        let mut raised = Vec::new();
        for _ in 0..waiting.len() {
            match ready_rx.recv() {
                Ok((r, dropped)) => {
                    // The main thread's drop, logged at info, meets the same limits.
                    if !dropped.errors.is_empty() {
                        log::debug!("hint thread privileges: {dropped}");
                    }
                    raised.push(r);
                }
                Err(_) => break, // a thread died: its socket is lost, the rest work
            }
        }
        let how = raised.first().map_or("none", |r| r.describe());
        log::info!("flow hints: {} thread(s), pinned per CPU, priority {how}", raised.len());
        Ok(FlowHints { waiting })
    }

    /// Hands the resolver to the hint threads.
    pub fn start(self, resolver: ProcessResolver) {
        for tx in self.waiting {
            let _ = tx.send(resolver.clone());
        }
    }
}

/// Hints from `socket` to `resolver`, for the rest of the program.
fn feed(mut socket: HintSocket, resolver: &ProcessResolver) {
    let mut budget = priority::Budget::new();
    loop {
        match socket.next_flow_counting(&mut || budget.take()) {
            Ok((proto, local, remote)) => resolver.hint(proto, local, remote),
            Err(e) => {
                // E.g. ENETDOWN while the interface is down: retry calmly.
                log::debug!("flow hints: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// One socket per CPU in a fanout group, or one for all CPUs where that
/// cannot be had; each with the CPU whose packets it gets.
pub(crate) fn open_sockets(iface: &str) -> io::Result<Vec<(Option<usize>, HintSocket)>> {
    let first = HintSocket::open(iface)?;
    let cpus = configured_cpus();
    if !(2..=MAX_CPUS).contains(&cpus) {
        return Ok(vec![(None, first)]);
    }
    // The kernel gives a packet to member (CPU % members), in join order.
    let per_cpu = |first: HintSocket| -> io::Result<Vec<(Option<usize>, HintSocket)>> {
        let group = first.join_fanout(None)?;
        let mut sockets = vec![(Some(0), first)];
        for cpu in 1..cpus {
            let s = HintSocket::open(iface)?;
            s.join_fanout(Some(group))?;
            sockets.push((Some(cpu), s));
        }
        Ok(sockets)
    };
    match per_cpu(first) {
        Ok(sockets) => Ok(sockets),
        Err(e) => {
            // E.g. a kernel without fanout: one socket, any CPU.
            log::debug!("no per-CPU hint sockets ({e})");
            Ok(vec![(None, HintSocket::open(iface)?)])
        }
    }
}

fn op(code: u32, k: u32) -> Insn {
    // Codes are 16-bit by definition (linux/filter.h); ours are small constants.
    Insn { code: code as u16, jt: 0, jf: 0, k }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> Insn {
    Insn { code: code as u16, jt, jf, k }
}

/// Outgoing TCP SYN (without ACK) or UDP, IPv4 (first fragments) or IPv6
/// (transport header right after the fixed header). Offsets are from the
/// network header: on a SOCK_DGRAM packet socket the filter sees no link header.
/// Jump offsets count instructions after the jump (indices in comments).
fn program() -> Vec<Insn> {
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

/// CPU ids the kernel may run on (configured, online or not): the fanout
/// group needs a member for each.
fn configured_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    usize::try_from(n).unwrap_or(1).max(1)
}

impl HintSocket {
    /// Opens one hint socket on `iface` ("any": every interface). Needs CAP_NET_RAW.
    pub fn open(iface: &str) -> io::Result<HintSocket> {
        let ifindex = match iface {
            "any" => 0,
            name => i32::try_from(interfaces::name_to_index(name)?)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?,
        };
        // Protocol 0 until bind(): nothing is queued before the filter is on.
        // SAFETY: plain syscall; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        socket::attach_filter(fd.as_raw_fd(), &program())?;
        // A small queue: hints are wanted at once or not at all, and after a
        // flood's pause (priority::Budget) only a few stale ones are left to read.
        // Failure only keeps the default size.
        let _ = setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &HINT_QUEUE_BYTES);
        socket::bind_all_protocols(fd.as_raw_fd(), ifindex)?;
        Ok(HintSocket { fd, recent: HashMap::new(), buf: vec![0; 256], streak: Streak::new() })
    }

    /// Makes [`HintSocket::next_flow`] give up (EAGAIN) after `d` without a packet.
    #[cfg(test)]
    pub(crate) fn set_timeout(&self, d: Duration) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_usec: libc::suseconds_t::from(d.subsec_micros()),
        };
        setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)
    }

    /// Joins fanout group `group` by CPU, or (None) founds a new one with
    /// an id the kernel picks; returns the group id.
    fn join_fanout(&self, group: Option<u16>) -> io::Result<u16> {
        let mode = libc::PACKET_FANOUT_CPU;
        let arg: u32 = match group {
            Some(id) => u32::from(id) | (mode << 16),
            None => (mode | libc::PACKET_FANOUT_FLAG_UNIQUEID) << 16,
        };
        setsockopt(&self.fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg)?;
        if let Some(id) = group {
            return Ok(id);
        }
        let mut got: u32 = 0;
        getsockopt(&self.fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &mut got)?;
        // The low 16 bits are the group id.
        Ok((got & 0xffff) as u16)
    }

    /// Waits for the next new outgoing flow: (proto, local, remote). Errors
    /// are those of recv(); a packet that does not parse is skipped.
    pub fn next_flow(&mut self) -> io::Result<(Proto, Endpoint, Endpoint)> {
        self.next_flow_counting(&mut || {})
    }

    /// [`HintSocket::next_flow`], calling `on_packet` for every packet taken.
    fn next_flow_counting(&mut self, on_packet: &mut impl FnMut()) -> io::Result<(Proto, Endpoint, Endpoint)> {
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
            on_packet();
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
                if self.streak.repeat(now) {
                    std::thread::sleep(FLOOD_NAP);
                }
                continue;
            }
            self.streak.reset();
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
}

#[cfg(test)]
mod streak_tests {
    use super::*;

    #[test]
    fn only_a_fast_run_of_repeats_is_a_flood() {
        let t0 = Instant::now();
        let mut s = Streak::new();
        // 64 repeats within 6.3 ms (10 000 a second): the 64th says nap.
        let naps: Vec<bool> =
            (0..FLOOD_STREAK).map(|k| s.repeat(t0 + Duration::from_micros(100 * u64::from(k)))).collect();
        assert!(naps[..naps.len() - 1].iter().all(|n| !n) && naps[naps.len() - 1], "{naps:?}");
        // 64 more at 3 000 a second (a busy QUIC download's ACKs): no nap.
        let t1 = t0 + Duration::from_millis(10);
        assert!((0..FLOOD_STREAK).all(|k| !s.repeat(t1 + Duration::from_micros(333 * u64::from(k)))));
        // A new flow in a fast run starts the count again.
        let t2 = t1 + Duration::from_millis(100);
        for k in 0..FLOOD_STREAK - 1 {
            assert!(!s.repeat(t2 + Duration::from_micros(u64::from(k))));
        }
        s.reset();
        assert!(!s.repeat(t2 + Duration::from_millis(1)), "counting from one again");
    }
}

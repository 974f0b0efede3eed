//! Where and how urgently the hint threads run.
//!
//! A hint thread is pinned to the CPU whose packets it gets and raised
//! above ordinary work (real-time FIFO at the lowest level), so that when a
//! client's packet is tapped the thread runs at once on the client's own
//! CPU: the client waits the few tens of microseconds of the lookup instead
//! of closing its socket meanwhile. The priority is set while the thread
//! still has CAP_SYS_NICE, before it drops its privileges; a [`Budget`]
//! keeps a raised thread from taking more than a sliver of its CPU when it
//! is handed a flood (a UDP sender, a SYN scan): beyond the budget it
//! sleeps, and the hints meanwhile are dropped (the pipeline still asks
//! for every flow).

use std::io;
use std::time::{Duration, Instant};

/// Real-time priority of a raised hint thread: the lowest FIFO level,
/// ahead of every ordinary thread, below any other real-time work.
const FIFO_PRIORITY: libc::c_int = 1;
/// Nice value where real-time scheduling is not allowed (needs CAP_SYS_NICE
/// or RLIMIT_NICE as well).
const NICE: libc::c_int = -10;
/// The fair scheduler's shortest slice, in ns (kernel clamp: 0.1–100 ms).
const SHORT_SLICE_NS: u64 = 100_000;
/// Packets a hint thread takes per [`WINDOW`] at most: 3000/s covers the
/// outgoing datagrams of a busy QUIC download (each one a wake-up, a few
/// µs of its CPU); a flood beyond it only loses hints.
const PER_WINDOW: u32 = 300;
const WINDOW: Duration = Duration::from_millis(100);

/// How a hint thread ended up running, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Raised {
    RealTime,
    /// Fair scheduling at [`NICE`]; `short`: with the shortest slice too.
    Nice {
        short: bool,
    },
    /// Fair scheduling at nice 0 with the shortest slice.
    ShortSlice,
    Normal,
}

impl Raised {
    pub fn describe(self) -> &'static str {
        match self {
            Raised::RealTime => "real-time (FIFO 1)",
            Raised::Nice { short: true } => "nice -10 with a 0.1 ms slice",
            Raised::Nice { short: false } => "nice -10",
            Raised::ShortSlice => "a 0.1 ms slice at nice 0 (no CAP_SYS_NICE)",
            Raised::Normal => "normal (no CAP_SYS_NICE, kernel before 6.12)",
        }
    }
}

/// Pins the calling thread to `cpu` (if given and allowed) and raises it
/// as far as it may: real-time; else a raised nice value; else (needing
/// no privilege) the fair scheduler's shortest slice, which on Linux 6.12+
/// (EEVDF) gives the thread an earlier deadline, so that on wakeup it runs
/// ahead of a busy thread of the same nice value (measured here: 80–100 %
/// of digs named instead of about 30 % without it).
pub fn raise(cpu: Option<usize>) -> Raised {
    if let Some(cpu) = cpu {
        pin(cpu);
    }
    let param = libc::sched_param { sched_priority: FIFO_PRIORITY };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0 {
        return Raised::RealTime;
    }
    if set_fair(NICE) {
        return Raised::Nice { short: slice_is_short() };
    }
    if set_fair(0) && slice_is_short() {
        return Raised::ShortSlice;
    }
    log::debug!("hint thread keeps normal priority: {}", io::Error::last_os_error());
    Raised::Normal
}

/// SCHED_OTHER at `nice` with the shortest slice (ignored before Linux 6.12).
fn set_fair(nice: libc::c_int) -> bool {
    let attr = libc::sched_attr {
        size: size_of::<libc::sched_attr>() as u32,
        sched_policy: libc::SCHED_OTHER as u32,
        sched_flags: 0,
        sched_nice: nice,
        sched_priority: 0,
        sched_runtime: SHORT_SLICE_NS,
        sched_deadline: 0,
        sched_period: 0,
    };
    // SAFETY: pid 0 is the calling thread; `attr` is a valid sched_attr with its size set.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const libc::sched_attr, 0) };
    rc == 0
}

/// Whether the kernel took the short slice (it reports the slice of a fair
/// thread as its runtime from 6.12 on, 0 before).
fn slice_is_short() -> bool {
    // SAFETY: sched_attr is plain old data; all-zero is a valid value.
    let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
    let size = size_of::<libc::sched_attr>() as libc::c_uint;
    // SAFETY: pid 0 is the calling thread; `attr` is valid for writes of `size` bytes.
    let rc = unsafe { libc::syscall(libc::SYS_sched_getattr, 0, &mut attr as *mut libc::sched_attr, size, 0) };
    rc == 0 && attr.sched_runtime == SHORT_SLICE_NS
}

pub(crate) fn pin(cpu: usize) {
    // SAFETY: cpu_set_t is plain old data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET bounds-checks `cpu` against the set's size.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: pid 0 is the calling thread; `set` is a valid cpu_set_t of the given size.
    if unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) } != 0 {
        // E.g. a cpuset without this CPU: the thread runs where it may.
        log::debug!("hint thread not pinned to CPU {cpu}: {}", io::Error::last_os_error());
    }
}

/// Packets a hint thread may still take in the current window.
pub struct Budget {
    window: Instant,
    left: u32,
}

impl Budget {
    pub fn new() -> Budget {
        Budget { window: Instant::now(), left: PER_WINDOW }
    }

    /// Counts a packet taken; past the budget, sleeps out the window.
    pub fn take(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.window) >= WINDOW {
            self.window = now;
            self.left = PER_WINDOW;
        }
        if self.left == 0 {
            std::thread::sleep((self.window + WINDOW).saturating_duration_since(now));
            self.window = Instant::now();
            self.left = PER_WINDOW;
        }
        self.left -= 1;
    }
}

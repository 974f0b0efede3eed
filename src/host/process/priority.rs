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
/// Nice value where real-time scheduling is not allowed.
const NICE: libc::c_int = -10;
/// Packets a hint thread takes per [`WINDOW`] at most.
const PER_WINDOW: u32 = 100;
const WINDOW: Duration = Duration::from_millis(100);

/// How a hint thread ended up running, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Raised {
    RealTime,
    Nice,
    Normal,
}

impl Raised {
    pub fn describe(self) -> &'static str {
        match self {
            Raised::RealTime => "real-time (FIFO 1)",
            Raised::Nice => "nice -10",
            Raised::Normal => "normal (no CAP_SYS_NICE)",
        }
    }
}

/// Pins the calling thread to `cpu` (if given and allowed) and raises it
/// as far as it may.
pub fn raise(cpu: Option<usize>) -> Raised {
    if let Some(cpu) = cpu {
        pin(cpu);
    }
    let param = libc::sched_param { sched_priority: FIFO_PRIORITY };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0 {
        return Raised::RealTime;
    }
    // On Linux a nice value is per thread.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let who = libc::id_t::try_from(tid).unwrap_or(0);
    // SAFETY: plain syscall on our own thread.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, who, NICE) } == 0 {
        return Raised::Nice;
    }
    log::debug!("hint thread keeps normal priority: {}", io::Error::last_os_error());
    Raised::Normal
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

//! Dropping privileges once the capture sockets are open.
//!
//! After open, capturing needs no capability (reading an AF_PACKET socket or
//! a pcap handle is not checked again), and sock_diag needs none to list the
//! sockets of its own namespace (only SOCK_DESTROY checks CAP_NET_ADMIN).
//! What stays needed is reading other processes' /proc/<pid>/fd:
//! CAP_DAC_READ_SEARCH to list a `dr-x------` fd directory of another user,
//! and CAP_SYS_PTRACE because each link read is a ptrace "read" access check
//! (needed even as uid 0 for processes whose capabilities exceed ours).
//! Everything else goes: effective, permitted, inheritable, ambient and
//! bounding sets, plus `no_new_privs` so nothing exec'd can regain any.
//!
//! Under sudo (SUDO_UID set) we keep uid 0 and do not switch to the invoking
//! user: reading /proc fds of root's and other users' processes would then
//! need CAP_SYS_PTRACE anyway, which is as strong as root, so a switch would
//! buy little and lose process names. Known cost: as uid 0 without
//! capabilities, files owned by root with an owner-write bit stay writable.
//! With the bounding set empty, nothing exec'd regains root's capabilities.
//!
//! Capabilities are per thread on Linux: call [`drop_privileges`] from the
//! main thread *before* spawning other threads (they inherit the reduced
//! sets); threads already running keep theirs.

use caps::{CapSet, Capability, CapsHashSet};
use std::fmt;

/// Kept after the capture is open: reading /proc/<pid>/fd of any process.
pub const KEEP: [Capability; 2] = [Capability::CAP_SYS_PTRACE, Capability::CAP_DAC_READ_SEARCH];

/// What [`drop_privileges`] did, for the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivilegeSummary {
    /// Permitted capabilities kept (names like "CAP_SYS_PTRACE").
    pub kept: Vec<String>,
    /// Permitted capabilities given up.
    pub dropped: Vec<String>,
    /// Capabilities removed from the bounding set.
    pub bounding_dropped: usize,
    /// Whether PR_SET_NO_NEW_PRIVS is now set.
    pub no_new_privs: bool,
    /// Whether the process was started through sudo (SUDO_UID set).
    pub via_sudo: bool,
    /// Steps that failed (the rest still applied).
    pub errors: Vec<String>,
}

impl fmt::Display for PrivilegeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[String]| {
            if v.is_empty() { "none".to_string() } else { v.join(",") }
        };
        write!(
            f,
            "capabilities kept: {}; dropped: {}; bounding set: {} removed; no_new_privs: {}",
            list(&self.kept),
            list(&self.dropped),
            self.bounding_dropped,
            self.no_new_privs
        )?;
        if self.via_sudo {
            write!(f, "; started via sudo, uid 0 kept (see --help)")?;
        }
        if !self.errors.is_empty() {
            write!(f, "; errors: {}", self.errors.join("; "))?;
        }
        Ok(())
    }
}

/// Drops every capability except [`KEEP`] (those of them we have) from the
/// calling thread, empties its bounding set, and sets no_new_privs.
pub fn drop_privileges() -> PrivilegeSummary {
    drop_all_except(&KEEP)
}

/// [`drop_privileges`] with an explicit keep list (the pipeline may need
/// e.g. CAP_NET_RAW to reopen a capture).
pub fn drop_all_except(keep: &[Capability]) -> PrivilegeSummary {
    let mut s = PrivilegeSummary { via_sudo: std::env::var_os("SUDO_UID").is_some(), ..Default::default() };
    let permitted = match caps::read(None, CapSet::Permitted) {
        Ok(p) => p,
        Err(e) => {
            s.errors.push(format!("reading capabilities: {e}"));
            CapsHashSet::new()
        }
    };
    let kept: CapsHashSet = permitted.iter().copied().filter(|c| keep.contains(c)).collect();
    s.kept = names(&kept);
    s.dropped = names(&permitted.difference(&kept).copied().collect());

    // The bounding set first: removing from it needs CAP_SETPCAP, which is
    // about to go.
    if let Ok(bounding) = caps::read(None, CapSet::Bounding) {
        for c in bounding.iter().filter(|c| !kept.contains(c)) {
            match caps::drop(None, CapSet::Bounding, *c) {
                Ok(()) => s.bounding_dropped += 1,
                Err(e) => {
                    s.errors.push(format!("bounding set: {e}"));
                    break; // without CAP_SETPCAP every one fails alike
                }
            }
        }
    }
    let steps = [
        ("ambient", caps::clear(None, CapSet::Ambient)),
        ("inheritable", caps::clear(None, CapSet::Inheritable)),
        ("effective", caps::set(None, CapSet::Effective, &kept)),
        ("permitted", caps::set(None, CapSet::Permitted, &kept)),
    ];
    for (what, r) in steps {
        if let Err(e) = r {
            s.errors.push(format!("{what}: {e}"));
        }
    }
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) only sets a flag on
    // the calling thread; the unused arguments must be zero.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if rc == 0 {
        s.no_new_privs = true;
    } else {
        s.errors.push(format!("no_new_privs: {}", std::io::Error::last_os_error()));
    }
    s
}

/// Clears every capability set of the calling thread (effective, permitted,
/// inheritable, ambient). Called by the main thread once the process
/// lookup threads have started with [`KEEP`]: every thread spawned after it
/// (capture, workers, export, UI) parses hostile packets or serves the user
/// and needs none. Returns what failed, for the log.
pub fn drop_thread_capabilities() -> Vec<String> {
    let mut errors = Vec::new();
    for (set, r) in [
        ("ambient", caps::clear(None, CapSet::Ambient)),
        ("inheritable", caps::clear(None, CapSet::Inheritable)),
        ("effective", caps::clear(None, CapSet::Effective)),
        ("permitted", caps::clear(None, CapSet::Permitted)),
    ] {
        if let Err(e) = r {
            errors.push(format!("clearing {set}: {e}"));
        }
    }
    errors
}

#[cfg(test)]
#[path = "privileges_tests.rs"]
mod tests;

fn names(set: &CapsHashSet) -> Vec<String> {
    let mut v: Vec<String> = set.iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

/// The permissions section of `--help` and the README.
pub const PERMISSIONS_HELP: &str = "\
PERMISSIONS
  Live capture needs privileges; reading a file with --read needs none.
  Either run as root (e.g. sudo rustnet), or grant the binary capabilities
  once and run it as a normal user:

    sudo setcap cap_net_raw,cap_net_admin=eip /path/to/rustnet

  cap_net_raw       open the raw packet socket (AF_PACKET) that captures
                    traffic.
  cap_net_admin     put the interface in promiscuous mode and set capture
                    options (fanout, ring buffers) when opening it.

  Optional, for the names of processes owned by other users (without them
  only your own processes are named):

    sudo setcap cap_net_raw,cap_net_admin,cap_sys_ptrace,cap_dac_read_search=eip /path/to/rustnet

  cap_dac_read_search  list /proc/<pid>/fd directories of other users.
  cap_sys_ptrace       read those fd links (the kernel checks them like a
                       ptrace read), which maps each socket to its process.

  Optional, for clients whose sockets live well under a millisecond (a dig
  answered by a nearby server): add cap_sys_nice. At start only, it lets
  the flow hint threads (one per CPU) take real-time priority, so a new
  outgoing flow is looked up on the sender's CPU before the sender can
  close its socket; it is dropped right after. Without it they ask for the
  shortest fair-scheduler slice instead (Linux 6.12+), which does most of
  the same.

  Socket lookup itself (netlink sock_diag) needs no capability. As soon as
  the capture is open, rustnet drops every capability except
  cap_sys_ptrace and cap_dac_read_search, empties its bounding set and sets
  no_new_privs; the log (-l info) lists what was kept and dropped. Only the
  process lookup threads keep those two: the threads that parse packets
  (capture, workers), write the export and draw the screen hold none
  (capabilities are per thread). Under
  sudo it stays uid 0 (a switch to your uid would hide other users'
  processes) but holds no other capability.";

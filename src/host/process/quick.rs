//! The hint threads' own lookup, apart from the lookup thread's.
//!
//! A dig holds its UDP socket for 50–150 µs after its query leaves when
//! the server answers at once (measured in the namespace lab). Sharing the
//! lookup thread's worker meant waiting out its current work (a full /proc
//! scan takes milliseconds), so the hint threads share a sock_diag socket
//! and a small index of the newest processes of their own: nothing they do
//! waits on a lock another thread holds for long.

use super::cache::SockKey;
use super::procfs::ProcIndex;
use super::sock_diag::SockDiag;
use rustnet_core::track::ProcessInfo;
use std::time::{Duration, Instant};

/// Beyond this many remembered sockets the quick index starts afresh (it
/// only serves processes seen in the last seconds).
const INDEX_CAP: usize = 4096;
/// Quick lookups per second at most (each reads a few /proc files, well
/// under a millisecond): the hint threads run at a raised priority, ahead
/// of the very clients they look up, and a flood of new outgoing flows must
/// not hand them a whole core. Beyond either cap, flows go to the lookup
/// thread as before.
const QUICK_PER_SEC: u32 = 200;
/// Time spent in quick lookups per second at most (5 % of one CPU; a
/// lookup among many new processes reads up to 64 of them, a few ms).
const QUICK_TIME_PER_SEC: Duration = Duration::from_millis(50);

pub struct QuickLookup {
    diag: Option<SockDiag>,
    index: ProcIndex,
    /// Start of the current one-second window and lookups in it.
    window: Instant,
    done: u32,
    spent: Duration,
}

impl QuickLookup {
    /// Opens its sock_diag socket in the calling thread's network namespace
    /// (call it where the resolver's own socket is opened).
    pub fn open() -> QuickLookup {
        let diag = match SockDiag::open() {
            Ok(d) => Some(d),
            Err(e) => {
                log::debug!("no quick sock_diag socket ({e})");
                None
            }
        };
        let mut index = ProcIndex::new();
        index.skip_existing();
        QuickLookup { diag, index, window: Instant::now(), done: 0, spent: Duration::ZERO }
    }

    /// The socket of `key` and its owner, looked for among the newest and
    /// young processes only; None leaves the flow to the lookup thread.
    pub fn find(&mut self, key: &SockKey) -> Option<(u64, ProcessInfo)> {
        let now = Instant::now();
        if now.duration_since(self.window) >= Duration::from_secs(1) {
            self.window = now;
            self.done = 0;
            self.spent = Duration::ZERO;
        }
        if self.done >= QUICK_PER_SEC || self.spent >= QUICK_TIME_PER_SEC {
            return None;
        }
        self.done += 1;
        let found = self.find_now(key);
        self.spent += now.elapsed();
        found
    }

    fn find_now(&mut self, key: &SockKey) -> Option<(u64, ProcessInfo)> {
        let diag = self.diag.as_mut()?;
        let sock = diag.find(key.proto, key.local, key.remote).ok()??;
        if sock.inode == 0 {
            return None;
        }
        if self.index.remembered() > INDEX_CAP {
            self.index = ProcIndex::new();
            self.index.skip_existing();
        }
        if !self.index.refresh_new(&[sock.inode]) {
            return None;
        }
        let id = self.index.owner(sock.inode)?;
        let info = self.index.info(id)?;
        Some((sock.inode, info))
    }
}

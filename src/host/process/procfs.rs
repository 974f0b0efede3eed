//! Socket inode → process, from /proc/<pid>/fd links ("socket:[inode]").
//!
//! Each process is read through one directory handle (procfs::Process keeps
//! an fd of /proc/<pid>): if the process exits and its pid is reused, reads
//! through the old handle fail instead of describing the new process. An
//! index entry also keeps the process's start time, checked again before a
//! name is handed out, so a stale entry never names the wrong process.

use procfs::process::Process;
use rustnet_core::track::ProcessInfo;
use std::collections::{HashMap, HashSet};

/// A process identity that survives pid reuse: pid plus start time (clock ticks after boot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProcId {
    pub pid: u32,
    pub start: u64,
}

/// Counters of /proc work, for stats.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScanStats {
    pub full_scans: u64,
    pub new_pid_scans: u64,
    pub processes_read: u64,
}

#[derive(Default)]
pub struct ProcIndex {
    inodes: HashMap<u64, ProcId>,
    /// Pids seen by the last scans; a scan of "new" pids skips these.
    known: HashSet<u32>,
    /// Name and command line per process identity.
    infos: HashMap<ProcId, ProcessInfo>,
    pub stats: ScanStats,
}

impl ProcIndex {
    pub fn new() -> ProcIndex {
        ProcIndex::default()
    }

    pub fn owner(&self, inode: u64) -> Option<ProcId> {
        self.inodes.get(&inode).copied()
    }

    /// Makes sure the index knows the owners of `wanted` if they are alive:
    /// first only processes not seen before (a short-lived client), then,
    /// if some are still missing, every process. Returns how many are known.
    pub fn refresh_for(&mut self, wanted: &[u64]) -> usize {
        let missing = |s: &Self| wanted.iter().filter(|i| !s.inodes.contains_key(i)).count();
        if missing(self) == 0 {
            return wanted.len();
        }
        self.scan(false, wanted);
        if missing(self) > 0 {
            self.scan(true, wanted);
        }
        wanted.len() - missing(self)
    }

    /// Rebuilds the whole index (periodic reconciliation).
    pub fn full_rescan(&mut self) {
        self.scan(true, &[]);
    }

    /// Reads /proc/<pid>/fd of new pids (or all of them, replacing the
    /// index). Stops early once every `wanted` inode is found.
    fn scan(&mut self, all: bool, wanted: &[u64]) {
        let Ok(procs) = procfs::process::all_processes() else {
            return;
        };
        if all {
            self.stats.full_scans += 1;
        } else {
            self.stats.new_pid_scans += 1;
        }
        let mut inodes = HashMap::new();
        let mut seen = HashSet::new();
        let mut left: HashSet<u64> = wanted.iter().copied().collect();
        // Newest processes first: a short-lived client is most likely among them.
        let mut list: Vec<Process> = procs.filter_map(Result::ok).collect();
        list.sort_unstable_by_key(|p| std::cmp::Reverse(p.pid));
        let early_stop = !wanted.is_empty();
        for p in list {
            let Ok(pid) = u32::try_from(p.pid) else {
                continue;
            };
            seen.insert(pid);
            if !all && self.known.contains(&pid) {
                continue;
            }
            self.stats.processes_read += 1;
            let Some((id, socks)) = sockets_of(&p, pid) else {
                continue; // exited or not readable
            };
            for ino in socks {
                left.remove(&ino);
                inodes.insert(ino, id);
            }
            if early_stop && left.is_empty() {
                break;
            }
        }
        if all && wanted.is_empty() {
            self.inodes = inodes;
            self.known = seen;
            let alive: HashSet<ProcId> = self.inodes.values().copied().collect();
            self.infos.retain(|id, _| alive.contains(id));
        } else {
            self.inodes.extend(inodes);
            self.known.extend(seen);
        }
    }

    /// Name and command line of `id`, only if that very process is still
    /// alive (same pid and start time).
    pub fn info(&mut self, id: ProcId) -> Option<ProcessInfo> {
        let p = Process::new(i32::try_from(id.pid).ok()?).ok()?;
        let stat = p.stat().ok()?;
        if stat.starttime != id.start {
            self.infos.remove(&id);
            self.inodes.retain(|_, v| *v != id);
            return None;
        }
        if let Some(i) = self.infos.get(&id) {
            return Some(i.clone());
        }
        let cmdline = p.cmdline().ok().filter(|c| !c.is_empty()).map(|c| c.join(" "));
        let info = ProcessInfo { pid: id.pid, name: stat.comm, cmdline };
        // Re-check after reading the command line: a process that exited in
        // between (and a successor with its pid) must not give a mixed record.
        if p.stat().ok()?.starttime != id.start {
            return None;
        }
        self.infos.insert(id, info.clone());
        Some(info)
    }

    /// Forgets an inode (its owner turned out wrong or gone).
    pub fn forget(&mut self, inode: u64) {
        self.inodes.remove(&inode);
    }

    #[cfg(test)]
    pub fn insert_for_test(&mut self, inode: u64, id: ProcId) {
        self.inodes.insert(inode, id);
    }
}

/// The socket inodes a process holds, with its identity; None if it is gone.
/// The fd links are read by path (one readlink each; procfs's fd() costs
/// four syscalls per fd), then the start time through `p`'s directory
/// handle: that read fails if the process that handle was opened for has
/// exited, so the links cannot belong to a successor with the same pid.
fn sockets_of(p: &Process, pid: u32) -> Option<(ProcId, Vec<u64>)> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let mut socks = Vec::new();
    for e in dir.flatten() {
        let Ok(target) = std::fs::read_link(e.path()) else {
            continue; // closed meanwhile
        };
        if let Some(ino) = socket_inode(target.as_os_str().as_encoded_bytes()) {
            socks.push(ino);
        }
    }
    if socks.is_empty() {
        return None;
    }
    let start = p.stat().ok()?.starttime;
    Some((ProcId { pid, start }, socks))
}

/// The inode of a "socket:[12345]" fd link.
fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
#[test]
fn socket_links() {
    assert_eq!(socket_inode(b"socket:[4242]"), Some(4242));
    assert_eq!(socket_inode(b"pipe:[4242]"), None);
    assert_eq!(socket_inode(b"socket:[]"), None);
    assert_eq!(socket_inode(b"socket:[42"), None);
}

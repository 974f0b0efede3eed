//! Socket inode → process, from /proc/<pid>/fd links ("socket:[inode]").
//!
//! Each process is read through one directory handle (a [`PidDir`] keeps
//! an fd of /proc/<pid>): if the process exits and its pid is reused, reads
//! through the old handle fail instead of describing the new process. An
//! index entry also keeps the process's start time, checked again before a
//! name is handed out, so a stale entry never names the wrong process.

use super::owner::{self, Users};
use super::pidfs::PidDir;
use rustnet_core::track::ProcessInfo;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

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
}

/// A process first seen less than this long ago is read again by every
/// scan of new pids: it may have opened its socket since the last look.
const YOUNG: Duration = Duration::from_secs(3);
/// At most this many pids below the last handed-out one are probed.
const PROBE_SPAN: u32 = 64;

#[derive(Default)]
pub struct ProcIndex {
    inodes: HashMap<u64, ProcId>,
    /// Pids seen by the last scans, with when they were first seen; a scan of
    /// "new" pids skips those seen before [`YOUNG`] ago.
    known: HashMap<u32, Instant>,
    /// Name and command line per process identity, read while that process
    /// was alive (checked through its /proc directory handle).
    infos: HashMap<ProcId, ProcessInfo>,
    /// The kernel's last handed-out pid at the previous probe.
    last_pid: Option<u32>,
    /// Our network namespace ("net:[inode]"), read at the first probe.
    netns: Option<Option<Vec<u8>>>,
    /// User names by uid, for the owner of each process read.
    users: Users,
    pub stats: ScanStats,
}

impl ProcIndex {
    pub fn new() -> ProcIndex {
        ProcIndex::default()
    }

    /// Sockets plus pids remembered (for bounding an index that is never rescanned).
    pub fn remembered(&self) -> usize {
        self.inodes.len() + self.known.len() + self.infos.len()
    }

    pub fn owner(&self, inode: u64) -> Option<ProcId> {
        self.inodes.get(&inode).copied()
    }

    /// Makes sure the index knows the owners of `wanted` if they are alive:
    /// first only processes not seen before or young (a short-lived client),
    /// then, if some are still missing, every process. The name and command
    /// line of an owner found are read at once, while it still runs.
    /// Returns how many are known.
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

    /// The fast part of [`ProcIndex::refresh_for`] only: the newest and
    /// young processes. Returns whether every `wanted` inode is known.
    pub fn refresh_new(&mut self, wanted: &[u64]) -> bool {
        let missing: Vec<u64> = wanted.iter().copied().filter(|i| !self.inodes.contains_key(i)).collect();
        missing.is_empty() || self.probe(&missing)
    }

    /// Makes the scans of new pids start after the newest pid now: the
    /// first lookup then reads only processes started since, not the last
    /// [`PROBE_SPAN`] (a few milliseconds that a short-lived client's
    /// socket does not last).
    pub fn skip_existing(&mut self) {
        self.last_pid = last_pid();
    }

    /// Rebuilds the whole index (periodic reconciliation).
    pub fn full_rescan(&mut self) {
        self.scan(true, &[]);
    }

    /// Reads /proc/<pid>/fd of new and young pids (or of all of them,
    /// replacing the index). Stops early once every `wanted` inode is found.
    fn scan(&mut self, all: bool, wanted: &[u64]) {
        if !all && self.probe(wanted) {
            return;
        }
        // Pids straight from readdir: opening every /proc/<pid> (as
        // procfs::all_processes does) costs too much on the request path.
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        if all {
            self.stats.full_scans += 1;
        } else {
            self.stats.new_pid_scans += 1;
        }
        let now = Instant::now();
        let mut pids: Vec<u32> =
            dir.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok())).collect();
        // Newest processes first: a short-lived client is most likely among them.
        pids.sort_unstable_by(|a, b| b.cmp(a));
        let mut inodes = HashMap::new();
        let mut seen = HashMap::with_capacity(pids.len());
        let mut left: HashSet<u64> = wanted.iter().copied().collect();
        let early_stop = !wanted.is_empty();
        for pid in pids {
            let first = self.known.get(&pid).copied().unwrap_or(now);
            seen.insert(pid, first);
            if !all && now.duration_since(first) >= YOUNG {
                continue;
            }
            self.read_pid(pid, false, &mut left, &mut inodes);
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
            for (pid, first) in seen {
                self.known.entry(pid).or_insert(first);
            }
        }
    }

    /// The fast path for a short-lived client, without listing /proc:
    /// young pids already known, then the pids above the highest seen (the
    /// kernel hands them out upwards). True if every `wanted` inode is found.
    fn probe(&mut self, wanted: &[u64]) -> bool {
        if wanted.is_empty() {
            return false;
        }
        let now = Instant::now();
        let mut left: HashSet<u64> = wanted.iter().copied().collect();
        let mut inodes = HashMap::new();
        let mut probed = HashSet::new();
        // The pid namespace's last handed-out pid, newest first, down to the
        // last one seen by the previous probe.
        if let Some(last) = last_pid() {
            // After a wrap-around (last below the previous mark) only the span.
            let low = match self.last_pid {
                Some(prev) if prev <= last => prev.max(last.saturating_sub(PROBE_SPAN)),
                _ => last.saturating_sub(PROBE_SPAN),
            };
            // Pids not seen before, newest first; those in our network
            // namespace (where the looked-up socket lives) are read before
            // the others: on a busy machine most new pids are unrelated
            // work, and each read costs the client time it may not give.
            let mut fresh = Vec::new();
            let mut pid = last;
            while pid > low {
                if let std::collections::hash_map::Entry::Vacant(e) = self.known.entry(pid) {
                    e.insert(now);
                    probed.insert(pid);
                    fresh.push(pid);
                }
                pid -= 1;
            }
            let ns = self.netns.get_or_insert_with(|| netns_of(&PidDir::open(std::process::id()).ok()?)).clone();
            let mut others = Vec::new();
            for pid in fresh {
                if left.is_empty() {
                    break;
                }
                let here = match &ns {
                    Some(ns) => PidDir::open(pid).ok().and_then(|d| netns_of(&d)).as_ref() == Some(ns),
                    None => true,
                };
                if here {
                    self.read_pid(pid, true, &mut left, &mut inodes);
                } else {
                    others.push(pid);
                }
            }
            for pid in others {
                if left.is_empty() {
                    break;
                }
                self.read_pid(pid, true, &mut left, &mut inodes);
            }
            self.last_pid = Some(last);
        }
        let mut young: Vec<u32> = self
            .known
            .iter()
            .filter(|(p, t)| now.duration_since(**t) < YOUNG && !probed.contains(*p))
            .map(|(p, _)| *p)
            .collect();
        young.sort_unstable_by(|a, b| b.cmp(a));
        for pid in young {
            if left.is_empty() {
                break;
            }
            self.read_pid(pid, true, &mut left, &mut inodes);
        }
        self.inodes.extend(inodes);
        left.is_empty()
    }

    /// Reads the socket fds of `pid` into `inodes`, taking found ones out of
    /// `left`; reads the name of a process that holds one of them.
    fn read_pid(&mut self, pid: u32, maybe_thread: bool, left: &mut HashSet<u64>, inodes: &mut HashMap<u64, ProcId>) {
        let (p, id, comm, socks) = match sockets_of(pid, maybe_thread, left) {
            Ok(Some(found)) => found,
            Ok(None) => return, // no sockets
            Err(()) => {
                self.known.remove(&pid); // gone: no more reads while young
                return;
            }
        };
        let mut holds_wanted = false;
        for ino in socks {
            holds_wanted |= left.remove(&ino);
            inodes.insert(ino, id);
        }
        if holds_wanted && !self.infos.contains_key(&id) {
            // The handle fails rather than read a successor's command line.
            let cmdline = cmdline_at(&p);
            let mut info = ProcessInfo { pid: id.pid, name: comm, cmdline, ..ProcessInfo::default() };
            owner::fill(&p, &mut info, &mut self.users);
            self.infos.insert(id, info);
        }
    }

    /// Name and command line of `id`: as read while it held a looked-up
    /// socket, or read now. None if another process has taken its pid, or
    /// if it is gone and nothing was read while it lived.
    pub fn info(&mut self, id: ProcId) -> Option<ProcessInfo> {
        let (p, (comm, start)) = match PidDir::open(id.pid).ok().and_then(|p| stat_at(&p).map(|st| (p, st))) {
            Some(found) => found,
            // Exited (and reaped): what was read through its own handle still names it.
            None => return self.infos.get(&id).cloned(),
        };
        // Start times tick at 100 Hz: a pid reused within the same tick has the
        // same identity, but (almost always) another name.
        let renamed = self.infos.get(&id).is_some_and(|i| i.name != comm);
        if start != id.start || renamed {
            self.infos.remove(&id);
            self.inodes.retain(|_, v| *v != id);
            return None;
        }
        if let Some(i) = self.infos.get(&id) {
            return Some(i.clone());
        }
        let mut info = read_info(&p, id)?;
        owner::fill(&p, &mut info, &mut self.users);
        self.infos.insert(id, info.clone());
        Some(info)
    }
}

/// Name and command line through `p`'s directory handle; None unless `p`
/// is still the process `id` after both reads (so a successor with the
/// same pid never gives a mixed record).
fn read_info(p: &PidDir, id: ProcId) -> Option<ProcessInfo> {
    let (comm, start) = stat_at(p)?;
    if start != id.start {
        return None;
    }
    let cmdline = cmdline_at(p);
    if stat_at(p)?.1 != id.start {
        return None;
    }
    Some(ProcessInfo { pid: id.pid, name: comm, cmdline, ..ProcessInfo::default() })
}

/// The pid namespace's last handed-out pid.
fn last_pid() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/kernel/ns_last_pid").ok().and_then(|t| t.trim().parse().ok())
}

/// Name and parent pid from a /proc/<pid>/stat text (ppid is field 4).
pub(super) fn parse_stat_ppid(text: &str) -> Option<(String, u32)> {
    let (comm, rest) = split_stat(text)?;
    Some((comm, rest.split_ascii_whitespace().nth(1)?.parse().ok()?))
}

/// The comm of a stat text and the fields after it: comm may hold spaces
/// and parentheses, so it ends at the last ')'.
fn split_stat(text: &str) -> Option<(String, &str)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    Some((text.get(open + 1..close)?.to_string(), text.get(close + 1..)?))
}

/// "pid (comm) state ppid … starttime …": comm may hold spaces and
/// parentheses, so it ends at the last ')'; starttime is field 22.
fn parse_stat(text: &str) -> Option<(String, u64)> {
    let (comm, rest) = split_stat(text)?;
    Some((comm, rest.split_ascii_whitespace().nth(19)?.parse().ok()?))
}

/// The socket inodes a process holds, with its identity and directory
/// handle: Ok(None) if it holds none, Err if it is gone or unreadable. The
/// fd links are read through the handle opened before them, then the start
/// time: those reads fail if the process the handle was opened for has
/// exited, so the links cannot belong to a successor with the same pid.
/// Stops reading links once every inode of `wanted` (if any) is found.
fn sockets_of(pid: u32, maybe_thread: bool, wanted: &HashSet<u64>) -> Result<Option<Found>, ()> {
    let p = PidDir::open(pid).map_err(|_| ())?;
    let (dir, mut fds) = p.fds().map_err(|_| ())?;
    // Newest descriptors first (the kernel hands out the lowest free
    // number, so a socket just opened is usually among the highest): with
    // the early stop below, a short-lived client costs one or two readlinks.
    fds.sort_unstable_by(|a, b| b.cmp(a));
    let mut socks = Vec::new();
    let mut hits = 0;
    for fd in fds {
        // None: not a socket, or closed meanwhile.
        if let Some(ino) = dir.socket_inode(fd) {
            socks.push(ino);
            if wanted.contains(&ino) {
                hits += 1;
                if hits == wanted.len() {
                    break;
                }
            }
        }
    }
    if socks.is_empty() {
        return Ok(None);
    }
    let (comm, start) = stat_at(&p).ok_or(())?;
    // A probed thread id (/proc/<tid> exists though readdir lists only
    // processes) shares the fd table of its process: name the process.
    let tgid = if maybe_thread { tgid_at(&p).unwrap_or(pid) } else { pid };
    if tgid != pid {
        let leader = PidDir::open(tgid).map_err(|_| ())?;
        let (comm, start) = stat_at(&leader).ok_or(())?;
        return Ok(Some((leader, ProcId { pid: tgid, start }, comm, socks)));
    }
    Ok(Some((p, ProcId { pid, start }, comm, socks)))
}

/// The "net:[inode]" link of a process's network namespace.
fn netns_of(p: &PidDir) -> Option<Vec<u8>> {
    p.link(c"ns/net")
}

/// What [`sockets_of`] finds: the process handle, identity, name, socket inodes.
type Found = (PidDir, ProcId, String, Vec<u64>);

/// Name and start time from /proc/<pid>/stat, read through `p`'s handle.
/// Parsed by hand, only these two fields: procfs's full Stat parse costs
/// more than the rest of a lookup, and a short-lived client leaves no time.
fn stat_at(p: &PidDir) -> Option<(String, u64)> {
    parse_stat(&String::from_utf8_lossy(&p.read(c"stat").ok()?))
}

/// The "Tgid:" line of /proc/<pid>/status.
fn tgid_at(p: &PidDir) -> Option<u32> {
    let text = p.read(c"status").ok()?;
    String::from_utf8_lossy(&text).lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

/// The command line, arguments joined by spaces; None if empty (kernel threads).
fn cmdline_at(p: &PidDir) -> Option<String> {
    let raw = p.read(c"cmdline").ok()?;
    let args: Vec<String> =
        raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    (!args.is_empty()).then(|| args.join(" "))
}

#[cfg(test)]
#[test]
fn stat_fields() {
    // Layout of proc_pid_stat(5); a comm with spaces and ')' inside.
    let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 1000 50";
    assert_eq!(parse_stat(line), Some(("my (odd) name".to_string(), 987654)));
    assert_eq!(parse_stat("4242 (x) S 1"), None);
    assert_eq!(parse_stat("garbage"), None);
}

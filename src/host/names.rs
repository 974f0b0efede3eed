//! Host names of remote addresses.
//!
//! Passive: names learned from DNS answers seen on the wire (A/AAAA data →
//! the name the client asked for, following CNAME chains back to it), with
//! who asked and when. A flow is named by what it asked for itself: its TLS
//! or QUIC SNI, its HTTP Host, else the latest answer its own host asked for
//! before the flow began; a name only seen in other traffic (another host's
//! query, a later one) is marked `~name`. ARP rows get no DNS name.
//! Active (optional): reverse DNS (PTR) through libc's getnameinfo on a
//! small pool of background threads, with positive and negative caching.
//! Callers never block: `get` reads a map, `request_reverse` is a try_send.

use crossbeam_channel::{Receiver, Sender, TrySendError};
use rustnet_core::Timestamp;
use rustnet_core::dpi::{AppInfo, DnsInfo};
use rustnet_core::track::{Connection, Proto};
use std::collections::{HashMap, VecDeque};
use std::ffi::CStr;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Most names kept from DNS answers; the oldest learned go first.
const PASSIVE_CAP: usize = 50_000;
const REVERSE_CAP: usize = 50_000;
const REVERSE_THREADS: usize = 3;
const REVERSE_QUEUE: usize = 1024;
/// A lookup not answered within this is treated as failed (and retried
/// only after NEGATIVE_TTL); a late answer is still stored.
const REVERSE_TIMEOUT: Duration = Duration::from_secs(4);
const POSITIVE_TTL: Duration = Duration::from_secs(3600);
const NEGATIVE_TTL: Duration = Duration::from_secs(300);

#[derive(Clone, Debug)]
enum Reverse {
    Pending(Instant),
    Found(String, Instant),
    Failed(Instant),
}

/// Answers kept per address (the latest).
const NAMES_PER_ADDR: usize = 4;

/// Who asked a DNS question and when (the querying flow's local address
/// and first packet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asked {
    pub by: IpAddr,
    pub at: Timestamp,
}

/// One name learned for an address.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Learned {
    name: String,
    asked: Asked,
}

#[derive(Default)]
struct Passive {
    /// Oldest first, at most NAMES_PER_ADDR.
    map: HashMap<IpAddr, Vec<Learned>>,
    order: VecDeque<IpAddr>,
}

#[derive(Default)]
struct Counters {
    learned: AtomicU64,
    reverse_requests: AtomicU64,
    reverse_found: AtomicU64,
    reverse_failed: AtomicU64,
    reverse_dropped: AtomicU64,
}

/// Counters of the name cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NameStats {
    pub learned: u64,
    pub reverse_requests: u64,
    pub reverse_found: u64,
    pub reverse_failed: u64,
    pub reverse_dropped: u64,
}

struct Inner {
    passive: RwLock<Passive>,
    reverse: RwLock<HashMap<IpAddr, Reverse>>,
    counters: Counters,
}

/// Shared address → name map; cheap to clone.
#[derive(Clone)]
pub struct NameCache {
    inner: Arc<Inner>,
    /// None when reverse DNS is off (`--no-resolve-dns`).
    tx: Option<Sender<IpAddr>>,
}

impl NameCache {
    /// `active`: also resolve PTR names in the background.
    pub fn new(active: bool) -> NameCache {
        let inner = Arc::new(Inner {
            passive: RwLock::new(Passive::default()),
            reverse: RwLock::new(HashMap::new()),
            counters: Counters::default(),
        });
        let tx = active.then(|| {
            let (tx, rx) = crossbeam_channel::bounded(REVERSE_QUEUE);
            for i in 0..REVERSE_THREADS {
                let (rx, inner) = (rx.clone(), inner.clone());
                let spawned = std::thread::Builder::new().name(format!("rustnet-rdns{i}")).spawn(move || {
                    // Reads answers from the network: needs no capability.
                    let errors = super::privileges::drop_thread_capabilities();
                    if !errors.is_empty() {
                        log::warn!("reverse DNS thread privileges: {}", errors.join("; "));
                    }
                    crate::sys::sandbox::helper_thread("resolver");
                    reverse_worker(rx, inner)
                });
                if let Err(e) = spawned {
                    log::warn!("reverse DNS thread: {e}");
                }
            }
            tx
        });
        NameCache { inner, tx }
    }

    /// Records the names of the addresses in a DNS response `asked` by a host.
    pub fn learn_from_dns(&self, dns: &DnsInfo, asked: Asked) {
        let learned: Vec<(IpAddr, Learned)> =
            names_from_answers(dns).into_iter().map(|(a, name)| (a, Learned { name, asked })).collect();
        if learned.is_empty() {
            return;
        }
        // Snapshots enrich every connection again: a response already learned
        // costs a read lock, not the write lock every reader would wait on.
        let known = |p: &Passive| learned.iter().all(|(a, l)| p.map.get(a).is_some_and(|v| v.contains(l)));
        if self.inner.passive.read().is_ok_and(|p| known(&p)) {
            return;
        }
        let Ok(mut p) = self.inner.passive.write() else {
            return;
        };
        for (addr, l) in learned {
            let names = p.map.entry(addr).or_default();
            if names.contains(&l) {
                continue;
            }
            let fresh = names.is_empty();
            names.push(l);
            // Latest asked last (responses are learned in no particular order).
            names.sort_by_key(|l| l.asked.at);
            if names.len() > NAMES_PER_ADDR {
                names.remove(0);
            }
            if fresh {
                p.order.push_back(addr);
                self.inner.counters.learned.fetch_add(1, Ordering::Relaxed);
            }
            while p.map.len() > PASSIVE_CAP {
                match p.order.pop_front() {
                    Some(old) => {
                        p.map.remove(&old);
                    }
                    None => break,
                }
            }
        }
    }

    /// The name of `addr`: the latest DNS answer seen on the wire, else
    /// reverse DNS.
    pub fn get(&self, addr: &IpAddr) -> Option<String> {
        if let Some(n) = self.inner.passive.read().ok()?.map.get(addr).and_then(|v| v.last()) {
            return Some(n.name.clone());
        }
        self.reverse_name(addr)
    }

    fn reverse_name(&self, addr: &IpAddr) -> Option<String> {
        match self.inner.reverse.read().ok()?.get(addr) {
            Some(Reverse::Found(n, _)) => Some(n.clone()),
            _ => None,
        }
    }

    /// The name of `c`'s remote end, as that flow knows it: its own SNI or
    /// HTTP Host; else (not for a DNS flow) the latest DNS answer for the
    /// address that `c`'s host asked for before `c` began; else `~name`, a name only seen in
    /// other traffic; else reverse DNS. None for ARP, and when nothing is known.
    pub fn name_for(&self, c: &Connection) -> Option<String> {
        if c.proto == Proto::Arp {
            return None;
        }
        if let Some(n) = flow_name(c) {
            return Some(n);
        }
        let addr = &c.remote.addr;
        // A DNS flow's answers name other hosts, not its server: its server
        // gets no name from them (nor from other flows' answers, which would
        // depend on which worker enriched what first).
        let asks_dns = matches!(c.app, Some(AppInfo::Dns(_) | AppInfo::Mdns(_) | AppInfo::Llmnr(_)));
        let p = self.inner.passive.read().ok()?;
        if let Some(names) = p.map.get(addr).filter(|_| !asks_dns) {
            let own = names.iter().rev().find(|l| l.asked.by == c.local.addr && l.asked.at < c.first_seen);
            return Some(match own {
                Some(l) => l.name.clone(),
                None => format!("~{}", names.last()?.name),
            });
        }
        drop(p);
        self.reverse_name(addr)
    }

    /// Queues a PTR lookup unless the answer (or failure) is cached or one
    /// is running. Never blocks; a full queue drops the request (counted),
    /// and a later call asks again.
    pub fn request_reverse(&self, addr: IpAddr) {
        let Some(tx) = &self.tx else { return };
        if !has_ptr(addr) {
            return;
        }
        let now = Instant::now();
        {
            let Ok(r) = self.inner.reverse.read() else {
                return;
            };
            let live = match r.get(&addr) {
                Some(Reverse::Pending(t)) => now.duration_since(*t) < REVERSE_TIMEOUT,
                Some(Reverse::Found(_, t)) => now.duration_since(*t) < POSITIVE_TTL,
                Some(Reverse::Failed(t)) => now.duration_since(*t) < NEGATIVE_TTL,
                None => false,
            };
            if live {
                return;
            }
            if matches!(r.get(&addr), Some(Reverse::Pending(_))) {
                // Timed out: count it as failed, retry after NEGATIVE_TTL.
                drop(r);
                self.store(addr, Reverse::Failed(now));
                self.inner.counters.reverse_failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        match tx.try_send(addr) {
            Ok(()) => {
                self.inner.counters.reverse_requests.fetch_add(1, Ordering::Relaxed);
                self.store(addr, Reverse::Pending(now));
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.inner.counters.reverse_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn store(&self, addr: IpAddr, v: Reverse) {
        store(&self.inner, addr, v);
    }

    pub fn stats(&self) -> NameStats {
        let c = &self.inner.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        NameStats {
            learned: l(&c.learned),
            reverse_requests: l(&c.reverse_requests),
            reverse_found: l(&c.reverse_found),
            reverse_failed: l(&c.reverse_failed),
            reverse_dropped: l(&c.reverse_dropped),
        }
    }
}

/// Whether asking for `addr`'s PTR name makes sense: not for multicast,
/// link-local, unspecified or broadcast addresses, which have none (asking
/// only sends queries the resolver's servers cannot answer).
fn has_ptr(addr: IpAddr) -> bool {
    match addr.to_canonical() {
        IpAddr::V4(a) => !(a.is_multicast() || a.is_link_local() || a.is_unspecified() || a.is_broadcast()),
        // fe80::/10 (is_unicast_link_local is not stable on this toolchain).
        IpAddr::V6(a) => !(a.is_multicast() || a.is_unspecified() || (a.segments()[0] & 0xffc0) == 0xfe80),
    }
}

fn store(inner: &Inner, addr: IpAddr, v: Reverse) {
    let Ok(mut r) = inner.reverse.write() else {
        return;
    };
    if r.len() >= REVERSE_CAP && !r.contains_key(&addr) {
        // Full: forget expired answers first, everything if none expired.
        let now = Instant::now();
        r.retain(|_, e| match e {
            Reverse::Found(_, t) => now.duration_since(*t) < POSITIVE_TTL,
            Reverse::Failed(t) => now.duration_since(*t) < NEGATIVE_TTL,
            Reverse::Pending(t) => now.duration_since(*t) < REVERSE_TIMEOUT,
        });
        if r.len() >= REVERSE_CAP {
            r.clear();
        }
    }
    r.insert(addr, v);
}

fn reverse_worker(rx: Receiver<IpAddr>, inner: Arc<Inner>) {
    for addr in rx {
        let v = match reverse_lookup(addr) {
            Some(name) => {
                inner.counters.reverse_found.fetch_add(1, Ordering::Relaxed);
                Reverse::Found(name, Instant::now())
            }
            None => {
                inner.counters.reverse_failed.fetch_add(1, Ordering::Relaxed);
                Reverse::Failed(Instant::now())
            }
        };
        store(&inner, addr, v);
    }
}

/// PTR name of `addr` via getnameinfo(NI_NAMEREQD): the system's resolver
/// (hosts file, DNS, nss) as every other tool on the host uses it. Blocks.
pub fn reverse_lookup(addr: IpAddr) -> Option<String> {
    let sa = raw_sockaddr(SocketAddr::new(addr, 0));
    let mut host = [0 as libc::c_char; 1025]; // NI_MAXHOST
    // SAFETY: `sa` is a properly initialised sockaddr_in/sockaddr_in6 of the
    // length passed; `host` is a writable buffer of the length passed; no
    // service buffer is requested (null, 0).
    let rc = unsafe {
        libc::getnameinfo(
            sa.as_ptr(),
            sa.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success getnameinfo wrote a NUL-terminated string into `host`.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    let name = name.to_string_lossy().trim_end_matches('.').to_string();
    (!name.is_empty()).then_some(name)
}

/// A C sockaddr for getnameinfo, built by hand because std does not expose
/// its own conversion.
enum RawSockaddr {
    V4(libc::sockaddr_in),
    V6(libc::sockaddr_in6),
}

impl RawSockaddr {
    fn as_ptr(&self) -> *const libc::sockaddr {
        match self {
            RawSockaddr::V4(a) => (a as *const libc::sockaddr_in).cast(),
            RawSockaddr::V6(a) => (a as *const libc::sockaddr_in6).cast(),
        }
    }

    fn len(&self) -> libc::socklen_t {
        let n = match self {
            RawSockaddr::V4(_) => size_of::<libc::sockaddr_in>(),
            RawSockaddr::V6(_) => size_of::<libc::sockaddr_in6>(),
        };
        n as libc::socklen_t
    }
}

fn raw_sockaddr(sa: SocketAddr) -> RawSockaddr {
    match sa {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
            let mut s: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            s.sin_family = libc::AF_INET as libc::sa_family_t;
            s.sin_port = a.port().to_be();
            s.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            RawSockaddr::V4(s)
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_in6 is plain old data; all-zero is a valid value.
            let mut s: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            s.sin6_port = a.port().to_be();
            s.sin6_addr.s6_addr = a.ip().octets();
            s.sin6_scope_id = a.scope_id();
            RawSockaddr::V6(s)
        }
    }
}

/// The name a flow asked for itself: TLS/QUIC SNI or HTTP Host (without
/// its port); not an address literal.
fn flow_name(c: &Connection) -> Option<String> {
    let n = match c.app.as_ref()? {
        AppInfo::Tls(t) => t.sni.as_deref()?,
        AppInfo::Quic(q) => q.sni.as_deref()?,
        AppInfo::Http(h) => host_without_port(h.host.as_deref()?),
        _ => return None,
    };
    let n = n.trim_end_matches('.');
    (!n.is_empty() && n.parse::<IpAddr>().is_err()).then(|| n.to_ascii_lowercase())
}

/// `host`, `host:port`, `[v6]:port` → the host part.
fn host_without_port(h: &str) -> &str {
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => h,
    }
}

/// (address, name) pairs of a DNS response: each A/AAAA record's address
/// with the name the client queried, found by following CNAMEs back from
/// the record's owner; without a matching question, the record's own name.
fn names_from_answers(dns: &DnsInfo) -> Vec<(IpAddr, String)> {
    let norm = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    // target → alias, from "alias CNAME target".
    let mut alias_of: HashMap<String, String> = HashMap::new();
    for a in &dns.answers {
        if a.rtype.eq_ignore_ascii_case("CNAME") {
            alias_of.insert(norm(&a.data), norm(&a.name));
        }
    }
    let asked: Vec<String> = dns.queries.iter().map(|q| norm(&q.name)).collect();
    let mut out = Vec::new();
    for a in &dns.answers {
        if !(a.rtype.eq_ignore_ascii_case("A") || a.rtype.eq_ignore_ascii_case("AAAA")) {
            continue;
        }
        let Ok(addr) = a.data.parse::<IpAddr>() else {
            continue; // malformed answer data: nothing to learn
        };
        let mut name = norm(&a.name);
        // Walk up the chain; bounded against CNAME loops.
        for _ in 0..16 {
            if asked.contains(&name) {
                break;
            }
            match alias_of.get(&name) {
                Some(up) => name = up.clone(),
                None => break,
            }
        }
        if !name.is_empty() {
            out.push((addr, name));
        }
    }
    out
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;

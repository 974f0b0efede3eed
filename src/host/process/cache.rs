//! Results of the resolver: flow → process, shared with the pipeline.
//! Readers take a read lock only; "last used" is an atomic so `lookup` can
//! refresh it without writing the map.

use super::sock_diag::unspecified;
use rustnet_core::track::{Endpoint, ProcessInfo, Proto};
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A socket identity as the kernel shows it; `remote` is unspecified:0 for
/// unconnected UDP sockets (and listeners).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SockKey {
    pub proto: Proto,
    pub local: Endpoint,
    pub remote: Endpoint,
}

impl SockKey {
    pub fn new(proto: Proto, local: Endpoint, remote: Endpoint) -> SockKey {
        SockKey { proto, local: local.canonical(), remote: remote.canonical() }
    }

    pub fn is_wildcard(&self) -> bool {
        self.remote.port == 0 && self.remote.addr.is_unspecified()
    }
}

pub struct Cached {
    pub info: ProcessInfo,
    pub inode: u64,
    /// Milliseconds since the cache's epoch.
    last_used: AtomicU64,
    pub resolved_at: Instant,
}

pub struct ResultCache {
    map: RwLock<HashMap<SockKey, Cached>>,
    epoch: Instant,
    cap: usize,
}

impl ResultCache {
    pub fn new(cap: usize) -> ResultCache {
        ResultCache { map: RwLock::new(HashMap::new()), epoch: Instant::now(), cap }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The process of a flow: its own socket, else (UDP) an unconnected
    /// socket bound to the local port on that address or any address.
    pub fn get(&self, proto: Proto, local: Endpoint, remote: Endpoint) -> Option<ProcessInfo> {
        let key = SockKey::new(proto, local, remote);
        let map = self.map.read().ok()?;
        let mut hit = map.get(&key);
        if hit.is_none() && proto == Proto::Udp {
            let any = |a| Endpoint::new(unspecified(a), 0);
            let l = key.local;
            let tries = [
                SockKey::new(proto, l, any(l.addr)),
                SockKey::new(proto, Endpoint::new(unspecified(l.addr), l.port), any(l.addr)),
                // A dual-stack [::]:port socket serves IPv4 flows too.
                SockKey::new(
                    proto,
                    Endpoint::new(std::net::Ipv6Addr::UNSPECIFIED.into(), l.port),
                    any(std::net::Ipv6Addr::UNSPECIFIED.into()),
                ),
            ];
            hit = tries.iter().find_map(|k| map.get(k));
        }
        let c = hit?;
        c.last_used.store(self.now_ms(), Ordering::Relaxed);
        Some(c.info.clone())
    }

    /// When `key` was resolved, if at or after `since`.
    pub fn resolved_since(&self, key: &SockKey, since: Instant) -> Option<Instant> {
        let m = self.map.read().ok()?;
        m.get(key).map(|c| c.resolved_at).filter(|at| *at >= since)
    }

    pub fn inode_of(&self, key: &SockKey) -> Option<u64> {
        self.map.read().ok()?.get(key).map(|c| c.inode)
    }

    pub fn insert_all(&self, items: Vec<(SockKey, u64, ProcessInfo)>) {
        if items.is_empty() {
            return;
        }
        let now = self.now_ms();
        let Ok(mut map) = self.map.write() else {
            return;
        };
        for (key, inode, info) in items {
            if map.len() >= self.cap && !map.contains_key(&key) {
                continue; // full: keep the older answers rather than thrash
            }
            map.insert(key, Cached { info, inode, last_used: AtomicU64::new(now), resolved_at: Instant::now() });
        }
    }

    /// Drops an answer that is about to be re-resolved (port reuse).
    pub fn remove(&self, key: &SockKey) {
        if let Ok(mut m) = self.map.write() {
            m.remove(key);
        }
    }

    /// Marks sockets still open as used now.
    pub fn touch<'a>(&self, keys: impl Iterator<Item = &'a SockKey>) {
        let now = self.now_ms();
        if let Ok(m) = self.map.read() {
            for k in keys {
                if let Some(c) = m.get(k) {
                    c.last_used.store(now, Ordering::Relaxed);
                }
            }
        }
    }

    /// Forgets answers not used for `keep`. The table is walked under the
    /// read lock: workers' lookups (read locks too) never wait for the walk,
    /// only for the removal of what it found.
    pub fn expire(&self, keep: Duration) {
        let now = self.now_ms();
        let keep = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
        let stale = |c: &Cached| now.saturating_sub(c.last_used.load(Ordering::Relaxed)) >= keep;
        let old: Vec<SockKey> = match self.map.read() {
            Ok(m) => m.iter().filter(|(_, c)| stale(c)).map(|(k, _)| *k).collect(),
            Err(_) => return,
        };
        if old.is_empty() {
            return;
        }
        if let Ok(mut m) = self.map.write() {
            for k in old {
                // Used again since the walk: kept.
                if m.get(&k).is_some_and(stale) {
                    m.remove(&k);
                }
            }
        }
    }
}

//! The pipeline's `Enrich` for live capture: process attribution and host
//! names. Cheap calls only (try_send, read locks), so workers never wait.

use crate::host::names::NameCache;
use crate::host::process::ProcessResolver;
use crate::host::process::hints::FlowHints;
use crate::pipeline::Enrich;
use rustnet_core::NewFlow;
use rustnet_core::dpi::AppInfo;
use rustnet_core::track::Connection;

pub struct HostEnrich {
    pub procs: ProcessResolver,
    pub names: NameCache,
}

impl HostEnrich {
    /// Call from the thread (network namespace) the capture runs in.
    /// `hints`, opened with the capture, announces new outgoing flows early.
    pub fn start(reverse_dns: bool, hints: Option<FlowHints>) -> HostEnrich {
        let procs = ProcessResolver::start();
        if let Some(h) = hints {
            h.start(procs.clone());
        }
        HostEnrich { procs, names: NameCache::new(reverse_dns) }
    }
}

impl Enrich for HostEnrich {
    fn new_flows(&self, flows: &[NewFlow]) {
        self.procs.request_all(flows);
    }

    fn enrich(&self, c: &mut Connection) {
        if c.process.is_none() && c.proto.has_ports() {
            c.process = self.procs.lookup(c.proto, c.local, c.remote);
        }
        if let Some(AppInfo::Dns(d)) = &c.app {
            self.names.learn_from_dns(d);
        }
        if c.hostname.is_none() {
            c.hostname = self.names.get(&c.remote.addr);
            if c.hostname.is_none() {
                self.names.request_reverse(c.remote.addr);
            }
        }
    }
}

/// For capture files: host names from the file's own DNS answers only (no
/// process lookup or reverse DNS: the file's hosts are not this machine's).
pub struct FileEnrich {
    pub names: NameCache,
}

impl FileEnrich {
    pub fn new() -> FileEnrich {
        FileEnrich { names: NameCache::new(false) }
    }
}

impl Default for FileEnrich {
    fn default() -> Self {
        Self::new()
    }
}

impl Enrich for FileEnrich {
    fn enrich(&self, c: &mut Connection) {
        if let Some(AppInfo::Dns(d)) = &c.app {
            self.names.learn_from_dns(d);
        }
        if c.hostname.is_none() {
            c.hostname = self.names.get(&c.remote.addr);
        }
    }
}

//! The pipeline's `Enrich`: process attribution and host names for live
//! capture, names from the file's DNS answers for capture files. Cheap calls
//! only (try_send, read locks), so workers never wait.

use super::Source;
use crate::host::geoip::GeoIp;
use crate::host::names::NameCache;
use crate::host::process::ProcessResolver;
use crate::host::process::hints::FlowHints;
use crate::pipeline::Enrich;
use rustnet_core::NewFlow;
use rustnet_core::dpi::AppInfo;
use rustnet_core::track::{Connection, Proto, State};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub struct HostEnrich {
    pub procs: ProcessResolver,
    pub names: NameCache,
    /// This host's default gateways, read at start.
    gateways: Vec<std::net::IpAddr>,
}

impl HostEnrich {
    /// Call from the thread (network namespace) the capture runs in.
    /// `hints`, opened with the capture, announces new outgoing flows early.
    pub fn start(reverse_dns: bool, hints: Option<FlowHints>) -> HostEnrich {
        let procs = ProcessResolver::start();
        if let Some(h) = hints {
            h.start(procs.clone());
        }
        let gateways = crate::host::gateway::default_gateways();
        HostEnrich { procs, names: NameCache::new(reverse_dns), gateways }
    }
}

impl Enrich for HostEnrich {
    fn new_flows(&self, flows: &[NewFlow]) {
        self.procs.request_all(flows);
    }

    fn enrich(&self, c: &mut Connection) {
        c.gateway = self.gateways.contains(&c.remote.addr);
        if c.process.is_none() && c.proto.has_ports() {
            c.process = self.procs.lookup(c.proto, c.local, c.remote).map(Box::new);
        }
        // mDNS and LLMNR answers name hosts too (they were DNS before issue 14).
        if let Some(AppInfo::Dns(d) | AppInfo::Mdns(d) | AppInfo::Llmnr(d)) = &c.app {
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
        // mDNS and LLMNR answers name hosts too (they were DNS before issue 14).
        if let Some(AppInfo::Dns(d) | AppInfo::Mdns(d) | AppInfo::Llmnr(d)) = &c.app {
            self.names.learn_from_dns(d);
        }
        if c.hostname.is_none() {
            c.hostname = self.names.get(&c.remote.addr);
        }
    }
}

/// Another enrichment plus the remote address's GeoIP entry, looked up once
/// per connection (`--geoip`).
pub struct GeoEnrich {
    inner: Arc<dyn Enrich>,
    geo: GeoIp,
}

impl Enrich for GeoEnrich {
    fn new_flows(&self, flows: &[NewFlow]) {
        self.inner.new_flows(flows);
    }

    fn enrich(&self, c: &mut Connection) {
        self.inner.enrich(c);
        // ARP and neighbour discovery rows are on-link neighbours, not places.
        let neighbour = c.proto == Proto::Arp || matches!(c.state, State::ArpRequest | State::ArpReply);
        if c.geo.is_none() && !neighbour {
            c.geo = Some(Box::new(self.geo.lookup(c.remote.addr)));
        }
    }
}

/// `inner` with the databases of `dir`; each problem with them is one
/// warning on stderr and in the log, and the rest works without them.
pub fn with_geoip(inner: Arc<dyn Enrich>, dir: &Path) -> Arc<dyn Enrich> {
    let (geo, warnings) = GeoIp::open(dir);
    for w in &warnings {
        eprintln!("rustnet: {w}");
        log::warn!("{w}");
    }
    if geo.is_empty() { inner } else { Arc::new(GeoEnrich { inner, geo }) }
}

/// The enrichment for `source`: host lookups (taking its flow hints) when
/// live, the file's own DNS answers otherwise. The host lookups are returned
/// too, for their statistics at the end.
pub fn for_source(source: &mut Source, reverse_dns: bool) -> (Arc<dyn Enrich>, Option<Arc<HostEnrich>>) {
    match source {
        Source::Live { hints, .. } => {
            let host = Arc::new(HostEnrich::start(reverse_dns, hints.take()));
            (host.clone(), Some(host))
        }
        Source::File(..) | Source::PacedFile(..) => (Arc::new(FileEnrich::new()), None),
    }
}

/// Logs how the process lookups went (at info level; free when logging is off).
pub fn log_process_stats(h: &HostEnrich) {
    let st = h.procs.stats();
    let q = |f: &dyn Fn(f64) -> Option<Duration>| [0.5, 0.9, 0.99, 1.0].map(f);
    log::info!(
        "process lookups: {} requests, {} hints, {} hits, {} misses, {} dropped, {} reconciled, {} full / {} new-pid scans; \
         first packet → answer p50/p90/p99/max {:?}; first packet → request {:?}",
        st.requests,
        st.hints,
        st.hits,
        st.misses,
        st.dropped,
        st.reconciled,
        st.full_scans,
        st.new_pid_scans,
        q(&|x| st.latency_quantile(x)),
        q(&|x| st.request_lag_quantile(x)),
    );
}

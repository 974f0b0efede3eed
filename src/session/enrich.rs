//! The pipeline's `Enrich`: process attribution and host names for live
//! capture, names from the file's DNS answers for capture files. Cheap calls
//! only (try_send, read locks), so workers never wait.

use super::Source;
use crate::host::geoip::GeoIp;
use crate::host::names::{Asked, NameCache};
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
        learn(&self.names, c);
        if needs_name(c) {
            c.hostname = self.names.name_for(c);
            if c.hostname.is_none() && c.proto != Proto::Arp {
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
        learn(&self.names, c);
        if needs_name(c) {
            c.hostname = self.names.name_for(c);
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

/// Learns the names a DNS flow's answers give, with who asked and when.
fn learn(names: &NameCache, c: &Connection) {
    // mDNS and LLMNR answers name hosts too (they were DNS before issue 14).
    if let Some(AppInfo::Dns(d) | AppInfo::Mdns(d) | AppInfo::Llmnr(d)) = &c.app {
        names.learn_from_dns(d, Asked { by: c.local.addr, at: c.first_seen });
    }
}

/// No name yet, or one only inferred from other traffic (`~name`), which
/// the flow's own SNI or Host may still replace.
fn needs_name(c: &Connection) -> bool {
    c.hostname.as_deref().is_none_or(|h| h.starts_with('~'))
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

/// Collector mode: names from the records' own SNI and HTTP hosts, as
/// from a file (the exporting hosts' processes are in the records).
pub fn for_collector() -> Arc<dyn Enrich> {
    Arc::new(FileEnrich::new())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::read_file;
    use rustnet_core::{Config, Engine, Timestamp};
    use std::path::Path;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    fn truth(name: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(fixture(&format!("{name}.json"))).expect("truth beside the fixture");
        serde_json::from_str(&text).expect("truth JSON")
    }

    /// Every connection of the fixtures played one after another (a minute
    /// apart) through one engine, enriched as two snapshots would.
    fn named(files: &[&str]) -> Vec<Connection> {
        let mut e = Engine::new(Config::default());
        let mut base = Timestamp::from_nanos(1_700_000_000_000_000_000);
        for f in files {
            let mut first = None;
            let mut last = base;
            read_file(&fixture(f), &mut |p| {
                let t0 = *first.get_or_insert(p.ts);
                last = base + p.ts.since(t0);
                e.process(p.link, last, p.data, p.wire_len);
                true
            })
            .expect("fixture reads");
            base = last + Duration::from_secs(60);
        }
        let mut all = Vec::new();
        e.take_finished(&mut all);
        all.extend(e.connections().cloned());
        let enrich = FileEnrich::new();
        for _ in 0..2 {
            all.iter_mut().for_each(|c| enrich.enrich(c));
        }
        all
    }

    /// dig asked for www.example.test, then alias.example.test (both the
    /// server 10.77.0.2); then curl fetched http://www.example.test/ and
    /// https://secure.example.test/ from it (tshark's Host and SNI), and
    /// arping asked for it. Each flow keeps the name it asked for.
    #[test]
    fn flows_are_named_by_what_they_asked_for() {
        let files = ["dns_udp.pcap", "http_curl.pcap", "tls13_curl.pcap", "arp.pcap", "ssh.pcap"];
        let conns = named(&files);
        let host = truth("http_curl.pcap")["http_hosts"][0].as_str().expect("an HTTP host").to_string();
        let sni = truth("tls13_curl.pcap")["tls_snis"][0].as_str().expect("an SNI").to_string();
        let names = |port: u16, proto: Proto| -> Vec<Option<String>> {
            conns.iter().filter(|c| c.proto == proto && c.remote.port == port).map(|c| c.hostname.clone()).collect()
        };
        let http = names(80, Proto::Tcp);
        assert!(!http.is_empty() && http.iter().all(|n| n.as_deref() == Some(host.as_str())), "{http:?}");
        assert_eq!(names(443, Proto::Tcp), [Some(sni)]);
        let arp: Vec<_> = conns.iter().filter(|c| c.proto == Proto::Arp).map(|c| &c.hostname).collect();
        assert!(!arp.is_empty() && arp.iter().all(|n| n.is_none()), "ARP rows: {arp:?}");
        // ssh asked nothing itself: the latest name its host asked for before it.
        assert_eq!(names(22, Proto::Udp).len() + names(22, Proto::Tcp).len(), 2);
        assert!(names(22, Proto::Tcp).iter().all(|n| n.as_deref() == Some("alias.example.test")));
        // The DNS flows began before their answers: names from them are only inferred.
        let dns = names(53, Proto::Udp);
        assert!(!dns.is_empty() && dns.iter().all(|n| n.as_deref().is_none_or(|n| n.starts_with('~'))), "{dns:?}");
    }
}

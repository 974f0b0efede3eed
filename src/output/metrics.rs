//! `--metrics ADDR`: the Prometheus exposition of what the workers tally
//! (`pipeline::tally`), served on `/metrics` by [`http`]. Bounded labels
//! only: process names (at most [`MAX_PROCESS_LABELS`], then "other"),
//! direction, protocol, state, application, drop stage; never a connection.

pub mod http;

use crate::pipeline::metrics_hub::{Collected, MetricsHub};
use crate::pipeline::tally::Traffic;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

/// Process names that get a label value of their own; the traffic of any
/// further name is summed under `process="other"`. A name keeps its value
/// once given (first come, first served, largest first within a scrape), so
/// every series only grows and `rate()` stays right.
pub const MAX_PROCESS_LABELS: usize = 20;
/// The label value of traffic whose process is not known (from a file,
/// another host's, or a socket gone before it was looked up).
pub const UNKNOWN_PROCESS: &str = "unknown";
/// The label value of the process names beyond [`MAX_PROCESS_LABELS`].
pub const OTHER_PROCESS: &str = "other";

type Labels = Vec<(&'static str, String)>;

/// Renders scrapes; remembers which process names have a label value.
#[derive(Default)]
pub struct Exposition {
    named: Mutex<HashSet<String>>,
}

/// Content types of the two text formats.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const PROMETHEUS_TEXT: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

impl Exposition {
    /// The text of one scrape, OpenMetrics or Prometheus text 0.0.4.
    pub fn render(&self, c: &Collected, openmetrics: bool) -> String {
        let reg = self.registry(c);
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let r = if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &reg)
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &reg)
        };
        if let Err(e) = r {
            log::warn!("metrics: cannot encode: {e}");
        }
        out
    }

    /// The traffic by process label value, the bound applied.
    fn by_label(&self, c: &Collected) -> BTreeMap<String, Traffic> {
        let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<(&String, &Traffic)> = c.tally.by_process.iter().collect();
        names.sort_by(|a, b| b.1.bytes().cmp(&a.1.bytes()).then(a.0.cmp(b.0)));
        let mut out: BTreeMap<String, Traffic> = BTreeMap::new();
        out.entry(OTHER_PROCESS.into()).or_default().add(&c.tally.overflow);
        for (name, t) in names {
            let label = if name.is_empty() {
                UNKNOWN_PROCESS
            } else if named.contains(name.as_str()) {
                name.as_str()
            } else if named.len() < MAX_PROCESS_LABELS {
                named.insert(name.clone());
                name.as_str()
            } else {
                OTHER_PROCESS
            };
            out.entry(label.to_string()).or_default().add(t);
        }
        out
    }

    fn registry(&self, c: &Collected) -> Registry {
        let mut reg = Registry::with_prefix("rustnet");
        let bytes = Family::<Labels, Counter>::default();
        let packets = Family::<Labels, Counter>::default();
        for (label, t) in self.by_label(c) {
            for (dir, b, p) in [("tx", t.tx_bytes, t.tx_packets), ("rx", t.rx_bytes, t.rx_packets)] {
                let l = vec![("process", label.clone()), ("direction", dir.to_string())];
                bytes.get_or_create(&l).inc_by(b);
                packets.get_or_create(&l).inc_by(p);
            }
        }
        reg.register(
            "process_bytes",
            "Bytes on the wire (frame length) of connections by local process and direction (tx: local to remote)",
            bytes,
        );
        reg.register("process_packets", "Packets of connections by local process and direction", packets);

        let open = Family::<Labels, Gauge>::default();
        for ((proto, state, app), n) in &c.tally.open {
            let l = vec![("proto", proto.to_string()), ("state", state.to_string()), ("app", app.to_string())];
            open.get_or_create(&l).set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        reg.register(
            "connections_open",
            "Connections in the table now, by protocol, state and application protocol",
            open,
        );
        let seen = Family::<Labels, Counter>::default();
        for ((proto, app), n) in &c.tally.seen {
            seen.get_or_create(&vec![("proto", proto.to_string()), ("app", app.to_string())]).inc_by(*n);
        }
        reg.register("connections", "Connections seen (ended or open), by protocol and application protocol", seen);

        let retrans = Family::<Labels, Counter>::default();
        for (dir, n) in [("tx", c.tally.retransmits[0]), ("rx", c.tally.retransmits[1])] {
            retrans.get_or_create(&vec![("direction", dir.to_string())]).inc_by(n);
        }
        reg.register("tcp_retransmits", "TCP retransmitted segments (tshark's tcp.analysis.retransmission)", retrans);

        let s = &c.tally.stats;
        reg.register("packets", "Packets analysed (after the capture filter)", counter(s.packets));
        reg.register("bytes", "Bytes on the wire of the packets analysed", counter(s.bytes));
        reg.register("packets_malformed", "Packets with truncated or invalid headers", counter(s.malformed));
        let dropped = Family::<Labels, Counter>::default();
        let d = &c.drops;
        for (stage, n) in [("kernel", d.kernel_drops), ("queue", d.queue_drops), ("export", d.export_drops)] {
            dropped.get_or_create(&vec![("stage", stage.to_string())]).inc_by(n);
        }
        reg.register(
            "packets_dropped",
            "Packets lost: kernel (capture ring full), queue (worker queues full), export (pcap export behind)",
            dropped,
        );
        reg
    }
}

fn counter(v: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(v);
    c
}

/// `--metrics`: the hub the pipeline reports to and the server thread.
pub struct Metrics {
    pub hub: Arc<MetricsHub>,
    server: http::Server,
}

impl Metrics {
    /// Binds `addr` now (so a bad address or a port in use is an error
    /// before anything starts) and serves it on its own thread.
    pub fn start(addr: &str) -> Result<Metrics, String> {
        let hub = Arc::new(MetricsHub::default());
        let expo = Exposition::default();
        let h = hub.clone();
        let page = move |openmetrics: bool| expo.render(&h.collect(), openmetrics);
        let server = http::Server::start(addr, Box::new(page))?;
        Ok(Metrics { hub, server })
    }

    /// Where it listens (the port chosen when ADDR said 0).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::tally::Tally;

    fn collected(names: &[(&str, u64)]) -> Collected {
        let mut tally = Tally::default();
        for (n, b) in names {
            tally.by_process.insert(n.to_string(), Traffic { tx_bytes: *b, rx_bytes: 1, tx_packets: 1, rx_packets: 1 });
        }
        Collected { tally, drops: Default::default() }
    }

    /// At most MAX_PROCESS_LABELS names, plus unknown and other; a name
    /// keeps its value in later scrapes, and no byte is lost.
    #[test]
    fn process_labels_are_bounded_and_sticky() {
        let e = Exposition::default();
        let many: Vec<(String, u64)> = (0..30).map(|i| (format!("p{i:02}"), 100 + i)).collect();
        let refs: Vec<(&str, u64)> = many.iter().map(|(n, b)| (n.as_str(), *b)).collect();
        let mut c = collected(&refs);
        c.tally.by_process.insert(String::new(), Traffic { tx_bytes: 7, ..Traffic::default() });
        let m = e.by_label(&c);
        assert_eq!(m.len(), MAX_PROCESS_LABELS + 2, "{m:?}");
        // The largest got names: p29 .. p10; p00 .. p09 are "other".
        assert!(m.contains_key("p29") && m.contains_key("p10") && !m.contains_key("p09"));
        assert_eq!(m[OTHER_PROCESS].tx_bytes, (100..110).sum::<u64>());
        assert_eq!(m[UNKNOWN_PROCESS].tx_bytes, 7);
        let total: u64 = m.values().map(|t| t.tx_bytes).sum();
        assert_eq!(total, 7 + (100..130).sum::<u64>());
        // Later, p00 grows past everything: it stays in "other".
        let m2 = e.by_label(&collected(&[("p00", 1_000_000), ("p10", 1)]));
        assert_eq!(m2.get("p10").map(|t| t.tx_bytes), Some(1));
        assert_eq!(m2[OTHER_PROCESS].tx_bytes, 1_000_000);
    }

    #[test]
    fn both_formats_name_every_family() {
        let e = Exposition::default();
        let c = collected(&[("curl", 10)]);
        let om = e.render(&c, true);
        assert!(om.ends_with("# EOF\n"), "{om}");
        let text = e.render(&c, false);
        for t in [&om, &text] {
            assert!(t.contains("rustnet_process_bytes_total{process=\"curl\",direction=\"tx\"} 10"), "{t}");
            for name in ["rustnet_packets_total", "rustnet_packets_dropped_total{stage=\"kernel\"} 0"] {
                assert!(t.contains(name), "{name} in {t}");
            }
        }
    }
}

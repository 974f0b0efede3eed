//! Every packet lost on the way, wherever (the kernel's ring, the hand-off
//! to a worker, the pcapng export), is reported when a session ends, in
//! every mode: on stderr, in the log, and headless as a last JSON line.

use super::live::SourceCounters;
use crate::pipeline::metrics_hub::MetricsHub;
use crate::snapshot::CaptureStats;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The session's losses once the capture has ended.
pub fn collect(counters: &SourceCounters, queue_drops: u64) -> CaptureStats {
    CaptureStats {
        kernel_drops: counters.kernel_drops.load(Ordering::Relaxed),
        queue_drops,
        export_drops: counters.export_drops.load(Ordering::Relaxed),
    }
}

/// `--metrics`: scrapes read the capture side's drop counters.
pub fn share(hub: Option<&Arc<MetricsHub>>, counters: &Arc<SourceCounters>) {
    if let Some(hub) = hub {
        let c = counters.clone();
        hub.set_capture(Arc::new(move || collect(&c, 0)));
    }
}

/// Writes the summary to `err` (stderr) when anything was lost, and logs it
/// either way (a warning when packets were lost).
pub fn report<W: Write>(err: &mut W, d: &CaptureStats) -> io::Result<()> {
    let (k, q, e) = (d.kernel_drops, d.queue_drops, d.export_drops);
    if d.total() == 0 {
        log::info!("dropped packets: none (kernel 0, queue 0, export 0)");
        return Ok(());
    }
    log::warn!("dropped packets: {} (kernel {k}, queue {q}, export {e})", d.total());
    writeln!(err, "rustnet: warning: {} packets dropped: {}", d.total(), parts(d).join(", "))
}

/// One phrase per place that lost packets.
fn parts(d: &CaptureStats) -> Vec<String> {
    let mut v = Vec::new();
    if d.kernel_drops > 0 {
        v.push(format!("{} by the kernel (capture ring full)", d.kernel_drops));
    }
    if d.queue_drops > 0 {
        v.push(format!("{} between capture and workers (worker queues full)", d.queue_drops));
    }
    if d.export_drops > 0 {
        v.push(format!("{} not in the pcap export", d.export_drops));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Packet;
    use crate::pipeline::{Enrich, Pipeline, PipelineConfig, View};
    use crossbeam_channel::{Receiver, Sender, bounded};
    use etherparse::PacketBuilder;
    use rustnet_core::wire::LinkType;
    use rustnet_core::{Config, NewFlow};
    use std::sync::Mutex;
    use std::time::Duration;

    /// A worker that stops in its calls until released (the sender dropped): a slow worker.
    struct Stall {
        entered: Sender<()>,
        release: Mutex<Receiver<()>>,
    }
    impl Enrich for Stall {
        fn new_flows(&self, _flows: &[NewFlow]) {
            let _ = self.entered.try_send(());
            if let Ok(rx) = self.release.lock() {
                let _ = rx.recv_timeout(Duration::from_secs(30));
            }
        }
    }

    fn udp_frame(port: u16) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(port, 53);
        let mut v = Vec::new();
        // Writing into a Vec cannot fail.
        b.write(&mut v, b"data").expect("vec write");
        v
    }

    /// A live capture whose worker stalls: the hand-offs that find its queue
    /// full lose their packets, and the report names each one.
    #[test]
    fn a_full_worker_queue_is_counted_and_reported_in_every_output() {
        let (entered_tx, entered_rx) = bounded(1);
        let (release_tx, release_rx) = bounded::<()>(1);
        let stall = Arc::new(Stall { entered: entered_tx, release: Mutex::new(release_rx) });
        let mut engine = Config::default();
        engine.report_new_flows = true;
        let cfg = PipelineConfig {
            workers: 1,
            engine,
            view: View::default(),
            live: true,
            sandbox: false,
            notes: None,
            ipfix: None,
            metrics: None,
        };
        let pipeline = Pipeline::start(&cfg, stall, None);
        let mut disp = pipeline.dispatcher(true);
        let ts = crate::pipeline::wall_clock();
        let mut send = |port: u16| {
            let f = udp_frame(port);
            disp.push(&Packet { ts, data: &f, wire_len: f.len() as u32, link: LinkType::Ethernet });
            disp.flush();
        };
        send(1000);
        entered_rx.recv_timeout(Duration::from_secs(10)).expect("the worker takes the first batch");
        // The worker is stuck: the queue holds 16 batches of one packet, the rest is lost.
        for port in 1001..1021 {
            send(port);
        }
        assert_eq!(pipeline.queue_drops(), 4);
        // Closing the channel releases this call and every later one.
        drop(release_tx);
        disp.finish();
        let queue_drops = pipeline.queue_drops();
        pipeline.join();

        let lost = collect(&SourceCounters::default(), queue_drops);
        let mut err = Vec::new();
        report(&mut err, &lost).expect("vec write");
        let err = String::from_utf8_lossy(&err);
        assert!(err.contains("4 packets dropped: 4 between capture and workers"), "{err}");
        let mut out = Vec::new();
        crate::output::json::write_drops(&mut out, &lost).expect("vec write");
        assert_eq!(String::from_utf8_lossy(&out), "{\"drops\":{\"kernel\":0,\"queue\":4,\"export\":0,\"total\":4}}\n");
    }

    #[test]
    fn every_kind_of_drop_is_on_stderr_and_nothing_when_none() {
        let mut err = Vec::new();
        report(&mut err, &CaptureStats::default()).expect("vec write");
        assert!(err.is_empty());
        let d = CaptureStats { kernel_drops: 1, queue_drops: 2_421, export_drops: 3 };
        report(&mut err, &d).expect("vec write");
        let s = String::from_utf8_lossy(&err);
        assert!(s.starts_with("rustnet: warning: 2425 packets dropped: 1 by the kernel"), "{s}");
        assert!(s.contains("2421 between capture and workers") && s.contains("3 not in the pcap export"), "{s}");
    }
}

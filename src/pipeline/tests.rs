//! Workers keep time themselves: live, they expire connections at their
//! engine's deadline with no tick from the capture thread.

use super::*;
use etherparse::PacketBuilder;
use rustnet_core::track::State;
use rustnet_core::wire::LinkType;
use std::time::Duration;

struct NoEnrich;
impl Enrich for NoEnrich {}

fn udp_frame() -> Vec<u8> {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(40000, 40001);
    let mut v = Vec::new();
    // Writing into a Vec cannot fail.
    b.write(&mut v, b"data").expect("vec write");
    v
}

fn start(live: bool) -> (Pipeline, Receiver<Records>) {
    let cfg = PipelineConfig { workers: 2, engine: Config::default(), view: View::default(), live };
    let (tx, rx) = bounded(16);
    (Pipeline::start(&cfg, Arc::new(NoEnrich), Some(tx)), rx)
}

#[test]
fn live_workers_expire_at_the_engine_deadline() {
    let (pipeline, rx) = start(true);
    let mut disp = pipeline.dispatcher(true);
    // Last seen just under UDP's 120 s removal time ago: due in 200 ms.
    let ts = wall_clock() - Duration::from_millis(119_800);
    let f = udp_frame();
    disp.push(&Packet { ts, data: &f, wire_len: f.len() as u32, link: LinkType::Ethernet });
    disp.flush();
    let r = rx.recv_timeout(Duration::from_secs(10)).expect("the flow expires without any advance from the source");
    assert!(!r.last);
    assert_eq!(r.conns.len(), 1);
    assert_eq!(r.conns[0].state, State::UdpStale);
    disp.finish();
    pipeline.join();
}

#[test]
fn a_file_ends_at_its_last_packet_for_every_worker() {
    let (pipeline, rx) = start(false);
    let mut disp = pipeline.dispatcher(false);
    let t0 = Timestamp::from_secs_nanos(1_700_000_000, 0);
    let f = udp_frame();
    disp.push(&Packet { ts: t0, data: &f, wire_len: f.len() as u32, link: LinkType::Ethernet });
    // Another flow on the other worker, 30 s later: the end of the file for both.
    let mut g = udp_frame();
    let hash = |d: &[u8]| wire::flow_hash(LinkType::Ethernet, d) % 2;
    // The last octet of the destination address (IP checksums are not checked).
    while hash(&g) == hash(&f) {
        g[33] += 1;
    }
    disp.push(&Packet {
        ts: t0 + Duration::from_secs(30),
        data: &g,
        wire_len: g.len() as u32,
        link: LinkType::Ethernet,
    });
    disp.finish();
    let mut states: Vec<State> = rx.iter().flat_map(|r| r.conns).map(|c| c.state).collect();
    pipeline.join();
    states.sort();
    assert_eq!(states, [State::UdpActive, State::UdpIdle]);
}

/// A worker that is gone (its thread ended) loses what is handed to it:
/// counted, live or from a file, never silently.
#[test]
fn hand_offs_to_a_gone_worker_are_counted() {
    for live in [true, false] {
        let (tx, rx) = bounded::<ToWorker>(QUEUE_BATCHES);
        drop(rx);
        let (_free_tx, free) = bounded::<Batch>(1);
        let queue_drops = Arc::new(AtomicU64::new(0));
        let mut disp = Dispatcher {
            senders: vec![tx],
            current: vec![Batch::with_capacity()],
            free,
            live,
            queue_drops: queue_drops.clone(),
            last: Timestamp::ZERO,
        };
        let f = udp_frame();
        for _ in 0..3 {
            disp.push(&Packet { ts: wall_clock(), data: &f, wire_len: f.len() as u32, link: LinkType::Ethernet });
        }
        disp.flush();
        disp.push(&Packet { ts: wall_clock(), data: &f, wire_len: f.len() as u32, link: LinkType::Ethernet });
        disp.finish();
        assert_eq!(queue_drops.load(Ordering::Relaxed), 4, "live {live}");
    }
}

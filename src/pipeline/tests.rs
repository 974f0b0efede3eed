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

/// `workers` workers, default engine and view, no sandbox or exports.
fn config(workers: usize, live: bool) -> PipelineConfig {
    PipelineConfig {
        workers,
        engine: Config::default(),
        view: View::default(),
        live,
        sandbox: false,
        notes: None,
        ipfix: None,
        metrics: None,
    }
}

fn start(live: bool) -> (Pipeline, Receiver<Records>) {
    let cfg = config(2, live);
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
    let mut router = route::Router::new(2);
    let mut hash = |d: &[u8]| router.route(&Packet { ts: t0, data: d, wire_len: 0, link: LinkType::Ethernet });
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

fn pkt(ts: Timestamp, d: &[u8]) -> Packet<'_> {
    Packet { ts, data: d, wire_len: d.len() as u32, link: LinkType::Ethernet }
}

fn tcp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64).tcp(sport, dport, 1, 1000);
    let mut v = Vec::new();
    // Writing into a Vec cannot fail.
    b.write(&mut v, b"").expect("vec write");
    v
}

/// An Ethernet/IPv4 fragment of UDP datagram `id`; `offset` in 8-byte units.
/// The first one (offset 0) starts with the UDP header (ports).
fn udp_fragment(src: [u8; 4], dst: [u8; 4], id: u16, offset: u16, more: bool, sport: u16, dport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 16];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&36u16.to_be_bytes());
    f[18..20].copy_from_slice(&id.to_be_bytes());
    f[20..22].copy_from_slice(&(offset | if more { 0x2000 } else { 0 }).to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    if offset == 0 {
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f[38..40].copy_from_slice(&100u16.to_be_bytes());
    }
    f
}

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

#[test]
fn flows_between_two_hosts_spread_over_workers_and_keep_both_directions_together() {
    let t0 = Timestamp::from_secs_nanos(1_700_000_000, 0);
    let mut router = route::Router::new(4);
    let mut per_worker = [0usize; 4];
    for port in 0..4000u16 {
        let (sport, dport) = (20_000 + port, 443 + port % 3);
        let out = router.route(&pkt(t0, &tcp_frame(A, B, sport, dport)));
        let back = router.route(&pkt(t0, &tcp_frame(B, A, dport, sport)));
        assert_eq!(out, back, "{sport}→{dport}: both directions on one worker");
        let route::Route::To(w) = out else { panic!("a TCP segment is never held") };
        per_worker[w] += 1;
    }
    // Before: one address pair, one worker (all 4000 on it).
    assert!(per_worker.iter().all(|&n| n > 800), "flows per worker: {per_worker:?}");
}

#[test]
fn fragments_reach_their_flows_worker_even_before_their_first_fragment() {
    let t0 = Timestamp::from_secs_nanos(1_700_000_000, 0);
    let mut router = route::Router::new(4);
    // 64 flows, so that some sit on another worker than their address pair's.
    let whole = |r: &mut route::Router, sport: u16| {
        let mut g = udp_frame();
        g[26..30].copy_from_slice(&A);
        g[30..34].copy_from_slice(&B);
        g[34..36].copy_from_slice(&sport.to_be_bytes());
        g[36..38].copy_from_slice(&53u16.to_be_bytes());
        r.route(&pkt(t0, &g))
    };
    for (i, sport) in (5000..5064u16).enumerate() {
        let id = 7000 + i as u16;
        let flow = whole(&mut router, sport);
        // In order: first, middle, last.
        let first = udp_fragment(A, B, id, 0, true, sport, 53);
        assert_eq!(router.route(&pkt(t0, &first)), flow);
        let mid = udp_fragment(A, B, id, 2, true, 0, 0);
        assert_eq!(router.route(&pkt(t0, &mid)), flow, "a later fragment follows its first one");
        assert_eq!(router.take_released().count(), 0);
        // Out of order: the last fragment first, held until the first one comes.
        let id2 = id + 1000;
        let last = udp_fragment(A, B, id2, 4, false, 0, 0);
        assert_eq!(router.route(&pkt(t0, &last)), route::Route::Held);
        let first = udp_fragment(A, B, id2, 0, true, sport, 53);
        assert_eq!(router.route(&pkt(t0, &first)), flow);
        let released: Vec<_> = router.take_released().collect();
        assert_eq!(released.len(), 1, "the held fragment goes just before its first fragment");
        assert_eq!(route::Route::To(released[0].0), flow);
        assert_eq!(released[0].1.data, last);
    }
}

#[test]
fn an_early_fragment_counts_on_its_flow_with_four_workers() {
    let cfg = config(4, false);
    let (tx, rx) = bounded(64);
    let pipeline = Pipeline::start(&cfg, Arc::new(NoEnrich), Some(tx));
    let mut disp = pipeline.dispatcher(false);
    let t0 = Timestamp::from_secs_nanos(1_700_000_000, 0);
    // 32 datagrams, each sent last fragment first; plus one orphan (its first never comes).
    for i in 0..32u16 {
        let t = t0 + Duration::from_millis(u64::from(i));
        disp.push(&pkt(t, &udp_fragment(A, B, i, 2, false, 0, 0)));
        disp.push(&pkt(t, &udp_fragment(A, B, i, 0, true, 6000 + i, 53)));
    }
    disp.push(&pkt(t0, &udp_fragment(A, B, 999, 2, false, 0, 0)));
    disp.finish();
    let mut orphans = 0;
    let mut conns = Vec::new();
    for r in rx.iter() {
        if r.last {
            orphans += r.stats.orphan_fragments;
        }
        conns.extend(r.conns);
    }
    pipeline.join();
    assert_eq!(conns.len(), 32);
    assert!(conns.iter().all(|c| c.tx_packets + c.rx_packets == 2), "{conns:?}");
    assert_eq!(orphans, 1);
}

#[test]
fn the_fast_path_routes_as_the_full_parser_does() {
    // A TCP segment with IP options (header 24 bytes) and a UDP datagram:
    // the hand-read ports must be those `wire::parse` finds.
    let t0 = Timestamp::from_secs_nanos(1_700_000_000, 0);
    let mut router = route::Router::new(4);
    for sport in 1000..1200u16 {
        let f = tcp_frame(A, B, sport, 80);
        let mut opt = f[..34].to_vec();
        opt[14] = 0x46;
        opt[16..18].copy_from_slice(&(u16::from_be_bytes([f[16], f[17]]) + 4).to_be_bytes());
        opt.extend_from_slice(&[1, 1, 1, 0]);
        opt.extend_from_slice(&f[34..]);
        let p = rustnet_core::wire::parse(LinkType::Ethernet, &opt).expect("parses");
        assert!(matches!(p.l4, rustnet_core::wire::L4::Tcp { sport: s, dport: 80, .. } if s == sport));
        let want = route::flow_hash(6, (p.src, sport), (p.dst, 80)) % 4;
        assert_eq!(router.route(&pkt(t0, &opt)), route::Route::To(want as usize));
        assert_eq!(router.route(&pkt(t0, &f)), route::Route::To(want as usize));
        // IPv6: read by hand too.
        let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv6([1; 16], [2; 16], 64).udp(sport, 53);
        let mut v6 = Vec::new();
        // Writing into a Vec cannot fail.
        b.write(&mut v6, b"q").expect("vec write");
        let p = rustnet_core::wire::parse(LinkType::Ethernet, &v6).expect("parses");
        let want = route::flow_hash(17, (p.src, sport), (p.dst, 53)) % 4;
        assert_eq!(router.route(&pkt(t0, &v6)), route::Route::To(want as usize));
    }
}

/// A worker that is gone (its thread ended) loses what is handed to it:
/// counted, live or from a file, never silently.
#[test]
fn hand_offs_to_a_gone_worker_are_counted() {
    for live in [true, false] {
        let (tx, rx) = inbox::inbox(QUEUE_BATCHES);
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
            router: Router::new(1),
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

/// An FTP data connection reaches its control connection's worker (whose
/// engine expects it), for passive (227/229 from port 21) and active (PORT
/// from the client) announcements, and in both directions.
#[test]
fn ftp_data_connections_follow_their_control_connection() {
    let t0 = Timestamp::from_secs_nanos(1_700_000_000, 0);
    let seg = |src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]| {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64).tcp(sport, dport, 1, 1000).ack(1);
        let mut v = Vec::new();
        // Writing into a Vec cannot fail.
        b.write(&mut v, payload).expect("vec write");
        v
    };
    let mut moved = 0;
    for client_port in 40_000..40_032u16 {
        let mut router = route::Router::new(4);
        let route::Route::To(ctl) = router.route(&pkt(t0, &seg(B, A, 21, client_port, b"220 ready\r\n"))) else {
            panic!("a TCP segment is never held")
        };
        router.route(&pkt(t0, &seg(B, A, 21, client_port, b"227 Entering Passive Mode (10,0,0,2,117,51)\r\n")));
        router.route(&pkt(t0, &seg(A, B, client_port, 21, b"PORT 10,0,0,1,156,65\r\n")));
        for (s, d, sp, dp) in [(A, B, 50_000, 30003), (B, A, 30003, 50_000), (B, A, 20, 40001), (A, B, 40001, 20)] {
            let unpinned = route::Router::new(4).route(&pkt(t0, &seg(s, d, sp, dp, b"")));
            let routed = router.route(&pkt(t0, &seg(s, d, sp, dp, b"")));
            assert_eq!(routed, route::Route::To(ctl), "{sp}→{dp} with control port {client_port}");
            moved += usize::from(unpinned != routed);
        }
    }
    // Most of them would have gone elsewhere by their own hash.
    assert!(moved > 32, "moved {moved}");
}

/// rustnet's own reverse-DNS lookups (its own process) are hidden when the
/// view says so; others, and unattributed ones, are shown.
#[test]
fn the_view_hides_the_own_process() {
    use rustnet_core::track::{Connection, Endpoint, ProcessInfo, Proto};
    let mut c = Connection::new(
        1,
        Proto::Udp,
        Endpoint::new([10, 0, 0, 1].into(), 40000),
        Endpoint::new([10, 0, 0, 53].into(), 53),
        Timestamp::ZERO,
        State::UdpActive,
    );
    let view = View { hide_pid: Some(4242), ..View::default() };
    assert!(view.shows(&c), "no process known");
    c.process = Some(Box::new(ProcessInfo { pid: 4242, name: "rustnet".into(), ..ProcessInfo::default() }));
    assert!(!view.shows(&c));
    assert!(View::default().shows(&c), "--show-own-lookups");
    c.process = Some(Box::new(ProcessInfo { pid: 7, name: "dig".into(), ..ProcessInfo::default() }));
    assert!(view.shows(&c));
}

/// `--metrics`: a scrape while the workers run counts the open flows; once
/// the pipeline has ended, the workers' last tallies answer, the same
/// totals with nothing open. Without a records reader the ended ones count.
#[test]
fn metrics_answer_while_running_and_after_the_end() {
    let hub = Arc::new(metrics_hub::MetricsHub::default());
    let cfg = PipelineConfig { metrics: Some(hub.clone()), ..config(2, false) };
    let pipeline = Pipeline::start(&cfg, Arc::new(NoEnrich), None);
    let mut disp = pipeline.dispatcher(false);
    let t0 = Timestamp::from_secs_nanos(1_700_000_000, 0);
    let mut f = udp_frame();
    for i in 0..10u8 {
        f[33] = i; // another destination: another flow
        disp.push(&Packet { ts: t0, data: &f, wire_len: f.len() as u32, link: LinkType::Ethernet });
    }
    disp.flush();
    let running = hub.collect();
    assert_eq!(running.tally.open.values().sum::<u64>(), 10);
    assert_eq!(running.tally.traffic().tx_bytes, 10 * f.len() as u64);
    assert_eq!(running.tally.stats.packets, 10);
    disp.finish();
    pipeline.join();
    let ended = hub.collect();
    assert!(ended.tally.open.is_empty(), "{:?}", ended.tally.open);
    assert_eq!(ended.tally.traffic(), running.tally.traffic());
    assert_eq!(ended.tally.seen, running.tally.seen);
    assert_eq!(ended.tally.stats.packets, 10);
}

//! The engine's clock: states stamped as of it, and the deadline it names.

use super::*;
use crate::filter::Filter;
use etherparse::PacketBuilder;

const T0: Timestamp = Timestamp::from_nanos(1_700_000_000_000_000_000);

fn secs(s: u64) -> Timestamp {
    T0 + Duration::from_secs(s)
}

/// A UDP datagram between two unregistered ports (no DPI state of its own).
fn udp_frame() -> Vec<u8> {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(40000, 40001);
    let mut v = Vec::new();
    // Writing into a Vec cannot fail.
    b.write(&mut v, b"data").expect("vec write");
    v
}

fn engine_with_udp_flow() -> Engine {
    let mut e = Engine::new(Config::default());
    let f = udp_frame();
    e.process(LinkType::Ethernet, T0, &f, f.len() as u32);
    e
}

fn only_state(e: &mut Engine) -> State {
    let states: Vec<State> = e.connections().map(|c| c.state).collect();
    assert_eq!(states.len(), 1, "{states:?}");
    states[0]
}

#[test]
fn reads_stamp_the_state_as_of_the_engine_clock() {
    let mut e = engine_with_udp_flow();
    assert_eq!(only_state(&mut e), State::UdpActive);
    e.advance(secs(30));
    assert_eq!(only_state(&mut e), State::UdpIdle);
    e.advance(secs(61));
    assert_eq!(only_state(&mut e), State::UdpStale);
    // A new packet makes it active again.
    let f = udp_frame();
    e.process(LinkType::Ethernet, secs(62), &f, f.len() as u32);
    assert_eq!(only_state(&mut e), State::UdpActive);
}

#[test]
fn next_deadline_is_the_next_expiry() {
    let mut e = Engine::new(Config::default());
    assert_eq!(e.next_deadline(), None, "nothing held");
    let f = udp_frame();
    e.process(LinkType::Ethernet, T0, &f, f.len() as u32);
    let remove = Config::default().timeouts.udp_remove;
    assert_eq!(e.next_deadline(), Some(T0 + remove));
    // Coming back early expires nothing, and the deadline stays.
    e.advance(secs(30));
    assert_eq!(e.len(), 1);
    assert_eq!(e.next_deadline(), Some(T0 + remove));
    // At the deadline the flow leaves, stamped stale; nothing is left to wait for.
    e.advance(T0 + remove);
    assert!(e.is_empty());
    assert_eq!(e.next_deadline(), None);
    let mut done = Vec::new();
    e.take_finished(&mut done);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].state, State::UdpStale);
    assert!(Filter::parse("state:udp_stale").is_ok_and(|f| f.matches(&done[0])));
}

#[test]
fn finish_all_at_stamps_states_as_of_the_end() {
    let mut e = engine_with_udp_flow();
    e.finish_all_at(secs(20));
    assert_eq!(e.now(), secs(20));
    let mut done = Vec::new();
    e.take_finished(&mut done);
    assert_eq!(done.iter().map(|c| c.state).collect::<Vec<_>>(), [State::UdpIdle]);
    // An end earlier than the clock does not move it back.
    let mut e = engine_with_udp_flow();
    e.advance(secs(70));
    e.finish_all_at(T0);
    e.take_finished(&mut done);
    assert_eq!(done[1].state, State::UdpStale);
}

fn tcp_frame(rst: bool) -> Vec<u8> {
    let b =
        PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).tcp(40000, 443, 1, 1000).ack(1);
    let b = if rst { b.rst() } else { b };
    let mut v = Vec::new();
    // Writing into a Vec cannot fail.
    b.write(&mut v, if rst { b"" } else { b"data" }).expect("vec write");
    v
}

#[test]
fn a_shorter_lived_state_brings_the_deadline_forward() {
    // Without DPI, whose buffered "data" would bring its own idle deadline.
    let mut e = Engine::new(Config { dpi: false, ..Config::default() });
    let t = Config::default().timeouts;
    let f = tcp_frame(false);
    e.process(LinkType::Ethernet, T0, &f, f.len() as u32);
    assert_eq!(only_state(&mut e), State::Established);
    assert_eq!(e.next_deadline(), Some(T0 + t.tcp_established));
    let f = tcp_frame(true);
    e.process(LinkType::Ethernet, secs(2), &f, f.len() as u32);
    assert_eq!(only_state(&mut e), State::Closed);
    assert_eq!(e.next_deadline(), Some(secs(2) + t.tcp_closed));
}

fn udp_from(sport: u16) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(sport, 40001);
    let mut v = Vec::new();
    // Writing into a Vec cannot fail.
    b.write(&mut v, b"data").expect("vec write");
    v
}

fn capped(cap: usize) -> Engine {
    Engine::new(Config { max_connections: cap, ..Config::default() })
}

/// A datagram from local port 50000 + `n`.
fn send(e: &mut Engine, n: u16, ts: Timestamp) {
    let f = udp_from(50_000 + n);
    e.process(LinkType::Ethernet, ts, &f, f.len() as u32);
}

fn finished_ports(e: &mut Engine) -> Vec<u16> {
    let mut out = Vec::new();
    e.take_finished(&mut out);
    out.iter().map(|c| c.local.port - 50_000).collect()
}

#[test]
fn a_full_table_evicts_the_longest_idle_not_the_oldest() {
    let mut e = capped(4);
    for (i, port) in (1..=4).enumerate() {
        send(&mut e, port, T0 + Duration::from_millis(i as u64));
    }
    // The first flow is seen again: the second is now the longest idle.
    send(&mut e, 1, T0 + Duration::from_millis(10));
    send(&mut e, 5, T0 + Duration::from_millis(11));
    assert_eq!(finished_ports(&mut e), [2]);
    send(&mut e, 6, T0 + Duration::from_millis(12));
    send(&mut e, 7, T0 + Duration::from_millis(13));
    assert_eq!(finished_ports(&mut e), [3, 4]);
    send(&mut e, 8, T0 + Duration::from_millis(14));
    assert_eq!(finished_ports(&mut e), [1]);
    assert_eq!(e.stats().evicted, 4);
    assert_eq!(e.len(), 4);
}

/// Only as many as make room for the new one go (the table used to drop a
/// sixty-fourth of its cap at a time); connections last seen at the same
/// time go in the order they were created.
#[test]
fn eviction_keeps_the_table_at_its_cap_and_breaks_ties_by_age() {
    let mut e = capped(256);
    for n in 1..=256 {
        send(&mut e, n, T0);
    }
    send(&mut e, 257, T0 + Duration::from_millis(1));
    assert_eq!(finished_ports(&mut e), [1]);
    assert_eq!((e.stats().evicted, e.len()), (1, 256));
    for n in 258..=260 {
        send(&mut e, n, T0 + Duration::from_millis(1));
    }
    assert_eq!(finished_ports(&mut e), [2, 3, 4]);
    assert_eq!((e.stats().evicted, e.len()), (4, 256));
}

/// Places of connections that expired do not pile up in the eviction order.
#[test]
fn the_eviction_order_forgets_expired_connections() {
    let mut e = capped(100_000);
    for round in 0..5u64 {
        let t = secs(round * 200);
        for port in 1..=2_000 {
            send(&mut e, port, t);
        }
        // UDP leaves the table 120 s after its last packet.
        e.advance(t + Duration::from_secs(150));
        assert_eq!(e.len(), 0);
        assert!(e.table.queued() <= 2 * e.len() + 1024, "{}", e.table.queued());
    }
}

/// A flood that expired gives its memory back: the table's capacity falls to
/// what is left, the host is told once, and a small table never shrinks.
#[test]
fn an_expired_flood_shrinks_the_table_once() {
    let mut e = capped(100_000);
    for port in 1..=10_000 {
        send(&mut e, port, T0);
    }
    let full = e.table.map.capacity();
    e.advance(T0 + Duration::from_secs(60));
    assert!(!e.take_shrunk(), "nothing expired yet");
    send(&mut e, 10_001, T0 + Duration::from_secs(100));
    // UDP leaves the table 120 s after its last packet.
    e.advance(T0 + Duration::from_secs(150));
    assert_eq!(e.len(), 1);
    assert!(e.take_shrunk());
    assert!(!e.take_shrunk(), "said once");
    assert!(e.table.map.capacity() < full / 100, "{} of {full}", e.table.map.capacity());
    let mut out = Vec::new();
    e.take_finished(&mut out);
    assert_eq!(out.len(), 10_000);
    // A small table is left as it is.
    e.advance(T0 + Duration::from_secs(400));
    assert_eq!(e.len(), 0);
    assert!(!e.take_shrunk());
}

/// One TCP segment between 10.0.0.`a`:`sport` and 10.0.0.`b`:`dport`.
fn seg(a: u8, sport: u16, b: u8, dport: u16, seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let p = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, a], [10, 0, 0, b], 64);
    let t = p.tcp(sport, dport, seq, 64000);
    let t = if syn { t.syn() } else { t.ack(1) };
    let mut v = Vec::new();
    // Writing into a Vec cannot fail.
    t.write(&mut v, payload).expect("vec write");
    v
}

fn ftp_data_control(e: &mut Engine, port: u16) -> Option<Option<String>> {
    e.connections().find(|c| c.remote.port == port || c.local.port == port).map(|c| match &c.app {
        Some(AppInfo::FtpData(d)) => d.control.clone(),
        _ => None,
    })
}

/// Issue 14: a data connection opened to the endpoint a PASV/EPSV reply or a
/// PORT command announced is FTP-data, linked to its control connection;
/// one to another port, or after the announcement expired, is not.
#[test]
fn announced_ftp_data_connections_are_linked_to_their_control() {
    let mut e = Engine::new(Config::default());
    let feed = |e: &mut Engine, t: u64, f: Vec<u8>| e.process(LinkType::Ethernet, secs(t), &f, f.len() as u32);
    feed(&mut e, 0, seg(1, 40000, 2, 21, 100, true, b""));
    feed(&mut e, 0, seg(2, 21, 1, 40000, 500, true, b""));
    feed(&mut e, 0, seg(2, 21, 1, 40000, 501, false, b"220 (vsFTPd 3.0.3)\r\n"));
    let pasv = b"227 Entering Passive Mode (10,0,0,2,117,51).\r\n";
    feed(&mut e, 1, seg(2, 21, 1, 40000, 521, false, pasv));
    let epsv = b"229 Entering Extended Passive Mode (|||30004|)\r\n";
    feed(&mut e, 1, seg(2, 21, 1, 40000, 521 + pasv.len() as u32, false, epsv));
    feed(&mut e, 1, seg(1, 40000, 2, 21, 101, false, b"PORT 10,0,0,1,156,65\r\n"));
    // Passive (PASV, then EPSV: the port of the control's server), active
    // from a port other than 20, and one the server did not announce.
    feed(&mut e, 2, seg(1, 40001, 2, 117 * 256 + 51, 1, true, b""));
    feed(&mut e, 2, seg(1, 40002, 2, 30004, 1, true, b""));
    feed(&mut e, 2, seg(2, 2020, 1, 156 * 256 + 65, 1, true, b""));
    feed(&mut e, 2, seg(1, 40003, 2, 30005, 1, true, b""));
    let control = Some("10.0.0.1:40000 -> 10.0.0.2:21".to_string());
    assert_eq!(ftp_data_control(&mut e, 30003), Some(control.clone()));
    assert_eq!(ftp_data_control(&mut e, 30004), Some(control.clone()));
    assert_eq!(ftp_data_control(&mut e, 40001), Some(control.clone()));
    assert_eq!(ftp_data_control(&mut e, 2020), Some(control));
    assert_eq!(ftp_data_control(&mut e, 30005), Some(None));
    // Announced five minutes ago: no longer expected.
    feed(&mut e, 302, seg(1, 40009, 2, 30003, 1, true, b""));
    assert_eq!(ftp_data_control(&mut e, 40009), Some(None));
}

/// A TCP segment 10.0.0.1:40000 <-> 10.0.0.2:80 (`from_client` picks the direction).
fn tcp_segment(from_client: bool, syn: bool, ack: bool, fin: bool, rst: bool) -> Vec<u8> {
    let (src, dst, sp, dp) =
        if from_client { ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80) } else { ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000) };
    let mut b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64).tcp(sp, dp, 1, 1000);
    if syn {
        b = b.syn();
    }
    if ack {
        b = b.ack(1);
    }
    if fin {
        b = b.fin();
    }
    if rst {
        b = b.rst();
    }
    let mut v = Vec::new();
    // Writing into a Vec cannot fail.
    b.write(&mut v, &[]).expect("vec write");
    v
}

#[test]
fn a_late_rst_stays_on_the_closed_connection_until_a_new_syn() {
    for linger in [Duration::ZERO, Duration::from_secs(300)] {
        let mut e = Engine::new(Config { closed_linger: linger, ..Config::default() });
        let feed = |e: &mut Engine, t: u64, f: Vec<u8>| e.process(LinkType::Ethernet, secs(t), &f, f.len() as u32);
        feed(&mut e, 0, tcp_segment(true, true, false, false, false));
        feed(&mut e, 0, tcp_segment(false, true, true, false, false));
        feed(&mut e, 0, tcp_segment(true, false, true, false, false));
        feed(&mut e, 0, tcp_segment(true, false, true, false, true));
        feed(&mut e, 0, tcp_segment(false, false, true, false, false));
        // 20 s later (CLOSED lasted 5 s): a RST, then a new connection.
        feed(&mut e, 20, tcp_segment(false, false, false, false, true));
        feed(&mut e, 60, tcp_segment(true, true, false, false, false));
        e.finish_all();
        let mut done = Vec::new();
        e.take_finished(&mut done);
        let packets: Vec<u64> = done.iter().map(|c| c.tx_packets + c.rx_packets).collect();
        if linger.is_zero() {
            // Written when it left the table: the RST made a connection of its own.
            assert_eq!(packets, [5, 1, 1]);
        } else {
            // As tshark's tcp.stream: streams 0 (6 packets) and 1 (the SYN).
            assert_eq!(packets, [6, 1]);
            assert_eq!(done[0].end_reason, Some(EndReason::Closed));
            assert_eq!(done[0].last_seen, secs(20));
        }
        assert_eq!(e.next_deadline(), None);
    }
}

#[test]
fn lingering_records_are_written_when_due() {
    let mut e = Engine::new(Config { closed_linger: Duration::from_secs(300), ..Config::default() });
    for (c, s, a, f, r) in [(true, true, false, false, false), (true, false, true, false, true)] {
        let fr = tcp_segment(c, s, a, f, r);
        e.process(LinkType::Ethernet, T0, &fr, fr.len() as u32);
    }
    e.advance(secs(10));
    assert_eq!(e.len(), 0, "left the table after CLOSED's 5 s");
    let mut done = Vec::new();
    e.take_finished(&mut done);
    assert!(done.is_empty(), "held back");
    let due = e.next_deadline().expect("a record is due");
    // Held from the sweep that saw it expire (at 10 s) for 300 s.
    assert!(due <= secs(310), "{due:?}");
    e.advance(secs(310));
    e.take_finished(&mut done);
    assert_eq!(done.len(), 1);
    assert_eq!(e.next_deadline(), None);
}

/// The hold ends 5 min after the connection's CLOSED timeout, whenever a
/// sweep found it: an engine that saw other packets (and swept early) and
/// one that saw none (as a worker holding only this flow) agree on whether
/// a late packet revives the connection. The hold was counted from the
/// sweep, so the idle engine revived a packet 400 s after the close.
#[test]
fn the_hold_on_a_closed_connection_does_not_depend_on_sweep_times() {
    let other = udp_frame();
    for late in [304, 306] {
        let mut counts = Vec::new();
        for busy in [false, true] {
            let mut e = Engine::new(Config { closed_linger: Duration::from_secs(300), ..Config::default() });
            let feed = |e: &mut Engine, t: u64, f: &[u8]| e.process(LinkType::Ethernet, secs(t), f, f.len() as u32);
            feed(&mut e, 0, &tcp_segment(true, true, false, false, false));
            feed(&mut e, 0, &tcp_segment(true, false, true, false, true));
            if busy {
                // Another flow's packets make this engine sweep every second.
                for t in 1..=late {
                    feed(&mut e, t, &other);
                }
            }
            feed(&mut e, late, &tcp_segment(false, false, true, false, false));
            e.finish_all();
            let mut done = Vec::new();
            e.take_finished(&mut done);
            counts.push(done.iter().filter(|c| c.proto == Proto::Tcp).count());
        }
        // CLOSED ends at 5 s, the hold at 305 s.
        let want = if late < 305 { 1 } else { 2 };
        assert_eq!(counts, [want, want], "late packet at {late} s");
    }
}

#[test]
fn impossible_original_lengths_count_as_captured_and_malformed() {
    let mut e = Engine::new(Config::default());
    let f = udp_frame();
    let n = f.len() as u32;
    // A 4 GB claim, one below the captured length, then a sane one.
    for wire_len in [u32::MAX, n - 1, n + 4] {
        e.process(LinkType::Ethernet, T0, &f, wire_len);
    }
    let s = e.stats().clone();
    assert_eq!((s.packets, s.bytes, s.malformed), (3, u64::from(3 * n + 4), 2));
    let c: Vec<u64> = e.connections().map(|c| c.tx_bytes + c.rx_bytes).collect();
    assert_eq!(c, [u64::from(3 * n + 4)]);
}

#[test]
fn undecoded_encapsulations_are_counted_and_named() {
    let mut e = Engine::new(Config::default());
    // GRE with an unknown protocol type (no flow), then PPP carrying
    // VJ-compressed TCP/IP (0x2d): both named, neither "other IP".
    let mut ip = vec![0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 47, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2];
    ip.extend_from_slice(&[0, 0, 0x12, 0x34, 1, 2, 3, 4]);
    e.process(LinkType::Raw, T0, &ip, ip.len() as u32);
    e.process(LinkType::Ppp, T0, &[0xff, 0x03, 0x2d, 1, 2, 3], 6);
    let s = e.stats();
    assert_eq!((s.undecoded, s.other_ip, s.malformed), (2, 0, 0));
    assert_eq!(s.undecoded_encaps, [Encap::Gre, Encap::Ppp]);
}

#[test]
fn neighbour_discovery_link_addresses_and_bad_options() {
    use super::nd_link_address;
    let target = [0u8; 16];
    let mac = [0x00, 0x1b, 0x21, 0x12, 0x34, 0x56];
    let with = |opts: &[u8]| [&target[..], opts].concat();
    // A nonce option (14, 8 bytes) before the source link-layer address (1).
    let ns = with(&[14, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0x00, 0x1b, 0x21, 0x12, 0x34, 0x56]);
    assert_eq!(nd_link_address(135, &ns), Some(mac));
    assert_eq!(nd_link_address(136, &ns), None, "an advertisement carries the target's (2)");
    assert_eq!(nd_link_address(136, &with(&[2, 1, 0x00, 0x1b, 0x21, 0x12, 0x34, 0x56])), Some(mac));
    assert_eq!(nd_link_address(128, &ns), None, "not neighbour discovery");
    for bad in [with(&[1, 0, 1, 2, 3, 4, 5, 6]), with(&[1, 1, 1, 2]), with(&[1]), target[..10].to_vec(), vec![]] {
        assert_eq!(nd_link_address(135, &bad), None, "{bad:?}");
    }
}

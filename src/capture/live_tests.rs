//! Live capture tests. Those touching sockets run as root inside network
//! namespaces created for the test; traffic comes from ping, bash's
//! /dev/udp and a tun device we write to ourselves.

use super::*;
use crate::sys::testns::{MAC_A, MAC_B, NetnsPair, in_netns, ip};
use rustnet_core::wire::{self, L4, Packet};
use std::fs::File;
use std::io::Write;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug)]
struct Owned {
    ts: Timestamp,
    data: Vec<u8>,
    wire_len: u32,
    link: LinkType,
}

impl Owned {
    fn parse(&self) -> Option<Packet<'_>> {
        wire::parse(self.link, &self.data).ok()
    }
}

struct Captured {
    packets: Vec<Owned>,
    stats: KernelStats,
    ring_errors: u64,
    started: Timestamp,
    ended: Timestamp,
}

fn now() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_secs_nanos(d.as_secs(), d.subsec_nanos())
}

fn small_ring() -> RingConfig {
    RingConfig { block_size: 64 * 1024, block_count: 8, frame_size: 2048, block_timeout_ms: 10 }
}

/// Captures on `iface` inside namespace `ns` while `traffic` runs, then
/// drains the ring for a little longer.
fn capture_during(ns: &str, iface: &str, cfg: RingConfig, traffic: impl FnOnce()) -> Captured {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_cap = Arc::clone(&stop);
    let iface = iface.to_string();
    let started = now();
    let handle = in_netns(ns, move || -> Result<_, String> {
        let mut cap = match LiveCapture::open_with(&iface, cfg) {
            Ok(c) => c,
            Err(e) => {
                let _ = ready_tx.send(Err(e.to_string()));
                return Err(e.to_string());
            }
        };
        assert_eq!(cap.interface(), iface);
        let _ = ready_tx.send(Ok(()));
        let mut packets = Vec::new();
        let mut drain_until: Option<Instant> = None;
        loop {
            cap.poll(Duration::from_millis(20), &mut |p| {
                packets.push(Owned { ts: p.ts, data: p.data.to_vec(), wire_len: p.wire_len, link: p.link })
            })
            .map_err(|e| e.to_string())?;
            if stop_cap.load(Ordering::Acquire) {
                let until = *drain_until.get_or_insert_with(|| Instant::now() + Duration::from_millis(300));
                if Instant::now() >= until {
                    break;
                }
            }
        }
        Ok((packets, cap.stats(), cap.ring_errors()))
    });
    let ready = ready_rx.recv().unwrap_or_else(|_| Err("capture thread died".into()));
    if ready.is_ok() {
        traffic();
    }
    stop.store(true, Ordering::Release);
    let (packets, stats, ring_errors) =
        handle.join().expect("capture thread panicked").expect("setns").expect("capture");
    Captured { packets, stats, ring_errors, started, ended: now() }
}

fn ns_exec(ns: &str, args: &[&str]) {
    let mut full = vec!["netns", "exec", ns];
    full.extend_from_slice(args);
    ip(&full).expect("traffic command");
}

fn addr(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Captured ICMPv4 packets of `icmp_type` from `src` to `dst`.
fn icmp<'a>(c: &'a Captured, src: &str, dst: &str, icmp_type: u8) -> Vec<&'a Owned> {
    let (src, dst) = (addr(src), addr(dst));
    c.packets
        .iter()
        .filter(|o| {
            matches!(o.parse(), Some(p) if p.src == src && p.dst == dst
                && matches!(p.l4, L4::Icmp { v6: false, icmp_type: t, .. } if t == icmp_type))
        })
        .collect()
}

fn udp<'a>(c: &'a Captured, dst: &str, dport: u16, payload: &[u8]) -> Vec<&'a Owned> {
    let dst = addr(dst);
    c.packets
        .iter()
        .filter(|o| {
            matches!(o.parse(), Some(p) if p.dst == dst
                && matches!(p.l4, L4::Udp { dport: d, payload: pl, .. } if d == dport && pl == payload))
        })
        .collect()
}

/// Common checks: link type, timestamps inside the capture window, lengths,
/// kernel counters.
fn check_common(c: &Captured, link: LinkType) {
    assert!(!c.packets.is_empty());
    assert_eq!(c.ring_errors, 0);
    for p in &c.packets {
        assert_eq!(p.link, link);
        assert!(p.ts >= c.started && p.ts <= c.ended, "{:?} not in capture window", p.ts);
        assert!(p.wire_len as usize >= p.data.len());
    }
    assert!(c.stats.packets >= c.packets.len() as u64, "{:?}", c.stats);
    assert_eq!(c.stats.drops, 0);
}

const ECHO_REQUEST: u8 = 8;
const ECHO_REPLY: u8 = 0;

#[test]
fn veth_captures_both_directions_as_ethernet() {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["ping"])) {
        return;
    }
    let ns = NetnsPair::new().expect("namespace setup (needs root)");
    let (a, b) = (ns.addr(1), ns.addr(2));
    let c = capture_during(&ns.a, &ns.va, small_ring(), || {
        ns_exec(&ns.a, &["ping", "-c", "3", "-i", "0.2", "-W", "1", &b]);
        ns_exec(&ns.a, &["bash", "-c", &format!("echo hi > /dev/udp/{b}/9999")]);
    });
    check_common(&c, LinkType::Ethernet);
    let requests = icmp(&c, &a, &b, ECHO_REQUEST);
    assert_eq!(requests.len(), 3);
    assert_eq!(icmp(&c, &b, &a, ECHO_REPLY).len(), 3);
    // Outgoing frames carry our MAC as source, the peer's as destination.
    assert_eq!(requests[0].data[..6], MAC_B);
    assert_eq!(requests[0].data[6..12], MAC_A);
    assert_eq!(udp(&c, &b, 9999, b"hi\n").len(), 1);
}

#[test]
fn any_produces_cooked_frames_with_direction_and_address() {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["ping"])) {
        return;
    }
    let ns = NetnsPair::new().expect("namespace setup (needs root)");
    let (a, b) = (ns.addr(1), ns.addr(2));
    let c = capture_during(&ns.a, "any", small_ring(), || {
        ns_exec(&ns.a, &["ping", "-c", "3", "-i", "0.2", "-W", "1", &b]);
        ns_exec(&ns.a, &["bash", "-c", &format!("echo hi > /dev/udp/{b}/9999")]);
    });
    check_common(&c, LinkType::LinuxSll);
    let sll = |o: &Owned| {
        (
            u16::from_be_bytes([o.data[0], o.data[1]]),
            u16::from_be_bytes([o.data[2], o.data[3]]),
            u16::from_be_bytes([o.data[4], o.data[5]]),
            o.data[6..14].to_vec(),
            u16::from_be_bytes([o.data[14], o.data[15]]),
        )
    };
    let mut mac_a = MAC_A.to_vec();
    mac_a.extend([0, 0]);
    let mut mac_b = MAC_B.to_vec();
    mac_b.extend([0, 0]);
    let requests = icmp(&c, &a, &b, ECHO_REQUEST);
    let replies = icmp(&c, &b, &a, ECHO_REPLY);
    assert_eq!(requests.len(), 3);
    assert_eq!(replies.len(), 3);
    for r in requests {
        // PACKET_OUTGOING, ARPHRD_ETHER, 6-byte source MAC, IPv4.
        assert_eq!(sll(r), (4, 1, 6, mac_a.clone(), 0x0800));
        assert_eq!(r.wire_len as usize, r.data.len());
    }
    for r in replies {
        assert_eq!(sll(r), (0, 1, 6, mac_b.clone(), 0x0800));
    }
    let datagrams = udp(&c, &b, 9999, b"hi\n");
    assert_eq!(datagrams.len(), 1);
    // 16 SLL + 20 IPv4 + 8 UDP + 3 payload.
    assert_eq!(datagrams[0].wire_len, 47);
}

/// The kernel hands each loopback packet to packet sockets twice (leaving and
/// arriving); we keep one: 3 pings show as exactly 3 requests and 3 replies.
#[test]
fn loopback_packets_are_seen_once() {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["ping"])) {
        return;
    }
    let ns = NetnsPair::new().expect("namespace setup (needs root)");
    let ping = || ns_exec(&ns.a, &["ping", "-c", "3", "-i", "0.2", "-W", "1", "127.0.0.1"]);
    // Default ring geometry here, to cover it once.
    for (iface, cfg, link) in
        [("lo", RingConfig::default(), LinkType::Ethernet), ("any", small_ring(), LinkType::LinuxSll)]
    {
        let c = capture_during(&ns.a, iface, cfg, ping);
        check_common(&c, link);
        assert_eq!(icmp(&c, "127.0.0.1", "127.0.0.1", ECHO_REQUEST).len(), 3, "{iface}");
        assert_eq!(icmp(&c, "127.0.0.1", "127.0.0.1", ECHO_REPLY).len(), 3, "{iface}");
        // The kernel counted the skipped outgoing copies too.
        assert!(c.stats.packets >= 12, "{iface}: {:?}", c.stats);
    }
}

/// Opens a tun device (IFF_TUN | IFF_NO_PI) in the calling thread's namespace.
fn open_tun(name: &str) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun")?;
    // SAFETY: ifreq is plain old data; all-zero is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes().take(15)) {
        *dst = src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF takes a pointer to an ifreq that lives across the call.
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Hand the fd over to a fresh File so the original's close does not race.
    // SAFETY: dup returns a new descriptor we own, checked below.
    let dup = unsafe { libc::dup(file.as_raw_fd()) };
    if dup < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `dup` is a valid descriptor owned by nobody else.
    Ok(unsafe { File::from_raw_fd(dup) })
}

/// A tun device has no link header (ARPHRD_NONE): frames are raw IP. An
/// injected UDP datagram to a closed port shows up, and so does the kernel's
/// ICMP port-unreachable answer going back out.
#[test]
fn tun_device_gives_raw_ip_and_cooked_on_any() {
    if !(crate::testenv::lab_ready()) {
        return;
    }
    let ns = NetnsPair::new().expect("namespace setup (needs root)");
    let tun_name = format!("{}t", ns.va);
    let name = tun_name.clone();
    let mut tun = in_netns(&ns.a, move || open_tun(&name)).join().expect("thread").expect("setns").expect("tun device");
    ip(&["-n", &ns.a, "addr", "add", "10.97.0.1/24", "dev", &tun_name]).expect("tun addr");
    ip(&["-n", &ns.a, "link", "set", &tun_name, "up"]).expect("tun up");
    let mut datagram = Vec::new();
    etherparse::PacketBuilder::ipv4([10, 97, 0, 2], [10, 97, 0, 1], 64)
        .udp(5555, 7777)
        .write(&mut datagram, b"rustnet-tun")
        .expect("build datagram");

    for (iface, link) in [(tun_name.as_str(), LinkType::Raw), ("any", LinkType::LinuxSll)] {
        let c = capture_during(&ns.a, iface, small_ring(), || {
            tun.write_all(&datagram).expect("write to tun");
            std::thread::sleep(Duration::from_millis(100));
        });
        check_common(&c, link);
        let got = udp(&c, "10.97.0.1", 7777, b"rustnet-tun");
        assert_eq!(got.len(), 1, "{iface}");
        match link {
            LinkType::Raw => assert_eq!(got[0].data, datagram),
            _ => {
                // PACKET_HOST, ARPHRD_NONE, no address, IPv4; then the datagram.
                let mut sll = vec![0, 0, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
                sll.extend_from_slice(&datagram);
                assert_eq!(got[0].data, sll);
            }
        }
        assert_eq!(icmp(&c, "10.97.0.1", "10.97.0.2", 3).len(), 1, "{iface}");
    }
}

/// Sends one raw Ethernet frame out of `dev` with an AF_PACKET socket
/// (in the calling thread's namespace).
fn inject_frame(dev: &str, frame: &[u8]) -> Result<(), String> {
    let ifindex = crate::sys::interfaces::list()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|i| i.name == dev)
        .map(|i| i.index)
        .ok_or("no such device")?;
    // SAFETY: plain syscall, checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error().to_string());
    }
    // SAFETY: fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain old data.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    // SAFETY: buffer, address and lengths all describe live values.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if sent != frame.len() as isize {
        return Err(io::Error::last_os_error().to_string());
    }
    Ok(())
}

/// A VLAN-tagged frame arriving on the veth: the kernel moves the tag into
/// packet metadata before packet sockets see it; capture puts it back, so the
/// frame comes out byte for byte as sent.
#[test]
fn vlan_tags_are_restored() {
    if !(crate::testenv::lab_ready()) {
        return;
    }
    let ns = NetnsPair::new().expect("namespace setup (needs root)");
    let mut frame = Vec::new();
    etherparse::PacketBuilder::ethernet2(MAC_B, MAC_A)
        .single_vlan(etherparse::VlanId::try_new(7).expect("vlan id"))
        .ipv4([10, 95, 0, 2], [10, 95, 0, 1], 64)
        .udp(4000, 4001)
        .write(&mut frame, b"tagged")
        .expect("build frame");
    frame[14] |= 0x60; // priority 3 in the TCI, to check it survives too
    for (iface, link) in [(ns.va.as_str(), LinkType::Ethernet), ("any", LinkType::LinuxSll)] {
        let c = capture_during(&ns.a, iface, small_ring(), || {
            let (vb, frame) = (ns.vb.clone(), frame.clone());
            in_netns(&ns.b, move || inject_frame(&vb, &frame)).join().expect("thread").expect("setns").expect("inject");
            std::thread::sleep(Duration::from_millis(50));
        });
        check_common(&c, link);
        let got = udp(&c, "10.95.0.1", 4001, b"tagged");
        assert_eq!(got.len(), 1, "{iface}");
        assert_eq!(got[0].parse().map(|p| p.vlan), Some(Some(7)));
        assert_eq!(got[0].wire_len as usize, got[0].data.len());
        match link {
            LinkType::Ethernet => assert_eq!(got[0].data, frame),
            _ => {
                // Incoming to our MAC (PACKET_HOST), ARPHRD_ETHER, sender MAC,
                // then the tag's TPID as protocol and the rest of the frame.
                let mut sll = vec![0, 0, 0, 1, 0, 6];
                sll.extend_from_slice(&MAC_B);
                sll.extend_from_slice(&[0, 0]);
                sll.extend_from_slice(&frame[12..]);
                assert_eq!(got[0].data, sll);
            }
        }
    }
}

#[test]
fn unknown_interface_lists_available_ones() {
    if !(crate::testenv::lab_ready()) {
        return;
    }
    let ns = NetnsPair::new().expect("namespace setup (needs root)");
    let va = ns.va.clone();
    let err = in_netns(&ns.a, || LiveCapture::open("rnlt-nope0").err())
        .join()
        .expect("thread")
        .expect("setns")
        .expect("open must fail");
    match &err {
        CaptureError::UnknownInterface { name, available } => {
            assert_eq!(name, "rnlt-nope0");
            assert_eq!(available, &["lo".to_string(), va.clone()]);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("rnlt-nope0") && msg.contains(&format!("lo, {va}")) && msg.contains("\"any\""), "{msg}");
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;
const CAP_NET_RAW: u32 = 13;

/// Removes CAP_NET_RAW from the calling thread's effective set
/// (capabilities are per thread on Linux).
fn drop_net_raw() -> std::io::Result<()> {
    let mut hdr = CapHeader { version: CAP_VERSION_3, pid: 0 };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array as capget v3 expects.
    if unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    data[0].effective &= !(1 << CAP_NET_RAW);
    // SAFETY: as above; only this thread's credentials change.
    if unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[test]
fn missing_capability_gives_sudo_and_setcap_advice() {
    let results = std::thread::spawn(|| {
        drop_net_raw().expect("capset");
        ["lo", "any"].map(|i| LiveCapture::open(i).err())
    })
    .join()
    .expect("thread");
    for (iface, err) in ["lo", "any"].iter().zip(results) {
        let err = err.expect("open must fail without CAP_NET_RAW");
        assert!(matches!(err, CaptureError::PermissionDenied { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(iface), "{msg}");
        assert!(msg.contains("sudo"), "{msg}");
        assert!(msg.contains("sudo setcap cap_net_raw,cap_net_admin=eip $(which rustnet)"), "{msg}");
    }
}

#[test]
fn invalid_ring_geometry_is_an_error() {
    for cfg in [
        RingConfig { block_size: 1000, ..RingConfig::default() },
        RingConfig { frame_size: 2047, ..RingConfig::default() },
        RingConfig { block_count: 0, ..RingConfig::default() },
        RingConfig { frame_size: 64, ..RingConfig::default() },
        RingConfig { block_size: 4096, frame_size: 8192, ..RingConfig::default() },
    ] {
        match LiveCapture::open_with("lo", cfg) {
            Err(CaptureError::Io { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::InvalidInput, "{cfg:?}")
            }
            other => panic!("{cfg:?}: {:?}", other.err()),
        }
    }
}

#[test]
fn insertion_in_place_and_in_scratch_agree() {
    let payload: Vec<u8> = (0u8..40).collect();
    let insert = [0xaa; 16];
    for keep in [0, 12] {
        let mut expected = payload[..keep].to_vec();
        expected.extend_from_slice(&insert);
        expected.extend_from_slice(&payload[keep..]);
        // mac 96 leaves 28 bytes of headroom (in place); mac 72 leaves 4 (scratch).
        for mac in [96usize, 72] {
            let mut block = vec![0u8; 256];
            block[mac..mac + payload.len()].copy_from_slice(&payload);
            let mut scratch = Vec::new();
            let got = frame_with_insertion(&mut block, 0, mac, payload.len(), &insert, keep, &mut scratch);
            assert_eq!(got, Some(&expected[..]), "keep {keep} mac {mac}");
        }
    }
    let mut block = vec![0u8; 128];
    let mut scratch = Vec::new();
    assert_eq!(frame_with_insertion(&mut block, 0, 100, 40, &[], 0, &mut scratch), None);
    assert_eq!(frame_with_insertion(&mut block, usize::MAX - 4, 100, 40, &insert, 0, &mut scratch), None);
    assert_eq!(frame_with_insertion(&mut block, 0, 96, 8, &insert, 12, &mut scratch), None);
}

/// Corrupt ring blocks (not expected from the kernel) are skipped and
/// counted, never a panic.
#[test]
fn garbage_blocks_do_not_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut scratch = Vec::new();
    for round in 0..2000 {
        let mut block: Vec<u8> = (0..4096).map(|_| next() as u8).collect();
        // Keep counts and offsets small often enough to reach the packet walk.
        block[BLOCK_NUM_PKTS..BLOCK_NUM_PKTS + 4].copy_from_slice(&((next() % 5) as u32).to_ne_bytes());
        if round % 2 == 0 {
            block[BLOCK_FIRST_PKT..BLOCK_FIRST_PKT + 4].copy_from_slice(&((next() % 4096) as u32).to_ne_bytes());
        }
        for framing in [Framing::Ethernet, Framing::Raw, Framing::Cooked] {
            let mut copy = block.clone();
            let mut seen = 0;
            let (n, _) = walk_block(&mut copy, framing, &mut scratch, &mut |p| {
                seen += 1;
                let _ = wire::parse(p.link, p.data);
            });
            assert_eq!(n, seen);
        }
    }
    assert_eq!(walk_block(&mut [0u8; 4], Framing::Raw, &mut scratch, &mut |_| {}), (0, 1));
}

#[test]
fn framing_follows_the_hardware_type() {
    assert_eq!(Framing::for_hw_type(Some(libc::ARPHRD_ETHER)), Framing::Ethernet);
    assert_eq!(Framing::for_hw_type(Some(libc::ARPHRD_LOOPBACK)), Framing::Ethernet);
    assert_eq!(Framing::for_hw_type(Some(libc::ARPHRD_NONE)), Framing::Raw);
    assert_eq!(Framing::for_hw_type(Some(libc::ARPHRD_PPP)), Framing::Raw);
    // Unknown link headers (here ARPHRD_IPGRE) fall back to cooked frames.
    assert_eq!(Framing::for_hw_type(Some(778)), Framing::Cooked);
    assert_eq!(Framing::for_hw_type(None), Framing::Cooked);
}

#[test]
fn io_errors_name_what_was_being_done() {
    let e = CaptureError::Io { context: "binding to eth9".into(), source: io::Error::from_raw_os_error(libc::ENODEV) };
    assert!(e.to_string().starts_with("binding to eth9: "));
}

use super::*;
use etherparse::PacketBuilder;
use rustnet_core::Timestamp;

const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn eth_udp(dport: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(40000, dport)
        .write(&mut v, b"hello")
        .expect("build packet");
    v
}

fn eth_tcp(dport: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, dport, 1, 1000)
        .write(&mut v, b"")
        .expect("build packet");
    v
}

fn eth_udp6(dport: u16) -> Vec<u8> {
    let mut v = Vec::new();
    let (a, b) = (
        [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    );
    PacketBuilder::ethernet2(MAC_A, MAC_B).ipv6(a, b, 64).udp(40000, dport).write(&mut v, b"x").expect("build packet");
    v
}

/// libpcap is a test dependency (scripts/install-test-deps.sh installs it with tcpdump).
fn compiled(expr: &str, link: LinkType) -> Vec<Insn> {
    compile(expr, link).unwrap_or_else(|e| panic!("libpcap compiles {expr:?}: {e}"))
}

fn passes(prog: &[Insn], frame: &[u8]) -> bool {
    run(prog, frame, frame.len() as u32) != 0
}

#[test]
fn udp_port_filter_on_ethernet() {
    if !(crate::testenv::libpcap_ready()) {
        return;
    }
    let p = compiled("udp port 9999", LinkType::Ethernet);
    assert!(passes(&p, &eth_udp(9999)));
    assert!(passes(&p, &eth_udp6(9999)), "libpcap's port filter covers IPv6");
    assert!(!passes(&p, &eth_udp(53)));
    assert!(!passes(&p, &eth_tcp(9999)));
    // Truncated before the ports: rejected, not a panic.
    assert!(!passes(&p, &eth_udp(9999)[..30]));
    assert!(!passes(&p, &[]));
}

#[test]
fn host_and_tcp_flags_filters() {
    if !(crate::testenv::libpcap_ready()) {
        return;
    }
    let p = compiled("host 10.0.0.2 and tcp[tcpflags] & tcp-syn != 0", LinkType::Ethernet);
    // PacketBuilder's tcp() sets no flags unless asked.
    let mut syn = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 80, 1, 1000)
        .syn()
        .write(&mut syn, b"")
        .expect("build packet");
    assert!(passes(&p, &syn));
    assert!(!passes(&p, &eth_tcp(80)));
    let len = compiled("greater 100", LinkType::Ethernet);
    assert!(!passes(&len, &eth_udp(1)));
    assert!(run(&len, &eth_udp(1), 200) != 0, "len is the wire length");
}

#[test]
fn raw_ip_link_type() {
    if !(crate::testenv::libpcap_ready()) {
        return;
    }
    let p = compiled("udp port 9999", LinkType::Raw);
    let frame = eth_udp(9999);
    assert!(passes(&p, &frame[14..]));
    assert!(!passes(&p, &eth_udp(53)[14..]));
}

#[test]
fn bad_expression_reports_libpcaps_message() {
    if !(crate::testenv::libpcap_ready()) {
        return;
    }
    match compile("udp port", LinkType::Ethernet) {
        Err(BpfError::Syntax(m)) => assert!(m.contains("syntax error"), "{m}"),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert!(matches!(compile("port 99999999", LinkType::Ethernet), Err(BpfError::Syntax(_))));
    assert!(matches!(compile("udp\0", LinkType::Ethernet), Err(BpfError::Syntax(_))));
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

#[test]
fn interpreter_edge_cases() {
    let data = [0x45u8, 1, 2, 3, 4, 5];
    // ldxb 4*([0]&0xf); txa; ret a  -> 20
    let msh = [insn(LDX | B | MSH, 0, 0, 0), insn(0x07 | 0x80, 0, 0, 0), insn(RET | 0x10, 0, 0, 0)];
    assert_eq!(run(&msh, &data, 6), 20);
    // st M[3]; ld #0; ld M[3]; add #1; ret a
    let mem = [
        insn(LD | IMM, 0, 0, 41),
        insn(ST, 0, 0, 3),
        insn(LD | IMM, 0, 0, 0),
        insn(LD | MEM, 0, 0, 3),
        insn(ALU, 0, 0, 1),
        insn(RET | 0x10, 0, 0, 0),
    ];
    assert_eq!(run(&mem, &data, 6), 42);
    // Division by zero rejects.
    let div = [insn(LD | IMM, 0, 0, 7), insn(ALU | 0x30, 0, 0, 0), insn(RET | 0x10, 0, 0, 0)];
    assert_eq!(run(&div, &data, 6), 0);
    // ldh [5] reads past the end: rejects.
    assert_eq!(run(&[insn(LD | H | ABS, 0, 0, 5), insn(RET, 0, 0, 1)], &data, 6), 0);
    // Indirect load overflowing u32: rejects.
    let ind = [insn(LDX | IMM, 0, 0, u32::MAX), insn(LD | B | IND, 0, 0, 2), insn(RET, 0, 0, 1)];
    assert_eq!(run(&ind, &data, 6), 0);
    // Jump past the end, out-of-range memory, falling off the end: reject.
    assert_eq!(run(&[insn(JMP, 0, 0, 10), insn(RET, 0, 0, 1)], &data, 6), 0);
    assert_eq!(run(&[insn(ST, 0, 0, 16), insn(RET, 0, 0, 1)], &data, 6), 0);
    assert_eq!(run(&[insn(LD | IMM, 0, 0, 1)], &data, 6), 0);
    // jset / jgt with X as the operand; ret x.
    let j = [
        insn(LD | B | ABS, 0, 0, 0),
        insn(LDX | IMM, 0, 0, 0x40),
        insn(JMP | 0x40 | SRC_X, 0, 1, 0),
        insn(RET | 0x08, 0, 0, 0),
        insn(RET, 0, 0, 0),
    ];
    assert_eq!(run(&j, &data, 6), 0x40);
    assert_eq!(run(&[], &data, 6), 0);
}

/// Prepends a Linux cooked (SLL v1) header to an IP packet.
fn sll(pkttype: u16, proto: u16, ip: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&pkttype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&6u16.to_be_bytes());
    v.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0, 0]);
    v.extend_from_slice(&proto.to_be_bytes());
    v.extend_from_slice(ip);
    v
}

/// Runs a rewritten program the way the kernel does on a cooked socket: over
/// the packet from its network header, with the two ancillary loads answered.
fn run_as_kernel(prog: &[Insn], pkttype: u32, proto: u32, net: &[u8]) -> u32 {
    let patched: Vec<Insn> = prog
        .iter()
        .map(|i| match (i.code, i.k) {
            (c, k) if c == LD | H | ABS && k == SKF_AD_OFF + SKF_AD_PKTTYPE => insn(LD | IMM, 0, 0, pkttype),
            (c, k) if c == LD | H | ABS && k == SKF_AD_OFF + SKF_AD_PROTOCOL => insn(LD | IMM, 0, 0, proto),
            _ => *i,
        })
        .collect();
    run(&patched, net, net.len() as u32)
}

#[test]
fn cooked_programs_rewritten_for_the_kernel_view() {
    if !(crate::testenv::libpcap_ready()) {
        return;
    }
    let ip4 = &eth_udp(9999)[14..];
    let ip4_dns = &eth_udp(53)[14..];
    let ip6 = &eth_udp6(9999)[14..];
    for expr in ["udp port 9999", "inbound and udp", "ip6 or udp dst port 9999", "udp[8:4] = 0x68656c6c"] {
        let p = compiled(expr, LinkType::LinuxSll);
        let k = for_cooked_socket(&p).unwrap_or_else(|| panic!("{expr} runs in the kernel"));
        for (pkttype, proto, net) in [(0u16, 0x0800u16, ip4), (4, 0x0800, ip4), (0, 0x0800, ip4_dns), (0, 0x86dd, ip6)]
        {
            let full = sll(pkttype, proto, net);
            assert_eq!(
                passes(&p, &full),
                run_as_kernel(&k, pkttype.into(), proto.into(), net) != 0,
                "{expr}: pkttype {pkttype} proto {proto:#x} dport {:?}",
                &net.get(22..24)
            );
        }
    }
    // Reading the link-layer address cannot be done in the kernel.
    let p = compiled("link[6] = 2", LinkType::LinuxSll);
    assert_eq!(for_cooked_socket(&p), None);
}

#[test]
fn kernel_accepts_compiled_and_rejects_broken_programs() {
    if !(crate::testenv::libpcap_ready()) {
        return;
    }
    // SAFETY: plain syscall; an ordinary UDP socket needs no privilege.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    assert!(fd >= 0);
    let ok = compiled("udp port 9999", LinkType::Raw);
    attach(fd, &ok).expect("kernel accepts libpcap's program");
    let bad = [insn(JMP, 0, 0, 5), insn(RET, 0, 0, 1)];
    assert!(attach(fd, &bad).is_err(), "a jump past the end is refused");
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
}

#[test]
fn user_filter_compiles_per_link_type() {
    if !(crate::testenv::libpcap_ready()) {
        return;
    }
    let mut f = UserFilter::new("udp port 9999", LinkType::Ethernet).expect("compiles");
    let e = eth_udp(9999);
    let pkt = |data: &'static [u8], link| Packet { ts: Timestamp::ZERO, data, wire_len: data.len() as u32, link };
    let e: &'static [u8] = Box::leak(e.into_boxed_slice());
    assert!(f.matches(&pkt(e, LinkType::Ethernet)));
    assert!(f.matches(&pkt(&e[14..], LinkType::Raw)), "compiled anew for raw IP");
    let dns: &'static [u8] = Box::leak(eth_udp(53).into_boxed_slice());
    assert!(!f.matches(&pkt(dns, LinkType::Ethernet)));
    assert_eq!(f.rejected, 1);
    assert!(UserFilter::new("nonsense ((", LinkType::Ethernet).is_err());
}

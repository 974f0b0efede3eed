//! Resolver tests against real processes in a fresh network namespace
//! (root). Expected pids are those of the children we start; expected names
//! the programs we ran.

use super::procfs::{ProcId, ProcIndex};
use super::sock_diag::SockDiag;
use super::*;
use crate::sys::testns::{Kid, Netns, PY_UDP_CLIENT, PY_UDP_SERVER, curl_to_server};
use rustnet_core::Timestamp;
use std::net::IpAddr;

fn ep(a: &str, port: &str) -> Endpoint {
    let addr: IpAddr = a.parse().expect("test address");
    Endpoint::new(addr, port.parse().expect("port printed by the child"))
}

fn flow(proto: Proto, local: Endpoint, remote: Endpoint) -> NewFlow {
    NewFlow { id: 1, proto, local, remote, ts: Timestamp::ZERO }
}

/// Polls `lookup` until it answers or `within` passes.
fn wait_for(within: Duration, r: &ProcessResolver, proto: Proto, l: Endpoint, rem: Endpoint) -> Option<ProcessInfo> {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Some(p) = r.lookup(proto, l, rem) {
            return Some(p);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

/// Answers on the request path come well before the periodic dump
/// (RECONCILE_EVERY), so this proves the event-driven lookup.
fn wait(r: &ProcessResolver, proto: Proto, l: Endpoint, rem: Endpoint) -> Option<ProcessInfo> {
    wait_for(RECONCILE_EVERY / 2, r, proto, l, rem)
}

fn check(got: Option<ProcessInfo>, pid: u32, name: &str) {
    let got = got.unwrap_or_else(|| panic!("no process found for {name} (pid {pid})"));
    assert_eq!((got.pid, got.name.as_str()), (pid, name));
    assert!(got.cmdline.is_some_and(|c| c.contains(name)));
}

/// A python server and a curl client over TCP on `host`; both ends attributed.
fn tcp_both_ends(server_host: &'static str, connect: &'static str, flow_addr: &'static str) {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["python3", "curl"])) {
        return;
    }
    let ns = Netns::new();
    ns.run(move || {
        let r = ProcessResolver::start();
        assert_eq!(r.stats().backend, "sock_diag");
        let (srv, cli, port, cport) = curl_to_server(server_host, connect);
        let (s, c) = (ep(flow_addr, &port), ep(flow_addr, &cport));
        r.request(&flow(Proto::Tcp, c, s));
        r.request(&flow(Proto::Tcp, s, c));
        check(wait(&r, Proto::Tcp, c, s), cli.pid(), "curl");
        check(wait(&r, Proto::Tcp, s, c), srv.pid(), "python3");
        let st = r.stats();
        assert_eq!((st.requests, st.dropped), (2, 0));
        assert!(st.hits >= 2 && st.latencies.len() >= 2, "{st:?}");
    });
}

#[test]
fn tcp_ipv4_both_ends() {
    tcp_both_ends("127.0.0.1", "127.0.0.1", "127.0.0.1");
}

#[test]
fn tcp_ipv6_both_ends() {
    tcp_both_ends("::1", "[::1]", "::1");
}

#[test]
fn tcp_ipv4_flow_on_dual_stack_ipv6_socket() {
    // The server socket is AF_INET6 on [::] (IPv4-mapped peer); the
    // capture sees plain IPv4.
    tcp_both_ends("::", "127.0.0.1", "127.0.0.1");
}

#[test]
fn udp_connected_dig_and_unconnected_sender() {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["python3", "dig"])) {
        return;
    }
    let ns = Netns::new();
    ns.run(|| {
        let r = ProcessResolver::start();
        let mut srv = Kid::spawn("python3", &["-c", PY_UDP_SERVER, "127.0.0.1"]);
        let port = srv.line();
        let p = format!("-p{port}");
        let dig = Kid::spawn("dig", &["@127.0.0.1", &p, "+tries=1", "+time=20", "example.test"]);
        let dport = srv.line();
        let (s, d) = (ep("127.0.0.1", &port), ep("127.0.0.1", &dport));
        r.request(&flow(Proto::Udp, d, s));
        r.request(&flow(Proto::Udp, s, d)); // server: unconnected, bound to the address
        check(wait(&r, Proto::Udp, d, s), dig.pid(), "dig");
        check(wait(&r, Proto::Udp, s, d), srv.pid(), "python3");

        let mut snd = Kid::spawn("python3", &["-c", PY_UDP_CLIENT, "127.0.0.1", &port]);
        let sport = snd.line();
        assert_eq!(srv.line(), sport);
        let u = ep("127.0.0.1", &sport);
        r.request(&flow(Proto::Udp, u, s)); // unconnected, bound to 0.0.0.0
        check(wait(&r, Proto::Udp, u, s), snd.pid(), "python3");
    });
}

#[test]
fn reconciliation_attributes_flows_never_requested() {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["python3", "curl"])) {
        return;
    }
    let ns = Netns::new();
    ns.run(|| {
        let r = ProcessResolver::start();
        let (srv, cli, port, cport) = curl_to_server("127.0.0.1", "127.0.0.1");
        let (s, c) = (ep("127.0.0.1", &port), ep("127.0.0.1", &cport));
        let slow = RECONCILE_EVERY * 3;
        check(wait_for(slow, &r, Proto::Tcp, c, s), cli.pid(), "curl");
        check(wait_for(slow, &r, Proto::Tcp, s, c), srv.pid(), "python3");
        let st = r.stats();
        assert_eq!(st.requests, 0);
        assert!(st.reconciled >= 2, "{st:?}");
    });
}

#[test]
fn exited_process_keeps_the_name_read_while_it_held_the_socket() {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["python3", "curl"])) {
        return;
    }
    let ns = Netns::new();
    ns.run(|| {
        let (srv, mut cli, port, cport) = curl_to_server("127.0.0.1", "127.0.0.1");
        let (s, c) = (ep("127.0.0.1", &port), ep("127.0.0.1", &cport));

        // Mid-lookup: socket and owner found while curl lives…
        let (mut index, id, _) = owner_of(c, s);
        assert_eq!(id.pid, cli.pid());
        // …then curl exits: the name read while it held the socket still
        // names it (a short-lived client is gone by the time anyone looks).
        cli.kill();
        let info = index.info(id).expect("name read while curl held the socket");
        assert_eq!((info.pid, info.name.as_str()), (cli.pid(), "curl"));

        // Through the resolver: the flow of a process already gone stays unattributed.
        let r = ProcessResolver::start();
        r.request(&flow(Proto::Tcp, c, s));
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(r.lookup(Proto::Tcp, c, s), None);
        assert_eq!(r.stats().hits, 0);
        // The same resolver does name a live process (so the None above is
        // about curl being gone): the server's end of that connection.
        r.request(&flow(Proto::Tcp, s, c));
        check(wait(&r, Proto::Tcp, s, c), srv.pid(), "python3");
    });
}

/// The socket of `local`↔`remote` (sock_diag) and its owner (a fresh
/// ProcIndex): (index, owner, socket inode).
fn owner_of(local: Endpoint, remote: Endpoint) -> (ProcIndex, ProcId, u64) {
    let mut diag = SockDiag::open().expect("sock_diag");
    let sock = diag.find(Proto::Tcp, local, remote).expect("query").expect("the socket");
    let mut index = ProcIndex::new();
    assert_eq!(index.refresh_for(&[sock.inode]), 1);
    let id = index.owner(sock.inode).expect("owner of the socket");
    (index, id, sock.inode)
}

/// Writes the kernel's "last pid" so that the next fork gets `pid`.
fn fork_with_pid(pid: u32, prog: &str, args: &[&str]) -> Option<Kid> {
    for _ in 0..20 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", pid - 1)).ok()?;
        let k = Kid::spawn(prog, args);
        if k.pid() == pid {
            return Some(k);
        }
    }
    None
}

#[test]
fn reused_pid_is_not_named_after_the_old_process() {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["python3", "curl"])) {
        return;
    }
    // Any other program that forks between our write of ns_last_pid and
    // our fork takes the pid; in a pid namespace of its own nothing else does.
    if !crate::sys::testns::in_own_pid_namespace() {
        return;
    }
    let ns = Netns::new();
    ns.run(|| {
        let (_srv, mut cli, port, cport) = curl_to_server("127.0.0.1", "127.0.0.1");
        let (s, c) = (ep("127.0.0.1", &port), ep("127.0.0.1", &cport));
        let (mut index, old, inode) = owner_of(c, s);
        assert_eq!(index.info(old).map(|i| i.name), Some("curl".to_string()));
        let pid = cli.pid();
        cli.kill();
        // A new process takes curl's pid: the old identity (pid + start time)
        // may keep the name read while curl lived, but is never given the new
        // process's name, and curl's socket no longer has an owner.
        let Some(_sleeper) = fork_with_pid(pid, "sleep", &["30"]) else {
            crate::testenv::skip(&format!("could not give pid {pid} to a new process"));
            return;
        };
        let name = index.info(old).map(|i| i.name);
        assert!(name.is_none() || name.as_deref() == Some("curl"), "old identity named {name:?}");
        assert_eq!(index.owner(inode), None, "stale index entry kept");
    });
}

#[test]
fn proc_net_fallback_finds_the_same_sockets() {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["python3", "curl"])) {
        return;
    }
    let ns = Netns::new();
    ns.run(|| {
        let (_srv, _cli, port, cport) = curl_to_server("127.0.0.1", "127.0.0.1");
        let (s, c) = (ep("127.0.0.1", &port), ep("127.0.0.1", &cport));
        let mut udp = Kid::spawn("python3", &["-c", PY_UDP_SERVER, "0.0.0.0"]);
        let uport = udp.line();
        let (u, peer) = (ep("127.0.0.1", &uport), ep("127.0.0.1", "5353"));

        let mut diag = SockDiag::open().expect("sock_diag");
        let mut pn = proc_net::ProcNet::open().expect("/proc/thread-self/net");
        for (proto, l, r) in [(Proto::Tcp, c, s), (Proto::Tcp, s, c), (Proto::Udp, u, peer)] {
            let a = diag.find(proto, l, r).expect("diag").expect("socket via sock_diag");
            let b = pn.find(proto, l, r).expect("proc").expect("socket via /proc/net");
            assert_eq!(a, b, "{proto:?} {l:?} {r:?}");
            assert_ne!(a.inode, 0);
        }
        // Nothing for a port no socket uses.
        assert_eq!(pn.find(Proto::Tcp, c, ep("127.0.0.1", "1")).expect("proc"), None);
    });
}

#[test]
fn hint_socket_reports_outgoing_syns_and_datagrams_only() {
    if !(crate::testenv::lab_ready()) {
        return;
    }
    let ns = Netns::new();
    ns.run(|| {
        use std::io::Write;
        let mut hints = hints::HintSocket::open("lo").expect("hint socket (root)");
        let srv = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
        let srv_ep = Endpoint::new(srv.local_addr().expect("addr").ip(), srv.local_addr().expect("addr").port());
        let mut cli =
            std::net::TcpStream::connect(srv_ep.addr.to_string() + ":" + &srv_ep.port.to_string()).expect("connect");
        let cli_ep = Endpoint::new(cli.local_addr().expect("addr").ip(), cli.local_addr().expect("addr").port());
        // Data and ACKs after the handshake, and the server's SYN-ACK, give no hint.
        cli.write_all(b"hello").expect("write");
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        udp.send_to(b"q", srv.local_addr().expect("addr")).expect("send");
        let udp_ep = Endpoint::new(udp.local_addr().expect("addr").ip(), udp.local_addr().expect("addr").port());
        assert_eq!(hints.next_flow().expect("hint"), (Proto::Tcp, cli_ep, srv_ep));
        assert_eq!(hints.next_flow().expect("hint"), (Proto::Udp, udp_ep, srv_ep));
    });
}

#[test]
fn each_cpu_hint_socket_gets_the_packets_sent_from_its_cpu() {
    if !(crate::testenv::lab_ready()) {
        return;
    }
    let ns = Netns::new();
    ns.run(|| {
        let mut sockets = hints::open_sockets("lo").expect("hint sockets (root)");
        let cpus = sockets.len();
        if cpus < 2 {
            eprintln!("one CPU: a single hint socket, nothing to fan out");
            return;
        }
        for (i, (cpu, s)) in sockets.iter().enumerate() {
            assert_eq!(*cpu, Some(i), "sockets in CPU order");
            s.set_timeout(Duration::from_millis(300)).expect("timeout");
        }
        let dst = std::net::UdpSocket::bind("127.0.0.1:0").expect("receiver");
        let dst_addr = dst.local_addr().expect("addr");
        for cpu in 0..cpus {
            // A datagram sent by a thread pinned to `cpu`.
            let sent = std::thread::spawn(move || {
                priority::pin(cpu);
                let u = std::net::UdpSocket::bind("127.0.0.1:0").expect("sender");
                u.send_to(b"q", dst_addr).expect("send");
                u.local_addr().expect("addr").port()
            })
            .join()
            .expect("sender thread");
            let (_, s) = &mut sockets[cpu];
            let (proto, local, remote) = s.next_flow().expect("hint on the sender's CPU socket");
            assert_eq!((proto, local.port, remote.port), (Proto::Udp, sent, dst_addr.port()), "CPU {cpu}");
            for (other, (_, s)) in sockets.iter_mut().enumerate().filter(|(o, _)| *o != cpu) {
                assert!(s.next_flow().is_err(), "CPU {cpu}'s packet also reached socket {other}");
            }
        }
    });
}

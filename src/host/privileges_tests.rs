//! Privilege tests (root). Capabilities are per thread, so each test drops
//! them on a thread of its own and the rest of the test binary is unaffected.

use super::*;
use crate::host::process::procfs::ProcIndex;
use crate::host::process::sock_diag::SockDiag;
use crate::sys::testns::{Netns, curl_to_server};
use rustnet_core::track::{Endpoint, Proto};
use std::net::{IpAddr, Ipv4Addr, TcpListener};

fn is_root_with_caps() -> bool {
    caps::has_cap(None, CapSet::Permitted, Capability::CAP_SYS_ADMIN).unwrap_or(false)
}

#[test]
fn drop_keeps_only_proc_reading_capabilities() {
    if !crate::testenv::root_ready() {
        return;
    }
    let s = std::thread::spawn(drop_privileges).join().expect("thread");
    assert!(s.errors.is_empty(), "{s}");
    assert_eq!(s.kept, vec!["CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"]);
    assert!(s.dropped.contains(&"CAP_NET_RAW".to_string()), "{s}");
    assert!(s.no_new_privs && s.bounding_dropped > 0, "{s}");
    let shown = s.to_string();
    assert!(shown.contains("kept: CAP_DAC_READ_SEARCH,CAP_SYS_PTRACE"), "{shown}");
    // The main test thread still has everything.
    assert!(is_root_with_caps());
}

/// After the drop: sock_diag still answers, /proc fds of a full-capability
/// root process are still readable, and what was dropped is really gone.
/// With nothing kept, the same /proc read fails: the kept pair is needed.
#[test]
fn after_drop_sockets_and_processes_are_still_found() {
    if !(crate::testenv::lab_ready() && crate::testenv::tools_ready(&["python3", "curl"])) {
        return;
    }
    let ns = Netns::new();
    ns.run(|| {
        let (_srv, cli, port, cport) = curl_to_server("127.0.0.1", "127.0.0.1");
        let (port, cport): (u16, u16) = (port.parse().expect("port"), cport.parse().expect("port"));
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (c, s) = (Endpoint::new(lo, cport), Endpoint::new(lo, port));
        let pid = cli.pid();

        let kept = std::thread::spawn(move || {
            let sum = drop_privileges();
            assert!(sum.errors.is_empty(), "{sum}");
            let mut diag = SockDiag::open().expect("sock_diag without CAP_NET_ADMIN");
            let sock = diag.find(Proto::Tcp, c, s).expect("query").expect("socket");
            let mut idx = ProcIndex::new();
            idx.refresh_for(&[sock.inode]);
            let owner = idx.owner(sock.inode).map(|id| id.pid);
            // CAP_NET_BIND_SERVICE is gone: a low port is refused.
            let low = TcpListener::bind("127.0.0.1:80").is_ok();
            (owner, low)
        });
        let (owner, low_port_ok) = kept.join().expect("thread");
        assert_eq!(owner, Some(pid));
        assert!(!low_port_ok, "port 80 still bindable after the drop");

        let none = std::thread::spawn(move || {
            let sum = drop_all_except(&[]);
            assert!(sum.kept.is_empty(), "{sum}");
            let mut diag = SockDiag::open().expect("sock_diag with no capability");
            let sock = diag.find(Proto::Tcp, c, s).expect("query").expect("socket");
            let mut idx = ProcIndex::new();
            idx.refresh_for(&[sock.inode]);
            idx.owner(sock.inode)
        });
        assert_eq!(none.join().expect("thread"), None);
    });
}

//! Test helpers: a throwaway network namespace with only loopback, and
//! running code (and the children it spawns) inside it. Needs root.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// `ip netns add rnp<pid>-<n>` with lo up; deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        let name = format!("rnp{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        run(&["ip", "netns", "add", &name]);
        run(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Netns { name }
    }

    /// Runs `f` on a new thread that has entered this namespace; children
    /// spawned there start in it too.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        let h = std::thread::spawn(move || {
            let ns = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            // SAFETY: setns(2) on a valid namespace fd; it only changes this
            // thread's network namespace.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        });
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

fn run(args: &[&str]) {
    let st = Command::new(args[0])
        .args(&args[1..])
        .status()
        .unwrap_or_else(|e| panic!("{args:?}: {e} (these tests need root and iproute2)"));
    assert!(st.success(), "{args:?} failed (these tests need root)");
}

/// A child process killed on drop, with its stdout lines readable.
pub struct Kid {
    pub child: Child,
    out: BufReader<ChildStdout>,
}

impl Kid {
    pub fn spawn(prog: &str, args: &[&str]) -> Kid {
        let mut child = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {prog}: {e}"));
        let out = BufReader::new(child.stdout.take().expect("stdout was piped above"));
        Kid { child, out }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Next line of output, trimmed.
    pub fn line(&mut self) -> String {
        let mut s = String::new();
        self.out.read_line(&mut s).expect("read child output");
        s.trim().to_string()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A python TCP server on `server_host` (PY_TCP_SERVER) and a curl
/// connected to it through `connect` (the URL's host): (server, curl,
/// server port, curl's port), the ports as the server printed them.
pub fn curl_to_server(server_host: &str, connect: &str) -> (Kid, Kid, String, String) {
    let mut srv = Kid::spawn("python3", &["-c", PY_TCP_SERVER, server_host]);
    let port = srv.line();
    let url = format!("http://{connect}:{port}/");
    let cli = Kid::spawn("curl", &["-s", "--max-time", "30", &url]);
    let cport = srv.line();
    (srv, cli, port, cport)
}

/// Python: a TCP server on `host` that prints its port, then the peer port
/// of each connection it accepts, and keeps them open.
pub const PY_TCP_SERVER: &str = r#"
import socket, sys, time
host = sys.argv[1]
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
if fam == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind((host, 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
keep = []
while True:
    c, a = s.accept(); keep.append(c)
    print(a[1], flush=True)
"#;

/// Python: a UDP socket bound on `host` that prints its port, then the
/// source port of each datagram; never replies.
pub const PY_UDP_SERVER: &str = r#"
import socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((host, 0))
print(s.getsockname()[1], flush=True)
while True:
    d, a = s.recvfrom(2048)
    print(a[1], flush=True)
"#;

/// Python: an unconnected UDP client: sends one datagram to argv[1]:argv[2]
/// with sendto(), prints its own port, then waits.
pub const PY_UDP_CLIENT: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 0))
s.sendto(b'hello', (sys.argv[1], int(sys.argv[2])))
print(s.getsockname()[1], flush=True)
time.sleep(60)
"#;

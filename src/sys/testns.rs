//! Test helpers: throwaway network namespaces (one with only loopback, or
//! two joined by a veth pair), and running code (and the children it
//! spawns) inside one from a dedicated thread (setns only moves the calling
//! thread). Needs root; namespaces are deleted on drop.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `ip netns add rnp<pid>-<n>` with lo up; deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        let name = format!("rnp{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let need_root = |e: String| panic!("{e} (these tests need root and iproute2)");
        ip(&["netns", "add", &name]).unwrap_or_else(need_root);
        ip(&["-n", &name, "link", "set", "lo", "up"]).unwrap_or_else(need_root);
        Netns { name }
    }

    /// Runs `f` on a new thread that has entered this namespace; children
    /// spawned there start in it too.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        match in_netns(&self.name, f).join() {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => panic!("{e}"),
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
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

/// Runs `ip` with `args`; Err carries its stderr.
pub fn ip(args: &[&str]) -> Result<(), String> {
    run("ip", args)
}

/// Runs a command; Err carries its stderr.
fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd).args(args).output().map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)))
    }
}

/// Namespaces `a` and `b`, veth `va` (in a, 10.99.<net>.1/24, MAC MAC_A) to
/// `vb` (in b, 10.99.<net>.2/24, MAC MAC_B), both up, lo up in both.
pub struct NetnsPair {
    pub a: String,
    pub b: String,
    pub va: String,
    pub vb: String,
    pub net: u8,
}

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0x99, 0, 1];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0x99, 0, 2];

impl NetnsPair {
    pub fn new() -> Result<NetnsPair, String> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Interface names must stay within 15 bytes.
        let id = format!("rn{}x{n}", std::process::id() % 100_000);
        let pair = NetnsPair {
            a: format!("rnlt-{id}-a"),
            b: format!("rnlt-{id}-b"),
            va: format!("{id}a"),
            vb: format!("{id}b"),
            net: u8::try_from(n % 250).unwrap_or(0) + 1,
        };
        // Created before any fallible step so Drop cleans up what exists.
        ip(&["netns", "add", &pair.a])?;
        ip(&["netns", "add", &pair.b])?;
        let mac = |m: [u8; 6]| m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        let (ma, mb) = (mac(MAC_A), mac(MAC_B));
        ip(&[
            "link", "add", &pair.va, "address", &ma, "netns", &pair.a, "type", "veth", "peer", "name", &pair.vb,
            "address", &mb, "netns", &pair.b,
        ])?;
        for (ns, dev, host) in [(&pair.a, &pair.va, 1), (&pair.b, &pair.vb, 2)] {
            let addr = format!("10.99.{}.{host}/24", pair.net);
            ip(&["-n", ns, "addr", "add", &addr, "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(pair)
    }

    pub fn addr(&self, host: u8) -> String {
        format!("10.99.{}.{host}", self.net)
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        // Deleting a namespace destroys the interfaces inside it.
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

/// Runs `f` on a new thread that has joined network namespace `ns`.
pub fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<Result<T, String>> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        // SAFETY: a valid namespace fd; setns only affects this thread.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
        }
        Ok(f())
    })
}

/// Set in the copy of a test that [`in_own_pid_namespace`] starts.
const PIDNS_VAR: &str = "RUSTNET_TEST_IN_PIDNS";

/// Runs the calling test again in a pid namespace of its own
/// (`unshare --pid --fork --mount-proc`), where only the test's processes
/// take pids, so `ns_last_pid` decides the next one; /run/netns is a private
/// tmpfs there, so its namespace names cannot meet those of other runs.
/// True in that copy: the test goes on. False in the caller, after the copy
/// passed (its notes passed on) or after a note that it could not start;
/// a failing copy fails the caller with its output.
pub fn in_own_pid_namespace() -> bool {
    if std::env::var_os(PIDNS_VAR).is_some() {
        return true;
    }
    if !crate::testenv::tools_ready(&["unshare", "mount"]) {
        return false;
    }
    let thread = std::thread::current();
    // libtest names each test's thread after the test: run just that one.
    let Some(test) = thread.name().filter(|n| *n != "main") else {
        return crate::testenv::skip("no test name to run again in a pid namespace");
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return crate::testenv::skip(&format!("cannot find the test binary: {e}")),
    };
    let setup = "mkdir -p /run/netns && mount -t tmpfs rustnet-test /run/netns && exec \"$0\" \"$@\"";
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c", setup])
        .arg(exe)
        .args([test, "--exact", "--test-threads=1"])
        .env(PIDNS_VAR, "1")
        .output()
        .unwrap_or_else(|e| panic!("unshare: {e}"));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{test} in its own pid namespace: {}\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("1 passed"), "{test} did not run in its pid namespace:\n{stdout}\n{stderr}");
    for note in stderr.lines().filter(|l| l.starts_with("note:")) {
        let _ = writeln!(std::io::stderr(), "{note}");
    }
    false
}

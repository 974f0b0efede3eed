//! Test support: throwaway network namespaces joined by a veth pair, and
//! running code inside a namespace from a dedicated thread (setns only moves
//! the calling thread). Needs root; namespaces are deleted on drop.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

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

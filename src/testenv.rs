//! What a test needs from the machine (the public corpus, root for network
//! namespaces, lab programs, libpcap) and the one way to do without it.
//!
//! On a fresh clone, as any user, `cargo test --workspace` must pass: a test
//! whose prerequisite is missing prints one `note: … skipped` line and
//! returns. Under CI (`CI` set, as `.ci/run` does) the same absence fails the
//! test instead, so CI cannot go green by skipping; `RUSTNET_CORPUS_REQUIRED=1`
//! asks the same for the corpus alone.
//!
//! Shared by the library's unit tests (`crate::testenv`) and the integration
//! tests (`tests/common` includes this file by path), so it uses only std.
#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::path::{Path, PathBuf};

/// True when a missing prerequisite must fail the test: under CI.
pub fn required() -> bool {
    flag("CI")
}

/// An environment variable set to something other than "", "0" or "false".
fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"))
}

/// Skips the calling test: prints one note naming it, and returns false (so
/// `if !ready() { return; }` reads naturally). Under CI it panics instead.
pub fn skip(reason: &str) -> bool {
    skip_unless(required().then_some("CI is set"), reason)
}

/// Fails with `reason` when `must` says why the prerequisite is required;
/// else the note of [`skip`].
fn skip_unless(must: Option<&str>, reason: &str) -> bool {
    if let Some(why) = must {
        panic!("{reason} (required here: {why})");
    }
    let thread = std::thread::current();
    // libtest names each test's thread after the test.
    let test = thread.name().filter(|n| *n != "main").unwrap_or("test");
    // Written to the real stderr, not eprintln!: libtest captures the
    // latter and would show the note only for failing tests.
    let _ = writeln!(std::io::stderr(), "note: {test} skipped: {reason}");
    false
}

/// The public corpus folder (RUSTNET_CORPUS), or None after a note when the
/// variable is unset or names no folder (as in a fresh clone, where the
/// README's `../shared/pcaps` does not exist).
pub fn corpus_dir() -> Option<PathBuf> {
    let must = (required() || flag("RUSTNET_CORPUS_REQUIRED")).then_some("CI or RUSTNET_CORPUS_REQUIRED is set");
    let Some(dir) = std::env::var_os("RUSTNET_CORPUS") else {
        skip_unless(must, "RUSTNET_CORPUS is not set (the public corpus, see README: Test)");
        return None;
    };
    let dir = PathBuf::from(dir);
    if dir.is_dir() {
        return Some(dir);
    }
    skip_unless(must, &format!("RUSTNET_CORPUS={} is not a folder", dir.display()));
    None
}

/// Root with the capabilities network-namespace tests use, and `ip` from
/// iproute2; or false after a note.
pub fn lab_ready() -> bool {
    root_ready() && tools_ready(&["ip"])
}

/// Root with CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN effective (live
/// capture, namespaces); or false after a note.
pub fn root_ready() -> bool {
    const NET_ADMIN: u32 = 12;
    const NET_RAW: u32 = 13;
    const SYS_ADMIN: u32 = 21;
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.split_whitespace().map(str::to_string).collect())
    };
    let uids: Vec<String> = field("Uid:").unwrap_or_default();
    // Fields: real, effective, saved, filesystem.
    if uids.get(1).map(String::as_str) != Some("0") {
        return skip("not root (live capture and network namespaces need it)");
    }
    let caps: Vec<String> = field("CapEff:").unwrap_or_default();
    let eff = caps.first().and_then(|c| u64::from_str_radix(c, 16).ok()).unwrap_or(0);
    if [NET_ADMIN, NET_RAW, SYS_ADMIN].iter().any(|&c| eff & (1 << c) == 0) {
        return skip("root without CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN");
    }
    true
}

/// Every one of `tools` is on PATH; or false after a note naming the first
/// missing one.
pub fn tools_ready(tools: &[&str]) -> bool {
    match tools.iter().find(|t| !on_path(t)) {
        Some(t) => skip(&format!("{t} is not installed (scripts/install-test-deps.sh installs the lab programs)")),
        None => true,
    }
}

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    // Root's tools (ip, tcpdump) live in sbin, which a user's PATH may omit.
    let sbin = ["/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&path).chain(sbin).any(|d| is_executable(&d.join(tool)))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// libpcap's shared library is installed (the BPF filter compiler loads it at
/// run time); or false after a note.
pub fn libpcap_ready() -> bool {
    // The names capture/bpf.rs loads: listed in the dynamic loader's cache,
    // or in a folder it searches without one.
    let names = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];
    let cache = std::fs::read("/etc/ld.so.cache").unwrap_or_default();
    let cached = names.iter().any(|n| cache.windows(n.len()).any(|w| w == n.as_bytes()));
    let extra = std::env::var_os("LD_LIBRARY_PATH").unwrap_or_default();
    let mut dirs = std::env::split_paths(&extra).chain(["/usr/lib", "/usr/lib64", "/lib", "/lib64"].map(PathBuf::from));
    let found = cached || dirs.any(|d| names.iter().any(|n| d.join(n).exists()));
    found || skip("libpcap is not installed (apt install libpcap0.8, or scripts/install-test-deps.sh)")
}

/// A fresh directory of the test's own under the system temp dir, removed
/// when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("rustnet-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    /// Writes `text` to `rel` under the directory (making its parents);
    /// returns its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().expect("a file in a directory")).expect("parent dir");
        std::fs::write(&p, text).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

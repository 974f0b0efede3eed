//! Issue 18: the Debian package, built with cargo-deb (scripts/build-deb.sh,
//! the faster `ci-deb` profile), installed with `apt-get install ./….deb`
//! on this machine: the binary is root:rustnet 0750 with the capture
//! capabilities, the man page and the bash/zsh/fish completions are in
//! place, a member of the `rustnet` group captures on lo without sudo and a
//! non-member cannot run it; `apt-get purge` then leaves nothing behind.
//!
//! Root only, and changes the system (a package, two users, a group), so it
//! runs under CI (where it is required) or when RUSTNET_DEB_TEST is set, and
//! never over a rustnet package that was installed by other means.

mod common;

use common::testenv;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MEMBER: &str = "rn-deb-member";
const OUTSIDER: &str = "rn-deb-outsider";
const BIN: &str = "/usr/bin/rustnet";
const CAPS: [&str; 5] = ["cap_net_raw", "cap_net_admin", "cap_sys_ptrace", "cap_dac_read_search", "cap_sys_nice"];

fn run(argv: &[&str]) -> Output {
    Command::new(argv[0]).args(&argv[1..]).output().unwrap_or_else(|e| panic!("run {argv:?}: {e}"))
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Removes the test users, and the package if the test installed it.
struct Cleanup {
    installed: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for u in [MEMBER, OUTSIDER] {
            let _ = run(&["userdel", u]);
        }
        if self.installed && std::thread::panicking() {
            let _ = run(&["apt-get", "purge", "-y", "-qq", "rustnet"]);
        }
    }
}

#[test]
fn deb_installs_with_group_capabilities_man_page_completions_and_purges_clean() {
    if !(testenv::required() || std::env::var_os("RUSTNET_DEB_TEST").is_some()) {
        testenv::skip("changes the system; runs under CI or with RUSTNET_DEB_TEST=1");
        return;
    }
    if !(testenv::root_ready() && testenv::tools_ready(&["apt-get", "dpkg", "cargo-deb", "getcap", "man", "runuser"])) {
        return;
    }
    if run(&["dpkg", "-s", "rustnet"]).status.success() {
        testenv::skip("a rustnet package is already installed here; not touching it");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let built =
        Command::new(root.join("scripts/build-deb.sh")).env("PROFILE", "ci-deb").output().expect("build-deb.sh");
    assert!(built.status.success(), "build-deb.sh: {}", text(&built));
    let deb: PathBuf = String::from_utf8_lossy(&built.stdout)
        .lines()
        .rev()
        .find(|l| l.ends_with(".deb"))
        .map(|l| root.join(l.trim()))
        .expect("build-deb.sh names the package");
    let mut cleanup = Cleanup { installed: false };

    let o = run(&["apt-get", "install", "-y", "-qq", deb.to_str().expect("utf-8 path")]);
    cleanup.installed = true;
    assert!(o.status.success(), "apt-get install: {}", text(&o));

    // Capabilities, owner, group and mode (as Wireshark's dumpcap).
    let caps = text(&run(&["getcap", BIN]));
    let (names, flags) = caps.trim().rsplit_once('=').unwrap_or_default();
    assert_eq!(flags, "ep", "getcap: {caps}");
    for c in CAPS {
        assert!(names.contains(c), "getcap lacks {c}: {caps}");
    }
    let meta = std::fs::metadata(BIN).expect("installed binary");
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let group = text(&run(&["getent", "group", "rustnet"]));
    let gid: u32 = group.split(':').nth(2).and_then(|g| g.parse().ok()).expect("rustnet group exists");
    assert_eq!((meta.uid(), meta.gid(), meta.permissions().mode() & 0o7777), (0, gid, 0o750), "owner, group, mode");

    // Man page and completions.
    let man = run(&["man", "-w", "rustnet"]);
    assert!(man.status.success() && text(&man).contains("rustnet.1"), "man -w: {}", text(&man));
    for f in [
        "/usr/share/bash-completion/completions/rustnet",
        "/usr/share/zsh/vendor-completions/_rustnet",
        "/usr/share/fish/vendor_completions.d/rustnet.fish",
    ] {
        let body = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        // fish names long options as `-l read`.
        let knows = |o: &str| body.contains(&format!("--{o}")) || body.contains(&format!("-l {o}"));
        assert!(knows("read") && knows("json"), "{f} completes the options");
    }

    // A member captures on lo without sudo; a non-member cannot execute it.
    for (user, groups) in [(MEMBER, "rustnet"), (OUTSIDER, "")] {
        let mut argv = vec!["useradd", "--no-create-home", "--shell", "/bin/sh"];
        if !groups.is_empty() {
            argv.extend(["--groups", groups]);
        }
        argv.push(user);
        let o = run(&argv);
        assert!(o.status.success(), "useradd {user}: {}", text(&o));
    }
    let member = Command::new("runuser")
        .args(["-u", MEMBER, "--", BIN, "-i", "lo", "--json", "--duration", "1"])
        .current_dir("/tmp")
        .output()
        .expect("runuser");
    assert_eq!(member.status.code(), Some(0), "group member, no sudo: {}", text(&member));
    let outsider = Command::new("runuser").args(["-u", OUTSIDER, "--", BIN, "--version"]).output().expect("runuser");
    assert!(
        !outsider.status.success() && text(&outsider).contains("Permission denied"),
        "non-member: {:?} {}",
        outsider.status,
        text(&outsider)
    );

    // Purge leaves nothing: files, the mode override, the group.
    let o = run(&["apt-get", "purge", "-y", "-qq", "rustnet"]);
    assert!(o.status.success(), "apt-get purge: {}", text(&o));
    cleanup.installed = false;
    for f in [
        BIN,
        "/usr/share/man/man1/rustnet.1.gz",
        "/usr/share/doc/rustnet",
        "/usr/share/bash-completion/completions/rustnet",
    ] {
        assert!(!Path::new(f).exists(), "{f} left after purge");
    }
    assert!(!run(&["getent", "group", "rustnet"]).status.success(), "group left after purge");
    assert!(text(&run(&["dpkg-statoverride", "--list", BIN])).trim().is_empty(), "statoverride left after purge");
    assert!(!run(&["dpkg", "-s", "rustnet"]).status.success(), "package still known to dpkg");
}

//! Sets RUSTNET_VERSION for `rustnet --version`: the package version, plus
//! the git commit when built from a checkout (`0.1.0 (git 927d089)`).
//! Without git or a checkout (a source package, a .deb built from a
//! tarball) it is the version alone.

use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let full = match git(&["rev-parse", "--short=7", "HEAD"]) {
        Some(commit) if !commit.is_empty() => format!("{version} (git {commit})"),
        _ => version.to_string(),
    };
    println!("cargo:rustc-env=RUSTNET_VERSION={full}");
    // Rebuild when the commit changes: HEAD, and the branch it points to
    // (a worktree has its own HEAD, the refs are shared). Only files that
    // exist: cargo reruns the script on every build for a missing one.
    let watch = |path: String| {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    };
    if let (Some(dir), Some(common)) = (git(&["rev-parse", "--git-dir"]), git(&["rev-parse", "--git-common-dir"])) {
        watch(format!("{dir}/HEAD"));
        watch(format!("{common}/packed-refs"));
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(format!("{common}/{head}"));
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

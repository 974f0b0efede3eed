//! The sandbox of the threads that read hostile bytes: the capture thread
//! (frames, routing headers) and the workers (engine, DPI). Entered by each
//! such thread once its inputs are open; other threads (process lookup,
//! reverse DNS, UI, export) keep what they need.
//!
//! - Landlock (best effort for the running kernel's ABI): no file system
//!   access at all, no TCP bind/connect, no signals or abstract unix
//!   sockets outside the process.
//! - seccomp-bpf: the calls a parser bug would want to go further (exec,
//!   fork, new sockets, ptrace, mounts and namespaces, modules, BPF, keys)
//!   return EPERM. A deny list rather than an allow list: these threads run
//!   std, glibc and crossbeam code whose exact calls vary by version, and a
//!   missing entry in an allow list would kill the capture; refusing by
//!   error keeps a surprise visible (a log line) instead of fatal.
//! - Both set no_new_privs.
//!
//! The limit: threads share one address space, so code run by a compromised
//! worker could still reach another thread's memory; this stops the direct
//! path (open a file, exec, phone home) from the parsing thread itself.

/// What entering the sandbox achieved, for the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// "fully enforced", "partially enforced", or why not.
    pub landlock: String,
    /// The seccomp filter is installed.
    pub seccomp: bool,
}

#[cfg(target_os = "linux")]
mod imp {
    use super::Status;
    use landlock::{ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetStatus, Scope};
    use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
    use std::collections::BTreeMap;

    fn landlock() -> String {
        let abi = ABI::V6;
        let created = Ruleset::default()
            .handle_access(AccessFs::from_all(abi))
            .and_then(|r| r.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp))
            .and_then(|r| r.scope(Scope::AbstractUnixSocket | Scope::Signal))
            .and_then(|r| r.create());
        // No rule added: nothing of the file system is reachable.
        match created.and_then(|r| r.restrict_self()) {
            Ok(s) => match s.ruleset {
                RulesetStatus::FullyEnforced => "fully enforced".into(),
                RulesetStatus::PartiallyEnforced => "partially enforced (older kernel ABI)".into(),
                RulesetStatus::NotEnforced => "not available in this kernel".into(),
            },
            Err(e) => format!("failed: {e}"),
        }
    }

    /// The calls refused with EPERM.
    fn denied() -> Vec<i64> {
        let mut v = vec![
            libc::SYS_execve,
            libc::SYS_execveat,
            libc::SYS_socket,
            libc::SYS_socketpair,
            libc::SYS_connect,
            libc::SYS_bind,
            libc::SYS_listen,
            libc::SYS_accept,
            libc::SYS_accept4,
            libc::SYS_ptrace,
            libc::SYS_process_vm_readv,
            libc::SYS_process_vm_writev,
            libc::SYS_mount,
            libc::SYS_umount2,
            libc::SYS_pivot_root,
            libc::SYS_chroot,
            libc::SYS_setns,
            libc::SYS_unshare,
            libc::SYS_bpf,
            libc::SYS_perf_event_open,
            libc::SYS_kexec_load,
            libc::SYS_init_module,
            libc::SYS_finit_module,
            libc::SYS_delete_module,
            libc::SYS_keyctl,
            libc::SYS_add_key,
            libc::SYS_request_key,
            libc::SYS_open_by_handle_at,
            libc::SYS_userfaultfd,
            libc::SYS_setuid,
            libc::SYS_setgid,
            libc::SYS_setreuid,
            libc::SYS_setregid,
            libc::SYS_setresuid,
            libc::SYS_setresgid,
            libc::SYS_capset,
        ];
        #[cfg(target_arch = "x86_64")]
        v.extend([libc::SYS_fork, libc::SYS_vfork]);
        v
    }

    fn seccomp() -> Result<(), String> {
        let arch = if cfg!(target_arch = "x86_64") {
            TargetArch::x86_64
        } else if cfg!(target_arch = "aarch64") {
            TargetArch::aarch64
        } else {
            return Err("no seccomp filter for this architecture".into());
        };
        let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = denied().into_iter().map(|n| (n, vec![])).collect();
        let eperm = u32::try_from(libc::EPERM).unwrap_or(1);
        let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(eperm), arch)
            .map_err(|e| e.to_string())?;
        let prog: BpfProgram = filter.try_into().map_err(|e: seccompiler::BackendError| e.to_string())?;
        seccompiler::apply_filter(&prog).map_err(|e| e.to_string())
    }

    pub(super) fn enter() -> (Status, Option<String>) {
        let landlock = landlock();
        let (seccomp, err) = match seccomp() {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e)),
        };
        (Status { landlock, seccomp }, err)
    }
}

/// At the start of a thread that reads packets: enters the sandbox when `on`
/// (`--no-sandbox` turns it off), then runs the test probe if asked for.
pub fn thread_start(on: bool, kind: &str) {
    if on {
        enter(kind);
    }
    if std::env::var_os("RUSTNET_SANDBOX_PROBE").is_some() {
        probe(kind);
    }
}

/// Enters the sandbox on the calling thread (`kind` names it in the log).
/// Never fails: what could not be applied is logged, and the thread goes on.
pub fn enter(kind: &str) -> Status {
    #[cfg(target_os = "linux")]
    let (status, err) = imp::enter();
    // Untested: no macOS/BSD/Windows toolchain here; those keep the dropped privileges only.
    #[cfg(not(target_os = "linux"))]
    let (status, err) = (Status { landlock: "not on this OS".into(), seccomp: false }, None::<String>);
    match err {
        None => log::info!("sandbox ({kind}): landlock {}, seccomp on", status.landlock),
        Some(e) => log::warn!("sandbox ({kind}): landlock {}, seccomp not applied: {e}", status.landlock),
    }
    status
}

/// Test hook (RUSTNET_SANDBOX_PROBE set): tries what the sandbox refuses and
/// prints each outcome on stderr, one line per thread kind.
fn probe(kind: &str) {
    let shadow = std::fs::File::open("/etc/shadow").map(drop);
    // A path that does not exist: refused → EPERM; allowed → ENOENT, and
    // nothing is ever executed.
    let exec = std::process::Command::new("/nonexistent/rustnet-probe").spawn().map(drop);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").map(drop);
    let show = |r: std::io::Result<()>| match r {
        Ok(()) => "allowed".to_string(),
        Err(e) => format!("refused ({})", e.raw_os_error().map_or_else(|| e.kind().to_string(), errno_name)),
    };
    eprintln!(
        "rustnet: sandbox probe ({kind}): open /etc/shadow {}; exec {}; socket {}",
        show(shadow),
        show(exec),
        show(socket)
    );
}

fn errno_name(n: i32) -> String {
    match n {
        libc::EPERM => "EPERM".into(),
        libc::EACCES => "EACCES".into(),
        libc::ENOENT => "ENOENT".into(),
        n => format!("errno {n}"),
    }
}

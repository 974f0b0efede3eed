//! The sandbox of the threads that read hostile bytes: the capture thread
//! (frames, routing headers), the workers (engine, DPI) and the collector
//! (`--ipfix-listen`: IPFIX messages). Entered by each
//! such thread once its inputs are open. The other threads (process lookup,
//! reverse DNS, UI, export, record) need files and sockets: they get only
//! the deny list below (no exec, ptrace, mounts, modules, BPF, set*id).
//!
//! - Landlock (best effort for the running kernel's ABI): no file system
//!   access at all, no TCP bind/connect, no signals or abstract unix
//!   sockets outside the process.
//! - seccomp-bpf: an allow list per thread kind (the capture thread also
//!   reads its socket or file); every other call (exec, fork, new sockets,
//!   open, ptrace, mounts, BPF, ...) returns EPERM. EPERM rather than a
//!   kill: these threads run std, glibc and crossbeam code whose exact
//!   calls can vary by version, and a call missing from the list then
//!   shows as an error in the log instead of killing the capture.
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

/// The threads that parse packets get Landlock and the allow list; the
/// others the deny list only.
fn packet_thread(kind: &str) -> bool {
    matches!(kind, "capture" | "worker" | "collector")
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{Status, packet_thread};
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

    /// The calls the steady state of a packet thread makes (learnt with
    /// RUSTNET_SANDBOX_LEARN over the whole test suite, see `learn`), by
    /// thread kind. Everything else returns EPERM.
    fn allowed(kind: &str) -> Vec<i64> {
        // Memory, threads, time, signals and exit: std, glibc malloc and
        // crossbeam's parking, on every packet thread.
        let mut v = vec![
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_writev,
            libc::SYS_close,
            libc::SYS_futex,
            libc::SYS_mmap,
            libc::SYS_munmap,
            libc::SYS_mremap,
            libc::SYS_mprotect,
            libc::SYS_madvise,
            libc::SYS_brk,
            libc::SYS_sched_yield,
            libc::SYS_sched_getaffinity,
            libc::SYS_nanosleep,
            libc::SYS_clock_nanosleep,
            libc::SYS_clock_gettime,
            libc::SYS_gettimeofday,
            libc::SYS_getpid,
            libc::SYS_gettid,
            libc::SYS_getrandom,
            libc::SYS_rt_sigprocmask,
            libc::SYS_rt_sigaction,
            libc::SYS_rt_sigreturn,
            libc::SYS_sigaltstack,
            libc::SYS_restart_syscall,
            libc::SYS_rseq,
            libc::SYS_set_robust_list,
            libc::SYS_membarrier,
            libc::SYS_exit,
            libc::SYS_exit_group,
            libc::SYS_tgkill,
            libc::SYS_statx,
            libc::SYS_newfstatat,
            libc::SYS_fstat,
            libc::SYS_fcntl,
            libc::SYS_prctl,
        ];
        // The collector (--ipfix-listen) reads its UDP socket as capture does.
        if matches!(kind, "capture" | "collector") {
            // Reading the open capture socket or file.
            v.extend([
                libc::SYS_readv,
                libc::SYS_pread64,
                libc::SYS_lseek,
                libc::SYS_recvfrom,
                libc::SYS_recvmsg,
                libc::SYS_recvmmsg,
                libc::SYS_getsockopt,
                libc::SYS_setsockopt,
                libc::SYS_ioctl,
                libc::SYS_ppoll,
                libc::SYS_pselect6,
            ]);
            #[cfg(target_arch = "x86_64")]
            v.extend([libc::SYS_poll, libc::SYS_select]);
        }
        v
    }

    /// For the other threads (main/UI, process and name lookups, export
    /// and record writers), which need files and sockets: the calls no
    /// part of rustnet makes after start, refused with EPERM.
    fn denied() -> Vec<i64> {
        let mut v = vec![
            libc::SYS_execve,
            libc::SYS_execveat,
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

    fn seccomp(kind: &str) -> Result<(), String> {
        let arch = if cfg!(target_arch = "x86_64") {
            TargetArch::x86_64
        } else if cfg!(target_arch = "aarch64") {
            TargetArch::aarch64
        } else {
            return Err("no seccomp filter for this architecture".into());
        };
        let eperm = SeccompAction::Errno(u32::try_from(libc::EPERM).unwrap_or(1));
        let (list, listed, other) = if packet_thread(kind) {
            // Learning (tests only): allow, and let the kernel log, each
            // call outside the list (dmesg: "audit: type=1326 ... syscall=N").
            let other = if std::env::var_os("RUSTNET_SANDBOX_LEARN").is_some() { SeccompAction::Log } else { eperm };
            (allowed(kind), SeccompAction::Allow, other)
        } else {
            (denied(), eperm, SeccompAction::Allow)
        };
        let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = list.into_iter().map(|n| (n, vec![])).collect();
        let filter = SeccompFilter::new(rules, other, listed, arch).map_err(|e| e.to_string())?;
        let prog: BpfProgram = filter.try_into().map_err(|e: seccompiler::BackendError| e.to_string())?;
        seccompiler::apply_filter(&prog).map_err(|e| e.to_string())
    }

    pub(super) fn enter(kind: &str) -> (Status, Option<String>) {
        let landlock = if packet_thread(kind) { landlock() } else { "not applied (needs files)".into() };
        let (seccomp, err) = match seccomp(kind) {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e)),
        };
        (Status { landlock, seccomp }, err)
    }
}

/// Set once by the session (`--no-sandbox` clears it): whether the threads
/// started by lower layers (process and name lookups) enter their sandbox.
static ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns the sandbox of helper threads on or off for this process.
pub fn enable(on: bool) {
    ENABLED.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// At the start of a thread that does not parse packets in depth (main/UI,
/// process and name lookups, the flow-hint readers, which look processes
/// up themselves): the deny list, when the session enabled the sandbox.
pub fn helper_thread(kind: &str) {
    if ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        enter(kind);
    }
}

/// At the start of a thread that reads packets: enters the sandbox when `on`
/// (`--no-sandbox` turns it off), then runs the test probe if asked for.
pub fn thread_start(on: bool, kind: &str) {
    let status = if on { enter(kind) } else { Status { landlock: "off".into(), seccomp: false } };
    if std::env::var_os("RUSTNET_SANDBOX_PROBE").is_some() {
        probe(kind, &status);
    }
}

/// Enters the sandbox on the calling thread (`kind` names it in the log).
/// Never fails: what could not be applied is logged, and the thread goes on.
pub fn enter(kind: &str) -> Status {
    #[cfg(target_os = "linux")]
    let (status, err) = imp::enter(kind);
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
fn probe(kind: &str, status: &Status) {
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
        "rustnet: sandbox probe ({kind}): open /etc/shadow {}; exec {}; socket {}; landlock {}",
        show(shadow),
        show(exec),
        show(socket),
        status.landlock
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

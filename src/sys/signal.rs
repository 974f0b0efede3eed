//! Signal dispositions inherited from the parent process.

/// Whether `sig` was set to be ignored when rustnet started (SIG_IGN), as
/// `nohup` does for SIGHUP. Only reads the disposition; changes nothing.
/// An invalid signal number reads as "not ignored".
pub fn is_ignored(sig: libc::c_int) -> bool {
    // SAFETY: sigaction with a null new action only fills `old`, a zeroed
    // sigaction owned by this frame; it has no other effect.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above: `old` is valid for writes and the new action is null.
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_default_disposition_as_not_ignored() {
        // The test harness leaves SIGWINCH at its default; -1 is invalid.
        assert!(!is_ignored(libc::SIGWINCH));
        assert!(!is_ignored(-1));
    }
}

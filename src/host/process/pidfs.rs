//! Lean reads of one process's /proc directory for the lookup hot path.
//!
//! Hand-written over libc because the race with a short-lived client is
//! lost on syscall count: std's read_to_string grows its buffer in several
//! small reads, and procfs's handles add a statx and fcntl per file; here a
//! file is openat + one read + close, and fd links are read with readlinkat
//! relative to the directory handle.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// An open /proc/<pid> directory: reads through it fail once that process
/// has exited, even if its pid has been handed out again.
pub struct PidDir(OwnedFd);

fn open_at(dir: libc::c_int, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated and outlives the call; the result is checked.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl PidDir {
    pub fn open(pid: u32) -> io::Result<PidDir> {
        let path = CString::new(format!("/proc/{pid}")).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        open_at(libc::AT_FDCWD, &path, libc::O_RDONLY | libc::O_DIRECTORY).map(PidDir)
    }

    /// The whole of a file of this directory (stat, status, cmdline), up to 64 KiB.
    pub fn read(&self, name: &CStr) -> io::Result<Vec<u8>> {
        let f = open_at(self.0.as_raw_fd(), name, libc::O_RDONLY)?;
        let mut out = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        while out.len() < 64 * 1024 {
            // SAFETY: `chunk` is valid for writes of its length.
            let n = unsafe { libc::read(f.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = usize::try_from(n).unwrap_or(0).min(chunk.len());
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Ok(out)
    }

    /// The target of a symbolic link in this directory (ns/net, exe), up to PATH_MAX bytes.
    pub fn link(&self, name: &CStr) -> Option<Vec<u8>> {
        let mut buf = [0u8; 4096];
        // SAFETY: `name` is NUL-terminated and `buf` valid for writes of its length.
        let n = unsafe { libc::readlinkat(self.0.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        let n = usize::try_from(n).ok()?.min(buf.len());
        Some(buf[..n].to_vec())
    }

    /// The descriptor numbers in fd/, with that directory's handle for [`FdDir::socket_inode`].
    pub fn fds(&self) -> io::Result<(FdDir, Vec<u32>)> {
        let dir = open_at(self.0.as_raw_fd(), c"fd", libc::O_RDONLY | libc::O_DIRECTORY)?;
        // SAFETY: `dir` is an open directory descriptor; on success the DIR
        // owns it (FdDir's drop closes both through closedir).
        let d = unsafe { libc::fdopendir(dir.as_raw_fd()) };
        if d.is_null() {
            return Err(io::Error::last_os_error());
        }
        std::mem::forget(dir);
        let dir = FdDir(d);
        let mut fds = Vec::new();
        loop {
            // SAFETY: `d` is a valid DIR until FdDir's drop.
            let e = unsafe { libc::readdir(d) };
            if e.is_null() {
                break;
            }
            // SAFETY: readdir returned a valid entry whose d_name is NUL-terminated.
            let name = unsafe { CStr::from_ptr((*e).d_name.as_ptr()) };
            if let Some(n) = name.to_str().ok().and_then(|s| s.parse().ok()) {
                fds.push(n);
            }
        }
        Ok((dir, fds))
    }
}

/// An open /proc/<pid>/fd directory stream.
pub struct FdDir(*mut libc::DIR);

impl Drop for FdDir {
    fn drop(&mut self) {
        // SAFETY: the DIR came from fdopendir and is closed exactly once, here.
        unsafe { libc::closedir(self.0) };
    }
}

impl FdDir {
    /// The socket inode behind descriptor `fd`, if it is a socket.
    pub fn socket_inode(&self, fd: u32) -> Option<u64> {
        let name = CString::new(fd.to_string()).ok()?;
        let mut buf = [0u8; 64];
        // SAFETY: the DIR is open (so dirfd is valid); `name` is
        // NUL-terminated and `buf` valid for writes of its length.
        let n = unsafe { libc::readlinkat(libc::dirfd(self.0), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        let n = usize::try_from(n).ok()?.min(buf.len());
        socket_inode(&buf[..n])
    }
}

/// The inode of a "socket:[12345]" fd link.
pub fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
#[test]
fn socket_links() {
    assert_eq!(socket_inode(b"socket:[4242]"), Some(4242));
    assert_eq!(socket_inode(b"pipe:[4242]"), None);
    assert_eq!(socket_inode(b"socket:[]"), None);
    assert_eq!(socket_inode(b"socket:[42"), None);
}

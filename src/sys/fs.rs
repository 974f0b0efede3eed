//! Files opened without following symbolic links: for what rustnet writes
//! while it may still run as root (the log file).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens the directory `path` itself, refusing a symbolic link (ELOOP).
pub fn open_dir_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)
}

/// Creates `name` in the open directory `dir` for writing with `mode`:
/// O_CREAT|O_EXCL|O_NOFOLLOW, so it never opens an existing file or a
/// symbolic link (AlreadyExists), and never leaves `dir` (openat).
pub fn create_new_at(dir: &File, name: &str, mode: libc::mode_t) -> io::Result<File> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a plain file name"));
    }
    let cname = std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open descriptor borrowed for the call and `cname`
    // a NUL-terminated string that outlives it.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), cname.as_ptr(), flags, libc::c_uint::from(mode)) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

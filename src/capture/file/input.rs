//! The bytes of a capture file, read once through a buffer of `CHUNK` bytes
//! (larger only for a larger record, at most 16 MiB): regular files, pipes,
//! FIFOs, sockets alike (`-` is standard input, as tcpdump's `-r -`), so memory
//! stays bounded whatever the file's size.
//!
//! Regular files are not memory-mapped: a mapped file that another process
//! truncates while it is read kills the reader with SIGBUS (exit 135, the
//! terminal left in raw mode), and a mapping's resident pages grew with the
//! file (3.1 GiB peak RSS for a 3.2 GB capture). A read of a shrunk file just
//! ends early, which the readers report as a truncated record.
//!
//! Stream reads wait in `poll` with a short timeout and give up when the stop
//! flag is set, so SIGINT/SIGTERM end a read that waits for a silent writer.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Bytes asked of the file per read (the buffer grows only for larger
/// records). Each read hands out several hundred records that are then
/// walked in place, so the read and its system call are a few instructions
/// per packet.
const CHUNK: usize = 1 << 20;
/// How often a read waiting for a stream checks the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// A capture file's bytes with a read position.
pub struct Input {
    kind: Kind,
    /// Bytes consumed so far (the position in the file of what `peek` returns).
    offset: u64,
    stop: Arc<AtomicBool>,
    /// A read gave up because `stop` was set (what follows is not truncation).
    stopped: bool,
    /// A stream had no bytes ready: `peek` returned short so the reader can
    /// pass the pause on (see `take_idle`) before it waits.
    idle: bool,
    /// The current pause was reported (until bytes come again).
    idle_said: bool,
}

enum Kind {
    /// Bytes given in memory (tests, fuzzing), from position `at`.
    Memory { bytes: Vec<u8>, at: usize },
    /// A file read as it comes: `buf[pos..len]` is not consumed yet.
    /// `regular`: a regular file, whose reads never wait (no `poll`).
    Read { file: File, regular: bool, buf: Vec<u8>, pos: usize, len: usize, eof: bool },
}

impl Input {
    /// Opens `path` (`-`: standard input). Does not wait for the writer of a
    /// FIFO: the first read does, and it can be stopped.
    pub fn open(path: &Path, stop: Arc<AtomicBool>) -> io::Result<Input> {
        let file = if path.as_os_str() == "-" { stdin_file()? } else { open_nonblocking(path)? };
        let regular = file.metadata()?.is_file();
        let kind = Kind::Read { file, regular, buf: Vec::new(), pos: 0, len: 0, eof: false };
        Ok(Input { kind, offset: 0, stop, stopped: false, idle: false, idle_said: false })
    }

    /// An input over bytes already in memory (tests, fuzzing).
    pub fn from_bytes(bytes: Vec<u8>) -> Input {
        Input {
            kind: Kind::Memory { bytes, at: 0 },
            offset: 0,
            stop: Arc::default(),
            stopped: false,
            idle: false,
            idle_said: false,
        }
    }

    /// The unread bytes: at least `n` of them unless the input ends (or the
    /// read is stopped) first, then all that is left. May return more than
    /// `n` (all that is buffered): readers walk them in place.
    #[inline]
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if let Kind::Read { pos, len, .. } = &self.kind
            && *len - *pos < n
        {
            return self.fill(n);
        }
        match &self.kind {
            Kind::Memory { bytes, at } => Ok(bytes.get(*at..).unwrap_or_default()),
            Kind::Read { buf, pos, len, .. } => Ok(buf.get(*pos..*len).unwrap_or_default()),
        }
    }

    /// `peek` when fewer than `n` bytes are buffered: moves the unread bytes
    /// to the front and reads until `n` are there (kept out of line: the
    /// buffered case is the hot one).
    #[inline(never)]
    fn fill(&mut self, n: usize) -> io::Result<&[u8]> {
        let Kind::Read { file, regular, buf, pos, len, eof } = &mut self.kind else {
            return Ok(&[]);
        };
        while *len - *pos < n && !*eof {
            if *pos > 0 {
                buf.copy_within(*pos..*len, 0);
                *len -= *pos;
                *pos = 0;
            }
            if buf.len() < n.max(CHUNK) {
                buf.resize(n.max(CHUNK), 0);
            }
            // A stream with nothing ready after its first record: said
            // once per pause (a short peek), then waited for.
            if !*regular && self.offset > 0 && !self.idle_said && !poll_in(file, 0)? {
                self.idle_said = true;
                self.idle = true;
                break;
            }
            if !*regular && !wait_readable(file, &self.stop)? {
                self.stopped = true;
                *eof = true;
                break;
            }
            match file.read(&mut buf[*len..]) {
                Ok(0) => {
                    *eof = true;
                    let read = self.offset + (*len - *pos) as u64;
                    if *regular {
                        shrunk(file, read)?;
                    }
                }
                Ok(k) => {
                    *len += k;
                    self.idle_said = false;
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(&buf[*pos..*len])
    }

    /// Marks `n` bytes (of those `peek` returned) as read.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        match &mut self.kind {
            Kind::Memory { at, .. } => *at += n,
            Kind::Read { pos, len, .. } => *pos = (*pos + n).min(*len),
        }
        self.offset += n as u64;
    }

    /// Bytes consumed so far: where in the file the next record starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the last short `peek` was a stream's pause, not its end
    /// (then cleared): the caller may pass it on and peek again.
    pub fn take_idle(&mut self) -> bool {
        std::mem::take(&mut self.idle)
    }

    /// Whether a read ended early because the session was stopped.
    pub fn stopped(&self) -> bool {
        self.stopped || self.stop.load(Ordering::Relaxed)
    }
}

/// An error if a regular file is now shorter than the `read` bytes already
/// read from it: it was truncated while being read (a shrunk file that ends
/// between two records would otherwise read as a whole, shorter one).
fn shrunk(file: &File, read: u64) -> io::Result<()> {
    let size = file.metadata()?.len();
    if size < read {
        return Err(io::Error::other(format!("the file shrank to {size} bytes while it was read ({read} bytes read)")));
    }
    Ok(())
}

/// A duplicate of standard input (its flags are left alone: the file
/// description is shared with other processes).
#[cfg(unix)]
fn stdin_file() -> io::Result<File> {
    use std::io::IsTerminal;
    use std::os::fd::AsFd;
    if io::stdin().is_terminal() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "it is a terminal, not a capture (pipe one in)"));
    }
    Ok(File::from(io::stdin().as_fd().try_clone_to_owned()?))
}

#[cfg(not(unix))]
fn stdin_file() -> io::Result<File> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "reading standard input is not supported here"))
}

/// Opens without waiting for a FIFO's writer (O_NONBLOCK), then makes reads
/// blocking again; `wait_readable` does the waiting, stoppable.
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Waits until `file` has data or its end (true), or `stop` is set (false).
/// A FIFO opened before its writer reports neither until a writer has come.
#[cfg(unix)]
fn wait_readable(file: &File, stop: &AtomicBool) -> io::Result<bool> {
    let ms = i32::try_from(STOP_CHECK.as_millis()).unwrap_or(100);
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(false);
        }
        if poll_in(file, ms)? {
            return Ok(true);
        }
    }
}

/// Whether `file` has data or its end within `ms` milliseconds.
#[cfg(unix)]
fn poll_in(file: &File, ms: i32) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, and its count is 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(e) };
    }
    Ok(rc > 0)
}

#[cfg(not(unix))]
fn poll_in(_: &File, _: i32) -> io::Result<bool> {
    Ok(true)
}

#[cfg(not(unix))]
fn wait_readable(_: &File, stop: &AtomicBool) -> io::Result<bool> {
    Ok(!stop.load(Ordering::Relaxed))
}

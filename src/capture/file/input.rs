//! The bytes of a capture file, read once: a regular file is mapped in memory
//! (records handed out in place); a pipe, FIFO, socket or terminal (`-` is
//! standard input, as tcpdump's `-r -`) is read as a stream through a buffer
//! that holds one record at most, so memory stays bounded whatever its length.
//!
//! Stream reads wait in `poll` with a short timeout and give up when the stop
//! flag is set, so SIGINT/SIGTERM end a read that waits for a silent writer.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Bytes asked of a stream per read (the buffer grows only for larger records).
const CHUNK: usize = 256 << 10;
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
}

/// The bytes of a mapped input. A concrete enum, not `Box<dyn AsRef>`: `peek`
/// runs twice per packet, and the indirect call cost 7.3 M instructions per
/// 100 000 packets (callgrind, mixed-100k, `--no-dpi --workers 1`).
enum Bytes {
    Map(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Map(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

enum Kind {
    /// A regular file in memory (or bytes given), from position `at`.
    Mapped { map: Bytes, at: usize },
    /// Anything else, read as it comes: `buf[pos..len]` is not consumed yet.
    Stream { file: File, buf: Vec<u8>, pos: usize, len: usize, eof: bool },
}

impl Input {
    /// Opens `path` (`-`: standard input). Does not wait for the writer of a
    /// FIFO: the first read does, and it can be stopped.
    pub fn open(path: &Path, stop: Arc<AtomicBool>) -> io::Result<Input> {
        let file = if path.as_os_str() == "-" { stdin_file()? } else { open_nonblocking(path)? };
        let kind = if file.metadata()?.is_file() {
            match map(&file) {
                Some(kind) => kind,
                None => stream(file),
            }
        } else {
            stream(file)
        };
        Ok(Input { kind, offset: 0, stop, stopped: false })
    }

    /// An input over bytes already in memory (tests, fuzzing).
    pub fn from_bytes(bytes: Vec<u8>) -> Input {
        Input {
            kind: Kind::Mapped { map: Bytes::Owned(bytes), at: 0 },
            offset: 0,
            stop: Arc::default(),
            stopped: false,
        }
    }

    /// The unread bytes: at least `n` of them unless the input ends (or the
    /// read is stopped) first, then all that is left.
    #[inline]
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if matches!(self.kind, Kind::Stream { .. }) {
            return self.peek_stream(n);
        }
        match &self.kind {
            Kind::Mapped { map, at } => Ok(map.as_slice().get(*at..).unwrap_or_default()),
            Kind::Stream { .. } => Ok(&[]),
        }
    }

    /// `peek` of a stream: reads until `n` bytes are buffered (kept out of
    /// line; the mapped case is the hot one).
    #[inline(never)]
    fn peek_stream(&mut self, n: usize) -> io::Result<&[u8]> {
        let Kind::Stream { file, buf, pos, len, eof } = &mut self.kind else {
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
            if !wait_readable(file, &self.stop)? {
                self.stopped = true;
                *eof = true;
                break;
            }
            match file.read(&mut buf[*len..]) {
                Ok(0) => *eof = true,
                Ok(k) => *len += k,
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(&buf[*pos..*len])
    }

    /// The unread bytes of a mapped input (None for a stream): readers walk
    /// them in place, without a `peek` per record.
    #[inline]
    pub fn mapped_rest(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Mapped { map, at } => Some(map.as_slice().get(*at..).unwrap_or_default()),
            Kind::Stream { .. } => None,
        }
    }

    /// Marks `n` bytes (of those `peek` returned) as read.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        match &mut self.kind {
            Kind::Mapped { at, .. } => *at += n,
            Kind::Stream { pos, len, .. } => *pos = (*pos + n).min(*len),
        }
        self.offset += n as u64;
    }

    /// Bytes consumed so far: where in the file the next record starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether a read ended early because the session was stopped.
    pub fn stopped(&self) -> bool {
        self.stopped || self.stop.load(Ordering::Relaxed)
    }
}

fn stream(file: File) -> Kind {
    Kind::Stream { file, buf: Vec::new(), pos: 0, len: 0, eof: false }
}

/// Maps a regular file from its current position (standard input may have
/// been read from already); None if mapping fails (then it is streamed).
fn map(file: &File) -> Option<Kind> {
    let at = usize::try_from((&*file).stream_position().ok()?).ok()?;
    // SAFETY: the map is read-only and private to this process. A file
    // truncated by another process while mapped would fault (SIGBUS); that is
    // the documented limit of mapped reading, as with tcpdump's own readers.
    let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(Kind::Mapped { map: Bytes::Map(map), at })
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
    use std::os::fd::AsRawFd;
    let ms = i32::try_from(STOP_CHECK.as_millis()).unwrap_or(100);
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let mut pfd = libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, and its count is 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc > 0 {
            return Ok(true);
        }
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

#[cfg(not(unix))]
fn wait_readable(_: &File, stop: &AtomicBool) -> io::Result<bool> {
    Ok(!stop.load(Ordering::Relaxed))
}

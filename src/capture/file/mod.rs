//! Capture files: pcap (µs and ns) and pcapng (several interfaces and link
//! types), format detected from the magic number, read with pcap-file.

mod error;
mod pcap;
mod pcapng;

pub use error::FileError;

use super::Packet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

const PCAP_MAGICS: [[u8; 4]; 4] =
    [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const READ_BUFFER: usize = 1 << 20;

/// Reads every packet of `path`, calling `f` for each until it returns false.
/// Returns the packet count.
/// A damaged tail ends the file with `FileError::Corrupt` after the good packets.
pub fn read_file(path: &Path, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
    let mut file = File::open(path).map_err(FileError::Open)?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).map_err(|e| FileError::Format(format!("too short ({e})")))?;
    drop(file);
    let reader = BufReader::with_capacity(READ_BUFFER, File::open(path).map_err(FileError::Open)?);
    // pcap-file may panic on some damaged inputs; a damaged file must end the
    // read with an error, not the process.
    let run = |f: &mut dyn FnMut(&Packet<'_>) -> bool| -> Result<u64, FileError> {
        if PCAP_MAGICS.contains(&magic) {
            match map_file(path) {
                Some(m) => pcap::read_pcap_mapped(&m, f),
                None => pcap::read_pcap(reader, f),
            }
        } else if magic == PCAPNG_MAGIC {
            pcapng::read_pcapng(reader, f)
        } else {
            Err(FileError::Format(format!("unknown magic {magic:02x?}")))
        }
    };
    match catch_unwind(AssertUnwindSafe(|| run(f))) {
        Ok(r) => r,
        Err(_) => Err(FileError::Corrupt { packets: 0, reason: "parser failure".into() }),
    }
}

/// Maps a regular file read-only; None for pipes, devices, or if mapping fails.
fn map_file(path: &Path) -> Option<memmap2::Mmap> {
    let file = File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    // SAFETY: the map is read-only and private to this process. A file
    // truncated by another process while mapped would fault (SIGBUS); that is
    // the documented limit of mapped reading, as with tcpdump's own readers.
    let m = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let _ = m.advise(memmap2::Advice::Sequential);
    Some(m)
}

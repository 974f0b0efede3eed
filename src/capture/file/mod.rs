//! Capture files: pcap (µs and ns) and pcapng (several interfaces and link
//! types), format detected from the magic number. Each file is read once, so
//! pipes and FIFOs work (`-` is standard input); memory stays bounded (input.rs).
//!
//! No panic is caught here: a panic while reading is a bug and must show
//! (the session reports it as one).

mod error;
mod input;
mod pcap;
mod pcapng;

pub use error::FileError;
pub use input::Input;

use super::Packet;
use rustnet_core::wire::LinkType;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

const PCAP_MAGICS: [[u8; 4]; 4] =
    [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Pcap,
    PcapNg,
}

/// An opened capture file whose format is known, not read yet.
pub struct CaptureFile {
    input: Input,
    /// None: stopped before the first byte came (reads as no packets).
    format: Option<Format>,
}

impl CaptureFile {
    /// Opens `path` (`-` for standard input) and reads its magic number.
    /// Waiting for a FIFO's writer or a pipe's first bytes ends when `stop`
    /// is set (then the file reads as empty).
    pub fn open(path: &Path, stop: Arc<AtomicBool>) -> Result<CaptureFile, FileError> {
        CaptureFile::new(Input::open(path, stop).map_err(FileError::Open)?)
    }

    /// Detects the format of `input` from its first four bytes.
    pub fn new(mut input: Input) -> Result<CaptureFile, FileError> {
        let head = input.peek(4).map_err(|e| FileError::Format(format!("cannot read the header: {e}")))?;
        let magic = head.get(..4).unwrap_or(head).to_vec();
        let format = match magic[..] {
            [] if input.stopped() => return Ok(CaptureFile { input, format: None }),
            [] => return Err(FileError::Format("empty input".into())),
            [a, b, c, d] if PCAP_MAGICS.contains(&[a, b, c, d]) => Format::Pcap,
            [a, b, c, d] if [a, b, c, d] == PCAPNG_MAGIC => Format::PcapNg,
            [a, b, c, d] => return Err(FileError::NotCapture([a, b, c, d])),
            _ => return Err(FileError::Format(format!("too short ({} bytes)", magic.len()))),
        };
        Ok(CaptureFile { input, format: Some(format) })
    }

    /// The link type the file declares first (pcap: its header; pcapng: the
    /// interface block after the section header), if it does.
    pub fn first_link(&mut self) -> Option<LinkType> {
        match self.format {
            Some(Format::Pcap) => pcap::first_link(&mut self.input),
            Some(Format::PcapNg) => pcapng::first_link(&mut self.input),
            None => None,
        }
    }

    /// Reads every packet, calling `f` for each until it returns false.
    /// Returns the packet count. A damaged file ends with
    /// `FileError::Corrupt` after its good packets have been handed out.
    pub fn read(self, mut f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
        self.read_into(&mut f)
    }

    /// [`read`](Self::read), and `sink.idle()` whenever a stream (pipe,
    /// FIFO, socket) has no more bytes for now, before the read waits.
    pub fn read_into(mut self, sink: &mut dyn Sink) -> Result<u64, FileError> {
        match self.format {
            Some(Format::Pcap) => pcap::read_pcap(&mut self.input, sink),
            Some(Format::PcapNg) => pcapng::read_pcapng(&mut self.input, sink),
            None => Ok(0),
        }
    }
}

/// Where a capture file's packets go.
pub trait Sink {
    /// One packet; false stops the read.
    fn packet(&mut self, p: &Packet<'_>) -> bool;
    /// The input has nothing more for now (a stream that pauses, as
    /// `tcpdump -w - | rustnet --read -` does between packets): what is
    /// held back for more packets should go on. Once per pause.
    fn idle(&mut self) {}
}

impl<F: FnMut(&Packet<'_>) -> bool> Sink for F {
    fn packet(&mut self, p: &Packet<'_>) -> bool {
        self(p)
    }
}

/// Reads every packet of `path`, calling `f` for each until it returns false.
/// Returns the packet count.
/// A damaged tail ends the file with `FileError::Corrupt` after the good packets.
pub fn read_file(path: &Path, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> Result<u64, FileError> {
    CaptureFile::open(path, Arc::default())?.read(f)
}

#[cfg(test)]
mod tests;

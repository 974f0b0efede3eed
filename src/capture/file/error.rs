//! Why reading a capture file stopped.

/// Why a capture file could not be read.
#[derive(Debug)]
pub enum FileError {
    Open(std::io::Error),
    /// Not a pcap or pcapng file: its first four bytes.
    NotCapture([u8; 4]),
    /// A pcap or pcapng file whose header is unusable (or no bytes at all).
    Format(String),
    /// The file is damaged after `packets` good packets, at byte `offset`
    /// (where the damaged record or block starts).
    Corrupt {
        packets: u64,
        offset: u64,
        reason: String,
    },
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Open(e) => write!(f, "cannot open capture file: {e}"),
            FileError::NotCapture(b) => write!(
                f,
                "not a pcap or pcapng file (it starts with {:02x} {:02x} {:02x} {:02x}, {:?})",
                b[0],
                b[1],
                b[2],
                b[3],
                String::from_utf8_lossy(b)
            ),
            FileError::Format(m) => write!(f, "not a capture file: {m}"),
            FileError::Corrupt { packets, offset, reason } => {
                write!(f, "capture file damaged: {reason} at byte {offset} after {packets} packets")
            }
        }
    }
}

impl std::error::Error for FileError {}

//! Why reading a capture file stopped.

/// Why a capture file could not be read.
#[derive(Debug)]
pub enum FileError {
    Open(std::io::Error),
    /// Not a pcap or pcapng file.
    Format(String),
    /// The file is damaged after `packets` good packets.
    Corrupt {
        packets: u64,
        reason: String,
    },
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Open(e) => write!(f, "cannot open capture file: {e}"),
            FileError::Format(m) => write!(f, "not a capture file: {m}"),
            FileError::Corrupt { packets, reason } => {
                write!(f, "capture file damaged after {packets} packets: {reason}")
            }
        }
    }
}

impl std::error::Error for FileError {}

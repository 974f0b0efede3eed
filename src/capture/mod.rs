//! Packet sources: capture files and live interfaces.

pub mod bpf;
pub mod export;
pub mod file;
pub mod live;
pub mod open;
mod pcap;
pub mod tap;

use rustnet_core::Timestamp;
use rustnet_core::wire::LinkType;

/// One captured frame, borrowed from the source's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub ts: Timestamp,
    pub data: &'a [u8],
    /// Length on the wire (may exceed `data.len()` when truncated by snaplen).
    pub wire_len: u32,
    pub link: LinkType,
}

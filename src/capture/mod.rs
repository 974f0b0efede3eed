//! Packet sources: capture files and live interfaces.

pub mod batch;
pub mod bpf;
pub mod export;
pub mod file;
pub mod fuzzing;
pub mod ipfix_listen;
pub mod live;
pub mod open;
#[cfg(any(feature = "pcap", not(target_os = "linux")))]
pub mod pcap_backend;
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

/// A live packet source: AF_PACKET (`live`) or libpcap (`pcap_backend`).
pub trait LiveSource: Send {
    /// Waits up to `timeout` for packets and calls `f` for each; returns how many.
    fn poll(&mut self, timeout: std::time::Duration, f: &mut dyn FnMut(&Packet<'_>)) -> std::io::Result<usize>;
    /// Kernel counters since open.
    fn stats(&mut self) -> live::KernelStats;
    /// The interface name as given ("any" included).
    fn interface(&self) -> &str;
}

impl LiveSource for live::LiveCapture {
    fn poll(&mut self, timeout: std::time::Duration, f: &mut dyn FnMut(&Packet<'_>)) -> std::io::Result<usize> {
        live::LiveCapture::poll(self, timeout, f)
    }
    fn stats(&mut self) -> live::KernelStats {
        live::LiveCapture::stats(self)
    }
    fn interface(&self) -> &str {
        live::LiveCapture::interface(self)
    }
}

//! What the pipeline publishes to the UI at each refresh.

use rustnet_core::track::Connection;
use rustnet_core::{Stats, Timestamp};

/// Capture-side counters (outside the core).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets the kernel dropped (ring full).
    pub kernel_drops: u64,
    /// Packets dropped between capture and workers (queues full).
    pub queue_drops: u64,
    /// Packets not in the `--pcap-export` file (its writer fell behind, or failed).
    pub export_drops: u64,
}

impl CaptureStats {
    /// Every packet lost anywhere between the wire and the output.
    pub fn total(&self) -> u64 {
        self.kernel_drops + self.queue_drops + self.export_drops
    }
}

/// One consistent view of all connections.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Packet time of the snapshot (latest timestamp seen).
    pub now: Timestamp,
    /// Connections currently in the table (all workers).
    pub connections: Vec<Connection>,
    /// Engine counters summed over workers.
    pub stats: Stats,
    pub capture: CaptureStats,
    /// Interface name, or the file being read.
    pub source: String,
    /// True once a `--read` file has been fully replayed.
    pub finished: bool,
}

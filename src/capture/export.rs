//! `--pcap-export FILE`: captured packets written to a pcapng file by a
//! dedicated thread, so disk speed never stalls the capture thread. Packets
//! travel in batches over a bounded channel; a batch that finds the channel
//! full is dropped and counted.

use super::Packet;
use super::batch::Batch;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use rustnet_core::wire::LinkType;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

/// A batch is sent when it holds this many packets or bytes (or on `flush`).
const BATCH_PACKETS: usize = 512;
const BATCH_BYTES: usize = 1 << 20;
/// Batches in flight: up to ~64 MiB buffered before packets are dropped.
const QUEUE: usize = 64;

/// What the export did, at the end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportStats {
    pub written: u64,
    /// Packets not written because the writer fell behind (or failed).
    pub dropped: u64,
    /// The write error that stopped the writer, if any.
    pub error: Option<String>,
}

/// The capture side of an export.
pub struct Exporter {
    tx: Option<Sender<Batch>>,
    batch: Batch,
    /// Written batches coming back for reuse.
    free: Receiver<Batch>,
    dropped: u64,
    /// Packets given to `push`: each one is either written or dropped.
    pushed: u64,
    /// Wait for the writer instead of dropping (capture files: no packet is lost by waiting).
    blocking: bool,
    writer: Option<JoinHandle<(u64, Option<String>)>>,
}

impl Exporter {
    /// Creates `path` (errors here, before capture starts) and starts the
    /// writer thread. `iface` names the interface blocks (live capture);
    /// `blocking` makes a full queue wait rather than drop (capture files).
    pub fn create(path: &Path, iface: Option<&str>, blocking: bool) -> std::io::Result<Exporter> {
        let file = File::create(path)?;
        let out = BufWriter::with_capacity(1 << 20, file);
        let writer = PcapNgWriter::new(out).map_err(std::io::Error::other)?;
        let (tx, rx) = bounded::<Batch>(QUEUE);
        let (free_tx, free_rx) = bounded::<Batch>(QUEUE);
        let name = iface.map(str::to_string);
        let writer = std::thread::Builder::new().name("pcap-export".into()).spawn(move || {
            let mut w = Writer { out: writer, ifaces: HashMap::new(), name, written: 0 };
            let mut error = None;
            for mut batch in rx {
                if let Err(e) = w.write(&batch) {
                    error = Some(e);
                    break;
                }
                batch.clear();
                let _ = free_tx.try_send(batch);
            }
            // Dropping the receiver makes later sends fail: counted as drops.
            if error.is_none()
                && let Err(e) = w.finish()
            {
                error = Some(e);
            }
            (w.written, error)
        })?;
        Ok(Exporter {
            tx: Some(tx),
            batch: Batch::default(),
            free: free_rx,
            dropped: 0,
            pushed: 0,
            blocking,
            writer: Some(writer),
        })
    }

    /// Queues one packet (copied).
    pub fn push(&mut self, p: &Packet<'_>) {
        self.pushed += 1;
        self.batch.push(p);
        if self.batch.len() >= BATCH_PACKETS || self.batch.bytes() >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Hands the pending batch to the writer without waiting.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        let Some(tx) = &self.tx else { return };
        let sent = if self.blocking {
            tx.send(batch).map_err(|e| TrySendError::Disconnected(e.0))
        } else {
            tx.try_send(batch)
        };
        match sent {
            // Reuse a written batch's allocation when one has come back.
            Ok(()) => self.batch = self.free.try_recv().unwrap_or_default(),
            Err(TrySendError::Full(mut b) | TrySendError::Disconnected(mut b)) => {
                self.dropped += b.len() as u64;
                // Reuse the allocation for the next batch.
                b.clear();
                self.batch = b;
            }
        }
    }

    /// Sends what is pending (waiting for room: no more capture to slow
    /// down), closes the file and reports.
    pub fn finish(mut self) -> ExportStats {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> ExportStats {
        let batch = std::mem::take(&mut self.batch);
        if let Some(tx) = self.tx.take()
            && !batch.is_empty()
        {
            let n = batch.len() as u64;
            if tx.send_timeout(batch, Duration::from_secs(10)).is_err() {
                self.dropped += n;
            }
        }
        let (written, error) = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => (0, Some("export writer panicked".into())),
            None => (0, None),
        };
        // Packets queued to a writer that then failed were never written
        // either: all that was not written is lost.
        let dropped = self.dropped.max(self.pushed.saturating_sub(written));
        ExportStats { written, dropped, error }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.finish_inner();
        }
    }
}

struct Writer {
    out: PcapNgWriter<BufWriter<File>>,
    /// LINKTYPE number -> interface id.
    ifaces: HashMap<u32, u32>,
    name: Option<String>,
    written: u64,
}

impl Writer {
    fn write(&mut self, b: &Batch) -> Result<(), String> {
        for p in b.iter() {
            let id = self.interface(p.link)?;
            let epb = EnhancedPacketBlock {
                interface_id: id,
                // Nanoseconds, as declared by if_tsresol=9 below.
                timestamp: Duration::from_nanos(p.ts.as_nanos()),
                original_len: p.wire_len.max(p.data.len() as u32),
                data: Cow::Borrowed(p.data),
                options: Vec::new(),
            };
            self.out.write_pcapng_block(epb).map_err(|e| format!("writing the export: {e}"))?;
            self.written += 1;
        }
        Ok(())
    }

    /// The interface id for a link type, declaring it on first use.
    fn interface(&mut self, link: LinkType) -> Result<u32, String> {
        let n = link.number();
        if let Some(&id) = self.ifaces.get(&n) {
            return Ok(id);
        }
        let id = self.ifaces.len() as u32;
        let mut options = vec![InterfaceDescriptionOption::IfTsResol(9)];
        if let Some(name) = &self.name {
            options.push(InterfaceDescriptionOption::IfName(Cow::Owned(name.clone())));
        }
        let idb = InterfaceDescriptionBlock { linktype: DataLink::from(n), snaplen: 0, options };
        self.out.write_pcapng_block(idb).map_err(|e| format!("writing the export: {e}"))?;
        self.ifaces.insert(n, id);
        Ok(id)
    }

    fn finish(&mut self) -> Result<(), String> {
        use std::io::Write;
        self.out.get_mut().flush().map_err(|e| format!("writing the export: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::read_file;
    use rustnet_core::Timestamp;

    #[test]
    fn round_trip_through_the_reader() {
        let dir = std::env::temp_dir().join(format!("rustnet-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("x.pcapng");
        let mut e = Exporter::create(&path, Some("eth9"), false).expect("create");
        let frames: Vec<Vec<u8>> = (0..1500u32).map(|i| vec![(i % 251) as u8; 60 + (i % 40) as usize]).collect();
        for (i, f) in frames.iter().enumerate() {
            let link = if i % 3 == 0 { LinkType::LinuxSll } else { LinkType::Ethernet };
            let ts = Timestamp::from_secs_nanos(1_700_000_000 + i as u64, 123_456_789);
            e.push(&Packet { ts, data: f, wire_len: f.len() as u32 + 4, link });
        }
        let st = e.finish();
        assert_eq!(st, ExportStats { written: 1500, dropped: 0, error: None });
        let mut got = Vec::new();
        let n = read_file(&path, &mut |p| {
            got.push((p.ts, p.data.to_vec(), p.wire_len, p.link));
            true
        })
        .expect("reads back");
        assert_eq!(n, 1500);
        for (i, (ts, data, wire, link)) in got.iter().enumerate() {
            assert_eq!(*ts, Timestamp::from_secs_nanos(1_700_000_000 + i as u64, 123_456_789));
            assert_eq!(data, &frames[i]);
            assert_eq!(*wire, frames[i].len() as u32 + 4);
            assert_eq!(*link, if i % 3 == 0 { LinkType::LinuxSll } else { LinkType::Ethernet });
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Reading a file waits for the writer, so every packet is queued; when
    /// the writer fails, those it had queued are lost too, and counted.
    #[test]
    fn packets_queued_to_a_writer_that_failed_are_counted_as_dropped() {
        let mut e = Exporter::create(Path::new("/dev/full"), None, true).expect("open /dev/full");
        let frame = [7u8; 1000];
        for _ in 0..2000 {
            e.push(&Packet { ts: Timestamp::ZERO, data: &frame, wire_len: 1000, link: LinkType::Ethernet });
        }
        let st = e.finish();
        assert!(st.error.is_some(), "{st:?}");
        assert!(st.dropped > 0 && st.written + st.dropped == 2000, "{st:?}");
    }

    #[test]
    fn a_failing_writer_is_reported_and_later_packets_counted_as_dropped() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let mut e = Exporter::create(Path::new("/dev/full"), None, false).expect("open /dev/full");
        let frame = [7u8; 1000];
        // Push on, as a live capture would, until packets are refused: a
        // fixed count could all be queued before a busy machine runs the
        // writer. The deadline only bounds a broken exporter.
        let (mut pushed, deadline) = (0u64, std::time::Instant::now() + Duration::from_secs(30));
        while (pushed < 5000 || e.dropped == 0) && std::time::Instant::now() < deadline {
            e.push(&Packet { ts: Timestamp::ZERO, data: &frame, wire_len: 1000, link: LinkType::Ethernet });
            pushed += 1;
            // Give the writer time to hit the error, as a live capture would.
            std::thread::yield_now();
        }
        let st = e.finish();
        assert!(st.error.as_deref().is_some_and(|m| m.contains("writing the export")), "{st:?}");
        assert!(st.dropped > 0, "{st:?}");
        // Everything is accounted for: at most what fit in the buffer counted as written.
        assert!(st.written + st.dropped == pushed && st.written < 1100, "{st:?}");
    }

    #[test]
    fn unwritable_path_fails_up_front() {
        assert!(Exporter::create(Path::new("/nonexistent-dir/x.pcapng"), None, true).is_err());
    }
}

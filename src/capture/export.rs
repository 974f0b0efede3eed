//! `--pcap-export FILE`: captured packets written to a pcapng file by a
//! dedicated thread, so disk speed never stalls the capture thread. Packets
//! travel in batches over a bounded channel; a batch that finds the channel
//! full is dropped and counted. A batch that is not full is taken by the
//! writer itself after [`FLUSH_EVERY`] without a full one, so a packet
//! reaches the file within about a second however the capture goes on
//! (slow traffic, a silent `--read -` pipe) and a kill loses at most that.

use super::Packet;
use super::batch::Batch;
use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError, bounded};
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use rustnet_core::wire::LinkType;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// A batch is sent when it holds this many packets or bytes (or on `flush`).
const BATCH_PACKETS: usize = 512;
const BATCH_BYTES: usize = 1 << 20;
/// Batches in flight: up to ~64 MiB buffered before packets are dropped.
const QUEUE: usize = 64;
/// How long the writer waits for a full batch before it takes the pending
/// one: packets are on disk at most about this long after they were captured.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// What the export did, at the end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportStats {
    /// Packets handed to the export.
    pub pushed: u64,
    /// Packets whose bytes reached the file (counted from what write()
    /// accepted, so a failed write does not count what it lost).
    pub written: u64,
    /// Packets dropped because the queue was full: the writer fell behind.
    pub dropped: u64,
    /// Why the writer stopped (e.g. "no space left on device"); every packet
    /// pushed and not written is then lost.
    pub error: Option<String>,
}

impl ExportStats {
    /// Packets that are not in the file.
    pub fn not_written(&self) -> u64 {
        self.pushed.saturating_sub(self.written)
    }
}

/// Where the end-of-export stats land, for whoever reports on the session
/// (set once, when the export is finished).
pub type ExportOutcome = Arc<OnceLock<ExportStats>>;

/// The capture side of an export.
pub struct Exporter {
    tx: Option<Sender<Batch>>,
    /// The batch being filled; shared so the writer can take it when no full
    /// batch has come for [`FLUSH_EVERY`] (uncontended otherwise).
    batch: Arc<Mutex<Batch>>,
    /// Written batches coming back for reuse.
    free: Receiver<Batch>,
    pushed: u64,
    dropped: u64,
    /// Wait for the writer instead of dropping (capture files: no packet is lost by waiting).
    blocking: bool,
    writer: Option<JoinHandle<(u64, Option<std::io::Error>)>>,
    outcome: ExportOutcome,
}

impl Exporter {
    /// Creates `path` (errors here, before capture starts) and starts the
    /// writer thread. `iface` names the interface blocks (live capture);
    /// `blocking` makes a full queue wait rather than drop (capture files).
    pub fn create(path: &Path, iface: Option<&str>, blocking: bool) -> std::io::Result<Exporter> {
        let mut w = Writer::create(path, iface)?;
        let (tx, rx) = bounded::<Batch>(QUEUE);
        let (free_tx, free_rx) = bounded::<Batch>(QUEUE);
        let batch = Arc::new(Mutex::new(Batch::default()));
        let pending = batch.clone();
        let writer = std::thread::Builder::new().name("pcap-export".into()).spawn(move || {
            // The section header block, before any packet.
            if let Err(e) = w.write_out() {
                return (0, Some(e));
            }
            loop {
                let mut batch = match rx.recv_timeout(FLUSH_EVERY) {
                    Ok(batch) => batch,
                    Err(RecvTimeoutError::Timeout) => match take_pending(&pending, &rx) {
                        Some(batch) => batch,
                        None => continue,
                    },
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                if let Err(e) = w.write(&batch) {
                    // Dropping the receiver makes later sends fail: counted as not written.
                    return (w.written, Some(e));
                }
                batch.clear();
                let _ = free_tx.try_send(batch);
            }
            (w.written, None)
        })?;
        Ok(Exporter {
            tx: Some(tx),
            batch,
            free: free_rx,
            pushed: 0,
            dropped: 0,
            blocking,
            writer: Some(writer),
            outcome: ExportOutcome::default(),
        })
    }

    /// Where the stats appear once the export is finished.
    pub fn outcome(&self) -> ExportOutcome {
        self.outcome.clone()
    }

    /// Queues one packet (copied).
    pub fn push(&mut self, p: &Packet<'_>) {
        self.pushed += 1;
        let full = {
            let mut batch = lock(&self.batch);
            batch.push(p);
            batch.len() >= BATCH_PACKETS || batch.bytes() >= BATCH_BYTES
        };
        if full {
            self.flush();
        }
    }

    /// Hands the pending batch to the writer without waiting.
    pub fn flush(&mut self) {
        let mut pending = lock(&self.batch);
        if pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut *pending);
        // Sent without the lock: a blocking send waits for the writer, which
        // may be waiting for the lock. Nothing is added meanwhile (this
        // thread is the only one that adds).
        drop(pending);
        let Some(tx) = &self.tx else { return };
        let sent = if self.blocking {
            tx.send(batch).map_err(|e| TrySendError::Disconnected(e.0))
        } else {
            tx.try_send(batch)
        };
        match sent {
            // Reuse a written batch's allocation when one has come back.
            Ok(()) => *lock(&self.batch) = self.free.try_recv().unwrap_or_default(),
            Err(e) => {
                if let TrySendError::Full(b) = &e {
                    self.dropped += b.len() as u64;
                }
                // Disconnected: the writer failed; its error accounts for these.
                let mut b = e.into_inner();
                // Reuse the allocation for the next batch.
                b.clear();
                *lock(&self.batch) = b;
            }
        }
    }

    /// Sends what is pending (waiting for room: no more capture to slow
    /// down), closes the file and reports.
    pub fn finish(mut self) -> ExportStats {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> ExportStats {
        let batch = std::mem::take(&mut *lock(&self.batch));
        if let Some(tx) = self.tx.take()
            && !batch.is_empty()
        {
            let n = batch.len() as u64;
            if let Err(SendTimeoutError::Timeout(_)) = tx.send_timeout(batch, Duration::from_secs(10)) {
                self.dropped += n;
            }
        }
        let (written, error) = match self.writer.take().map(JoinHandle::join) {
            Some(Ok((n, e))) => (n, e.map(|e| io_reason(&e))),
            Some(Err(_)) => (0, Some("the export writer panicked".into())),
            None => (0, None),
        };
        let st = ExportStats { pushed: self.pushed, written, dropped: self.dropped, error };
        let _ = self.outcome.set(st.clone());
        st
    }
}

/// The batch being filled, also when a panic poisoned the lock (a batch is
/// valid after any push: packets are appended whole).
fn lock(batch: &Mutex<Batch>) -> MutexGuard<'_, Batch> {
    batch.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The writer's side of the timed flush: the pending batch, if any, when no
/// full batch waits in `rx`. In that order the file keeps capture order: the
/// capture thread adds to the pending batch only after its previous batch was
/// sent, so an empty queue means this thread has already written that one.
fn take_pending(pending: &Mutex<Batch>, rx: &Receiver<Batch>) -> Option<Batch> {
    let mut batch = lock(pending);
    (rx.is_empty() && !batch.is_empty()).then(|| std::mem::take(&mut *batch))
}

/// An I/O error as a short reason: "no space left on device", without the
/// "(os error 28)" that std appends.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => &text[..i],
        _ => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => format!("{:?}", e.kind()),
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.finish_inner();
        }
    }
}

/// A pcapng file being written: blocks are built in memory, then written
/// with plain write() calls, so the bytes the file accepted tell exactly
/// which packets made it. Also used by `--pcapng-export`.
pub struct Writer {
    /// Serialises blocks into its Vec, drained to `file` after each batch.
    out: PcapNgWriter<Vec<u8>>,
    file: File,
    /// LINKTYPE number -> interface id.
    ifaces: HashMap<u32, u32>,
    name: Option<String>,
    /// Packets whose bytes the file accepted.
    written: u64,
    /// Bytes in the file, all of them whole blocks.
    file_len: u64,
    /// End offset in `out`'s buffer of each packet of the batch being written.
    ends: Vec<usize>,
}

impl Writer {
    /// Creates `path`; `iface` names the interface blocks. The section
    /// header is buffered: [`write_out`](Self::write_out) writes it.
    pub fn create(path: &Path, iface: Option<&str>) -> std::io::Result<Writer> {
        let file = File::create(path)?;
        let out = PcapNgWriter::new(Vec::with_capacity(BATCH_BYTES + (64 << 10))).map_err(std::io::Error::other)?;
        let name = iface.map(str::to_string);
        Ok(Writer { out, file, ifaces: HashMap::new(), name, written: 0, file_len: 0, ends: Vec::new() })
    }

    fn write(&mut self, b: &Batch) -> std::io::Result<()> {
        self.ends.clear();
        for p in b.iter() {
            self.buffer(&p, None)?;
        }
        self.write_out()
    }

    /// Buffers one packet, with a pcapng comment (opt_comment) if given.
    pub fn buffer(&mut self, p: &Packet<'_>, comment: Option<String>) -> std::io::Result<()> {
        let id = self.interface(p.link)?;
        let epb = EnhancedPacketBlock {
            interface_id: id,
            // Nanoseconds, as declared by if_tsresol=9 below.
            timestamp: Duration::from_nanos(p.ts.as_nanos()),
            original_len: p.wire_len.max(p.data.len() as u32),
            data: Cow::Borrowed(p.data),
            options: comment.map(|c| vec![EnhancedPacketOption::Comment(Cow::Owned(c))]).unwrap_or_default(),
        };
        self.out.write_pcapng_block(epb).map_err(std::io::Error::other)?;
        self.ends.push(self.out.get_ref().len());
        Ok(())
    }

    /// Packets whose bytes the file accepted.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes the buffered blocks to the file; counts the packets that made
    /// it whole, also when a write fails part way.
    pub fn write_out(&mut self) -> std::io::Result<()> {
        use std::io::Write;
        let mut done = 0;
        let result = loop {
            let buf = self.out.get_ref();
            if done == buf.len() {
                break Ok(());
            }
            match self.file.write(&buf[done..]) {
                Ok(0) => break Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let whole = self.ends.iter().filter(|&&end| end <= done).count();
        self.written += whole as u64;
        if result.is_ok() {
            self.file_len += done as u64;
        } else {
            // Cut a partly written block off, so the file ends after its last
            // whole packet and reads cleanly (best effort: a device cannot be
            // truncated, and on a full disk this frees space).
            let keep = whole.checked_sub(1).map_or(0, |i| self.ends[i]);
            let _ = self.file.set_len(self.file_len + keep as u64);
        }
        self.ends.clear();
        self.out.get_mut().clear();
        result
    }

    /// The interface id for a link type, declaring it on first use.
    fn interface(&mut self, link: LinkType) -> std::io::Result<u32> {
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
        self.out.write_pcapng_block(idb).map_err(std::io::Error::other)?;
        self.ifaces.insert(n, id);
        Ok(id)
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
        assert_eq!(st, ExportStats { pushed: 1500, written: 1500, dropped: 0, error: None });
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

    #[test]
    fn a_full_disk_is_reported_as_such_with_every_lost_packet_counted() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let mut e = Exporter::create(Path::new("/dev/full"), None, true).expect("open /dev/full");
        let outcome = e.outcome();
        let frame = [7u8; 1000];
        for _ in 0..5000 {
            e.push(&Packet { ts: Timestamp::ZERO, data: &frame, wire_len: 1000, link: LinkType::Ethernet });
        }
        let st = e.finish();
        assert_eq!(st.error.as_deref(), Some("no space left on device"), "{st:?}");
        // Not "fell behind": the writer failed, and nothing reached the file.
        assert_eq!((st.pushed, st.written, st.dropped, st.not_written()), (5000, 0, 0, 5000), "{st:?}");
        assert_eq!(outcome.get(), Some(&st));
    }

    #[test]
    fn io_reasons_read_like_the_rest_of_the_messages() {
        assert_eq!(io_reason(&std::io::Error::from_raw_os_error(libc::ENOSPC)), "no space left on device");
        assert_eq!(io_reason(&std::io::Error::other("Odd")), "odd");
    }

    #[test]
    fn unwritable_path_fails_up_front() {
        assert!(Exporter::create(Path::new("/nonexistent-dir/x.pcapng"), None, true).is_err());
    }
}

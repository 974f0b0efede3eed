//! What happens to each packet between the source and the dispatcher: the
//! user-space BPF filter (capture files, or filters the kernel cannot run) and
//! the pcapng export.

use super::Packet;
use super::bpf::UserFilter;
use super::export::Exporter;

/// Filter and export on the capture thread; the default does nothing.
#[derive(Default)]
pub struct Tap {
    pub filter: Option<UserFilter>,
    pub export: Option<Exporter>,
}

impl Tap {
    /// Whether the packet goes on to the dispatcher (exported if so).
    #[inline]
    pub fn pass(&mut self, p: &Packet<'_>) -> bool {
        if let Some(f) = &mut self.filter
            && !f.matches(p)
        {
            return false;
        }
        if let Some(e) = &mut self.export {
            e.push(p);
        }
        true
    }

    /// Hands pending exported packets to the writer (call when idle).
    pub fn flush(&mut self) {
        if let Some(e) = &mut self.export {
            e.flush();
        }
    }

    /// Closes the export and logs what happened; returns how many packets
    /// are not in the export file (dropped while its writer fell behind, or
    /// not written after it failed), for the session's drop report. A failed
    /// export is also reported with its cause by the session, after the
    /// screen is restored, through
    /// [`Exporter::outcome`](super::export::Exporter::outcome), and ends the
    /// run with status 1.
    pub fn finish(self) -> u64 {
        if let Some(f) = &self.filter {
            log::info!("BPF filter rejected {} packets", f.rejected);
        }
        let Some(e) = self.export else { return 0 };
        let st = e.finish();
        log::info!("pcap export: {st:?}");
        st.not_written()
    }
}

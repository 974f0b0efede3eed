//! Entry points for the fuzz targets of this crate's parsers of untrusted
//! input (`fuzz/fuzz_targets/capture_file.rs`, `bpf.rs`), also replayed over
//! the committed seeds by `tests/fuzz_corpus_capture.rs` so CI runs them
//! without nightly. Each must return normally for any input.

use super::bpf;
use super::file::{CaptureFile, Input};
use crate::sys::socket::Insn;

/// A capture file (pcap or pcapng, any damage): read to its end or first
/// error, touching every packet's bytes.
pub fn capture_file(data: &[u8]) {
    let Ok(mut file) = CaptureFile::new(Input::from_bytes(data.to_vec())) else { return };
    let _ = file.first_link();
    let mut sum = 0u64;
    let _ = file.read(&mut |p| {
        sum = sum.wrapping_add(p.data.iter().map(|&b| u64::from(b)).sum::<u64>()).wrapping_add(u64::from(p.wire_len));
        true
    });
    std::hint::black_box(sum);
}

/// A classic BPF program and a frame: the first byte says how many 8-byte
/// instructions follow (code, jt, jf, k as the kernel lays them out); the
/// rest is the frame. The program is run as given and as rewritten for a
/// cooked socket.
pub fn bpf(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else { return };
    let len = (usize::from(n) * 8).min(rest.len() - rest.len() % 8);
    let (code, pkt) = rest.split_at(len);
    let prog: Vec<Insn> = code
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    let wire = u32::try_from(pkt.len()).unwrap_or(u32::MAX);
    std::hint::black_box(bpf::run(&prog, pkt, wire));
    if let Some(cooked) = bpf::for_cooked_socket(&prog) {
        std::hint::black_box(bpf::run(&cooked, pkt, wire.wrapping_add(16)));
    }
}

/// A capture file through the whole engine (link layers, tunnels, fragments,
/// tracking, analytics, DPI), as `--read` with one worker does; the number
/// of connections it ended with. For the robustness sweep over damaged
/// captures (`tests/robustness_sweep.rs`).
pub fn capture_through_engine(data: &[u8]) -> usize {
    use rustnet_core::{Config, Engine};
    let Ok(file) = CaptureFile::new(Input::from_bytes(data.to_vec())) else { return 0 };
    let mut engine = Engine::new(Config::default());
    let _ = file.read(&mut |p| {
        engine.process(p.link, p.ts, p.data, p.wire_len);
        true
    });
    engine.finish_all();
    let mut out = Vec::new();
    engine.take_finished(&mut out);
    out.len()
}

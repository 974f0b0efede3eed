//! Replays the committed seeds of the capture-file and BPF fuzz targets
//! (fuzz/corpus/capture_file, fuzz/corpus/bpf) through the entry points the
//! targets use, with truncated and bit-flipped variants, so CI covers them
//! without nightly. Any outcome but a panic (or a hang) is fine.

use rustnet::capture::fuzzing;
use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut n = 0;
    for e in entries.flatten() {
        let data = std::fs::read(e.path()).expect("corpus file readable");
        f(&data);
        // Prefixes: truncation is the commonest damage.
        for cut in (0..data.len()).step_by(data.len() / 32 + 1) {
            f(&data[..cut]);
        }
        // One byte changed at a time, at spread positions.
        for at in (0..data.len()).step_by(data.len() / 64 + 1) {
            let mut d = data.clone();
            d[at] ^= 0xff;
            f(&d);
        }
        n += 1;
    }
    assert!(n > 0, "empty fuzz corpus for {target}");
    n
}

#[test]
fn capture_file_corpus() {
    assert!(replay("capture_file", fuzzing::capture_file) >= 10);
}

#[test]
fn bpf_corpus() {
    assert!(replay("bpf", fuzzing::bpf) >= 6);
}

//! Replays the committed fuzz corpus (fuzz/corpus/<target>/) through the same
//! entry points the fuzz targets use, so CI covers it without nightly.

use rustnet_core::dpi::fuzzing;
use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut n = 0;
    for e in entries.flatten() {
        let data = std::fs::read(e.path()).expect("corpus file readable");
        f(&data);
        // About 16 prefixes too: truncated input is the commonest malformation.
        for cut in (0..data.len()).step_by(data.len() / 16 + 1) {
            f(&data[..cut]);
        }
        n += 1;
    }
    assert!(n > 0, "empty fuzz corpus for {target}");
}

#[test]
fn http_corpus() {
    replay("http", fuzzing::http);
}

#[test]
fn tls_corpus() {
    replay("tls", fuzzing::tls);
}

#[test]
fn dns_corpus() {
    replay("dns", fuzzing::dns);
}

#[test]
fn ssh_corpus() {
    replay("ssh", fuzzing::ssh);
}

#[test]
fn packet_corpus() {
    replay("packet", fuzzing::packets);
}

#[test]
fn quic_corpus() {
    replay("quic", fuzzing::quic);
}

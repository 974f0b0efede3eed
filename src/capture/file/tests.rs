use super::*;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Reads `bytes` to the end: (packets handed out, the error if any).
fn read_bytes(bytes: &[u8]) -> (u64, Option<FileError>) {
    let mut seen = 0;
    let r = CaptureFile::new(Input::from_bytes(bytes.to_vec())).and_then(|f| {
        f.read(&mut |_| {
            seen += 1;
            true
        })
    });
    match r {
        Ok(n) => {
            assert_eq!(n, seen);
            (n, None)
        }
        Err(e) => (seen, Some(e)),
    }
}

/// A pcapng copy of a pcap fixture, written by the export.
fn as_pcapng(name: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("rustnet-file-tests-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("x.pcapng");
    let mut e = crate::capture::export::Exporter::create(&out, None, true).expect("create");
    read_file(&fixture(name), &mut |p| {
        e.push(p);
        true
    })
    .expect("fixture reads");
    assert!(e.finish().error.is_none());
    let bytes = std::fs::read(&out).expect("read back");
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

#[test]
fn a_panic_while_reading_is_not_caught() {
    // Before, any panic became "damaged after 0 packets" (exit 0).
    let r = std::panic::catch_unwind(|| read_file(&fixture("ping.pcap"), &mut |_| panic!("a bug")));
    assert!(r.is_err(), "the panic reaches the caller: {:?}", r.ok());
}

#[test]
fn every_truncation_is_a_clear_error_after_the_good_packets() {
    for bytes in [std::fs::read(fixture("http_curl.pcap")).expect("fixture"), as_pcapng("http_curl.pcap")] {
        let (all, err) = read_bytes(&bytes);
        assert!(err.is_none() && all > 5, "{err:?}");
        let mut last = 0;
        for cut in 0..=bytes.len() {
            let (n, err) = read_bytes(&bytes[..cut]);
            assert!(n >= last && n <= all, "cut {cut}: {n} packets");
            last = n;
            match err {
                // A cut between records reads as a shorter file.
                None => {}
                Some(FileError::Corrupt { packets, offset, reason }) => {
                    assert_eq!(packets, n, "cut {cut}");
                    assert!(offset < cut as u64, "cut {cut}: offset {offset}");
                    assert!(reason.contains("truncated"), "cut {cut}: {reason}");
                }
                Some(FileError::Format(m)) => assert!(n == 0 && cut < 200, "cut {cut}: {m}"),
                Some(e) => panic!("cut {cut}: {e}"),
            }
        }
        assert_eq!(last, all);
    }
}

#[test]
fn damaged_bytes_never_panic_and_say_where() {
    // Deterministic mutations (xorshift): any outcome but a panic is fine,
    // and a damaged file says the offset of a block inside the file.
    for bytes in [std::fs::read(fixture("dns_tcp.pcap")).expect("fixture"), as_pcapng("dns_tcp.pcap")] {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % b.len();
                b[at] = next() as u8;
            }
            if let (_, Some(FileError::Corrupt { offset, reason, .. })) = read_bytes(&b) {
                assert!(offset < b.len() as u64, "{offset}: {reason}");
                assert!(!reason.contains("Error reading bytes") && !reason.contains("UTF8 error"), "{reason}");
            }
        }
    }
}

#[test]
fn messages_say_what_and_where() {
    let e = FileError::Corrupt { packets: 1203, offset: 81920, reason: "truncated record (9 of 60 bytes)".into() };
    assert_eq!(
        e.to_string(),
        "capture file damaged: truncated record (9 of 60 bytes) at byte 81920 after 1203 packets"
    );
}

/// Issue 19 item 4: pcapng damage tshark reads through. The files are a real
/// capture (`editcap -F pcapng` of dns_udp.pcap, two packet comments added
/// with `editcap -a`) damaged by scripts/damage_pcapng.py; tshark 4.0.17
/// shows 12 packets for each (`tshark -r F | wc -l`, printed by the script).
#[test]
fn pcapng_damage_tshark_reads_is_read_to_the_end() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pcapng_damage");
    for (name, tshark) in [
        ("commented.pcapng", 12),
        ("shb_no_endofopt.pcapng", 12),
        ("epb_no_endofopt.pcapng", 12),
        ("comment_not_utf8.pcapng", 12),
        ("all_three.pcapng", 12),
    ] {
        let bytes = std::fs::read(dir.join(name)).expect("fixture");
        let (n, err) = read_bytes(&bytes);
        assert!(err.is_none(), "{name}: {err:?}");
        assert_eq!(n, tshark, "{name}");
    }
}

#[test]
fn pcapng_options_are_read_leniently() {
    let o = super::pcapng::tests_order();
    // if_tsresol (9) after a comment, with and without the end of options.
    let opts = [1u8, 0, 3, 0, b'a', b'b', b'c', 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(o.option(&opts, 9), Some(&[9u8][..]));
    assert_eq!(o.option(&opts[..16], 9), Some(&[9u8][..]));
    // Cut inside the option or its header: not found, no panic.
    for cut in 0..12 {
        assert_eq!(o.option(&opts[..cut], 9), None, "cut {cut}");
    }
    // A length past the end.
    assert_eq!(o.option(&[9, 0, 0xff, 0xff, 1], 9), None);
}

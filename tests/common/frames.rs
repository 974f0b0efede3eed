//! Capture bytes made in the test (a pcap header and TCP SYN records),
//! and rustnet reading them from a pipe.

use etherparse::PacketBuilder;

/// A pcap global header (Ethernet, microseconds).
pub fn pcap_header() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65_535u32.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    v
}

/// One Ethernet/IPv4/TCP SYN from 10.7.x.y:sport to 10.9.0.1:80 at `secs`.
pub fn syn(out: &mut Vec<u8>, secs: u32, i: u32) {
    let src = [10, 7, (i >> 8) as u8, i as u8];
    let sport = 1024 + (i >> 16) as u16;
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, [10, 9, 0, 1], 64)
        .tcp(sport, 80, i, 64_240)
        .syn();
    let mut f = Vec::with_capacity(54);
    // Writing into a Vec cannot fail.
    b.write(&mut f, &[]).expect("vec write");
    out.extend_from_slice(&secs.to_le_bytes());
    out.extend_from_slice(&(i % 1_000_000).to_le_bytes());
    out.extend_from_slice(&(f.len() as u32).to_le_bytes());
    out.extend_from_slice(&(f.len() as u32).to_le_bytes());
    out.extend_from_slice(&f);
}

/// `rustnet --read - --json --workers 2`, with standard input and output
/// piped (stderr dropped): the child, its stdin and its stdout.
pub fn spawn_reading_stdin() -> (std::process::Child, std::process::ChildStdin, std::process::ChildStdout) {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_rustnet"))
        .args(["--read", "-", "--json", "--workers", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rustnet");
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    (child, stdin, stdout)
}

//! Frames in encapsulations we cannot open are counted and named in one
//! end-of-run warning (issue 19), and an impossible original length in a
//! record header counts as the captured length.

mod common;

use common::*;

/// A classic pcap of LINKTYPE_PPP frames, each with its own original length.
fn ppp_pcap(path: &std::path::Path, frames: &[(&[u8], u32)]) {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 9] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out[4..8].copy_from_slice(&[2, 0, 4, 0]);
    for (i, (f, orig)) in frames.iter().enumerate() {
        for v in [1_700_000_000u32, i as u32, f.len() as u32, *orig] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).expect("write pcap");
}

fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut ip = vec![0x45, 0, 0, 20 + payload.len() as u8, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    ip.extend_from_slice(payload);
    ip
}

#[test]
fn undecoded_tunnels_are_named_and_impossible_lengths_capped() {
    let dir = std::env::temp_dir().join(format!("rustnet-undecoded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ppp.pcap");
    // VJ-compressed TCP/IP (PPP 0x2d); GRE with an unknown protocol type in
    // PFC-framed IPv4; a UDP datagram (PFC) whose header claims 4 GB.
    let vj = [0xff, 0x03, 0x2d, 0x20, 1, 2, 3];
    let mut gre = vec![0x21];
    gre.extend_from_slice(&ipv4(47, &[0, 0, 0x12, 0x34, 1, 2, 3, 4]));
    let mut udp = vec![0xff, 0x03, 0x21];
    udp.extend_from_slice(&ipv4(17, &[0x9c, 0x40, 0x9c, 0x41, 0, 12, 0, 0, 1, 2, 3, 4]));
    ppp_pcap(&path, &[(&vj, vj.len() as u32), (&gre, gre.len() as u32), (&udp, u32::MAX)]);
    let run = run_json(&path, &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(run.stderr.contains("warning: 2 packets in encapsulations not decoded (PPP, GRE)"), "{}", run.stderr);
    let flows: Vec<_> = run.records.iter().filter(|r| r["proto"] == "udp").collect();
    assert_eq!(flows.len(), 1, "{:#?}", run.records);
    assert_eq!(flows[0]["tx_bytes"].as_u64(), Some(udp.len() as u64), "{}", flows[0]);
}

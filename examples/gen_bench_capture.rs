//! Writes a large benchmark capture by replaying real template captures many
//! times over, each copy on its own addresses (IPv4 low 16 bits shifted) and
//! interleaved in time, so the file has many concurrent flows of real traffic.
//!
//! cargo run --release --example gen_bench_capture -- OUT.pcap PACKETS TEMPLATE.pcap...
//! cargo run --release --example gen_bench_capture -- --syn-flood OUT.pcap PACKETS

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use rustnet::capture::file::read_file;
use rustnet_core::wire::LinkType;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Duration;

struct Template {
    packets: Vec<(u64, Vec<u8>, u32)>, // (ns since template start, frame, wire len)
}

fn load(path: &Path) -> Template {
    let mut packets = Vec::new();
    let mut t0 = None;
    let r = read_file(path, &mut |p| {
        // Ethernet + IPv4 only: the rewrite below knows where the addresses are.
        if p.link == LinkType::Ethernet && p.data.len() >= 34 && p.data[12..14] == [0x08, 0x00] {
            let start = *t0.get_or_insert(p.ts.as_nanos());
            packets.push((p.ts.as_nanos().saturating_sub(start), p.data.to_vec(), p.wire_len));
        }
        true
    });
    if let Err(e) = r {
        eprintln!("{}: {e}", path.display());
    }
    Template { packets }
}

fn shift_addr(frame: &mut [u8], at: usize, k: u16) {
    let v = u16::from_be_bytes([frame[at + 2], frame[at + 3]]).wrapping_add(k);
    frame[at + 2..at + 4].copy_from_slice(&v.to_be_bytes());
    frame[at + 1] = frame[at + 1].wrapping_add((k >> 12) as u8);
}

fn writer(out: &str) -> PcapWriter<BufWriter<File>> {
    let f = BufWriter::with_capacity(1 << 20, File::create(out).expect("create output"));
    let hdr = PcapHeader { datalink: DataLink::ETHERNET, snaplen: 262_144, ..Default::default() };
    PcapWriter::with_header(f, hdr).expect("write pcap header")
}

fn syn_flood(out: &str, n: u64) {
    let mut w = writer(out);
    let base = 1_700_000_000u64 * 1_000_000_000;
    for i in 0..n {
        let mut f = vec![0u8; 54];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&40u16.to_be_bytes());
        f[22] = 64;
        f[23] = 6;
        let src = 0x0a00_0000u32 | ((i / 60_000) as u32 & 0xffff);
        f[26..30].copy_from_slice(&src.to_be_bytes());
        f[30..34].copy_from_slice(&[192, 0, 2, 1]);
        f[34..36].copy_from_slice(&(1024 + (i % 60_000) as u16).to_be_bytes());
        f[36..38].copy_from_slice(&80u16.to_be_bytes());
        f[38..42].copy_from_slice(&(i as u32).to_be_bytes());
        f[46] = 0x50;
        f[47] = 0x02; // SYN
        let ts = Duration::from_nanos(base + i * 1_000);
        w.write_packet(&PcapPacket::new(ts, 54, &f)).expect("write packet");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--syn-flood") {
        let n = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
        return syn_flood(&args[1], n);
    }
    let (Some(out), Some(n)) = (args.first(), args.get(1).and_then(|s| s.parse::<usize>().ok())) else {
        eprintln!("usage: gen_bench_capture OUT PACKETS TEMPLATE...");
        std::process::exit(2);
    };
    let templates: Vec<Template> = args[2..].iter().map(|p| load(Path::new(p))).collect();
    let per_round: usize = templates.iter().map(|t| t.packets.len()).sum();
    assert!(per_round > 0, "no usable Ethernet/IPv4 packets in the templates");
    // Copies start 200 µs apart; each copy keeps its template's own timing.
    let mut order: Vec<(u64, u32, u16, u32)> = Vec::with_capacity(n + per_round); // (ts, copy, template, index)
    let mut copy = 0u32;
    while order.len() < n {
        let ti = (copy as usize) % templates.len();
        for (i, (dt, _, _)) in templates[ti].packets.iter().enumerate() {
            order.push((u64::from(copy) * 200_000 + dt.min(&30_000_000_000), copy, ti as u16, i as u32));
        }
        copy += 1;
    }
    order.sort_unstable();
    order.truncate(n);
    let mut w = writer(out);
    let base = 1_700_000_000u64 * 1_000_000_000;
    for (ts, copy, ti, i) in order {
        let (_, frame, wire) = &templates[ti as usize].packets[i as usize];
        let mut f = frame.clone();
        let k = (copy + 1) as u16;
        shift_addr(&mut f, 26, k);
        shift_addr(&mut f, 30, k);
        let pkt = PcapPacket::new(Duration::from_nanos(base + ts), *wire, &f);
        w.write_packet(&pkt).expect("write packet");
    }
    eprintln!("wrote {n} packets from {copy} copies of {} templates", templates.len());
}

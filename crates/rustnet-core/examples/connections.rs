//! Reads a pcap or pcapng file and prints its connections, one line each:
//! the smallest complete use of the engine.
//!
//! cargo run -p rustnet-core --example connections -- capture.pcap

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use rustnet_core::track::Connection;
use rustnet_core::wire::LinkType;
use rustnet_core::{Config, Engine, Timestamp};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: connections FILE.pcap|FILE.pcapng");
        std::process::exit(2);
    };
    let bytes = std::fs::read(&path)?;
    let mut engine = Engine::new(Config::default());
    let ts = |d: Duration| Timestamp::from_secs_nanos(d.as_secs(), d.subsec_nanos());
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let mut reader = PcapNgReader::new(&bytes[..])?;
        // Link type per interface of the current section.
        let mut links = Vec::new();
        while let Some(block) = reader.next_block() {
            match block? {
                Block::SectionHeader(_) => links.clear(),
                Block::InterfaceDescription(i) => links.push(LinkType::from_number(u32::from(i.linktype))),
                Block::EnhancedPacket(p) => {
                    let link = links.get(p.interface_id as usize).copied().unwrap_or(LinkType::from_number(1));
                    engine.process(link, ts(p.timestamp), &p.data, p.original_len);
                }
                _ => {}
            }
        }
    } else {
        let mut reader = PcapReader::new(&bytes[..])?;
        let link = LinkType::from_number(u32::from(reader.header().datalink));
        while let Some(packet) = reader.next_packet() {
            let p = packet?;
            engine.process(link, ts(p.timestamp), &p.data, p.orig_len);
        }
    }
    // End of input: every connection still open leaves the table too.
    engine.finish_all();
    let mut conns: Vec<Connection> = Vec::new();
    engine.take_finished(&mut conns);
    conns.sort_by_key(|c| c.first_seen);
    for c in &conns {
        let app = c.app.as_ref().map_or("-", |a| a.protocol());
        println!(
            "{:<6} {:<45} {:<45} {:<14} {:<5} {} pkts {} bytes",
            c.proto.name(),
            c.local.display(c.proto).to_string(),
            c.remote.display(c.proto).to_string(),
            c.state.name(),
            app,
            c.tx_packets + c.rx_packets,
            c.tx_bytes + c.rx_bytes,
        );
    }
    let s = engine.stats();
    println!("{} connections from {} packets ({} malformed)", conns.len(), s.packets, s.malformed);
    Ok(())
}

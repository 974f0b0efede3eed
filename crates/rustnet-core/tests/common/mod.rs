//! Capture-file helpers shared by the integration tests: read pcap (µs/ns,
//! either byte order) and pcapng with pcap-file, and replay through the engine.
#![allow(dead_code)] // each test binary uses a different part

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use rustnet_core::track::Connection;
use rustnet_core::wire::LinkType;
use rustnet_core::{Config, Engine, Stats, Timestamp};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One captured frame.
pub struct Frame {
    pub linktype: u32,
    pub ts: Timestamp,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Reads every frame of a capture; the format comes from the magic, not the name.
pub fn read_capture(path: &Path) -> Result<Vec<Frame>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let ts = |d: std::time::Duration| Timestamp::from_secs_nanos(d.as_secs(), d.subsec_nanos());
    let mut out = Vec::new();
    if bytes.starts_with(&PCAPNG_MAGIC) {
        let mut r = PcapNgReader::new(&bytes[..]).map_err(|e| e.to_string())?;
        // Link type per interface of the current section.
        let mut links: Vec<u32> = Vec::new();
        while let Some(b) = r.next_block() {
            let b = match b {
                Ok(b) => b,
                Err(_) => break, // a truncated last block ends the file
            };
            match b {
                Block::SectionHeader(_) => links.clear(),
                Block::InterfaceDescription(i) => links.push(u32::from(i.linktype)),
                Block::EnhancedPacket(p) => {
                    let lt = links.get(p.interface_id as usize).copied();
                    out.push(Frame {
                        linktype: lt.unwrap_or(1),
                        ts: ts(p.timestamp),
                        orig_len: p.original_len,
                        data: p.data.into_owned(),
                    });
                }
                Block::SimplePacket(p) => {
                    let lt = links.first().copied();
                    out.push(Frame {
                        linktype: lt.unwrap_or(1),
                        ts: Timestamp::ZERO,
                        orig_len: p.original_len,
                        data: p.data.into_owned(),
                    });
                }
                _ => {}
            }
        }
    } else {
        let mut r = PcapReader::new(&bytes[..]).map_err(|e| e.to_string())?;
        let lt = u32::from(r.header().datalink);
        let nanos = r.header().ts_resolution == pcap_file::TsResolution::NanoSecond;
        // Raw packets: pcap-file's checked ones refuse every frame longer on
        // the wire than the snap length ("orig_len > snap_len"), which is
        // what a `tcpdump -s 128` capture is made of.
        while let Some(p) = r.next_raw_packet() {
            let Ok(p) = p else { break };
            let frac = if nanos { p.ts_frac } else { p.ts_frac.saturating_mul(1000) };
            let t = Timestamp::from_secs_nanos(u64::from(p.ts_sec), frac);
            out.push(Frame { linktype: lt, ts: t, orig_len: p.orig_len, data: p.data.into_owned() });
        }
    }
    Ok(out)
}

/// Replays a capture through a default engine; returns every connection and the stats.
pub fn replay(path: &Path) -> Result<(Vec<Connection>, Stats), String> {
    let frames = read_capture(path)?;
    let mut e = Engine::new(Config::default());
    let mut out = Vec::new();
    for f in &frames {
        e.process(LinkType::from_number(f.linktype), f.ts, &f.data, f.orig_len);
        e.take_finished(&mut out);
    }
    e.finish_all();
    e.take_finished(&mut out);
    Ok((out, e.stats().clone()))
}

/// The corpus directory from RUSTNET_CORPUS, or None after one note when the
/// variable is unset or names no folder (a fresh clone), so the test passes
/// without it. Under CI (`CI` set) or with RUSTNET_CORPUS_REQUIRED=1 the
/// absence fails the test instead. The same rule as the application's
/// src/testenv.rs, repeated so this crate's tests stand on their own.
pub fn corpus_dir() -> Option<PathBuf> {
    let flag = |name: &str| {
        std::env::var(name).is_ok_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"))
    };
    let reason = match std::env::var_os("RUSTNET_CORPUS").map(PathBuf::from) {
        Some(dir) if dir.is_dir() => return Some(dir),
        Some(dir) => format!("RUSTNET_CORPUS={} is not a folder", dir.display()),
        None => "RUSTNET_CORPUS is not set (the public corpus, see README: Test)".to_string(),
    };
    if flag("CI") || flag("RUSTNET_CORPUS_REQUIRED") {
        panic!("{reason} (required here: CI or RUSTNET_CORPUS_REQUIRED is set)");
    }
    let thread = std::thread::current();
    // libtest names each test's thread after the test.
    let test = thread.name().filter(|n| *n != "main").unwrap_or("test");
    // The real stderr, not eprintln!: libtest would capture the note.
    let _ = writeln!(std::io::stderr(), "note: {test} skipped: {reason}");
    None
}

/// Capture files (.pcap, .pcapng) in the corpus, sorted by name.
pub fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    v.retain(|p| {
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        (n.ends_with(".pcap") || n.ends_with(".pcapng")) && p.is_file()
    });
    v.sort();
    v
}

/// tshark's truth JSON beside a capture (`<capture>.json`); None when there is none.
pub fn read_truth(capture: &Path) -> Option<serde_json::Value> {
    let mut name = capture.as_os_str().to_owned();
    name.push(".json");
    let text = std::fs::read_to_string(PathBuf::from(name)).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}.json does not parse: {e}", capture.display())))
}

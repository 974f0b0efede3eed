//! Same input, same output: two engines in one process, fed the same capture
//! packet by packet in turn, report identical connections.
//!
//! The capture's ClientHello spans two TCP segments, so DPI holds the first
//! one in its reassembly buffer. With a small reassembly budget that fits one
//! engine's need, a budget shared by the process (as it once was) would let
//! the first engine's buffer starve the second, which would then lose the SNI.

mod common;

use rustnet_core::dpi::AppInfo;
use rustnet_core::track::Connection;
use rustnet_core::wire::LinkType;
use rustnet_core::{Config, Engine};

const CAPTURE: &str = "ndpi_dingtalk.pcap";
const SNI: &str = "static.dingtalk.com";
/// Enough for the part of the ClientHello one engine buffers while it waits for the rest.
const BUDGET: usize = 4 * 1024;

/// Every connection of the engine, in id order.
fn records(e: &mut Engine) -> Vec<Connection> {
    e.finish_all();
    let mut out = Vec::new();
    e.take_finished(&mut out);
    out.sort_by_key(|c| c.id);
    out
}

/// Connection has no PartialEq (its rate meter is not meant to be compared); its Debug form shows every field.
fn text(records: &[Connection]) -> Vec<String> {
    records.iter().map(|c| format!("{c:?}")).collect()
}

fn has_sni(records: &[Connection]) -> bool {
    records.iter().any(|c| matches!(&c.app, Some(AppInfo::Tls(t)) if t.sni.as_deref() == Some(SNI)))
}

#[test]
fn two_engines_same_capture_same_records() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let path = dir.join(CAPTURE);
    if !path.is_file() {
        eprintln!("note: {} missing; determinism test skipped", path.display());
        return;
    }
    let frames = common::read_capture(&path).expect("capture readable");
    let cfg = with_budget(BUDGET);
    let mut a = Engine::new(cfg.clone());
    let mut b = Engine::new(cfg);
    for f in &frames {
        let link = LinkType::from_number(f.linktype);
        a.process(link, f.ts, &f.data, f.orig_len);
        b.process(link, f.ts, &f.data, f.orig_len);
    }
    let (ra, rb) = (records(&mut a), records(&mut b));
    assert!(has_sni(&ra), "the budget is too small for one engine: {ra:#?}");
    assert_eq!(text(&ra), text(&rb), "engines fed the same packets disagree");
    // And the budget is really used: with none, the waiting part is evicted and the SNI lost.
    let mut tiny = Engine::new(with_budget(0));
    for f in &frames {
        tiny.process(LinkType::from_number(f.linktype), f.ts, &f.data, f.orig_len);
    }
    let rt = records(&mut tiny);
    assert!(!has_sni(&rt), "a zero budget still reassembled the ClientHello");
}

fn with_budget(bytes: usize) -> Config {
    let mut cfg = Config::default();
    cfg.reassembly_budget = bytes;
    cfg
}

//! Core engine throughput on one thread: frames preloaded in memory, then fed
//! to one Engine, DPI off and on. Prints packets/s.
//!
//! RUSTNET_BENCH_FILE=/path/mixed-1m.pcap cargo bench --bench core_throughput
//! (make the file with the gen_bench_capture example; see the README).
//! Under callgrind, `RUSTNET_BENCH_DPI=on` (or `off`) and
//! `RUSTNET_BENCH_RUNS=1` measure one mode once.

use rustnet::capture::file::read_file;
use rustnet_core::wire::LinkType;
use rustnet_core::{Config, Engine, Timestamp};
use std::time::Instant;

struct Frame {
    ts: Timestamp,
    start: usize,
    len: usize,
    wire: u32,
    link: LinkType,
}

fn main() {
    let Some(path) = std::env::var_os("RUSTNET_BENCH_FILE") else {
        eprintln!("note: set RUSTNET_BENCH_FILE to a large capture (see README); nothing to measure");
        return;
    };
    let mut data = Vec::new();
    let mut frames = Vec::new();
    read_file(path.as_ref(), &mut |p| {
        frames.push(Frame { ts: p.ts, start: data.len(), len: p.data.len(), wire: p.wire_len, link: p.link });
        data.extend_from_slice(p.data);
        true
    })
    .expect("benchmark capture reads");
    println!("{} packets, {} MB", frames.len(), data.len() >> 20);
    let modes: &[bool] = match std::env::var("RUSTNET_BENCH_DPI").as_deref() {
        Ok("on") => &[true],
        Ok("off") => &[false],
        _ => &[false, true],
    };
    let runs: usize = std::env::var("RUSTNET_BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    for &dpi in modes {
        let mut best = f64::MAX;
        for _ in 0..runs {
            let mut cfg = Config::default();
            cfg.dpi = dpi;
            let mut e = Engine::new(cfg);
            let t = Instant::now();
            for f in &frames {
                e.process(f.link, f.ts, &data[f.start..f.start + f.len], f.wire);
            }
            e.finish_all();
            let mut out = Vec::new();
            e.take_finished(&mut out);
            best = best.min(t.elapsed().as_secs_f64());
            std::hint::black_box(out.len());
        }
        println!(
            "core, DPI {}: {:.0} packets/s ({:.3} s for {} packets, best of {runs})",
            if dpi { "on " } else { "off" },
            frames.len() as f64 / best,
            best,
            frames.len(),
        );
    }
}

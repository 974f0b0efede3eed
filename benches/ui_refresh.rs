//! One TUI refresh with 100 000 connections: take the snapshot, filter, sort,
//! the per-process aggregation (every case) and draw a 200x50 frame, with
//! the overview's sparkline (Trend) column.
//! Target: ≤ 16 ms. (The previous snapshot is freed
//! off the UI thread, so not timed here; `drop_snapshot` shows that cost.
//! The snapshot's briefs are made by the thread that publishes it, so not
//! timed here either; `make_briefs` shows that cost.)
//!
//! `cargo bench --bench ui_refresh`

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rustnet::snapshot::Snapshot;
use rustnet::ui::{App, draw, handle_key};
use rustnet_core::Timestamp;
use rustnet_core::dpi::{AppInfo, TlsInfo};
use rustnet_core::track::{Connection, Endpoint, ProcessInfo, Proto, RateMeter, State};
use std::time::Duration;

const N: usize = 100_000;

/// Varied connections: mixed protocols, states, rates, and DPI/process on
/// some; the named half belong to `procs` processes (pids).
fn snapshot(procs: usize) -> Snapshot {
    let now = Timestamp::from_secs_nanos(1_700_000_000, 0);
    let states = [State::Established, State::TimeWait, State::Closed, State::UdpActive, State::SynSent];
    let connections = (0..N)
        .map(|i| {
            let proto = if i % 3 == 0 { Proto::Udp } else { Proto::Tcp };
            let local = Endpoint::new([192, 168, 1, (i % 250) as u8].into(), 30_000 + (i % 30_000) as u16);
            let remote = Endpoint::new([10, (i >> 16) as u8, (i >> 8) as u8, i as u8].into(), [443, 80, 53, 22][i % 4]);
            let mut rate = RateMeter::default();
            rate.add(now - Duration::from_millis((i % 1500) as u64), i % 2 == 0, (i * 37 % 100_000) as u32);
            // Connection and TlsInfo are non-exhaustive: built, then filled in.
            let first_seen = now - Duration::from_secs((i % 5000) as u64);
            let mut c = Connection::new(i as u64 + 1, proto, local, remote, first_seen, states[i % states.len()]);
            c.last_seen = now - Duration::from_millis((i % 900) as u64);
            c.tx_packets = i as u64 % 1000;
            c.rx_packets = i as u64 % 777;
            c.tx_bytes = (i as u64 * 1337) % 10_000_000;
            c.rx_bytes = (i as u64 * 7919) % 50_000_000;
            c.rate = rate;
            c.app = (i % 5 == 0).then(|| {
                let mut t = TlsInfo::default();
                t.sni = Some(format!("host{i}.example.com"));
                AppInfo::Tls(t)
            });
            c.process = (i % 2 == 0).then(|| {
                Box::new(ProcessInfo {
                    pid: (i % procs) as u32,
                    name: format!("proc{}", i % 97),
                    ..ProcessInfo::default()
                })
            });
            c.hostname = (i % 7 == 0).then(|| format!("name-{i}.example.net"));
            c
        })
        .collect();
    let mut snap = Snapshot { now, connections, source: "bench".into(), ..Default::default() };
    // As the publishing thread makes them.
    snap.ensure_briefs();
    snap
}

/// Times one refresh of `app`: a new snapshot (a clone of `snap`, made
/// outside the timing) taken, then a 200x50 frame drawn.
fn bench_refresh(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, app: &mut App, snap: &Snapshot) {
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("test backend cannot fail");
    group.bench_function(name, |b| {
        b.iter_batched(
            || snap.clone(),
            |s| {
                let old = app.set_snapshot(s);
                term.draw(|f| draw(f, app)).expect("test backend cannot fail");
                // Returned so criterion frees it outside the timing, as the
                // UI frees it on another thread.
                old
            },
            BatchSize::LargeInput,
        )
    });
}

fn refresh(c: &mut Criterion) {
    // 50 000 processes: the aggregation's and grouping's worst case.
    let snap = snapshot(N);
    let mut group = c.benchmark_group("ui_refresh_100k");
    group.sample_size(30);
    let cases: [(&str, &[KeyCode]); 6] = [
        ("sort_rate", &[]),
        ("sort_process", &[KeyCode::Char('s'), KeyCode::Char('s'), KeyCode::Char('s')]),
        (
            "filter_sort_rate",
            &[KeyCode::Char('/'), KeyCode::Char('t'), KeyCode::Char('c'), KeyCode::Char('p'), KeyCode::Enter],
        ),
        // The Activity tab shown: its rows (50 000 processes here) sorted and drawn.
        ("activity_tab", &[KeyCode::Char('3')]),
        ("graph_tab", &[KeyCode::Char('4')]),
        // `a`: the overview grouped by process (a row per process, collapsed).
        ("grouped_by_process", &[KeyCode::Char('a')]),
    ];
    for (name, keys) in cases {
        let mut app = App::new(Duration::from_secs(1), false);
        for &k in keys {
            handle_key(&mut app, KeyEvent::new(k, KeyModifiers::NONE));
        }
        // Somewhere in the middle, so the table scrolls.
        app.set_snapshot(snap.clone());
        app.select(N / 2);
        bench_refresh(&mut group, name, &mut app, &snap);
    }
    // Grouped with 97 processes (a busy server's count, not the worst case).
    let few = snapshot(97);
    let mut app = App::new(Duration::from_secs(1), false);
    handle_key(&mut app, KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE));
    app.set_snapshot(few.clone());
    app.select(N / 2);
    bench_refresh(&mut group, "grouped_97_processes", &mut app, &few);
    drop(few);
    // With a full history shown (10 000 ended connections beside the table).
    let mut app = App::new(Duration::from_secs(1), false);
    app.show_history = true;
    let ended: Vec<Connection> = snap.connections[..10_000]
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.id += 10 * N as u64;
            c
        })
        .collect();
    app.add_ended(ended);
    app.set_snapshot(snap.clone());
    bench_refresh(&mut group, "sort_rate_history_10k", &mut app, &snap);
    // The parts: rebuilding the view (filter + sort) and drawing one frame.
    let mut app = App::new(Duration::from_secs(1), false);
    app.set_snapshot(snap.clone());
    group.bench_function("rebuild_only", |b| b.iter(|| app.rebuild()));
    // The per-process aggregation alone (its one walk over the table).
    group.bench_function("aggregate_only", |b| b.iter(|| app.aggregate()));
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("test backend cannot fail");
    group.bench_function("draw_only", |b| b.iter(|| term.draw(|f| draw(f, &app)).map(|_| ())));
    // Making the briefs, as the publishing thread does (not the UI's cost).
    group.bench_function("make_briefs", |b| {
        b.iter_batched(
            || {
                let mut s = snap.clone();
                s.briefs.clear();
                s
            },
            |mut s| {
                s.ensure_briefs();
                s
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("drop_snapshot", |b| b.iter_batched(|| snap.clone(), drop, BatchSize::LargeInput));
    group.finish();
}

criterion_group!(benches, refresh);
criterion_main!(benches);

//! The Activity and Graph tabs on a lab capture of real programs
//! (tests/fixtures/netem_curl_iperf3.pcap: 3 curl GETs to port 8080 and an
//! iperf3 control + data connection to 5201) replayed through the real
//! engine as the live pipeline feeds the screen; expected totals from
//! tshark's conversations in the fixture's truth file.

use super::app::{App, Tab};
use super::fixture::replay;
use super::format;
use super::render_tests::{key, screen};
use crossterm::event::KeyCode;
use rustnet_core::track::{Connection, ProcessInfo};
use std::path::PathBuf;
use std::time::Duration;

const FILE: &str = "netem_curl_iperf3.pcap";

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(FILE)
}

/// The processes the fixture's script ran, named by their server port as
/// the host's lookup would name them live.
fn attribute(c: &mut Connection) {
    let (pid, name) = match c.remote.port {
        8080 => (4101, "curl"),
        5201 => (4202, "iperf3"),
        _ => return,
    };
    c.process = Some(Box::new(ProcessInfo { pid, name: name.into(), user: Some("lab".into()), ..Default::default() }));
}

fn app() -> App {
    let mut app = App::new(Duration::from_secs(1), false);
    app.utc = true;
    app
}

/// tshark's (bytes sent by the client, bytes received) per server port.
fn truth(port: u64) -> (u64, u64, usize) {
    let path = fixture().with_extension("pcap.json");
    let text = std::fs::read_to_string(&path).expect("truth beside the fixture");
    let t: serde_json::Value = serde_json::from_str(&text).expect("truth parses");
    let convs = t["tcp_conversations"].as_array().expect("conversations");
    let mine: Vec<_> = convs.iter().filter(|c| c["b_port"].as_u64() == Some(port)).collect();
    let sum = |k: &str| mine.iter().map(|c| c[k].as_u64().expect("byte count")).sum::<u64>();
    (sum("bytes_a_to_b"), sum("bytes_b_to_a"), mine.len())
}

fn row<'a>(app: &'a App, name: &str) -> &'a super::aggregate::ProcRow {
    app.agg.rows().iter().find(|r| r.name == name).expect("a row for the process")
}

/// After every connection has ended and left the table, each process's
/// totals are still tshark's bytes of its conversations, each counted once
/// (every snapshot of the replay also listed them while open).
#[test]
fn activity_totals_equal_tshark_after_the_connections_closed() {
    let mut app = app();
    replay(&mut app, &fixture(), Duration::from_millis(500), Duration::from_secs(400), &attribute);
    assert!(app.snapshot.connections.is_empty(), "all expired: {:?}", app.snapshot.connections.len());
    for (name, port) in [("curl", 8080), ("iperf3", 5201)] {
        let (up, down, n) = truth(port);
        let r = row(&app, name);
        assert_eq!((r.total().tx_bytes, r.total().rx_bytes), (up, down), "{name}");
        assert_eq!((r.open.conns, r.closed.conns), (0, n as u64), "{name}");
        assert_eq!((r.tx_rate, r.rx_rate), (0.0, 0.0));
    }
    key(&mut app, KeyCode::Char('3'));
    let text = screen(&app, 160, 45);
    let (up, down, _) = truth(8080);
    let curl = text.lines().find(|l| l.contains(" curl ")).expect("a curl row");
    for want in [format::bytes(up as f64), format::bytes(down as f64), "0/3".into(), "10.77.0.2".into()] {
        assert!(curl.contains(&want), "{want} in {curl}");
    }
}

/// While the replay runs, the totals are the open connections' counters
/// plus the ended ones' (never both for one connection).
#[test]
fn activity_totals_are_the_sum_of_open_and_ended_connections() {
    let mut app = app();
    // The curls close in the first seconds and expire 5 s later; iperf3 stays.
    replay(&mut app, &fixture(), Duration::from_millis(500), Duration::from_secs(8), &attribute);
    let r = row(&app, "curl");
    assert!(r.closed.conns > 0, "some curls ended");
    let mut sum = (0, 0, 0);
    let hist = app.history.as_slice().iter().filter(|c| !app.snapshot.connections.iter().any(|o| o.id == c.id));
    for c in app.snapshot.connections.iter().chain(hist) {
        if c.process.as_ref().is_some_and(|p| p.name == "curl") {
            sum = (sum.0 + c.tx_bytes, sum.1 + c.rx_bytes, sum.2 + 1);
        }
    }
    assert_eq!((r.total().tx_bytes, r.total().rx_bytes, r.total().conns), sum);
    let (up, down, n) = truth(8080);
    assert_eq!(sum, (up, down, n as u64), "and that is tshark's");
}

/// The screens at the end of the replay (rates still up), both sizes;
/// Enter filters the overview to the selected process.
#[test]
fn activity_tab_snapshots_and_enter_filters() {
    let mut app = app();
    replay(&mut app, &fixture(), Duration::from_millis(250), Duration::ZERO, &attribute);
    key(&mut app, KeyCode::Char('3'));
    assert_eq!(app.tab, Tab::Activity);
    let small = screen(&app, 80, 24);
    assert!(small.contains("iperf3") && small.contains("curl"), "{small}");
    insta::assert_snapshot!("activity_80x24", small);
    insta::assert_snapshot!("activity_160x45", screen(&app, 160, 45));
    // Sorted by egress, then ingress: the row under the selection changes with it.
    let first = |a: &App| a.activity.selected_row(&a.agg).map(|r| r.name.clone());
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(first(&app).as_deref(), Some("iperf3"), "iperf3 -R receives the most");
    key(&mut app, KeyCode::Char('g'));
    let name = first(&app).expect("a row");
    key(&mut app, KeyCode::Enter);
    assert_eq!((app.tab, app.filter.applied_text.clone()), (Tab::Overview, format!("process:{name}")));
    let shown: Vec<_> = app.rows.iter().filter_map(|&i| app.conn(i)).map(|c| c.remote.port).collect();
    assert!(!shown.is_empty() && shown.iter().all(|&p| p == 5201), "{shown:?}");
}

#[test]
fn graph_tab_snapshots() {
    let mut app = app();
    replay(&mut app, &fixture(), Duration::from_millis(250), Duration::from_secs(2), &attribute);
    key(&mut app, KeyCode::Char('4'));
    assert_eq!(app.tab, Tab::Graph);
    assert!(app.samples.len() > 10, "{}", app.samples.len());
    let peak = app.samples.iter().map(|s| s.rx).fold(0.0, f64::max);
    assert!(peak > 100_000.0, "the transfers show: {peak}");
    assert!(app.samples.iter().any(|s| s.retrans > 0.0), "the lossy link's retransmissions show");
    let small = screen(&app, 80, 24);
    // Braille dots: the chart is drawn.
    assert!(small.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)), "{small}");
    insta::assert_snapshot!("graph_80x24", small);
    let big = screen(&app, 160, 45);
    for want in ["Traffic", "Packets", "Retransmits", "Connections by state", "Top applications", "Top processes"] {
        assert!(big.contains(want), "{want}:\n{big}");
    }
    insta::assert_snapshot!("graph_160x45", big);
}

/// Space freezes the display (PAUSED in the header) until pressed again.
#[test]
fn space_pauses_the_display() {
    let mut app = app();
    key(&mut app, KeyCode::Char(' '));
    assert!(app.paused);
    let text = screen(&app, 100, 10);
    assert!(text.lines().next().is_some_and(|l| l.contains("PAUSED")), "{text}");
    key(&mut app, KeyCode::Char(' '));
    assert!(!screen(&app, 100, 10).contains("PAUSED"));
}

/// The overview's sparkline column: one cell per refresh, the newest on
/// the right; shown from 101 columns on, not at 80.
#[test]
fn overview_sparklines() {
    let mut app = app();
    replay(&mut app, &fixture(), Duration::from_millis(250), Duration::ZERO, &attribute);
    let small = screen(&app, 80, 24);
    assert!(!small.contains("Trend"), "{small}");
    insta::assert_snapshot!("overview_trend_80x24", small);
    let big = screen(&app, 160, 45);
    let header = big.lines().find(|l| l.contains("Trend")).expect("the Trend column at 160");
    let at = header.chars().position(|c| c == 'T').expect("found above");
    let cell = |l: &str| l.chars().skip(at).take(8).collect::<String>();
    let bars = |s: &str| s.chars().filter(|c| ('▁'..='█').contains(c)).count();
    let rows: Vec<&str> = big.lines().filter(|l| l.contains("10.77.0.2:")).collect();
    assert_eq!(rows.len(), 5, "{big}");
    for row in rows {
        let trend = cell(row);
        assert!(bars(&trend) > 0, "every TCP connection moved data in the last 8 refreshes: {row}");
        // Sorted by rate: those idle now (0 B/s) end in a blank, the newest cell.
        if row.contains(" 0 B      0 B ") {
            assert!(trend.ends_with(' '), "{row}");
        } else {
            assert!(!trend.ends_with(' '), "{row}");
        }
    }
    insta::assert_snapshot!("overview_trend_160x45", big);
}

/// `a` groups the overview by process: a row per process with its
/// connections' count and bytes (tshark's totals of their conversations);
/// Enter or → shows a group's connections, ← hides them, `a` ungroups.
#[test]
fn a_groups_the_overview_by_process() {
    let mut app = app();
    replay(&mut app, &fixture(), Duration::from_millis(250), Duration::ZERO, &attribute);
    let flat = app.rows.len();
    key(&mut app, KeyCode::Char('a'));
    assert!(app.grouped);
    let labels: Vec<String> = app.groups.iter().map(|g| g.label()).collect();
    assert_eq!(app.rows.len(), app.groups.len(), "all collapsed: {labels:?}");
    for (name, pid, port) in [("curl", 4101, 8080), ("iperf3", 4202, 5201)] {
        let (up, down, n) = truth(port);
        let g = app.groups.iter().find(|g| g.key == Some((pid, name.into()))).expect("a group");
        assert_eq!((g.conns, g.bytes), (n, up + down), "{name}");
    }
    let small = screen(&app, 80, 24);
    let (up, down, _) = truth(8080);
    let curl = small.lines().find(|l| l.contains("curl (4101)")).expect("curl's group row");
    assert!(curl.contains("3 connections") && curl.starts_with('▸'), "{curl}");
    insta::assert_snapshot!("grouped_80x24", small);
    let big = screen(&app, 160, 45);
    let curl = big.lines().find(|l| l.contains("curl (4101)")).expect("curl's group row");
    assert!(curl.contains(&format::bytes((up + down) as f64)), "{curl}");
    // Open curl's group: its three connections follow it.
    let pos = app.groups.iter().position(|g| g.label() == "curl (4101)").expect("curl");
    let row = app.rows.iter().position(|&r| r == super::groups::GROUP | pos).expect("its row");
    app.select(row);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.rows.len(), app.groups.len() + 3);
    assert_eq!(app.selected_group_row().map(|g| g.label()).as_deref(), Some("curl (4101)"), "still selected");
    let big = screen(&app, 160, 45);
    insta::assert_snapshot!("grouped_open_160x45", big);
    let lines: Vec<&str> = big.lines().collect();
    let at = lines.iter().position(|l| l.contains("curl (4101)")).expect("curl's group row");
    assert!(lines[at].starts_with('▾'), "{}", lines[at]);
    for l in &lines[at + 1..at + 4] {
        assert!(l.contains("10.77.0.2:8080") && l.contains("curl"), "{l}");
    }
    key(&mut app, KeyCode::Left);
    assert_eq!(app.rows.len(), app.groups.len(), "closed again");
    key(&mut app, KeyCode::Right);
    assert_eq!(app.rows.len(), app.groups.len() + 3, "→ opens");
    key(&mut app, KeyCode::Char('a'));
    assert!(!app.grouped);
    assert_eq!(app.rows.len(), flat);
}

/// Groups count the connections the table would list, wherever they come
/// from: with `t`, ended connections (history, found by name) join their
/// process's group, a filter narrows the groups, and the sums stay tshark's.
#[test]
fn groups_sum_what_the_table_lists_with_history_and_filter() {
    for linger in [Duration::ZERO, Duration::from_secs(400)] {
        let mut app = app();
        replay(&mut app, &fixture(), Duration::from_millis(250), linger, &attribute);
        key(&mut app, KeyCode::Char('t'));
        key(&mut app, KeyCode::Char('a'));
        for (name, pid, port) in [("curl", 4101, 8080), ("iperf3", 4202, 5201)] {
            let (up, down, n) = truth(port);
            let g = app.groups.iter().find(|g| g.key == Some((pid, name.into())));
            let g = g.unwrap_or_else(|| panic!("{name} after {linger:?}: {:?}", app.groups));
            assert_eq!((g.conns, g.bytes), (n, up + down), "{name} after {linger:?}");
        }
        key(&mut app, KeyCode::Char('/'));
        for ch in "port:8080".chars() {
            key(&mut app, KeyCode::Char(ch));
        }
        key(&mut app, KeyCode::Enter);
        let (up, down, n) = truth(8080);
        let shown: Vec<_> = app.groups.iter().map(|g| (g.label(), g.conns, g.bytes)).collect();
        assert_eq!(shown, [("curl (4101)".to_string(), n, up + down)], "after {linger:?}");
    }
}

/// Refreshes while Activity or Graph is shown leave the hidden table's sort
/// for later; the header's count, and the table once a tab or key needs
/// it, are those of an app that watched the overview all along.
#[test]
fn the_table_behind_activity_and_graph_is_current_when_it_returns() {
    for tab in ['3', '4'] {
        let filtered = || {
            let mut app = app();
            key(&mut app, KeyCode::Char('/'));
            for ch in "port:8080".chars() {
                key(&mut app, KeyCode::Char(ch));
            }
            key(&mut app, KeyCode::Enter);
            key(&mut app, KeyCode::Char('G'));
            app
        };
        let (mut watched, mut hidden) = (filtered(), filtered());
        key(&mut hidden, KeyCode::Char(tab));
        for a in [&mut watched, &mut hidden] {
            replay(a, &fixture(), Duration::from_millis(250), Duration::from_secs(2), &attribute);
        }
        let (up, down, n) = truth(8080);
        let ids = |a: &App| a.rows.iter().filter_map(|&i| a.conn(i)).map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(watched.shown(), n, "tshark's curl conversations, open or lingering");
        assert_eq!(hidden.shown(), watched.shown(), "the header's count behind tab {tab}");
        let text = screen(&hidden, 120, 24);
        assert!(text.contains(&format!("({n} shown)")), "{text}");
        // A key that reads the table's selection, pressed behind the tab.
        let mut copied = Vec::new();
        for a in [&mut watched, &mut hidden] {
            copied.push(super::input::handle_key(a, crossterm::event::KeyEvent::from(KeyCode::Char('c'))));
        }
        assert!(matches!(copied[0], super::input::Effect::Copy(_)), "{copied:?}");
        assert_eq!(copied[0], copied[1], "c behind tab {tab}");
        key(&mut hidden, KeyCode::Char('1'));
        assert_eq!(ids(&hidden), ids(&watched), "the table once shown again");
        assert_eq!(hidden.selected, watched.selected);
        let bytes: u64 = hidden.rows.iter().filter_map(|&i| hidden.conn(i)).map(|c| c.tx_bytes + c.rx_bytes).sum();
        assert!(bytes > 0 && bytes <= up + down, "{bytes}");
    }
}

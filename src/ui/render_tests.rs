//! Rendering tests: ratatui's TestBackend, insta snapshots of every tab and
//! mode, plus checks of the drawn text against tshark's truth for the corpus.

use super::app::{App, Tab};
use super::fixture::{corpus, corpus_snapshot, rich_connection};
use super::input::handle_key;
use super::{draw, format};
use crate::snapshot::Snapshot;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use rustnet_core::track::{Endpoint, Proto};
use std::time::Duration;

const FILES: &[&str] =
    &["ndpi_443-curl.pcap", "zeek_get.pcap", "ndpi_dns.pcap", "zeek_5-pings.pcap", "ndpi_http.pcapng"];

/// An app showing the corpus files plus one hand-built connection with every
/// field set; None when the corpus is not available.
fn corpus_app() -> Option<App> {
    let dir = corpus()?;
    let mut snap = corpus_snapshot(&dir, FILES);
    snap.connections.push(rich_connection(1_000_000, snap.now));
    Some(app_with(snap))
}

fn app_with(snap: Snapshot) -> App {
    let mut app = App::new(Duration::from_secs(1), false);
    app.utc = true;
    app.set_snapshot(snap);
    app
}

fn terminal(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend cannot fail");
    t.draw(|f| draw(f, app)).expect("test backend cannot fail");
    t
}

/// The screen as text, one line per row (trailing spaces kept by insta's view).
pub(super) fn screen(app: &App, w: u16, h: u16) -> String {
    let t = terminal(app, w, h);
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(super) fn key(app: &mut App, code: KeyCode) {
    handle_key(app, KeyEvent::new(code, KeyModifiers::NONE));
}

fn type_text(app: &mut App, s: &str) {
    for ch in s.chars() {
        key(app, KeyCode::Char(ch));
    }
}

fn truth(file: &str) -> serde_json::Value {
    let dir = std::env::var_os("RUSTNET_CORPUS").expect("checked by corpus()");
    let path = std::path::Path::new(&dir).join(format!("{file}.json"));
    let text = std::fs::read_to_string(&path).expect("truth JSON beside the capture");
    serde_json::from_str(&text).expect("truth JSON parses")
}

#[test]
fn overview_narrow_80x24() {
    let Some(app) = corpus_app() else { return };
    insta::assert_snapshot!("overview_80x24", screen(&app, 80, 24));
}

#[test]
fn overview_wide_200x50() {
    let Some(app) = corpus_app() else { return };
    insta::assert_snapshot!("overview_200x50", screen(&app, 200, 50));
}

/// Every TCP/UDP conversation tshark saw is a row, with its server end as the
/// remote, and the header counts every packet of the files.
#[test]
fn overview_lists_tshark_conversations() {
    let Some(app) = corpus_app() else { return };
    let text = screen(&app, 200, 50);
    let mut packets = 0;
    for f in FILES {
        let t = truth(f);
        packets += t["packet_count"].as_u64().expect("packet_count");
        for kind in ["tcp_conversations", "udp_conversations"] {
            for c in t[kind].as_array().expect("conversation list") {
                let (a, ap) = (c["a"].as_str().unwrap_or(""), c["a_port"].as_u64().unwrap_or(0));
                let (b, bp) = (c["b"].as_str().unwrap_or(""), c["b_port"].as_u64().unwrap_or(0));
                // The server is the end on the well-known port.
                let (client, server) = if bp < ap { ((a, ap), (b, bp)) } else { ((b, bp), (a, ap)) };
                let (srv, cli) = (format!("{}:{}", server.0, server.1), format!("{}:{}", client.0, client.1));
                let rows: Vec<&str> = text.lines().filter(|l| l.contains(&srv) && l.contains(&cli)).collect();
                assert!(!rows.is_empty(), "{f}: no row {cli} -> {srv}\n{text}");
                let bytes = c["bytes"].as_u64().expect("bytes");
                // The connections' own counters, exactly, per direction.
                let (a_to_b, b_to_a) = (c["bytes_a_to_b"].as_u64(), c["bytes_b_to_a"].as_u64());
                let (up, down) = if bp < ap { (a_to_b, b_to_a) } else { (b_to_a, a_to_b) };
                let proto = if kind == "tcp_conversations" { Proto::Tcp } else { Proto::Udp };
                let counted = conversation_bytes(&app, proto, client, server);
                assert_eq!(Some(counted.0), up, "{f}: bytes {cli} -> {srv}");
                assert_eq!(Some(counted.1), down, "{f}: bytes {srv} -> {cli}");
                assert_eq!(counted.0 + counted.1, bytes, "{f}: bytes {cli} <-> {srv}");
                if let [row] = rows[..] {
                    assert!(row.contains(&format::bytes(bytes as f64)), "{f}: bytes {bytes} in {row}");
                } else {
                    // The pair was reused after a connection expired (e.g. DNS idle
                    // 30 s): tshark's one conversation is several rows whose bytes add up.
                    let sum: u64 = rows.iter().filter_map(|r| row_bytes(r)).sum();
                    assert_eq!(sum, bytes, "{f}: rows {rows:#?}");
                }
            }
        }
    }
    assert!(text.contains(&format!("packets {packets} ")), "header: {text}");
    assert!(text.contains("drops kernel 0 internal 3"), "{text}");
}

/// The header's TCP totals on the impaired-link fixture equal tshark's
/// retransmission and out-of-order flags summed over its conversations.
#[test]
fn header_tcp_totals_match_tshark() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let file = "netem_curl_iperf3.pcap";
    let app = app_with(corpus_snapshot(&dir, &[file]));
    let text = std::fs::read_to_string(dir.join(format!("{file}.json"))).expect("truth beside the fixture");
    let t: serde_json::Value = serde_json::from_str(&text).expect("truth parses");
    let sum = |flag: &str| -> u64 {
        let convs = t["tcp_conversations"].as_array().expect("conversations");
        convs.iter().flat_map(|c| ["a_to_b", "b_to_a"].map(|d| c[d][flag].as_u64().unwrap_or(0))).sum()
    };
    let (retrans, ooo) = (sum("retransmission"), sum("out_of_order"));
    assert!(retrans > 0 && ooo > 0, "the fixture shows loss and reordering");
    let screen = screen(&app, 120, 6);
    assert!(screen.contains(&format!("retrans {retrans}  ooo {ooo}")), "{screen}");
    insta::assert_snapshot!("header_tcp_totals_120x6", screen);
}

#[test]
fn details_of_rich_connection() {
    let Some(mut app) = corpus_app() else { return };
    let pos = app.rows.iter().position(|&i| app.snapshot.connections[i].id == 1_000_000);
    app.select(pos.expect("hand-built connection is a row"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.tab, Tab::Details);
    let text = screen(&app, 100, 45);
    for want in [
        "api.github.com",
        "h2, http/1.1",
        "TLSv1.3",
        "curl -s https://api.github.com/zen",
        "4242",
        "lb-140-82-112-6-iad.github.com",
        "1m15s",
    ] {
        assert!(text.contains(want), "missing {want}:\n{text}");
    }
    insta::assert_snapshot!("details_rich_100x45", text);
}

/// Counters in the details view agree with tshark's per-direction counts.
#[test]
fn details_counters_match_tshark() {
    let Some(mut app) = corpus_app() else { return };
    let t = truth("zeek_get.pcap");
    let c = &t["tcp_conversations"][0];
    let remote = format!("{}:{}", c["b"].as_str().unwrap_or(""), c["b_port"]);
    let pos = app
        .rows
        .iter()
        .position(|&i| {
            app.snapshot.connections[i].remote.display(app.snapshot.connections[i].proto).to_string() == remote
        })
        .expect("zeek_get connection is a row");
    app.select(pos);
    key(&mut app, KeyCode::Enter);
    let text = screen(&app, 100, 45);
    let sent = format!("{} packets, {}", c["frames_a_to_b"], format::bytes(c["bytes_a_to_b"].as_f64().unwrap_or(0.0)));
    let recv = format!("{} packets, {}", c["frames_b_to_a"], format::bytes(c["bytes_b_to_a"].as_f64().unwrap_or(0.0)));
    assert!(text.contains(&sent), "{sent}\n{text}");
    assert!(text.contains(&recv), "{recv}\n{text}");
    // The counters themselves, exactly (the text above is rounded by format::bytes).
    let conn = &app.snapshot.connections[app.rows[pos]];
    assert_eq!(Some(conn.tx_bytes), c["bytes_a_to_b"].as_u64(), "tx bytes");
    assert_eq!(Some(conn.rx_bytes), c["bytes_b_to_a"].as_u64(), "rx bytes");
    assert_eq!(Some(conn.tx_packets), c["frames_a_to_b"].as_u64(), "tx packets");
    assert_eq!(Some(conn.rx_packets), c["frames_b_to_a"].as_u64(), "rx packets");
    insta::assert_snapshot!("details_zeek_get_100x45", text);
}

#[test]
fn help_tab() {
    let mut app = app_with(Snapshot::default());
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(app.tab, Tab::Help);
    insta::assert_snapshot!("help_100x40", screen(&app, 100, 40));
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(app.tab, Tab::Overview);
}

#[test]
fn help_scrolls_to_its_last_wrapped_line_at_80x24() {
    let mut app = app_with(Snapshot::default());
    key(&mut app, KeyCode::Char('h'));
    let top = screen(&app, 80, 24);
    assert!(!top.contains("Column presets"), "the help is longer than one 80x24 screen:\n{top}");
    for _ in 0..200 {
        key(&mut app, KeyCode::Char('j'));
    }
    let bottom = screen(&app, 80, 24);
    // Reachable, and scrolled no further: it sits on the row above the footer.
    let row = bottom.lines().position(|r| r.starts_with("Column presets"));
    assert_eq!(row, Some(22), "help scrolled to its last line and no further:\n{bottom}");
}

#[test]
fn filter_mode_typing() {
    let Some(mut app) = corpus_app() else { return };
    key(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "sni:api");
    let text = screen(&app, 120, 30);
    assert!(text.contains("/sni:api"), "{text}");
    insta::assert_snapshot!("filter_typing_120x30", text);
}

#[test]
fn filter_with_error() {
    let Some(mut app) = corpus_app() else { return };
    key(&mut app, KeyCode::Char('/'));
    // "tcp prot" is valid (a bare word); "tcp prot:" is an unknown keyword.
    type_text(&mut app, "tcp prot");
    assert_eq!(app.filter.applied_text, "tcp prot");
    type_text(&mut app, ":tcp");
    let e = rustnet_core::filter::Filter::parse(&app.filter.text).expect_err("prot: is not a keyword");
    let text = screen(&app, 120, 30);
    // The bar shows the parser's message whole (on a second line if need be).
    let head: String = format!("error: {}", e.message).chars().take(60).collect();
    assert!(text.contains(&head), "{text}");
    let tail: String = e.message.chars().skip(e.message.chars().count().saturating_sub(25)).collect();
    assert!(text.contains(&tail), "the end of the message, {tail:?}: {text}");
    assert_eq!(app.filter.applied_text, "tcp prot", "keeps the last valid filter");
    insta::assert_snapshot!("filter_error_120x30", text);
    // An error message drawn as the parser would give it, independent of it.
    app.filter.error = Some("unknown keyword \"bogus:\"".into());
    app.filter.applied_text = "tcp".into();
    let text = screen(&app, 120, 30);
    assert!(text.contains("error: unknown keyword \"bogus:\" (using \"tcp\")"), "{text}");
}

#[test]
fn quit_prompt() {
    let Some(mut app) = corpus_app() else { return };
    key(&mut app, KeyCode::Char('q'));
    let text = screen(&app, 80, 24);
    assert!(text.contains("press q again to quit"), "{text}");
    insta::assert_snapshot!("quit_prompt_80x24", text);
}

#[test]
fn empty_table() {
    let app = app_with(Snapshot { source: "eth0".into(), ..Default::default() });
    let text = screen(&app, 80, 24);
    assert!(text.contains("no connections yet"), "{text}");
    insta::assert_snapshot!("empty_80x24", text);
}

/// NO_COLOR: no cell carries a color, yet rows keep their markers and the
/// selection its reverse video.
#[test]
fn no_color_uses_no_colors() {
    let now = rustnet_core::Timestamp::from_secs_nanos(1_700_000_000, 0);
    let mut conn = rich_connection(1, now);
    conn.first_seen = now - Duration::from_secs(1);
    // Its handshake was seen (else it was picked up mid-stream: not new).
    if let Some(t) = conn.tcp.as_mut() {
        t.tx.flags = 0x02;
    }
    let snap = Snapshot { now, connections: vec![conn], ..Default::default() };
    let colored = |no_color: bool| {
        let mut app = app_with(snap.clone());
        app.theme = super::theme::Theme::new(no_color);
        let t = terminal(&app, 120, 10);
        let buf = t.backend().buffer().clone();
        let any_color = buf.content.iter().any(|c| c.fg != Color::Reset || c.bg != Color::Reset);
        (any_color, buf)
    };
    let (with, _) = colored(false);
    assert!(with, "colors are used by default");
    let (without, buf) = colored(true);
    assert!(!without, "NO_COLOR: no colors");
    // Row 4 is the first table row (tabs, stats, block title, column header).
    let marker = &buf[(0, 4)];
    assert_eq!(marker.symbol(), "+", "new connection marker");
    assert!(marker.modifier.contains(ratatui::style::Modifier::REVERSED), "selection");
}

/// The Bytes column of a row when shown in plain bytes ("226 B").
/// Bytes counted by the connections between `client` and `server` (one
/// conversation may be several connections): (client to server, server to client).
fn conversation_bytes(app: &App, proto: Proto, client: (&str, u64), server: (&str, u64)) -> (u64, u64) {
    let ep = |(a, p): (&str, u64)| Endpoint::new(a.parse().expect("truth address"), p as u16);
    let (client, server) = (ep(client), ep(server));
    let mut sum = (0, 0);
    for c in app.snapshot.connections.iter().filter(|c| c.proto == proto) {
        if (c.local, c.remote) == (client, server) {
            sum = (sum.0 + c.tx_bytes, sum.1 + c.rx_bytes);
        } else if (c.local, c.remote) == (server, client) {
            sum = (sum.0 + c.rx_bytes, sum.1 + c.tx_bytes);
        }
    }
    sum
}

fn row_bytes(row: &str) -> Option<u64> {
    let words: Vec<&str> = row.split_whitespace().collect();
    let i = words.iter().rposition(|w| *w == "B")?;
    words.get(i.checked_sub(1)?)?.parse().ok()
}

/// After `g` the screen shows the top of the table, and stays there when the
/// order changes; the title says which rows are shown.
#[test]
fn overview_stays_at_the_top_with_position() {
    use super::fixture::ranked;
    let mut app = app_with(ranked(40, |i| 100 * (i as u32 + 1), |i| i as u64));
    for _ in 0..30 {
        key(&mut app, KeyCode::Char('j'));
    }
    let text = screen(&app, 80, 24);
    // 19 table rows at 80x24; row 31 at the bottom.
    assert!(text.contains(" 13–31 of 40\n"), "{text}");
    key(&mut app, KeyCode::Char('g'));
    // The order reverses on the next refresh: the busiest (10.0.0.0) is first.
    app.set_snapshot(ranked(40, |i| 100 * (40 - i as u32), |i| i as u64));
    let text = screen(&app, 80, 24);
    assert!(text.contains(" 1–19 of 40\n"), "{text}");
    let first = text.lines().nth(4).unwrap_or("");
    assert!(first.contains("10.0.0.0:443"), "first row is the busiest:\n{text}");
    insta::assert_snapshot!("overview_top_80x24", text);
}

/// At 80 columns the default and application presets show the process.
#[test]
fn process_column_at_80_columns() {
    let now = rustnet_core::Timestamp::from_secs_nanos(1_700_000_000, 0);
    let snap = Snapshot { now, connections: vec![rich_connection(1, now)], ..Default::default() };
    let mut app = app_with(snap);
    for preset in ["balanced", "addresses", "application"] {
        assert_eq!(app.columns.preset_name(), preset);
        let text = screen(&app, 80, 24);
        if preset != "addresses" {
            assert!(text.contains("Process") && text.contains(" curl"), "{preset}:\n{text}");
            insta::assert_snapshot!(format!("process_{preset}_80x24"), text);
        }
        key(&mut app, KeyCode::Char('w'));
    }
}

/// At 80×24 Details do not fit: PgDn/J scroll to the Traffic and Application
/// sections (the arrows still switch connection), clamped at the last line.
#[test]
fn details_scroll_at_80x24() {
    let now = super::fixture::T_END;
    let mut snap = Snapshot { now, ..Default::default() };
    snap.connections.push(rich_connection(7, now));
    let mut other = rich_connection(8, now);
    other.remote = Endpoint::new([10, 9, 9, 9].into(), 22);
    snap.connections.push(other);
    let mut app = app_with(snap);
    key(&mut app, KeyCode::Enter);
    let top = screen(&app, 80, 24);
    assert!(!top.contains("Application"), "{top}");
    assert!(top.contains("lines 1–"), "position shown: {top}");
    key(&mut app, KeyCode::PageDown);
    let mid = screen(&app, 80, 24);
    assert!(mid.contains("Traffic") && mid.contains("81.0 kB"), "{mid}");
    for _ in 0..5 {
        key(&mut app, KeyCode::PageDown);
    }
    let end = screen(&app, 80, 24);
    assert_eq!(app.details_conn().map(|c| c.id), Some(7), "PgDn scrolls, it does not switch");
    for want in ["Application", "sni", "api.github.com", "h2, http/1.1"] {
        assert!(end.contains(want), "missing {want}:\n{end}");
    }
    insta::assert_snapshot!("details_scrolled_80x24", end);
    // Clamped: one K shows one line more at the top.
    key(&mut app, KeyCode::Char('K'));
    let up = screen(&app, 80, 24);
    assert_ne!(up, end);
    key(&mut app, KeyCode::Char('J'));
    assert_eq!(screen(&app, 80, 24), end);
}

/// "1 packet", not "1 packets"; the sort column is marked with its direction.
#[test]
fn one_packet_and_the_sort_column_marked() {
    let now = super::fixture::T_END;
    let mut c = rich_connection(7, now);
    c.tx_packets = 1;
    let mut app = app_with(Snapshot { now, connections: vec![c], ..Default::default() });
    let table = screen(&app, 120, 10);
    assert!(table.contains("↓Down/s") && table.contains("↓Up/s"), "{table}");
    key(&mut app, KeyCode::Char('s'));
    key(&mut app, KeyCode::Char('S'));
    let table = screen(&app, 120, 10);
    assert!(table.contains("↑Bytes") && !table.contains("↓Down/s"), "{table}");
    key(&mut app, KeyCode::Enter);
    let text = screen(&app, 100, 45);
    assert!(text.contains("sent           1 packet, "), "{text}");
}

/// Collector mode: Details names the host that exported the connection;
/// a captured one has no such line.
#[test]
fn details_show_the_exporter() {
    let now = rustnet_core::Timestamp::from_secs_nanos(1_700_000_100, 0);
    let mut c = rich_connection(7, now);
    c.exporter = Some("host-b.lab".into());
    let plain = rich_connection(8, now);
    let mut app = app_with(Snapshot { now, connections: vec![c, plain], ..Snapshot::default() });
    for (id, want) in [(7, true), (8, false)] {
        let pos = app.rows.iter().position(|&i| app.snapshot.connections[i].id == id).expect("a row");
        app.select(pos);
        key(&mut app, KeyCode::Enter);
        assert_eq!(app.tab, Tab::Details);
        let text = screen(&app, 100, 45);
        assert!(text.lines().any(|l| l.trim() == format!("id             {id}")), "{text}");
        assert_eq!(text.contains("exporter       host-b.lab"), want, "{text}");
        key(&mut app, KeyCode::Esc);
    }
}

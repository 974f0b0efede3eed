//! Themes on screen: the settings a session resolves (command line, config
//! file) reach every tab; `--no-color` leaves no colour in any cell, each
//! preset draws with its own colours only. The screen is the lab capture of
//! curl and iperf3 (tests/fixtures/netem_curl_iperf3.pcap) replayed through
//! the real engine, closed connections listed (`t`).

use super::app::App;
use super::fixture::replay;
use super::render_tests::key;
use super::{Settings, ThemeName, UiConfig, app_for, draw};
use crate::config::{File, Flags, resolve};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/netem_curl_iperf3.pcap")
}

/// The app a session with these settings starts, after the replay: the
/// curls closed (listed as history), iperf3 still open.
fn app(settings: &Settings) -> App {
    let mut app = app_for(&UiConfig::new(settings, "lab".into(), false));
    app.utc = true;
    replay(&mut app, &fixture(), Duration::from_millis(500), Duration::from_secs(1), &|_| {});
    app
}

fn buffer(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend cannot fail");
    t.draw(|f| draw(f, app)).expect("test backend cannot fail");
    t.backend().buffer().clone()
}

/// Every colour (fg and bg) drawn on every tab, at two sizes.
fn colours(app: &mut App) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for tab in ['1', '2', '3', '4', 'h', '1'] {
        key(app, KeyCode::Char(tab));
        for (w, h) in [(80, 24), (160, 45)] {
            for c in &buffer(app, w, h).content {
                for col in [c.fg, c.bg] {
                    if col != Color::Reset {
                        out.insert(format!("{col:?}"));
                    }
                }
            }
        }
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `--no-color` as the command line gives it (over a file asking for
/// light): no cell of any tab has a colour, the selection is still reverse
/// video and closed rows keep their `x`.
#[test]
fn no_color_draws_no_colour_on_any_tab() {
    let file = File { theme: Some(ThemeName::Light), ..File::default() };
    let settings = resolve(Flags { no_color: true, ..Flags::default() }, &file, false);
    let mut app = app(&settings);
    assert!(colours(&mut app).is_empty(), "{:?}", colours(&mut app));
    key(&mut app, KeyCode::Char('1'));
    let buf = buffer(&app, 80, 24);
    // Row 4: the first row of the table, selected.
    assert!(buf[(0, 4)].modifier.contains(Modifier::REVERSED), "the selection shows");
    let marks: String = (4..22).map(|y| buf[(0, y)].symbol().to_string()).collect();
    assert!(marks.contains('x'), "closed rows marked: {marks:?}");
}

/// Each preset draws with its own palette and nothing else; light uses
/// the darker 256-colour shades (none of the ANSI colours that fade on white).
#[test]
fn each_theme_draws_its_own_colours() {
    let drawn =
        |name| colours(&mut app(&resolve(Flags { theme: Some(name), ..Flags::default() }, &File::default(), false)));
    assert_eq!(
        drawn(ThemeName::Light),
        set(&["Indexed(130)", "Indexed(160)", "Indexed(25)", "Indexed(28)", "Indexed(30)", "Indexed(90)"])
    );
    assert_eq!(drawn(ThemeName::Dark), set(&["Blue", "Cyan", "Green", "Magenta", "Red", "Yellow"]));
    assert_eq!(
        drawn(ThemeName::HighContrast),
        set(&["LightBlue", "LightCyan", "LightGreen", "LightMagenta", "LightRed", "LightYellow"])
    );
    assert!(drawn(ThemeName::Mono).is_empty());
}

/// The screen as text, each line followed by its styled runs:
/// `  [from..to) fg bg +MODIFIERS`.
fn styled(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
        let style = |x| {
            let c = &buf[(x, y)];
            (c.fg, c.bg, c.modifier)
        };
        let mut x = 0;
        while x < area.width {
            let s = style(x);
            let start = x;
            while x < area.width && style(x) == s {
                x += 1;
            }
            if s != (Color::Reset, Color::Reset, Modifier::empty()) {
                let mut run = format!("  [{start}..{x}) fg {:?} bg {:?}", s.0, s.1);
                if !s.2.is_empty() {
                    run.push_str(&format!(" +{:?}", s.2));
                }
                out.push_str(&run);
                out.push('\n');
            }
        }
    }
    out
}

/// The light theme at 80×24: the overview (open, closing and closed rows,
/// the selection) and the Graph tab, with their styles.
#[test]
fn light_theme_snapshots() {
    let settings = resolve(Flags { theme: Some(ThemeName::Light), ..Flags::default() }, &File::default(), false);
    let mut app = app(&settings);
    let overview = buffer(&app, 80, 24);
    assert_eq!(overview[(1, 0)].fg, Color::Indexed(25), "the title in the light accent");
    insta::assert_snapshot!("light_overview_80x24", styled(&overview));
    key(&mut app, KeyCode::Char('4'));
    insta::assert_snapshot!("light_graph_80x24", styled(&buffer(&app, 80, 24)));
}

/// The config file's column preset is the one the overview starts with.
#[test]
fn the_files_column_preset_is_the_start() {
    let file = File { columns: super::column_preset("application"), ..File::default() };
    let app = app(&resolve(Flags::default(), &file, false));
    assert_eq!(app.columns.preset_name(), "application");
    let buf = buffer(&app, 80, 24);
    let head: String = (0..80).map(|x| buf[(x, 3)].symbol().to_string()).collect();
    assert!(head.contains("Application"), "{head}");
}

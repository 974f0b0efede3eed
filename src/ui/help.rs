//! Help tab: every key, the row markers and the filter language.

use super::app::App;
use super::columns::PRESETS;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

pub struct Help<'a>(pub &'a App);

const KEYS: &[(&str, &str)] = &[
    ("q q", "quit (q asks, a second q confirms); Ctrl+C quits at once"),
    ("1 2 3 4", "Overview, Details, Activity (per process), Graph (traffic over time)"),
    ("Tab / Shift+Tab", "next / previous tab"),
    ("Space", "pause / resume the display (capture goes on; the header says PAUSED)"),
    ("h or ?", "toggle this help"),
    ("↑ k  ↓ j", "move the selection"),
    ("PgUp / PgDn", "move by 10 rows"),
    ("Home g / End G", "first row (stays on top) / last row; in this help: top / end"),
    ("Enter", "details of the selected connection"),
    ("J K / PgDn PgUp", "in details: scroll the text (↑↓ jk go to the next / previous connection)"),
    ("Esc", "back to the overview; there, clear the filter"),
    ("/", "filter: type to narrow, ↑↓ move, Enter keeps, Esc clears"),
    ("s / S", "next sort column (its header shows ↓ or ↑) / flip direction"),
    ("← →", "focus a column (highlighted header)"),
    ("+ > / - <", "widen / narrow the focused column (State never narrower than its names)"),
    ("w", "next column preset"),
    ("a", "group the overview by process (a row each: connections, rates, bytes)"),
    ("Enter → / ←", "on a process row: show / hide its connections"),
    ("t", "show / hide ended connections (history; on from the start with --read)"),
    ("c", "copy the remote address (system clipboard, else OSC 52 terminal clipboard)"),
    ("mouse", "click a tab; click a row to select, twice to open details; wheel moves / scrolls"),
    ("Activity: s", "sort processes by egress rate / ingress rate / total bytes"),
    ("Activity: Enter", "show the selected process's connections (overview filter process:NAME)"),
];

const MARKERS: &[(&str, &str)] = &[
    ("+", "new: first seen in the last few seconds, handshake included (bold)"),
    ("~", "closing: FIN_WAIT*, CLOSE_WAIT, LAST_ACK, CLOSING, TIME_WAIT, QUIC_DRAINING (italic)"),
    ("x", "closed: CLOSED, QUIC_CLOSED, or ended (left the table: closed, idle, evicted) (dim)"),
];

const FILTER: &[(&str, &str)] = &[
    ("words", "space-separated terms, all must match, case-insensitive substrings"),
    ("bare word", "matches any field: addresses, ports, process, service, state, DPI data"),
    ("keywords", "port: sport: dport: src: dst: proto: process: service: state: sni: host: ssh: app:"),
    ("sport/src", "local side; dport/dst: remote side"),
    ("!term", "negates a term, e.g. !state:established"),
];

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.0.theme;
        let mut lines = Vec::new();
        let mut table = |title: &str, rows: &[(&str, &str)]| {
            if !lines.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::from(Span::styled(title.to_string(), t.section())));
            for (k, v) in rows {
                lines.push(Line::from(vec![Span::styled(format!("  {k:<18}"), t.key()), Span::raw(v.to_string())]));
            }
        };
        table("Keys", KEYS);
        table("Row markers", MARKERS);
        table("Filter", FILTER);
        let presets: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![Span::styled("Column presets ", t.section()), Span::raw(presets.join(", "))]));
        let para = Paragraph::new(lines)
            .block(Block::default().borders(Borders::TOP).title(Span::styled(" Help ", t.title())))
            .wrap(Wrap { trim: false });
        // Scrolling stops once the last wrapped line is in view (counted as
        // drawn at this width, block row included).
        let total = u16::try_from(para.line_count(area.width)).unwrap_or(u16::MAX);
        let max = total.saturating_sub(area.height);
        para.scroll((self.0.help_scroll.min(max), 0)).render(area, buf);
    }
}

//! Top two lines: tabs and source, then counters. Drops come before anything
//! optional so a narrow terminal never hides them; the TCP totals
//! (retransmitted and out-of-order segments of the open connections, from
//! the refresh's one pass over them) last.

use super::app::{App, Tab};
use super::format;
use super::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

pub struct Header<'a>(pub &'a App);

const BRAND: &str = " RustNet ";

/// The tab drawn at column `x` of the first line (for mouse clicks).
pub fn tab_at(x: u16) -> Option<Tab> {
    let mut at = BRAND.len();
    for tab in Tab::ALL {
        // One space, then " Title ".
        let start = at + 1;
        at = start + tab.title().len() + 2;
        if (start..at).contains(&usize::from(x)) {
            return Some(tab);
        }
    }
    None
}

impl Widget for Header<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let t = app.theme;
        let mut tabs = vec![Span::styled(BRAND, t.title())];
        for tab in Tab::ALL {
            let style = if tab == app.tab { t.tab_active() } else { t.label() };
            tabs.push(Span::raw(" "));
            tabs.push(Span::styled(format!(" {} ", tab.title()), style));
        }
        // The source gets what the tabs leave on the first line.
        let used: usize = tabs.iter().map(Span::width).sum();
        let paused = if app.paused { 9 } else { 0 };
        let room = usize::from(area.width).saturating_sub(used + 3 + paused);
        let s = &app.snapshot;
        let source = if s.source.is_empty() { "-" } else { s.source.as_str() };
        let done = if s.finished { " (finished)" } else { "" };
        if app.paused {
            tabs.push(Span::raw(" "));
            tabs.push(Span::styled(" PAUSED ", t.prompt()));
        }
        tabs.push(Span::raw("  "));
        tabs.push(Span::styled(format::fit(&format!("{source}{done}"), room), t.value()));
        Line::from(tabs).render(Rect { height: 1, ..area }, buf);
        if area.height > 1 {
            let stats = Rect { y: area.y + 1, height: 1, ..area };
            stats_line(app, t).render(stats, buf);
        }
    }
}

fn stats_line(app: &App, t: Theme) -> Line<'static> {
    let s = &app.snapshot;
    let shown = if app.filter.applied.is_empty() { String::new() } else { format!(" ({} shown)", app.shown()) };
    let kernel = s.capture.kernel_drops;
    let queue = s.capture.queue_drops;
    let pair =
        |label: &str, value: String, style| [Span::styled(format!("{label} "), t.label()), Span::styled(value, style)];
    let sum = &app.agg.summary;
    let mut spans = vec![Span::raw(" ")];
    spans.extend(pair("packets", format!("{} ({})", s.stats.packets, format::bytes(s.stats.bytes as f64)), t.value()));
    spans.push(Span::raw("  "));
    spans.extend(pair("conns", format!("{}{shown}", s.connections.len()), t.value()));
    if app.show_history {
        // The history's own count, and how many it has let go (bounded).
        let h = &app.history;
        let dropped = if h.dropped > 0 { format!(" (+{} dropped)", h.dropped) } else { String::new() };
        spans.push(Span::raw("  "));
        spans.extend(pair("ended", format!("{}{dropped}", h.len()), t.value()));
    }
    spans.push(Span::raw("  "));
    spans.extend(pair("drops kernel", kernel.to_string(), t.warning(kernel > 0)));
    spans.extend(pair(" internal", queue.to_string(), t.warning(queue > 0)));
    // The connections' rates added: received, sent.
    spans.push(Span::raw("  "));
    spans.extend(pair("↓", format!("{}/s", format::bytes(sum.rx_rate)), t.value()));
    spans.extend(pair(" ↑", format!("{}/s", format::bytes(sum.tx_rate)), t.value()));
    if s.stats.malformed > 0 {
        spans.push(Span::raw("  "));
        spans.extend(pair("malformed", s.stats.malformed.to_string(), t.warning(true)));
    }
    let (retrans, ooo) = (sum.retrans, sum.ooo);
    spans.push(Span::raw("  "));
    spans.extend(pair("retrans", retrans.to_string(), t.value()));
    spans.push(Span::raw("  "));
    spans.extend(pair("ooo", ooo.to_string(), t.value()));
    Line::from(spans)
}

//! The filter line: `/` prompt with the text being typed, or the filter in
//! force, and the parse error (the table keeps the last valid filter meanwhile).

use super::app::App;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

pub struct FilterBar<'a>(pub &'a App);

impl FilterBar<'_> {
    /// Whether the bar takes a line: while typing, or while a filter is set.
    pub fn visible(app: &App) -> bool {
        app.filter.editing || !app.filter.text.is_empty()
    }

    /// Lines the bar takes at `width`: one, or up to three so that a long
    /// parse error is read whole rather than cut off.
    pub fn height(app: &App, width: u16) -> u16 {
        if !Self::visible(app) {
            return 0;
        }
        let w = line(app).width();
        u16::try_from(w.div_ceil(usize::from(width.max(1)))).unwrap_or(3).clamp(1, 3)
    }
}

fn line(app: &App) -> Line<'static> {
    let t = app.theme;
    let f = &app.filter;
    let mut spans = vec![Span::styled(" filter ", t.key()), Span::raw("/"), Span::raw(f.text.clone())];
    if f.editing {
        // A block cursor drawn as text: the terminal cursor stays hidden.
        spans.push(Span::styled(" ", t.selected()));
    }
    if let Some(e) = &f.error {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(format!("error: {e}"), t.error()));
        if !f.applied_text.is_empty() {
            spans.push(Span::styled(format!(" (using \"{}\")", f.applied_text), t.label()));
        }
    }
    spans.push(Span::styled(format!("  {} match", app.rows.len()), t.label()));
    Line::from(spans)
}

impl Widget for FilterBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        Paragraph::new(line(self.0)).wrap(Wrap { trim: false }).render(area, buf);
    }
}

//! The filter line: `/` prompt with the text being typed, or the filter in
//! force, and the parse error (the table keeps the last valid filter meanwhile).

use super::app::App;
use super::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

pub struct FilterBar<'a>(pub &'a App);

impl FilterBar<'_> {
    /// Whether the bar takes a line: while typing, or while a filter is set.
    pub fn visible(app: &App) -> bool {
        app.filter.editing || !app.filter.text.is_empty()
    }
}

impl Widget for FilterBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let t = Theme::new(app.no_color);
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
        Line::from(spans).render(area, buf);
    }
}

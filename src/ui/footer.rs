//! Bottom line: the quit prompt, a status message, or the keys that apply now.

use super::app::{App, Tab};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

pub struct Footer<'a>(pub &'a App);

impl Widget for Footer<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let t = app.theme;
        if app.quit_pending {
            Line::from(Span::styled(" press q again to quit (any other key cancels) ", t.prompt())).render(area, buf);
            return;
        }
        let mut spans = Vec::new();
        if let Some(msg) = &app.status {
            spans.push(Span::styled(format!(" {msg} "), t.status()));
            spans.push(Span::raw(" "));
        }
        // Drop tab-specific hints from the end until the line fits; the
        // global ones (tab, help, quit) come last in the list and always stay.
        let used: usize = spans.iter().map(Span::width).sum();
        let mut keys = keys_for(app);
        let width =
            |k: &[(&str, &str)]| -> usize { k.iter().map(|(a, b)| a.chars().count() + b.chars().count() + 3).sum() };
        while width(&keys) + used > usize::from(area.width) && keys.len() > GLOBAL_KEYS {
            keys.remove(keys.len() - GLOBAL_KEYS - 1);
        }
        for (i, (key, what)) in keys.iter().enumerate() {
            spans.push(Span::raw(if i == 0 { " " } else { "  " }));
            spans.push(Span::styled(*key, t.key()));
            spans.push(Span::raw(format!(" {what}")));
        }
        Line::from(spans).render(area, buf);
    }
}

/// Hints at the end of every non-filter footer.
const GLOBAL_KEYS: usize = 3;

/// The keys that do something in the current tab and mode.
pub fn keys_for(app: &App) -> Vec<(&'static str, &'static str)> {
    if app.filter.editing {
        return vec![
            ("type", "filter"),
            ("↑↓", "move"),
            ("Enter", "keep"),
            ("Esc", "clear"),
            ("^U", "erase"),
            ("^C", "quit"),
        ];
    }
    let mut keys = match app.tab {
        Tab::Overview => vec![
            ("↑↓/jk", "move"),
            ("Enter", "details"),
            ("/", "filter"),
            ("s/S", "sort"),
            ("←→ +-", "columns"),
            ("t", "history"),
            ("c", "copy"),
        ],
        Tab::Details => vec![("↑↓/jk", "prev/next"), ("J/K PgUp/PgDn", "scroll"), ("Esc", "back"), ("c", "copy")],
        Tab::Activity => vec![("↑↓/jk", "move"), ("Enter", "filter overview"), ("s", "sort"), ("Esc", "back")],
        Tab::Graph => vec![("Esc", "back")],
        Tab::Help => vec![("↑↓/jk", "scroll"), ("Esc", "back")],
    };
    if app.tab == Tab::Overview && !app.filter.text.is_empty() {
        keys.push(("Esc", "clear filter"));
    }
    keys.push(("Space", if app.paused { "resume" } else { "pause" }));
    keys.extend([("1-4/Tab", "tabs"), ("h", "help"), ("q", "quit")]);
    keys
}

//! Styles. Foreground stays the terminal's default (readable on light and dark
//! backgrounds); a few accent colors mark meaning, and every meaning also has a
//! modifier (bold, reverse, dim…) and usually a marker, so `NO_COLOR` loses nothing.

use super::app::RowKind;
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    color: bool,
}

impl Theme {
    pub fn new(no_color: bool) -> Self {
        Theme { color: !no_color }
    }

    /// False under `NO_COLOR`.
    pub fn is_color(self) -> bool {
        self.color
    }

    fn fg(self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn tab_active(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    pub fn label(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn value(self) -> Style {
        Style::new()
    }

    /// Counters that mean lost data (drops, malformed) when non-zero.
    pub fn warning(self, nonzero: bool) -> Style {
        if nonzero { self.fg(Color::Red).add_modifier(Modifier::BOLD) } else { Style::new() }
    }

    pub fn table_header(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    /// The header cell of the column that `+`/`-` resize.
    pub fn focused_header(self) -> Style {
        self.table_header().add_modifier(Modifier::REVERSED)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn row(self, kind: RowKind) -> Style {
        match kind {
            RowKind::Normal => Style::new(),
            RowKind::New => self.fg(Color::Green).add_modifier(Modifier::BOLD),
            RowKind::Closing => self.fg(Color::Yellow).add_modifier(Modifier::ITALIC),
            RowKind::Closed => self.fg(Color::Red).add_modifier(Modifier::DIM),
        }
    }

    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn prompt(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    pub fn status(self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }

    pub fn section(self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }
}

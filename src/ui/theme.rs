//! Styles, from one named palette. Foreground stays the terminal's default
//! (readable on light and dark backgrounds); a few accent colours mark
//! meaning, and every meaning also has a modifier (bold, reverse, dim…) and
//! usually a marker, so `mono` (`--no-color`, `NO_COLOR`) loses nothing.
//!
//! Presets (`--theme`, or `theme` in the config file):
//! - `dark` (default): ANSI colours for a dark background;
//! - `light`: darker 256-colour shades that keep their contrast on a white
//!   or light background (ANSI yellow and cyan fade there);
//! - `high-contrast`: the bright ANSI colours, labels not dimmed;
//! - `mono`: no colour at all, modifiers only.

use super::app::RowKind;
use ratatui::style::{Color, Modifier, Style};

/// The presets, as `--theme` and the config file name them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
    HighContrast,
    Mono,
}

/// One colour per role; `None` leaves the terminal's default.
#[derive(Debug)]
struct Palette {
    /// Titles, the active tab, column headers, keys in help, bars.
    accent: Option<Color>,
    /// Non-zero loss counters, errors, closed rows.
    bad: Option<Color>,
    /// New rows, status messages.
    good: Option<Color>,
    /// Closing rows, the quit prompt.
    caution: Option<Color>,
    /// Section titles in Details and help.
    section: Option<Color>,
    /// Chart series.
    rx: Option<Color>,
    tx: Option<Color>,
    packets: Option<Color>,
    /// Labels and closed rows dimmed (off in high contrast: dim text fades).
    dim: bool,
}

const DARK: Palette = Palette {
    accent: Some(Color::Cyan),
    bad: Some(Color::Red),
    good: Some(Color::Green),
    caution: Some(Color::Yellow),
    section: Some(Color::Magenta),
    rx: Some(Color::Green),
    tx: Some(Color::Blue),
    packets: Some(Color::Cyan),
    dim: true,
};

// xterm-256 shades: 25 #005faf blue, 160 #d70000 red, 28 #008700 green,
// 130 #af5f00 brown-orange, 90 #870087 purple, 30 #008787 teal.
const LIGHT: Palette = Palette {
    accent: Some(Color::Indexed(25)),
    bad: Some(Color::Indexed(160)),
    good: Some(Color::Indexed(28)),
    caution: Some(Color::Indexed(130)),
    section: Some(Color::Indexed(90)),
    rx: Some(Color::Indexed(28)),
    tx: Some(Color::Indexed(25)),
    packets: Some(Color::Indexed(30)),
    dim: true,
};

const HIGH_CONTRAST: Palette = Palette {
    accent: Some(Color::LightCyan),
    bad: Some(Color::LightRed),
    good: Some(Color::LightGreen),
    caution: Some(Color::LightYellow),
    section: Some(Color::LightMagenta),
    rx: Some(Color::LightGreen),
    tx: Some(Color::LightBlue),
    packets: Some(Color::LightCyan),
    dim: false,
};

const MONO: Palette = Palette {
    accent: None,
    bad: None,
    good: None,
    caution: None,
    section: None,
    rx: None,
    tx: None,
    packets: None,
    dim: true,
};

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    name: ThemeName,
    p: &'static Palette,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::named(ThemeName::Dark)
    }
}

impl Theme {
    pub fn named(name: ThemeName) -> Self {
        let p = match name {
            ThemeName::Dark => &DARK,
            ThemeName::Light => &LIGHT,
            ThemeName::HighContrast => &HIGH_CONTRAST,
            ThemeName::Mono => &MONO,
        };
        Theme { name, p }
    }

    /// `mono` when `no_color`, else the default (dark).
    pub fn new(no_color: bool) -> Self {
        Theme::named(if no_color { ThemeName::Mono } else { ThemeName::Dark })
    }

    pub fn name(self) -> ThemeName {
        self.name
    }

    /// False for `mono`.
    pub fn is_color(self) -> bool {
        self.name != ThemeName::Mono
    }

    fn fg(c: Option<Color>) -> Style {
        match c {
            Some(c) => Style::new().fg(c),
            None => Style::new(),
        }
    }

    fn dim(self) -> Style {
        if self.p.dim { Style::new().add_modifier(Modifier::DIM) } else { Style::new() }
    }

    pub fn title(self) -> Style {
        Self::fg(self.p.accent).add_modifier(Modifier::BOLD)
    }

    pub fn tab_active(self) -> Style {
        Self::fg(self.p.accent).add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    pub fn label(self) -> Style {
        self.dim()
    }

    pub fn value(self) -> Style {
        Style::new()
    }

    /// Counters that mean lost data (drops, malformed) when non-zero.
    pub fn warning(self, nonzero: bool) -> Style {
        if nonzero { self.error() } else { Style::new() }
    }

    pub fn table_header(self) -> Style {
        Self::fg(self.p.accent).add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
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
            RowKind::New => Self::fg(self.p.good).add_modifier(Modifier::BOLD),
            RowKind::Closing => Self::fg(self.p.caution).add_modifier(Modifier::ITALIC),
            RowKind::Closed => Self::fg(self.p.bad).patch(self.dim()),
        }
    }

    pub fn key(self) -> Style {
        Self::fg(self.p.accent).add_modifier(Modifier::BOLD)
    }

    /// The bars of the Graph tab's lists.
    pub fn bar(self) -> Style {
        self.key()
    }

    pub fn error(self) -> Style {
        Self::fg(self.p.bad).add_modifier(Modifier::BOLD)
    }

    pub fn prompt(self) -> Style {
        Self::fg(self.p.caution).add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    pub fn status(self) -> Style {
        Self::fg(self.p.good).add_modifier(Modifier::BOLD)
    }

    pub fn section(self) -> Style {
        Self::fg(self.p.section).add_modifier(Modifier::BOLD)
    }

    /// Chart lines: traffic in and out, packets, retransmits, drops.
    pub fn series(self, s: Series) -> Style {
        Self::fg(match s {
            Series::Rx => self.p.rx,
            Series::Tx => self.p.tx,
            Series::Packets => self.p.packets,
            Series::Retrans => self.p.caution,
            Series::Drops => self.p.bad,
        })
    }
}

/// The Graph tab's chart series.
#[derive(Clone, Copy, Debug)]
pub enum Series {
    Rx,
    Tx,
    Packets,
    Retrans,
    Drops,
}

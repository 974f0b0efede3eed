//! Overview table columns: which fit at a given width, and how wide each is.
//! Users widen/narrow the focused column (`+`/`-`, focus with `←`/`→`) or
//! cycle presets (`w`). The state column never shrinks below its longest name,
//! so a long remote or application text is cut (with an ellipsis), not the state.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    Marker,
    Proto,
    Local,
    Remote,
    State,
    Service,
    App,
    Process,
    Down,
    Up,
    /// Sparkline of the row's recent rate (one refresh per cell).
    Trend,
    Bytes,
    Age,
    Rtt,
    Retrans,
}

/// Canonical left-to-right order.
pub const ORDER: [Col; 15] = [
    Col::Marker,
    Col::Proto,
    Col::Local,
    Col::Remote,
    Col::State,
    Col::Service,
    Col::App,
    Col::Process,
    Col::Down,
    Col::Up,
    Col::Trend,
    Col::Bytes,
    Col::Age,
    Col::Rtt,
    Col::Retrans,
];

/// Longest state name ("QUIC_HANDSHAKE", "AUTHENTICATION").
pub const STATE_WIDTH: u16 = 14;

impl Col {
    pub fn title(self) -> &'static str {
        match self {
            Col::Marker => "",
            Col::Proto => "Proto",
            Col::Local => "Local",
            Col::Remote => "Remote",
            Col::State => "State",
            Col::Service => "Service",
            Col::App => "Application",
            Col::Process => "Process",
            Col::Down => "Down/s",
            Col::Up => "Up/s",
            Col::Trend => "Trend",
            Col::Bytes => "Bytes",
            Col::Age => "Age",
            Col::Rtt => "RTT",
            Col::Retrans => "Retr",
        }
    }

    fn min_width(self) -> u16 {
        match self {
            Col::Marker => 1,
            Col::State => STATE_WIDTH,
            Col::Proto => 5,
            _ => 4,
        }
    }

    /// Remote and application take what is left over.
    fn flex(self) -> u16 {
        match self {
            Col::Remote => 3,
            Col::App => 2,
            _ => 0,
        }
    }

    /// Shown at any width: what a row is about and its state.
    fn required(self) -> bool {
        matches!(self, Col::Marker | Col::Proto | Col::Remote | Col::State)
    }

    fn index(self) -> usize {
        ORDER.iter().position(|&c| c == self).unwrap_or(0)
    }
}

/// A preset: preferred widths (by `ORDER`) and which columns go first when space runs out.
pub struct Preset {
    pub name: &'static str,
    widths: [u16; 15],
    /// Most important first; columns later in the list are dropped first.
    priority: [Col; 15],
}

use Col::*;

pub const PRESETS: [Preset; 3] = [
    Preset {
        name: "balanced",
        widths: [1, 5, 21, 21, STATE_WIDTH, 8, 16, 12, 8, 8, 8, 8, 8, 7, 4],
        // Process before the application text: at 80 columns only one fits, and
        // the process is what most people look for first (htop shows the command).
        // The sparkline from 101 columns on.
        priority: [
            Marker, Proto, Remote, State, Down, Up, Process, App, Trend, Service, Local, Bytes, Age, Rtt, Retrans,
        ],
    },
    Preset {
        name: "addresses",
        widths: [1, 5, 24, 32, STATE_WIDTH, 8, 12, 12, 8, 8, 8, 8, 8, 7, 4],
        priority: [
            Marker, Proto, Remote, State, Local, Down, Up, Process, App, Trend, Service, Bytes, Age, Rtt, Retrans,
        ],
    },
    Preset {
        name: "application",
        // Application 22 + Process 12 fill 80 columns; wider, the application grows (flex).
        widths: [1, 5, 21, 21, STATE_WIDTH, 8, 22, 12, 8, 8, 8, 8, 8, 7, 4],
        priority: [
            Marker, Proto, Remote, State, App, Process, Down, Up, Trend, Service, Bytes, Age, Local, Rtt, Retrans,
        ],
    },
];

/// The user's column settings.
#[derive(Clone, Debug)]
pub struct ColumnLayout {
    pub preset: usize,
    widths: [u16; 15],
    /// Column that `+`/`-` resize.
    pub focus: Col,
}

impl Default for ColumnLayout {
    fn default() -> Self {
        ColumnLayout { preset: 0, widths: PRESETS[0].widths, focus: Col::Remote }
    }
}

impl ColumnLayout {
    /// Starts with preset `i` (the config file's `columns`); the first if out of range.
    pub fn with_preset(i: usize) -> Self {
        let preset = if i < PRESETS.len() { i } else { 0 };
        ColumnLayout { preset, widths: PRESETS[preset].widths, ..Default::default() }
    }

    pub fn preset_name(&self) -> &'static str {
        PRESETS[self.preset].name
    }

    pub fn cycle_preset(&mut self) {
        self.preset = (self.preset + 1) % PRESETS.len();
        self.widths = PRESETS[self.preset].widths;
    }

    pub fn width_of(&self, c: Col) -> u16 {
        self.widths[c.index()]
    }

    /// Widens (positive) or narrows the focused column, within its minimum.
    pub fn resize_focus(&mut self, delta: i16) {
        let i = self.focus.index();
        let w = self.widths[i].saturating_add_signed(delta);
        self.widths[i] = w.clamp(self.focus.min_width(), 120);
    }

    /// Moves the focus to the next (or previous) resizable column.
    pub fn move_focus(&mut self, forward: bool) {
        let n = ORDER.len();
        let mut i = self.focus.index();
        loop {
            i = if forward { (i + 1) % n } else { (i + n - 1) % n };
            if ORDER[i] != Col::Marker {
                break;
            }
        }
        self.focus = ORDER[i];
    }

    /// Columns that fit in `total` cells (one cell between columns), in
    /// display order, with final widths: flexible columns share the rest.
    pub fn layout(&self, total: u16) -> Vec<(Col, u16)> {
        let mut chosen: Vec<Col> = Vec::new();
        let mut used: u16 = 0;
        for &c in &PRESETS[self.preset].priority {
            let need = self.width_of(c) + u16::from(!chosen.is_empty());
            if used + need <= total || c.required() {
                used += need;
                chosen.push(c);
            }
        }
        let mut out: Vec<(Col, u16)> =
            ORDER.iter().filter(|c| chosen.contains(c)).map(|&c| (c, self.width_of(c))).collect();
        // Too narrow even for the required columns: the flexible ones give way.
        let mut excess = used.saturating_sub(total);
        for (c, w) in out.iter_mut() {
            if c.flex() > 0 && excess > 0 {
                let cut = excess.min(w.saturating_sub(c.min_width()));
                *w -= cut;
                excess -= cut;
            }
        }
        let spare = total.saturating_sub(used);
        let flex_total: u16 = chosen.iter().map(|c| c.flex()).sum();
        if flex_total > 0 && spare > 0 {
            let mut left = spare;
            for (c, w) in out.iter_mut() {
                if c.flex() > 0 {
                    let add = spare * c.flex() / flex_total;
                    *w += add;
                    left -= add;
                }
            }
            // Rounding remainder to the first flexible column.
            if let Some((_, w)) = out.iter_mut().find(|(c, _)| c.flex() > 0) {
                *w += left;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_fills_width_and_keeps_state() {
        let l = ColumnLayout::default();
        for total in [50u16, 80, 120, 200] {
            let cols = l.layout(total);
            let sum: u16 = cols.iter().map(|(_, w)| w).sum::<u16>() + cols.len() as u16 - 1;
            assert_eq!(sum, total, "width {total}: {cols:?}");
            let state = cols.iter().find(|(c, _)| *c == Col::State);
            assert_eq!(state.map(|s| s.1 >= STATE_WIDTH), Some(true), "{cols:?}");
        }
        // Wide terminals show everything.
        assert_eq!(l.layout(200).len(), ORDER.len());
    }

    #[test]
    fn state_cannot_be_narrowed_and_others_can() {
        let mut l = ColumnLayout { focus: Col::State, ..Default::default() };
        l.resize_focus(-5);
        assert_eq!(l.width_of(Col::State), STATE_WIDTH);
        l.focus = Col::Local;
        l.resize_focus(-5);
        assert_eq!(l.width_of(Col::Local), 16);
        l.resize_focus(8);
        assert_eq!(l.width_of(Col::Local), 24);
        l.cycle_preset();
        assert_eq!(l.preset_name(), "addresses");
    }

    #[test]
    fn process_shown_at_80_columns() {
        let mut l = ColumnLayout::default();
        for preset in ["balanced", "addresses", "application"] {
            assert_eq!(l.preset_name(), preset);
            let cols: Vec<Col> = l.layout(80).iter().map(|c| c.0).collect();
            // "addresses" gives 80 columns to the two addresses (process from 89 on).
            assert_eq!(cols.contains(&Col::Process), preset != "addresses", "{preset}: {cols:?}");
            l.cycle_preset();
        }
    }
}

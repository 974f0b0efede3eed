//! Activity tab: one row per process (rates now, totals since start with
//! ended connections included, connections open/total, busiest peers, a
//! pulse bar of its recent rate), then the interfaces' kernel counters.

use super::aggregate::{Aggregate, PULSE, ProcRow};
use super::app::App;
use super::format;
use crate::host::ifstats::IfCounters;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Widget};
use std::cell::Cell as StdCell;
use std::time::Duration;

/// What the process rows are sorted by (`s` cycles), biggest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActSort {
    Egress,
    Ingress,
    Total,
}

impl ActSort {
    pub fn name(self) -> &'static str {
        match self {
            ActSort::Egress => "egress",
            ActSort::Ingress => "ingress",
            ActSort::Total => "total",
        }
    }

    fn next(self) -> ActSort {
        match self {
            ActSort::Egress => ActSort::Ingress,
            ActSort::Ingress => ActSort::Total,
            ActSort::Total => ActSort::Egress,
        }
    }
}

/// The tab's own state: order of the rows, selection, scroll.
pub struct ActivityView {
    pub sort: ActSort,
    /// Indices into [`Aggregate::rows`], sorted.
    pub order: Vec<u32>,
    pub selected: usize,
    scroll: StdCell<usize>,
}

impl Default for ActivityView {
    fn default() -> Self {
        ActivityView { sort: ActSort::Egress, order: Vec::new(), selected: 0, scroll: StdCell::new(0) }
    }
}

impl ActivityView {
    /// Sorts the rows (ties: most bytes, then name and pid, so rows do not
    /// jump), keeping the selection on its process.
    pub fn sort_rows(&mut self, agg: &Aggregate) {
        let rows = agg.rows();
        let was = self.order.get(self.selected).and_then(|&i| rows.get(i as usize)).map(|r| (r.pid, r.name.clone()));
        let key = |r: &ProcRow| match self.sort {
            ActSort::Egress => r.tx_rate,
            ActSort::Ingress => r.rx_rate,
            ActSort::Total => 0.0,
        };
        let bytes = |r: &ProcRow| {
            let t = r.total();
            t.tx_bytes + t.rx_bytes
        };
        // Keys computed once per row; the sort compares them, and the rows'
        // names only on ties.
        let mut keyed: Vec<(f64, u64, u32)> =
            rows.iter().enumerate().map(|(i, r)| (key(r), bytes(r), i as u32)).collect();
        keyed.sort_unstable_by(|a, b| {
            b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then_with(|| {
                let (ra, rb) = (&rows[a.2 as usize], &rows[b.2 as usize]);
                ra.name.cmp(&rb.name).then(ra.pid.cmp(&rb.pid))
            })
        });
        self.order.clear();
        self.order.extend(keyed.iter().map(|k| k.2));
        if let Some((pid, name)) = was
            && let Some(p) =
                self.order.iter().position(|&i| rows[i as usize].pid == pid && rows[i as usize].name == name)
        {
            self.selected = p;
        }
        self.selected = self.selected.min(self.order.len().saturating_sub(1));
    }

    pub fn cycle_sort(&mut self, agg: &Aggregate) {
        self.sort = self.sort.next();
        self.sort_rows(agg);
    }

    pub fn move_to(&mut self, pos: usize) {
        self.selected = pos.min(self.order.len().saturating_sub(1));
    }

    /// The selected process row.
    pub fn selected_row<'a>(&self, agg: &'a Aggregate) -> Option<&'a ProcRow> {
        agg.rows().get(*self.order.get(self.selected)? as usize)
    }

    /// Index of the first row shown (as last drawn).
    pub fn first_shown(&self) -> usize {
        self.scroll.get()
    }

    /// First row shown: moves only as far as needed to keep the selection in view.
    fn viewport(&self, height: usize) -> std::ops::Range<usize> {
        let len = self.order.len();
        let mut top = self.scroll.get();
        if self.selected < top {
            top = self.selected;
        } else if height > 0 && self.selected >= top + height {
            top = self.selected + 1 - height;
        }
        top = top.min(len.saturating_sub(height));
        self.scroll.set(top);
        top..(top + height).min(len)
    }
}

/// The overview filter that shows the process's connections (Enter).
pub fn process_filter(row: &ProcRow) -> Option<String> {
    // Filter terms are split at spaces: a name with one is matched by its first word.
    let word = row.name.split_whitespace().next()?;
    row.pid.map(|_| format!("process:{word}"))
}

/// One interface's rates and counters between two readings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IfRow {
    pub now: IfCounters,
    pub rx_rate: f64,
    pub tx_rate: f64,
}

/// Rows from a new reading and the previous one, `dt` apart.
pub fn if_rows(prev: &[IfRow], now: Vec<IfCounters>, dt: Duration) -> Vec<IfRow> {
    let secs = dt.as_secs_f64();
    now.into_iter()
        .map(|n| {
            let p = prev.iter().find(|p| p.now.name == n.name);
            let rate = |a: u64, b: Option<u64>| match b {
                Some(b) if secs > 0.0 => a.saturating_sub(b) as f64 / secs,
                _ => 0.0,
            };
            IfRow {
                rx_rate: rate(n.rx_bytes, p.map(|p| p.now.rx_bytes)),
                tx_rate: rate(n.tx_bytes, p.map(|p| p.now.tx_bytes)),
                now: n,
            }
        })
        .collect()
}

pub struct Activity<'a>(pub &'a App);

impl Widget for Activity<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let ifs = &app.interfaces;
        let if_height = if ifs.is_empty() { 0 } else { (ifs.len() as u16 + 2).min(area.height / 3) };
        let [procs, ifaces] = Layout::vertical([Constraint::Min(3), Constraint::Length(if_height)]).areas(area);
        processes(app, procs, buf);
        if if_height > 0 {
            interfaces(app, ifaces, buf);
        }
    }
}

fn processes(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let v = &app.activity;
    let agg = &app.agg;
    let dropped = if agg.dropped > 0 { format!("  (+{} idle processes dropped)", agg.dropped) } else { String::new() };
    let title = Line::from(vec![
        Span::styled(" Processes ", t.title()),
        Span::styled(format!("sort: {} ↓  totals include ended connections{dropped} ", v.sort.name()), t.label()),
    ]);
    let mut block = Block::default().borders(Borders::TOP).title(title);
    let inner = block.inner(area);
    let range = v.viewport(usize::from(inner.height.saturating_sub(1)));
    if !range.is_empty() {
        let pos = format!(" {}–{} of {} ", range.start + 1, range.end, v.order.len());
        block = block.title(Line::styled(pos, t.label()).right_aligned());
    }
    block.render(area, buf);
    let cols = columns(inner.width);
    let header = Row::new(cols.iter().map(|&(c, _)| {
        let marked = matches!((v.sort, c), (ActSort::Egress, PCol::Up) | (ActSort::Ingress, PCol::Down))
            || (v.sort == ActSort::Total && matches!(c, PCol::Sent | PCol::Recv));
        let title = if marked { format!("↓{}", c.title()) } else { c.title().to_string() };
        Cell::from(title).style(t.table_header())
    }));
    let shown = &v.order[range.clone()];
    // Peers only for the rows drawn, and only when their column is.
    let peers = if cols.iter().any(|c| c.0 == PCol::Peers) {
        agg.top_peers(shown, &app.snapshot.connections, 3)
    } else {
        Vec::new()
    };
    let rows = shown.iter().enumerate().map(|(k, &i)| {
        let r = &agg.rows()[i as usize];
        let style = if range.start + k == v.selected { t.selected() } else { t.value() };
        let peers = peers.get(k).map_or(&[][..], Vec::as_slice);
        Row::new(cols.iter().map(|&(c, w)| Cell::from(cell(r, c, usize::from(w), peers)))).style(style)
    });
    let widths = cols.iter().map(|&(_, w)| Constraint::Length(w));
    Table::new(rows, widths).header(header).column_spacing(1).render(inner, buf);
    if v.order.is_empty() && inner.height > 2 {
        let r = Rect { y: inner.y + 2, height: 1, ..inner };
        Paragraph::new("no connections yet").style(t.label()).centered().render(r, buf);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PCol {
    Pid,
    Process,
    User,
    Container,
    Up,
    Down,
    Sent,
    Recv,
    Conns,
    Pulse,
    Peers,
}

impl PCol {
    fn title(self) -> &'static str {
        match self {
            PCol::Pid => "PID",
            PCol::Process => "Process",
            PCol::User => "User",
            PCol::Container => "Container",
            PCol::Up => "Up/s",
            PCol::Down => "Down/s",
            PCol::Sent => "Sent",
            PCol::Recv => "Recv",
            PCol::Conns => "Open/All",
            PCol::Pulse => "Pulse",
            PCol::Peers => "Top peers",
        }
    }
}

/// Columns that fit `width`, in priority order; Top peers take what is left.
fn columns(width: u16) -> Vec<(PCol, u16)> {
    let want: [(PCol, u16); 10] = [
        (PCol::Pid, 7),
        (PCol::Process, 12),
        (PCol::Up, 8),
        (PCol::Down, 8),
        (PCol::Sent, 8),
        (PCol::Recv, 8),
        (PCol::Conns, 8),
        (PCol::Pulse, PULSE as u16),
        (PCol::User, 8),
        (PCol::Container, 12),
    ];
    let mut used = 0u16;
    let mut cols = Vec::new();
    for (c, w) in want {
        if used + w < width {
            used += w + 1;
            cols.push((c, w));
        }
    }
    if width > used + 12 {
        cols.push((PCol::Peers, width - used - 1));
    }
    // Shown in reading order whatever the priority.
    let order = |c: PCol| match c {
        PCol::Pid => 0,
        PCol::Process => 1,
        PCol::User => 2,
        PCol::Container => 3,
        PCol::Up => 4,
        PCol::Down => 5,
        PCol::Sent => 6,
        PCol::Recv => 7,
        PCol::Conns => 8,
        PCol::Pulse => 9,
        PCol::Peers => 10,
    };
    cols.sort_by_key(|&(c, _)| order(c));
    cols
}

fn cell(r: &ProcRow, c: PCol, w: usize, peers: &[super::aggregate::Peer]) -> String {
    let total = r.total();
    match c {
        PCol::Pid => r.pid.map_or_else(|| "-".into(), |p| p.to_string()),
        PCol::Process => format::fit(if r.pid.is_some() { &r.name } else { "(no process)" }, w),
        PCol::User => format::fit(r.user.as_deref().unwrap_or(""), w),
        PCol::Container => format::fit(r.container.as_deref().unwrap_or(""), w),
        PCol::Up => format::bytes(r.tx_rate),
        PCol::Down => format::bytes(r.rx_rate),
        PCol::Sent => format::bytes(total.tx_bytes as f64),
        PCol::Recv => format::bytes(total.rx_bytes as f64),
        PCol::Conns => format!("{}/{}", r.open.conns, total.conns),
        PCol::Pulse => pulse(&r.pulse),
        PCol::Peers => {
            let names: Vec<String> =
                peers.iter().map(|p| p.name.clone().unwrap_or_else(|| p.addr.to_string())).collect();
            format::fit(&names.join(", "), w)
        }
    }
}

/// The recent rates as bars, scaled to their own peak (blank when idle).
pub fn pulse(v: &[f32]) -> String {
    const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = v.iter().copied().fold(0.0f32, f32::max);
    v.iter()
        .map(|&x| {
            if max <= 0.0 || x <= 0.0 {
                return BARS[0];
            }
            // At least the lowest bar for any traffic at all.
            let level = ((x / max) * 8.0).ceil().clamp(1.0, 8.0) as usize;
            BARS[level]
        })
        .collect()
}

fn interfaces(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Line::from(vec![Span::styled(" Interfaces ", t.title()), Span::styled("kernel counters ", t.label())]));
    let inner = block.inner(area);
    block.render(area, buf);
    let heads = ["Interface", "Down/s", "Up/s", "RX err", "TX err", "RX drop", "TX drop"];
    let header = Row::new(heads.map(|h| Cell::from(h).style(t.table_header())));
    let rows = app.interfaces.iter().map(|i| {
        let n = &i.now;
        let warn = |v: u64| Cell::from(v.to_string()).style(t.warning(v > 0));
        Row::new(vec![
            Cell::from(format::fit(&n.name, 15)),
            Cell::from(format::bytes(i.rx_rate)),
            Cell::from(format::bytes(i.tx_rate)),
            warn(n.rx_errors),
            warn(n.tx_errors),
            warn(n.rx_dropped),
            warn(n.tx_dropped),
        ])
    });
    let widths = [15, 9, 9, 8, 8, 8, 8].map(Constraint::Length);
    Table::new(rows, widths).header(header).column_spacing(1).render(inner, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulse_bars_scale_to_their_peak() {
        assert_eq!(pulse(&[0.0, 1.0, 4.0, 8.0]), " ▁▄█");
        assert_eq!(pulse(&[0.0, 0.0]), "  ");
    }

    #[test]
    fn interface_rates_from_two_readings() {
        let c = |rx, tx| IfCounters { name: "eth0".into(), rx_bytes: rx, tx_bytes: tx, ..Default::default() };
        let first = if_rows(&[], vec![c(1000, 500)], Duration::from_secs(1));
        assert_eq!((first[0].rx_rate, first[0].tx_rate), (0.0, 0.0));
        let next = if_rows(&first, vec![c(5000, 1500)], Duration::from_secs(2));
        assert_eq!((next[0].rx_rate, next[0].tx_rate), (2000.0, 500.0));
    }
}

//! Overview tab: the connection table. Only the visible window of rows is
//! built each frame, so drawing cost does not grow with the table.

use super::app::App;
use super::columns::Col;
use super::format;
use super::groups::{self, Group};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Widget};
use rustnet_core::track::Connection;

pub struct Overview<'a>(pub &'a App);

impl Widget for Overview<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let t = app.theme;
        let arrow = if app.descending { "↓" } else { "↑" };
        let title = Line::from(vec![
            Span::styled(" Connections ", t.title()),
            Span::styled(
                format!(
                    "sort: {} {arrow}  columns: {} (focus {}) ",
                    app.sort.name(),
                    app.columns.preset_name(),
                    app.columns.focus.title()
                ),
                t.label(),
            ),
        ]);
        let mut block = Block::default().borders(Borders::TOP).title(title);
        let inner = block.inner(area);
        let std::ops::Range { start, end } = app.viewport(usize::from(inner.height.saturating_sub(1)));
        if end > start {
            // Says which rows are shown, so rows scrolled out of view are never a surprise.
            let pos = format!(" {}–{end} of {} ", start + 1, app.rows.len());
            block = block.title(Line::styled(pos, t.label()).right_aligned());
        }
        block.render(area, buf);
        let cols = app.columns.layout(inner.width);
        // The sort column carries the direction arrow first (never cut off).
        let header = Row::new(cols.iter().map(|&(c, _)| {
            let style = if c == app.columns.focus { t.focused_header() } else { t.table_header() };
            let title = if app.sort.marks(c) { format!("{arrow}{}", c.title()) } else { c.title().to_string() };
            Cell::from(title).style(style)
        }));
        let shown = app.rows.get(start..end).unwrap_or_default();
        let rows = shown.iter().enumerate().filter_map(|(k, &i)| {
            let selected = start + k == app.selected;
            if let Some(g) = groups::group_of(i) {
                let g = app.groups.get(g)?;
                let mut style = t.section();
                if selected {
                    style = style.patch(t.selected());
                }
                return Some(Row::new(cols.iter().map(|&(col, w)| Cell::from(group_text(g, col, w)))).style(style));
            }
            let c = app.conn(i)?;
            let kind = app.row_kind(c);
            let mut style = t.row(kind);
            if selected {
                style = style.patch(t.selected());
            }
            Some(Row::new(cols.iter().map(|&(col, w)| Cell::from(cell_text(app, i, c, col, w)))).style(style))
        });
        let widths = cols.iter().map(|&(_, w)| Constraint::Length(w));
        Table::new(rows, widths).header(header).column_spacing(1).render(inner, buf);
        if app.rows.is_empty() && inner.height > 2 {
            let msg = if app.snapshot.connections.is_empty() && (app.history.is_empty() || !app.show_history) {
                "no connections yet"
            } else {
                "no connection matches the filter (Esc clears it)"
            };
            let r = Rect { y: inner.y + 2, height: 1, ..inner };
            Paragraph::new(msg).style(t.label()).centered().render(r, buf);
        }
    }
}

/// A process's group row: what its connections add up to.
fn group_text(g: &Group, col: Col, width: u16) -> String {
    let w = usize::from(width);
    match col {
        Col::Marker => if g.expanded { "▾" } else { "▸" }.to_string(),
        Col::Remote => format::fit(&g.label(), w),
        Col::State => format!("{} connection{}", g.conns, if g.conns == 1 { "" } else { "s" }),
        Col::Process => format::fit(g.key.as_ref().map_or("", |k| k.1.as_str()), w),
        Col::Down => format::bytes(g.rx_rate),
        Col::Up => format::bytes(g.tx_rate),
        Col::Bytes => format::bytes(g.bytes as f64),
        _ => String::new(),
    }
}

/// Connection `i` of the view (see [`App::conn`]) in column `col`.
fn cell_text(app: &App, i: usize, c: &Connection, col: Col, width: u16) -> String {
    let w = usize::from(width);
    match col {
        // Ended connections (history) have no recent rates.
        Col::Trend => {
            app.agg.track(i).filter(|t| t.id == c.id).map_or(String::new(), |t| format::sparkline(app.agg.spark(t, w)))
        }
        Col::Marker => app.row_kind(c).marker().to_string(),
        Col::Proto => format::proto(c.proto).to_string(),
        Col::Local => format::fit(&c.local.display(c.proto).to_string(), w),
        Col::Remote => {
            let r = format::remote(c);
            if c.proto.has_ports() { format::fit_keep_port(&r, w) } else { format::fit(&r, w) }
        }
        Col::State => c.state.name().to_string(),
        Col::Service => format::fit(c.service().unwrap_or(""), w),
        Col::App => c.app.as_ref().map_or(String::new(), |a| format::fit(&format::app_summary(a), w)),
        Col::Process => c.process.as_ref().map_or(String::new(), |p| format::fit(&p.name, w)),
        Col::Down => format::bytes(c.rates(app.rate_now()).1),
        Col::Up => format::bytes(c.rates(app.rate_now()).0),
        Col::Bytes => format::bytes((c.tx_bytes + c.rx_bytes) as f64),
        Col::Age => app.age_of(c),
        Col::Rtt => c.live_rtt().map_or(String::new(), format::rtt),
        Col::Retrans => c.tcp.map_or(String::new(), |t| t.retransmits().to_string()),
    }
}

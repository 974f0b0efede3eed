//! Graph tab: traffic in/out over the last minutes (braille chart), packet
//! rate, retransmissions and drops over time, then connections by state and
//! the busiest applications and processes now.

use super::app::App;
use super::format;
use super::samples::Sample;
use super::theme::{Series, Theme};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Widget};
use rustnet_core::track::State;

pub struct Graph<'a>(pub &'a App);

impl Widget for Graph<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let [traffic, rates, lists] =
            Layout::vertical([Constraint::Percentage(42), Constraint::Percentage(28), Constraint::Min(4)]).areas(area);
        let t = app.theme;
        let s: Vec<&Sample> = app.samples.iter().collect();
        chart(
            t,
            " Traffic ",
            &[("in", Series::Rx, &|s| s.rx), ("out", Series::Tx, &|s| s.tx)],
            &s,
            &|v| format!("{}/s", format::bytes(v)),
            traffic,
            buf,
        );
        let [pkts, loss] = Layout::horizontal([Constraint::Percentage(50); 2]).areas(rates);
        chart(t, " Packets ", &[("pkt/s", Series::Packets, &|s| s.packets)], &s, &count, pkts, buf);
        chart(
            t,
            " Retransmits, drops ",
            &[("retrans/s", Series::Retrans, &|s| s.retrans), ("drops/s", Series::Drops, &|s| s.drops)],
            &s,
            &count,
            loss,
            buf,
        );
        let [states, apps, procs] = Layout::horizontal([Constraint::Ratio(1, 3); 3]).areas(lists);
        let sum = &app.agg.summary;
        let mut by_state: Vec<(String, f64, String)> = State::ALL
            .iter()
            .zip(&sum.states)
            .filter(|(_, n)| **n > 0)
            .map(|(s, &n)| (s.name().to_string(), f64::from(n), n.to_string()))
            .collect();
        by_state.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        bars(t, " Connections by state ", &by_state, states, buf);
        let mut by_app: Vec<(String, f64, String)> = sum
            .apps
            .iter()
            .map(|&(p, n, bytes)| (p.to_string(), bytes as f64, format!("{} ({n})", format::bytes(bytes as f64))))
            .collect();
        by_app.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        bars(t, " Top applications ", &by_app, apps, buf);
        bars(t, " Top processes ", &top_processes(app), procs, buf);
    }
}

fn count(v: f64) -> String {
    if v >= 10.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

/// Processes by current rate, then by bytes since start: the 16 first
/// picked without sorting (or naming) every row.
fn top_processes(app: &App) -> Vec<(String, f64, String)> {
    const TOP: usize = 16;
    let rows = app.agg.rows();
    let mut v: Vec<(f64, u64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let t = r.total();
            (r.tx_rate + r.rx_rate, t.tx_bytes + t.rx_bytes, i)
        })
        .collect();
    let order =
        |a: &(f64, u64, usize), b: &(f64, u64, usize)| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2));
    if v.len() > TOP {
        v.select_nth_unstable_by(TOP, order);
        v.truncate(TOP);
    }
    v.sort_by(order);
    let by_rate = v.first().is_some_and(|p| p.0 > 0.0);
    v.into_iter()
        .map(|(rate, bytes, i)| {
            let r = &rows[i];
            let name = match r.pid {
                Some(pid) => format!("{} {pid}", r.name),
                None => "(no process)".to_string(),
            };
            if by_rate {
                (name, rate, format!("{}/s", format::bytes(rate)))
            } else {
                (name, bytes as f64, format::bytes(bytes as f64))
            }
        })
        .collect()
}

type Plot<'a> = (&'a str, Series, &'a dyn Fn(&Sample) -> f64);

/// A braille line chart of `series` over the samples; x is seconds before
/// the latest sample.
fn chart(
    t: Theme,
    title: &str,
    series: &[Plot<'_>],
    samples: &[&Sample],
    unit: &dyn Fn(f64) -> String,
    area: Rect,
    buf: &mut Buffer,
) {
    let last = samples.last().map(|s| s.at);
    let points: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, _, f)| samples.iter().map(|s| (-last.map_or(0.0, |l| l.since(s.at).as_secs_f64()), f(s))).collect())
        .collect();
    let span = points.iter().flatten().map(|p| -p.0).fold(0.0, f64::max).max(10.0);
    let top = points.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
    let ymax = if top > 0.0 { top * 1.1 } else { 1.0 };
    let now: Vec<Span> = series
        .iter()
        .zip(&points)
        .flat_map(|((name, color, _), p)| {
            let v = p.last().map_or(0.0, |p| p.1);
            [Span::styled(format!("{name} "), t.series(*color)), Span::styled(format!("{}  ", unit(v)), t.value())]
        })
        .collect();
    let mut block =
        Block::default().borders(Borders::TOP).title(Line::from(Span::styled(title.to_string(), t.title())));
    // The latest values, where there is room beside the title.
    let now = Line::from(now);
    if title.chars().count() + now.width() + 4 <= usize::from(area.width) {
        block = block.title(now.right_aligned());
    }
    let datasets = series
        .iter()
        .zip(&points)
        .map(|((_, color, _), p)| {
            Dataset::default().marker(Marker::Braille).graph_type(GraphType::Line).style(t.series(*color)).data(p)
        })
        .collect();
    let x = Axis::default()
        .bounds([-span, 0.0])
        .labels([Line::from(format!("-{}", format::duration(std::time::Duration::from_secs_f64(span)))), "now".into()])
        .style(t.label());
    let y = Axis::default().bounds([0.0, ymax]).labels(["0".to_string(), unit(ymax)]).style(t.label());
    let chart = Chart::new(datasets).block(block).x_axis(x).y_axis(y).legend_position(None);
    if samples.len() < 2 {
        chart.render(area, buf);
        let r = Rect { y: area.y + area.height / 2, height: 1, ..area };
        Paragraph::new("collecting samples…").style(t.label()).centered().render(r, buf);
    } else {
        chart.render(area, buf);
    }
}

/// "name ▇▇▇▇ value" lines, bars scaled to the largest.
fn bars(t: Theme, title: &str, items: &[(String, f64, String)], area: Rect, buf: &mut Buffer) {
    let block = Block::default().borders(Borders::TOP).title(Span::styled(title.to_string(), t.title()));
    let inner = block.inner(area);
    block.render(area, buf);
    let w = usize::from(inner.width);
    let name_w = items.iter().map(|i| i.0.chars().count()).max().unwrap_or(0).min(w / 2).max(4);
    let val_w = items.iter().map(|i| i.2.chars().count()).max().unwrap_or(0);
    // One blank column at the end keeps the next list apart.
    let bar_w = w.saturating_sub(name_w + val_w + 3);
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max);
    let lines: Vec<Line> = items
        .iter()
        .take(usize::from(inner.height))
        .map(|(name, v, label)| {
            let n = if max > 0.0 { ((v / max) * bar_w as f64).ceil() as usize } else { 0 };
            Line::from(vec![
                Span::raw(format!("{:<name_w$} ", format::fit(name, name_w))),
                Span::styled("▇".repeat(n.min(bar_w)), t.bar()),
                Span::raw(format!("{} {label}", " ".repeat(bar_w - n.min(bar_w)))),
            ])
        })
        .collect();
    if lines.is_empty() {
        Paragraph::new("none").style(t.label()).render(inner, buf);
    } else {
        Paragraph::new(lines).render(inner, buf);
    }
}

//! Keys → state changes. Pure: no terminal, clipboard or clock here; what
//! needs the outside world comes back as an [`Effect`] for the run loop.

use super::app::{App, Tab};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use std::time::{Duration, Instant};

/// What the run loop must do after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    Quit,
    /// Put this text on the clipboard.
    Copy(String),
}

const PAGE: isize = 10;

pub fn handle_key(app: &mut App, key: KeyEvent) -> Effect {
    let effect = on_key(app, key);
    app.sync_details();
    effect
}

fn on_key(app: &mut App, key: KeyEvent) -> Effect {
    if key.kind == KeyEventKind::Release {
        return Effect::None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Effect::Quit;
    }
    app.status = None;
    if app.quit_pending {
        app.quit_pending = false;
        if key.code == KeyCode::Char('q') && !ctrl {
            return Effect::Quit;
        }
        // Any other key only cancels the prompt.
        return Effect::None;
    }
    if app.filter.editing {
        filter_key(app, key, ctrl);
        return Effect::None;
    }
    if app.tab == Tab::Help && scroll_help(app, key.code) {
        return Effect::None;
    }
    if app.tab == Tab::Details && scroll_details(app, key.code) {
        return Effect::None;
    }
    if app.tab == Tab::Activity && activity_key(app, key.code) {
        return Effect::None;
    }
    // Every key below may read or move the table's selection.
    app.fresh();
    if navigate(app, key.code) {
        return Effect::None;
    }
    match key.code {
        KeyCode::Char('q') => app.quit_pending = true,
        KeyCode::Tab => app.next_tab(true),
        KeyCode::Char(d @ '1'..='4') => app.set_tab(Tab::ALL[usize::from(d as u8 - b'1')]),
        KeyCode::Char(' ') => app.paused = !app.paused,
        KeyCode::BackTab => app.next_tab(false),
        KeyCode::Char('h') | KeyCode::Char('?') => app.toggle_help(),
        // Grouped overview: Enter, → and ← open and close a group row.
        KeyCode::Enter if app.tab == Tab::Overview && !app.expand_group(None) => app.set_tab(Tab::Details),
        KeyCode::Right if app.tab == Tab::Overview && app.expand_group(Some(true)) => {}
        KeyCode::Left if app.tab == Tab::Overview && app.expand_group(Some(false)) => {}
        KeyCode::Char('a') => {
            app.set_tab(Tab::Overview);
            app.toggle_grouped();
        }
        KeyCode::Esc => {
            if app.tab != Tab::Overview {
                app.set_tab(Tab::Overview);
            } else if !app.filter.text.is_empty() {
                app.clear_filter();
            }
        }
        KeyCode::Char('/') => {
            app.filter.editing = true;
            app.set_tab(Tab::Overview);
        }
        KeyCode::Char('c') => {
            return match app.selected_remote() {
                Some(addr) => Effect::Copy(addr),
                None => {
                    app.status = Some("nothing selected to copy".into());
                    Effect::None
                }
            };
        }
        KeyCode::Char('t') => app.toggle_history(),
        KeyCode::Char('s') => app.cycle_sort(),
        KeyCode::Char('S') => app.flip_sort(),
        KeyCode::Left => app.columns.move_focus(false),
        KeyCode::Right => app.columns.move_focus(true),
        KeyCode::Char('+') | KeyCode::Char('>') => app.columns.resize_focus(2),
        KeyCode::Char('-') | KeyCode::Char('<') => app.columns.resize_focus(-2),
        KeyCode::Char('w') => app.columns.cycle_preset(),
        _ => {}
    }
    Effect::None
}

/// In the help tab the movement keys scroll the text (the help widget clamps).
fn scroll_help(app: &mut App, code: KeyCode) -> bool {
    let s = &mut app.help_scroll;
    match code {
        KeyCode::Up | KeyCode::Char('k') => *s = s.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => *s = s.saturating_add(1),
        KeyCode::PageUp => *s = s.saturating_sub(PAGE as u16),
        KeyCode::PageDown => *s = s.saturating_add(PAGE as u16),
        KeyCode::Home | KeyCode::Char('g') => *s = 0,
        // The help widget clamps this to its last page.
        KeyCode::End | KeyCode::Char('G') => *s = u16::MAX,
        _ => return false,
    }
    true
}

/// In the details tab J/K and PgDn/PgUp scroll the text (clamped when
/// drawn); the arrows and j/k still go to the next / previous connection.
fn scroll_details(app: &mut App, code: KeyCode) -> bool {
    let s = app.details_scroll.get();
    let s = match code {
        KeyCode::Char('K') => s.saturating_sub(1),
        KeyCode::Char('J') => s.saturating_add(1),
        KeyCode::PageUp => s.saturating_sub(PAGE as u16),
        KeyCode::PageDown => s.saturating_add(PAGE as u16),
        _ => return false,
    };
    app.details_scroll.set(s);
    true
}

/// In the Activity tab the movement keys move its selection, `s` sorts by
/// egress / ingress / total and Enter filters the overview to the process.
fn activity_key(app: &mut App, code: KeyCode) -> bool {
    let v = &mut app.activity;
    let last = v.order.len().saturating_sub(1);
    match code {
        KeyCode::Up | KeyCode::Char('k') => v.move_to(v.selected.saturating_sub(1)),
        KeyCode::Down | KeyCode::Char('j') => v.move_to(v.selected + 1),
        KeyCode::PageUp => v.move_to(v.selected.saturating_sub(PAGE as usize)),
        KeyCode::PageDown => v.move_to(v.selected + PAGE as usize),
        KeyCode::Home | KeyCode::Char('g') => v.move_to(0),
        KeyCode::End | KeyCode::Char('G') => v.move_to(last),
        KeyCode::Char('s') => v.cycle_sort(&app.agg),
        KeyCode::Enter => app.filter_to_selected_process(),
        _ => return false,
    }
    true
}

/// Two clicks on one row within this long open its details.
const DOUBLE_CLICK: Duration = Duration::from_millis(500);
/// Screen line of the first table row: tabs and counters (2), the table's
/// title line and its column header.
const FIRST_ROW: u16 = 4;
/// Rows one wheel step moves.
const WHEEL: isize = 3;

/// Mouse: a click on a tab switches to it; in the overview and Activity a
/// click selects a row, and a second click on it soon after does what
/// Enter does there (overview: a connection's details, a group opened or
/// closed; Activity: the overview filtered to that process); the wheel
/// moves the selection or scrolls the text. `at` is when the event came
/// (the run loop's clock).
pub fn handle_mouse(app: &mut App, m: MouseEvent, at: Instant) {
    if app.quit_pending || app.filter.editing {
        return;
    }
    let down = match m.kind {
        MouseEventKind::Down(MouseButton::Left) => true,
        MouseEventKind::ScrollDown => {
            wheel(app, WHEEL);
            return;
        }
        MouseEventKind::ScrollUp => {
            wheel(app, -WHEEL);
            return;
        }
        _ => false,
    };
    if !down {
        return;
    }
    // No `fresh()` here: a click on a tab goes through `set_tab`, and the
    // table is only clicked while shown, when it is never stale.
    if m.row == 0 {
        if let Some(tab) = super::header::tab_at(m.column) {
            app.set_tab(tab);
            app.sync_details();
        }
        return;
    }
    let Some(k) = m.row.checked_sub(FIRST_ROW).map(usize::from) else { return };
    let tab = app.tab;
    let pos = match tab {
        Tab::Overview => app.scroll.get() + k,
        Tab::Activity => app.activity.first_shown() + k,
        _ => return,
    };
    let rows = if tab == Tab::Overview { app.rows.len() } else { app.activity.order.len() };
    if pos >= rows {
        return;
    }
    let double = app.last_click.is_some_and(|(t, tb, p)| (tb, p) == (tab, pos) && at.duration_since(t) <= DOUBLE_CLICK);
    app.last_click = if double { None } else { Some((at, tab, pos)) };
    match tab {
        Tab::Overview => {
            app.select(pos);
            if double && !app.expand_group(None) {
                app.set_tab(Tab::Details);
                app.sync_details();
            }
        }
        _ => {
            app.activity.move_to(pos);
            if double {
                app.filter_to_selected_process();
            }
        }
    }
}

fn wheel(app: &mut App, by: isize) {
    let code = if by > 0 { KeyCode::Down } else { KeyCode::Up };
    for _ in 0..by.unsigned_abs() {
        let moved = match app.tab {
            Tab::Help => scroll_help(app, code),
            Tab::Details => scroll_details(app, if by > 0 { KeyCode::Char('J') } else { KeyCode::Char('K') }),
            Tab::Activity => activity_key(app, code),
            Tab::Overview => navigate(app, code),
            Tab::Graph => false,
        };
        if !moved {
            return;
        }
    }
    app.sync_details();
}

/// Selection movement shared by normal mode (with vim keys) and filter mode.
fn navigate(app: &mut App, code: KeyCode) -> bool {
    match code {
        KeyCode::Up | KeyCode::Char('k') => app.move_by(-1),
        KeyCode::Down | KeyCode::Char('j') => app.move_by(1),
        KeyCode::PageUp => app.move_by(-PAGE),
        KeyCode::PageDown => app.move_by(PAGE),
        KeyCode::Home | KeyCode::Char('g') => app.select(0),
        KeyCode::End | KeyCode::Char('G') => app.select_last(),
        _ => return false,
    }
    true
}

/// Filter mode: typing edits the filter and narrows the table at once.
fn filter_key(app: &mut App, key: KeyEvent, ctrl: bool) {
    match key.code {
        KeyCode::Enter => app.filter.editing = false,
        KeyCode::Esc => app.clear_filter(),
        KeyCode::Backspace => {
            app.filter.text.pop();
            app.update_filter();
        }
        KeyCode::Char('u') if ctrl => {
            app.filter.text.clear();
            app.update_filter();
        }
        KeyCode::Char('w') if ctrl => {
            let keep = app.filter.text.trim_end().rfind(' ').map_or(0, |i| i + 1);
            app.filter.text.truncate(keep);
            app.update_filter();
        }
        KeyCode::Char(ch) if !ctrl => {
            app.filter.text.push(ch);
            app.update_filter();
        }
        // Letters are text here, so only the non-character keys move the selection.
        KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown | KeyCode::Home | KeyCode::End => {
            navigate(app, key.code);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;
    use crate::ui::app::SortKey;
    use crate::ui::fixture::ranked as conns;
    use std::time::Duration;

    fn app(s: Snapshot) -> App {
        let mut a = App::new(Duration::from_secs(1), false);
        a.set_snapshot(s);
        a
    }

    fn press(a: &mut App, code: KeyCode) -> Effect {
        handle_key(a, KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ids(a: &App) -> Vec<u64> {
        a.rows.iter().map(|&i| a.snapshot.connections[i].id).collect()
    }

    fn sel(a: &App) -> u64 {
        a.selected_conn().map_or(0, |c| c.id)
    }

    #[test]
    fn quit_needs_two_q_and_other_keys_cancel() {
        let mut a = app(conns(3, |i| i as u32, |_| 0));
        assert_eq!(press(&mut a, KeyCode::Char('q')), Effect::None);
        assert!(a.quit_pending);
        // Another key cancels the prompt and does nothing else.
        assert_eq!(press(&mut a, KeyCode::Char('j')), Effect::None);
        assert!(!a.quit_pending);
        assert_eq!(a.selected, 0);
        press(&mut a, KeyCode::Char('q'));
        assert_eq!(press(&mut a, KeyCode::Char('q')), Effect::Quit);
        // Ctrl+C quits at once, even while typing a filter.
        press(&mut a, KeyCode::Char('/'));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(handle_key(&mut a, ctrl_c), Effect::Quit);
    }

    #[test]
    fn movement_keys() {
        let mut a = app(conns(30, |i| 1000 - i as u32, |_| 0));
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Down);
        assert_eq!(a.selected, 2);
        press(&mut a, KeyCode::Char('k'));
        assert_eq!(a.selected, 1);
        press(&mut a, KeyCode::PageDown);
        assert_eq!(a.selected, 11);
        press(&mut a, KeyCode::PageUp);
        press(&mut a, KeyCode::PageUp);
        assert_eq!(a.selected, 0);
        press(&mut a, KeyCode::End);
        assert_eq!(a.selected, 29);
        press(&mut a, KeyCode::Down);
        assert_eq!(a.selected, 29, "stays on the last row");
        press(&mut a, KeyCode::Char('g'));
        assert_eq!(a.selected, 0);
        press(&mut a, KeyCode::Char('G'));
        assert_eq!(a.selected, 29);
        press(&mut a, KeyCode::Home);
        assert_eq!(a.selected, 0);
    }

    #[test]
    fn selection_follows_the_connection() {
        // Rates rise with the index: sorted by rate (descending) id 109 is first.
        let mut a = app(conns(10, |i| 100 * (i as u32 + 1), |i| 10_000 - i as u64));
        assert_eq!(ids(&a)[0], 109);
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Char('j'));
        assert_eq!(sel(&a), 107);
        // Next refresh: rates reversed, so 107 moves from row 2 to row 7.
        a.set_snapshot(conns(10, |i| 100 * (10 - i as u32), |i| 10_000 - i as u64));
        assert_eq!(ids(&a)[0], 100);
        assert_eq!(sel(&a), 107);
        assert_eq!(a.selected, 7);
        // Sorting by bytes (descending): 100 has the most.
        press(&mut a, KeyCode::Char('s'));
        assert_eq!(a.sort, SortKey::Bytes);
        assert_eq!(ids(&a), (100..110).collect::<Vec<_>>());
        assert_eq!(sel(&a), 107);
        press(&mut a, KeyCode::Char('S'));
        assert_eq!(ids(&a), (100..110).rev().collect::<Vec<_>>());
        assert_eq!(sel(&a), 107);
        // Age, youngest first; connection i was first seen 100+i s ago.
        press(&mut a, KeyCode::Char('s'));
        assert_eq!(a.sort, SortKey::Age);
        assert_eq!(ids(&a), (100..110).collect::<Vec<_>>());
        // The selected connection leaves: the selection stays at its row.
        let mut s = conns(10, |_| 0, |_| 0);
        s.connections.retain(|c| c.id != 107);
        a.set_snapshot(s);
        assert_eq!(a.rows.len(), 9);
        assert!(a.selected_conn().is_some());
    }

    #[test]
    fn process_sort_is_case_insensitive_with_unknown_last() {
        let names = ["beta", "Alpha", "", "alpha2", "gamma_long_name_x", "gamma_long_name_a"];
        let mut s = conns(names.len(), |_| 0, |_| 0);
        for (c, n) in s.connections.iter_mut().zip(names) {
            c.process = (!n.is_empty()).then(|| {
                Box::new(rustnet_core::track::ProcessInfo {
                    pid: 1,
                    name: n.to_string(),
                    cmdline: None,
                    ..Default::default()
                })
            });
        }
        let mut a = app(s);
        while a.sort != SortKey::Process {
            press(&mut a, KeyCode::Char('s'));
        }
        let shown = |a: &App| -> Vec<String> {
            let name = |i: usize| a.snapshot.connections[i].process.as_ref().map_or("", |p| p.name.as_str());
            a.rows.iter().map(|&i| name(i).to_string()).collect()
        };
        assert_eq!(shown(&a), ["Alpha", "alpha2", "beta", "gamma_long_name_a", "gamma_long_name_x", ""]);
        press(&mut a, KeyCode::Char('S'));
        assert_eq!(shown(&a), ["", "gamma_long_name_x", "gamma_long_name_a", "beta", "alpha2", "Alpha"], "reversed");
    }

    #[test]
    fn tabs_details_and_help() {
        let mut a = app(conns(3, |_| 0, |_| 0));
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.tab, Tab::Details);
        press(&mut a, KeyCode::Char('h'));
        assert_eq!(a.tab, Tab::Help);
        press(&mut a, KeyCode::Char('h'));
        assert_eq!(a.tab, Tab::Details, "help returns where it was opened");
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.tab, Tab::Overview);
        for want in [Tab::Details, Tab::Activity, Tab::Graph, Tab::Help, Tab::Overview] {
            press(&mut a, KeyCode::Tab);
            assert_eq!(a.tab, want);
        }
        press(&mut a, KeyCode::BackTab);
        assert_eq!(a.tab, Tab::Help);
        press(&mut a, KeyCode::BackTab);
        assert_eq!(a.tab, Tab::Graph);
        for (k, want) in [('3', Tab::Activity), ('1', Tab::Overview), ('4', Tab::Graph), ('2', Tab::Details)] {
            press(&mut a, KeyCode::Char(k));
            assert_eq!(a.tab, want, "key {k}");
        }
    }

    #[test]
    fn filter_mode_keys() {
        let mut a = app(conns(5, |i| i as u32, |_| 0));
        press(&mut a, KeyCode::Char('/'));
        assert!(a.filter.editing);
        for ch in "j k".chars() {
            press(&mut a, KeyCode::Char(ch));
        }
        assert_eq!(a.filter.text, "j k", "letters are text while typing");
        assert_eq!(a.selected, 0);
        press(&mut a, KeyCode::Backspace);
        assert_eq!(a.filter.text, "j ");
        press(&mut a, KeyCode::Backspace);
        press(&mut a, KeyCode::Backspace);
        // "443" matches every test connection (remote port 443).
        for ch in "443".chars() {
            press(&mut a, KeyCode::Char(ch));
        }
        press(&mut a, KeyCode::Down);
        assert_eq!(a.selected, 1, "arrows move while typing");
        press(&mut a, KeyCode::Enter);
        assert!(!a.filter.editing);
        assert_eq!(a.filter.text, "443");
        assert_eq!(a.filter.applied_text, "443");
        // Out of filter mode, j moves again and Esc clears the filter.
        press(&mut a, KeyCode::Char('j'));
        assert_eq!(a.selected, 2);
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.filter.text, "");
        assert!(a.filter.applied.is_empty());
        // Esc while typing clears and leaves the mode.
        press(&mut a, KeyCode::Char('/'));
        press(&mut a, KeyCode::Char('x'));
        press(&mut a, KeyCode::Esc);
        assert!(!a.filter.editing);
        assert_eq!(a.filter.text, "");
    }

    #[test]
    fn copy_gives_the_remote_address() {
        let mut a = app(conns(3, |i| i as u32, |_| 0));
        assert_eq!(press(&mut a, KeyCode::Char('c')), Effect::Copy("10.0.0.2:443".into()));
        let mut empty = app(Snapshot::default());
        assert_eq!(press(&mut empty, KeyCode::Char('c')), Effect::None);
        assert!(empty.status.is_some());
    }

    #[test]
    fn column_keys() {
        use crate::ui::columns::Col;
        let mut a = app(Snapshot::default());
        assert_eq!(a.columns.focus, Col::Remote);
        press(&mut a, KeyCode::Right);
        assert_eq!(a.columns.focus, Col::State);
        press(&mut a, KeyCode::Right);
        let w = a.columns.width_of(Col::Service);
        press(&mut a, KeyCode::Char('+'));
        assert_eq!(a.columns.width_of(Col::Service), w + 2);
        press(&mut a, KeyCode::Char('-'));
        press(&mut a, KeyCode::Char('-'));
        assert_eq!(a.columns.width_of(Col::Service), w - 2);
        press(&mut a, KeyCode::Char('w'));
        assert_eq!(a.columns.preset_name(), "addresses");
    }

    /// The table is 10 rows high in these tests.
    fn view(a: &App) -> std::ops::Range<usize> {
        a.viewport(10)
    }

    #[test]
    fn top_stays_on_top_across_refreshes_and_sorts() {
        // Rates rise with the index: 129 is the busiest, 100 the quietest.
        let mut a = app(conns(30, |i| 100 * (i as u32 + 1), |i| i as u64));
        assert_eq!((sel(&a), view(&a)), (129, 0..10));
        // The busiest connection goes quiet and sinks: the view stays on the top rows.
        a.set_snapshot(conns(30, |i| if i == 29 { 0 } else { 100 * (i as u32 + 1) }, |i| i as u64));
        assert_eq!((a.selected, sel(&a), view(&a)), (0, 128, 0..10));
        // Re-sorting from the top opens at the top (129 is now the oldest, last by age).
        press(&mut a, KeyCode::Char('s'));
        press(&mut a, KeyCode::Char('s'));
        assert_eq!(a.sort, SortKey::Age);
        assert_eq!((a.selected, sel(&a), view(&a)), (0, 100, 0..10));
        press(&mut a, KeyCode::Char('S'));
        assert_eq!((a.selected, sel(&a), view(&a)), (0, 129, 0..10));
    }

    #[test]
    fn g_goes_to_the_top_and_stays_there() {
        let mut a = app(conns(30, |i| 100 * (i as u32 + 1), |i| i as u64));
        for _ in 0..25 {
            press(&mut a, KeyCode::Char('j'));
        }
        assert_eq!((a.selected, view(&a)), (25, 16..26));
        press(&mut a, KeyCode::Char('g'));
        assert_eq!((a.selected, view(&a)), (0, 0..10));
        // Next refresh, the order reverses: still the first row, now the busiest.
        a.set_snapshot(conns(30, |i| 100 * (30 - i as u32), |i| i as u64));
        assert_eq!((a.selected, sel(&a), view(&a)), (0, 100, 0..10));
    }

    #[test]
    fn viewport_moves_only_as_needed_and_clamps() {
        let mut a = app(conns(30, |i| 100 * (30 - i as u32), |i| i as u64));
        for _ in 0..5 {
            press(&mut a, KeyCode::Char('j'));
        }
        assert_eq!((sel(&a), view(&a)), (105, 0..10));
        // Reversed: 105 moves to row 24; the view scrolls just enough to show it.
        a.set_snapshot(conns(30, |i| 100 * (i as u32 + 1), |i| i as u64));
        assert_eq!((a.selected, sel(&a), view(&a)), (24, 105, 15..25));
        // Moving inside the view does not scroll it.
        press(&mut a, KeyCode::Char('k'));
        assert_eq!((a.selected, view(&a)), (23, 15..25));
        press(&mut a, KeyCode::Char('j'));
        // The table shrinks to 12 rows (105 is row 6): the view is clamped to the end.
        a.set_snapshot(conns(12, |i| 100 * (i as u32 + 1), |i| i as u64));
        assert_eq!((a.selected, sel(&a), view(&a)), (6, 105, 2..12));
        // A filter narrowing the table to fewer rows than the view shows them all.
        press(&mut a, KeyCode::Char('/'));
        for ch in "10.0.0.1".chars() {
            press(&mut a, KeyCode::Char(ch));
        }
        assert_eq!(a.rows.len(), 3, "10.0.0.1, .10, .11");
        assert_eq!(view(&a), 0..3);
    }

    #[test]
    fn details_of_the_top_row_keep_their_connection() {
        let mut a = app(conns(30, |i| 100 * (i as u32 + 1), |i| i as u64));
        press(&mut a, KeyCode::Enter);
        assert_eq!((a.tab, sel(&a)), (Tab::Details, 129));
        a.set_snapshot(conns(30, |i| 100 * (30 - i as u32), |i| i as u64));
        assert_eq!(sel(&a), 129, "details do not switch to the new top row");
        // Back in the overview, the selection is on that connection's row.
        press(&mut a, KeyCode::Esc);
        assert_eq!((a.selected, sel(&a)), (29, 129));
        a.set_snapshot(conns(30, |i| 100 * (30 - i as u32), |i| i as u64));
        assert_eq!((a.selected, sel(&a)), (29, 129), "and stays with it");
    }

    #[test]
    fn details_keep_their_connection_when_it_expires() {
        use rustnet_core::track::EndReason;
        let mut a = app(conns(5, |i| 100 * (i as u32 + 1), |i| i as u64));
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Enter);
        assert_eq!((a.tab, sel(&a)), (Tab::Details, 103));
        // 103 expires: gone from the table, its record in the (hidden) history.
        let mut s = conns(5, |i| 100 * (i as u32 + 1), |i| i as u64);
        let mut ended = s.connections.iter().find(|c| c.id == 103).cloned().expect("in the fixture");
        s.connections.retain(|c| c.id != 103);
        ended.end_reason = Some(EndReason::Idle);
        ended.rx_bytes = 4242;
        a.add_ended(vec![ended]);
        a.set_snapshot(s);
        let shown = a.details_conn().map(|c| (c.id, c.rx_bytes, c.end_reason));
        assert_eq!(shown, Some((103, 4242, Some(EndReason::Idle))), "still 103, its final copy");
        // Without a record (not yet arrived), the last copy shown stays.
        press(&mut a, KeyCode::Char('j'));
        let next = sel(&a);
        assert_ne!(next, 103, "moving leaves it");
        let mut s = conns(5, |i| 100 * (i as u32 + 1), |i| i as u64);
        s.connections.retain(|c| c.id != next && c.id != 103);
        a.set_snapshot(s);
        assert_eq!(a.details_conn().map(|c| c.id), Some(next));
        assert!(a.gone.is_some(), "marked ended");
        press(&mut a, KeyCode::Esc);
        assert!(a.gone.is_none());
    }

    #[test]
    fn help_end_scrolls_the_help_not_the_table() {
        let mut a = app(conns(30, |i| i as u32, |_| 0));
        press(&mut a, KeyCode::Char('h'));
        press(&mut a, KeyCode::Char('G'));
        assert_eq!((a.tab, a.selected), (Tab::Help, 0), "the selection stays");
        assert!(a.help_scroll > 0);
        press(&mut a, KeyCode::Char('g'));
        assert_eq!(a.help_scroll, 0);
    }

    #[test]
    fn a_connection_picked_up_mid_stream_is_not_new() {
        use crate::ui::app::RowKind;
        let mut s = conns(2, |_| 0, |_| 0);
        for c in &mut s.connections {
            c.first_seen = s.now;
            let mut t = rustnet_core::track::TcpStats::default();
            // ACK/PSH only; the second also saw the SYN.
            t.tx.flags = 0x18;
            if c.id == 101 {
                t.rx.flags = 0x12;
            }
            c.tcp = Some(t);
        }
        let a = app(s);
        let kind = |id| a.snapshot.connections.iter().find(|c| c.id == id).map(|c| a.row_kind(c));
        assert_eq!(kind(100), Some(RowKind::Normal), "mid-stream");
        assert_eq!(kind(101), Some(RowKind::New));
    }

    #[test]
    fn a_finished_replay_settles_rates_and_new_markers() {
        use crate::ui::app::RowKind;
        let mut s = conns(3, |i| 1000 * (i as u32 + 1), |_| 0);
        s.finished = true;
        for c in &mut s.connections {
            c.first_seen = s.now;
            c.tcp = None;
        }
        let mut a = app(s);
        let first = |a: &App| a.selected_conn().map(|c| (c.rates(a.rate_now()).1, a.row_kind(c)));
        let (rate, kind) = first(&a).expect("a row");
        assert!(rate > 0.0 && kind == RowKind::New, "at the end: the last second's rate, new");
        assert!(a.agg.summary.rx_rate > 0.0 && a.agg.rows().iter().any(|r| r.rx_rate > 0.0));
        a.settle();
        assert_eq!(first(&a), Some((0.0, RowKind::Normal)), "then quiet");
        // The per-process and total rates too, and with the next snapshot.
        assert_eq!(a.agg.summary.rx_rate, 0.0);
        assert!(a.agg.rows().iter().all(|r| r.rx_rate == 0.0 && r.tx_rate == 0.0));
        let again = a.snapshot.clone();
        a.set_snapshot(again);
        assert_eq!(a.agg.summary.rx_rate, 0.0);
    }

    #[test]
    fn mouse_clicks_tabs_rows_and_wheel() {
        use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
        let click = |a: &mut App, column, row, at| {
            let m = MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column,
                row,
                modifiers: KeyModifiers::NONE,
            };
            handle_mouse(a, m, at);
        };
        let mut a = app(conns(30, |i| 1000 - i as u32, |_| 0));
        let t0 = std::time::Instant::now();
        // " RustNet " then " Overview " " Details " " Activity ": column 32 is in Activity.
        click(&mut a, 32, 0, t0);
        assert_eq!(a.tab, Tab::Activity);
        click(&mut a, 12, 0, t0);
        assert_eq!(a.tab, Tab::Overview);
        // Table rows start on line 4: line 7 is the fourth row.
        click(&mut a, 5, 7, t0);
        assert_eq!((a.selected, a.tab), (3, Tab::Overview));
        // A second click on it, soon: details of that connection.
        click(&mut a, 5, 7, t0 + Duration::from_millis(200));
        assert_eq!((a.tab, sel(&a)), (Tab::Details, 103));
        press(&mut a, KeyCode::Esc);
        // Slow second click: only selects.
        click(&mut a, 5, 8, t0);
        click(&mut a, 5, 8, t0 + Duration::from_secs(2));
        assert_eq!((a.selected, a.tab), (4, Tab::Overview));
        let wheel = |a: &mut App, kind| {
            handle_mouse(a, MouseEvent { kind, column: 0, row: 10, modifiers: KeyModifiers::NONE }, t0);
        };
        wheel(&mut a, MouseEventKind::ScrollDown);
        assert_eq!(a.selected, 7);
        wheel(&mut a, MouseEventKind::ScrollUp);
        wheel(&mut a, MouseEventKind::ScrollUp);
        assert_eq!(a.selected, 1);
        // Below the last row: nothing.
        click(&mut a, 5, 60, t0);
        assert_eq!(a.selected, 1);
        // Grouped: a double click on a group row opens it, again closes it.
        press(&mut a, KeyCode::Char('a'));
        let groups = a.rows.len();
        click(&mut a, 5, 4, t0);
        click(&mut a, 5, 4, t0 + Duration::from_millis(100));
        assert_eq!((a.tab, a.rows.len()), (Tab::Overview, groups + 30), "opened");
        click(&mut a, 5, 4, t0 + Duration::from_millis(300));
        click(&mut a, 5, 4, t0 + Duration::from_millis(400));
        assert_eq!(a.rows.len(), groups, "closed");
        press(&mut a, KeyCode::Char('a'));
        // Activity (one process, curl): a double click on it filters the
        // overview to it.
        a.set_tab(Tab::Activity);
        click(&mut a, 5, 4, t0);
        assert_eq!(a.tab, Tab::Activity, "one click selects");
        click(&mut a, 5, 4, t0 + Duration::from_millis(100));
        assert_eq!((a.tab, a.filter.applied_text.as_str(), a.rows.len()), (Tab::Overview, "process:curl", 30));
    }
}

//! UI state: the current snapshot, the view model built from it (filtered and
//! sorted row indices, computed once per refresh), selection, tabs and modes.
//! Drawing reads this; `input` mutates it; neither does I/O.

use super::activity::{ActivityView, IfRow};
use super::aggregate::Aggregate;
use super::columns::ColumnLayout;
use super::format;
use super::groups::{self, Group, GroupKey};
use super::history::History;
use super::order::{by_process, by_rate, select_split, sorted};
use super::samples::{Samples, Totals};
use super::theme::Theme;
use crate::snapshot::Snapshot;
use rustnet_core::filter::Filter;
use rustnet_core::track::{Connection, EndReason, State};
use std::time::Duration;

/// Connections younger than this (or than one refresh, if longer) are "new".
const NEW_WINDOW: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Details,
    Activity,
    Graph,
    Help,
}

impl Tab {
    /// In the order Tab cycles through and the header shows; `1`-`4` pick the first four.
    pub const ALL: [Tab; 5] = [Tab::Overview, Tab::Details, Tab::Activity, Tab::Graph, Tab::Help];

    /// Activity and Graph: the table is not drawn, so a refresh need not sort it.
    pub fn hides_table(self) -> bool {
        matches!(self, Tab::Activity | Tab::Graph)
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Details => "Details",
            Tab::Activity => "Activity",
            Tab::Graph => "Graph",
            Tab::Help => "Help",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|&t| t == self).unwrap_or(0)
    }

    fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

/// What the table is sorted by (`s` cycles, `S` flips the direction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Rate,
    Bytes,
    Age,
    Process,
    Remote,
    State,
    Proto,
    Rtt,
    Retrans,
}

impl SortKey {
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Rate => "rate",
            SortKey::Bytes => "bytes",
            SortKey::Age => "age",
            SortKey::Process => "process",
            SortKey::Remote => "remote",
            SortKey::State => "state",
            SortKey::Proto => "proto",
            SortKey::Rtt => "rtt",
            SortKey::Retrans => "retrans",
        }
    }

    /// Whether the overview's column `col` shows this key (marked in its header).
    pub fn marks(self, col: super::columns::Col) -> bool {
        use super::columns::Col;
        matches!(
            (self, col),
            (SortKey::Rate, Col::Down | Col::Up)
                | (SortKey::Bytes, Col::Bytes)
                | (SortKey::Age, Col::Age)
                | (SortKey::Process, Col::Process)
                | (SortKey::Remote, Col::Remote)
                | (SortKey::State, Col::State)
                | (SortKey::Proto, Col::Proto)
                | (SortKey::Rtt, Col::Rtt)
                | (SortKey::Retrans, Col::Retrans)
        )
    }

    fn next(self) -> SortKey {
        match self {
            SortKey::Rate => SortKey::Bytes,
            SortKey::Bytes => SortKey::Age,
            SortKey::Age => SortKey::Process,
            SortKey::Process => SortKey::Remote,
            SortKey::Remote => SortKey::State,
            SortKey::State => SortKey::Proto,
            SortKey::Proto => SortKey::Rtt,
            SortKey::Rtt => SortKey::Retrans,
            SortKey::Retrans => SortKey::Rate,
        }
    }

    /// Natural first direction: biggest/newest first for numbers, A→Z for text.
    fn default_descending(self) -> bool {
        matches!(self, SortKey::Rate | SortKey::Bytes | SortKey::Rtt | SortKey::Retrans)
    }
}

/// How a row is marked (style plus a marker character, so it reads without color).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Normal,
    New,
    Closing,
    Closed,
}

impl RowKind {
    pub fn of(conn: &Connection, now: rustnet_core::Timestamp, new: Duration) -> Self {
        use State::*;
        // Left the table (history): ended, whatever state it was last in.
        if conn.end_reason.is_some_and(|r| r != EndReason::EndOfInput) {
            return RowKind::Closed;
        }
        match conn.state {
            Closed | QuicClosed => RowKind::Closed,
            FinWait1 | FinWait2 | CloseWait | LastAck | Closing | TimeWait | QuicDraining => RowKind::Closing,
            // Picked up mid-stream (TCP without a SYN seen): older than it looks.
            _ if now.since(conn.first_seen) < new && !mid_stream(conn) => RowKind::New,
            _ => RowKind::Normal,
        }
    }

    pub fn marker(self) -> &'static str {
        match self {
            RowKind::Normal => " ",
            RowKind::New => "+",
            RowKind::Closing => "~",
            RowKind::Closed => "x",
        }
    }
}

/// A TCP connection first seen after its handshake (no SYN either way).
fn mid_stream(conn: &Connection) -> bool {
    const SYN: u8 = 0x02;
    conn.tcp.is_some_and(|t| (t.tx.flags | t.rx.flags) & SYN == 0)
}

/// The filter bar: text being typed, the last filter that parsed, and its error.
#[derive(Clone, Debug, Default)]
pub struct FilterState {
    /// True while typing (filter mode).
    pub editing: bool,
    pub text: String,
    /// Text of the filter in force (the last one that parsed).
    pub applied_text: String,
    pub applied: Filter,
    pub error: Option<String>,
}

/// Everything the UI shows and remembers between frames.
pub struct App {
    pub snapshot: Snapshot,
    /// Connections that left the table, kept so they stay browsable.
    pub history: History,
    /// Whether the overview lists `history` (`t`; on from the start for `--read`).
    pub show_history: bool,
    /// Indices into the view's connections (see [`App::conn`]), filtered and
    /// sorted; from an older snapshot while `stale` (use [`App::fresh`]).
    pub rows: Vec<usize>,
    /// Set when the table was not rebuilt for the latest snapshot, because
    /// the tab shown (Activity, Graph) does not show it (see
    /// [`App::rebuild`]): how many connections the filter passes, for the
    /// header's "shown" (counted only under a filter).
    stale: Option<usize>,
    /// Position of the selection in `rows`.
    pub selected: usize,
    selected_id: Option<u64>,
    pub tab: Tab,
    /// Tab to go back to when help is closed.
    help_return: Tab,
    pub sort: SortKey,
    pub descending: bool,
    pub filter: FilterState,
    /// First `q` pressed: the footer asks for a second one.
    pub quit_pending: bool,
    /// A short message in the footer (copy result…); the run loop expires it.
    pub status: Option<String>,
    pub columns: ColumnLayout,
    /// Colours (`--theme`, `--no-color`, the config file; see `theme`).
    pub theme: Theme,
    /// Show timestamps in UTC instead of local time (tests, or TZ-less hosts).
    pub utc: bool,
    pub new_window: Duration,
    /// First line shown in the help tab.
    pub help_scroll: u16,
    /// First line shown in the details tab (clamped when drawn).
    pub details_scroll: std::cell::Cell<u16>,
    /// The connection Details shows after it left the view (expired, or
    /// hidden history): kept on screen, marked ended, until the user moves.
    pub gone: Option<Connection>,
    /// Copy of the connection shown in Details, for when it leaves.
    details_last: Option<Connection>,
    /// See [`App::settle`].
    pub settled: bool,
    /// First visible row of the table; the table keeps the selection in view.
    pub scroll: std::cell::Cell<usize>,
    /// The user is watching the top of the table (at start, after `g`/Home or
    /// moving up to the first row): while the overview is shown, refreshes and
    /// re-sorts keep the selection on the first row instead of following its
    /// connection down the table.
    pub top_pinned: bool,
    /// Per-process activity and the whole table's summary, from the last pass.
    pub agg: Aggregate,
    /// The Activity tab's order and selection.
    pub activity: ActivityView,
    /// The Graph tab's samples, one per refresh.
    pub samples: Samples,
    /// Interfaces' kernel counters (live capture only; empty otherwise).
    pub interfaces: Vec<IfRow>,
    /// Space: the display is frozen (capture goes on); the run loop holds
    /// snapshots back meanwhile.
    pub paused: bool,
    /// A new snapshot since the last pass: the pass also takes a sample.
    tick: bool,
    /// When, in which tab and on which row the last click was (double-click).
    pub last_click: Option<(std::time::Instant, Tab, usize)>,
    /// `a`: the overview grouped by process (`rows` holds group rows too).
    pub grouped: bool,
    /// The groups of the last rebuild (while grouped).
    pub groups: Vec<Group>,
    /// Groups whose connections are shown.
    expanded: rustc_hash::FxHashSet<GroupKey>,
    /// The group row selected, followed across rebuilds.
    selected_group: Option<GroupKey>,
}

impl App {
    pub fn new(refresh: Duration, no_color: bool) -> Self {
        App {
            snapshot: Snapshot::default(),
            history: History::new(),
            show_history: false,
            rows: Vec::new(),
            stale: None,
            selected: 0,
            selected_id: None,
            tab: Tab::Overview,
            help_return: Tab::Overview,
            sort: SortKey::Rate,
            descending: true,
            filter: FilterState::default(),
            quit_pending: false,
            status: None,
            columns: ColumnLayout::default(),
            theme: Theme::new(no_color),
            utc: false,
            new_window: refresh.max(NEW_WINDOW),
            help_scroll: 0,
            details_scroll: std::cell::Cell::new(0),
            gone: None,
            details_last: None,
            settled: false,
            scroll: std::cell::Cell::new(0),
            top_pinned: true,
            agg: Aggregate::default(),
            activity: ActivityView::default(),
            samples: Samples::default(),
            interfaces: Vec::new(),
            paused: false,
            tick: false,
            last_click: None,
            grouped: false,
            groups: Vec::new(),
            expanded: Default::default(),
            selected_group: None,
        }
    }

    /// Takes a new snapshot and rebuilds the view (the once-per-refresh work).
    /// Returns the previous snapshot, so the caller can free it off the UI thread.
    pub fn set_snapshot(&mut self, mut snapshot: Snapshot) -> Snapshot {
        snapshot.ensure_briefs();
        let old = std::mem::replace(&mut self.snapshot, snapshot);
        self.settle_briefs();
        self.tick = true;
        self.rebuild();
        old
    }

    /// Adds connections that left the table; listed from the next rebuild.
    /// Their final counters go to the per-process totals (once: a later
    /// copy of a connection already listed replaces it there too).
    pub fn add_ended(&mut self, conns: Vec<Connection>) {
        for c in &conns {
            self.agg.ended(self.history.get(c.id), c);
        }
        self.history.add(conns);
    }

    /// The once-per-refresh pass over all connections (see `aggregate`),
    /// then the Graph's sample when a new snapshot came. `rebuild` calls it
    /// when there is something new; public for the ui_refresh bench.
    pub fn aggregate(&mut self) {
        let hist = &self.history;
        let skip = |id: u64| !hist.is_empty() && hist.contains(id);
        let now = self.rate_now();
        let snap = &self.snapshot;
        self.agg.update(&snap.connections, &snap.briefs, now, &skip, self.tick);
        if self.tick {
            let s = &self.agg.summary;
            let totals = Totals {
                at: self.snapshot.now,
                packets: self.snapshot.stats.packets,
                retrans: s.retrans + self.agg.closed.retrans,
                drops: self.snapshot.capture.kernel_drops + self.snapshot.capture.queue_drops,
            };
            self.samples.push(s.rx_rate, s.tx_rate, totals);
            self.tick = false;
        }
        if matches!(self.tab, Tab::Activity | Tab::Graph) {
            self.activity.sort_rows(&self.agg);
        }
    }

    /// Shows tab `tab` (the Activity rows are sorted when it opens, the
    /// table brought up to date when it shows it).
    pub fn set_tab(&mut self, tab: Tab) {
        self.tab = tab;
        if tab == Tab::Activity {
            self.activity.sort_rows(&self.agg);
        }
        if !tab.hides_table() {
            self.fresh();
        }
    }

    /// Enter in the Activity tab: the overview filtered to the selected process.
    pub fn filter_to_selected_process(&mut self) {
        let Some(text) = self.activity.selected_row(&self.agg).and_then(super::activity::process_filter) else {
            self.status = Some("no process to filter on".into());
            return;
        };
        self.filter.text = text;
        self.filter.editing = false;
        self.update_filter();
        self.set_tab(Tab::Overview);
    }

    /// Shows or hides the ended connections (`t`).
    pub fn toggle_history(&mut self) {
        self.show_history = !self.show_history;
        self.rebuild();
    }

    /// Connection `i` of the view: the snapshot's, then the history's.
    pub fn conn(&self, i: usize) -> Option<&Connection> {
        pool(&self.snapshot.connections, self.history.as_slice(), i)
    }

    pub fn selected_conn(&self) -> Option<&Connection> {
        self.conn(*self.rows.get(self.selected)?)
    }

    /// What Details shows: the connection that left the view, else the selected one.
    pub fn details_conn(&self) -> Option<&Connection> {
        self.gone.as_ref().or_else(|| self.selected_conn())
    }

    pub fn row_kind(&self, c: &Connection) -> RowKind {
        RowKind::of(c, self.rate_now(), self.new_window)
    }

    /// The per-process pass when something is new, then the table: filters
    /// and sorts the snapshot's connections into `rows`, keeping the
    /// selection on the same connection id when it is still shown. While
    /// Activity or Graph is shown the table's sort and grouping wait (they
    /// were 5–6 ms of a 20 ms refresh at 100 000 connections, ui_refresh
    /// bench) until a tab or key needs the table ([`App::fresh`]).
    pub fn rebuild(&mut self) {
        self.history.commit();
        if self.tick || self.agg.has_pending() {
            self.aggregate();
        }
        if self.tab.hides_table() {
            // The header says how many the filter passes: counted, not sorted.
            self.stale = Some(if self.filter.applied.is_empty() { 0 } else { self.filtered().len() });
            return;
        }
        self.rebuild_table();
    }

    /// Brings the table up to date if [`App::rebuild`] left it for later:
    /// call it before anything reads or moves `rows`.
    pub fn fresh(&mut self) {
        if self.stale.is_some() {
            self.rebuild_table();
        }
    }

    /// How many connections the table lists (the header's "shown").
    pub fn shown(&self) -> usize {
        self.stale.unwrap_or(self.rows.len())
    }

    /// Positions in the view's pool (see [`App::conn`]) that the filter passes.
    fn filtered(&self) -> Vec<usize> {
        let (conns, hist) = (&self.snapshot.connections, self.history.as_slice());
        let f = &self.filter.applied;
        let mut keep = Vec::with_capacity(conns.len());
        select_split(f, conns, &mut keep);
        if self.show_history && !hist.is_empty() {
            // An ended connection may still be in a snapshot taken just before
            // it left: its history copy (final counters, end reason) is shown.
            // (Ids from the briefs: dense, no connection read.)
            let briefs = &self.snapshot.briefs;
            keep.retain(|&i| !self.history.contains(briefs.get(i).map_or(conns[i].id, |b| b.id)));
            let mut ended = Vec::new();
            f.select(hist, &mut ended);
            keep.extend(ended.into_iter().map(|i| conns.len() + i));
        }
        keep
    }

    fn rebuild_table(&mut self) {
        self.stale = None;
        let keep = self.filtered();
        let (conns, hist) = (&self.snapshot.connections, self.history.as_slice());
        let at = |i: usize| pool(conns, hist, i);
        let order = match self.sort {
            // The pass's rates: no connection read again.
            SortKey::Rate if self.agg.rates().len() == conns.len() => {
                by_rate(&at, &keep, &self.agg, self.descending, self.rate_now())
            }
            SortKey::Process => {
                let agg = (self.agg.rates().len() == conns.len()).then_some(&self.agg);
                by_process(&at, &keep, agg, self.descending)
            }
            _ => sorted(&at, &keep, self.sort, self.descending, self.rate_now()),
        };
        let by_id = if self.grouped {
            let agg = (self.agg.rates().len() == conns.len()).then_some(&self.agg);
            let (groups, rows, ids) = groups::build(&order, &at, agg, &self.expanded, self.rate_now());
            let by_id = match &self.selected_group {
                Some(k) => groups.iter().position(|g| &g.key == k).and_then(|g| {
                    let row = groups::GROUP | g;
                    rows.iter().position(|&r| r == row)
                }),
                None => self.selected_id.and_then(|id| ids.iter().position(|&x| x == id)),
            };
            (self.groups, self.rows) = (groups, rows);
            by_id
        } else {
            self.groups.clear();
            self.rows.clear();
            self.rows.extend(order.iter().map(|e| e.1 as usize));
            self.selected_id.and_then(|id| order.iter().position(|e| e.0 == id))
        };
        self.keep_details(by_id.is_none() && self.selected_group.is_none());
        // Only while the table is in view: details (and help) keep their connection.
        let pinned = self.top_pinned && self.tab == Tab::Overview;
        let pos = if pinned { 0 } else { by_id.unwrap_or(self.selected) };
        self.place(pos);
        // A connection followed away from the top (in details) is followed from then on.
        self.top_pinned &= self.selected == 0;
        self.sync_details();
    }

    /// Remembers what Details shows (after each rebuild and key), and forgets
    /// an ended connection once Details is left.
    pub fn sync_details(&mut self) {
        if self.tab != Tab::Details {
            self.gone = None;
            self.details_last = None;
        } else if self.gone.is_none() {
            self.details_last = self.selected_conn().cloned();
        }
    }

    /// A `--read` replay ended a while ago: nothing flows any more, so rates
    /// read 0 and nothing is new (they once stayed frozen at the file's last
    /// second). The run loop calls this a few seconds after the end.
    pub fn settle(&mut self) {
        if self.snapshot.finished && !self.settled {
            self.settled = true;
            // Rates read 0 from now on: a pass (and a sample) at the new time.
            self.settle_briefs();
            self.tick = true;
            self.rebuild();
        }
    }

    /// Once settled, the briefs' rates are those at [`rate_now`](Self::rate_now):
    /// none (an hour after the snapshot, beyond the 2 s rate window).
    fn settle_briefs(&mut self) {
        if self.settled {
            for b in &mut self.snapshot.briefs {
                (b.tx_rate, b.rx_rate) = (0.0, 0.0);
            }
        }
    }

    /// The time rates and the `+` marker are taken at: the snapshot's, or
    /// long after it once [`settle`](Self::settle)d.
    pub fn rate_now(&self) -> rustnet_core::Timestamp {
        const LATER: Duration = Duration::from_secs(3600);
        if self.settled { self.snapshot.now + LATER } else { self.snapshot.now }
    }

    /// Details keep showing their connection when it leaves the view: its
    /// history copy (final counters, end reason), else the last one shown.
    fn keep_details(&mut self, left: bool) {
        if self.tab != Tab::Details {
            return;
        }
        let id = self.gone.as_ref().map(|c| c.id).or(self.selected_id);
        if self.gone.is_some() || left {
            let last = self.details_last.take();
            if let Some(h) = id.and_then(|id| self.history.get(id)) {
                self.gone = Some(h.clone());
            } else if self.gone.is_none() {
                self.gone = last;
            }
        } else {
            self.details_last = None;
        }
    }

    /// Moves the selection to row `pos` (clamped), as the user asked: on the
    /// first row it stays there across refreshes, elsewhere it follows its connection.
    pub fn select(&mut self, pos: usize) {
        self.gone = None;
        self.place(pos);
        self.top_pinned = self.selected == 0;
    }

    /// Puts the selection on row `pos` (clamped) and remembers its id.
    fn place(&mut self, pos: usize) {
        self.selected = pos.min(self.rows.len().saturating_sub(1));
        self.selected_id = self.selected_conn().map(|c| c.id);
        self.selected_group = self.selected_group_row().map(|g| g.key.clone());
    }

    /// The group row under the selection (grouped overview).
    pub fn selected_group_row(&self) -> Option<&Group> {
        self.groups.get(groups::group_of(*self.rows.get(self.selected)?)?)
    }

    /// `a`: groups the overview by process, or lists connections again.
    pub fn toggle_grouped(&mut self) {
        self.grouped = !self.grouped;
        if !self.grouped {
            self.selected_group = None;
        }
        self.rebuild();
    }

    /// Shows (`Some(true)`), hides (`Some(false)`) or flips (None) the
    /// connections of the selected group; false when no group is selected.
    pub fn expand_group(&mut self, show: Option<bool>) -> bool {
        let Some(key) = self.selected_group_row().map(|g| g.key.clone()) else { return false };
        let show = show.unwrap_or(!self.expanded.contains(&key));
        if show {
            self.expanded.insert(key);
        } else {
            self.expanded.remove(&key);
        }
        self.rebuild();
        true
    }

    /// The rows shown in a table `height` rows high. The first one moves only as
    /// far as needed to keep the selection in view and is clamped when the
    /// table shrinks, so the view stays still while the rows change.
    pub fn viewport(&self, height: usize) -> std::ops::Range<usize> {
        let len = self.rows.len();
        if height == 0 {
            return self.selected..self.selected;
        }
        let mut top = self.scroll.get();
        if self.selected < top {
            top = self.selected;
        } else if self.selected >= top + height {
            top = self.selected + 1 - height;
        }
        top = top.min(len.saturating_sub(height));
        self.scroll.set(top);
        top..(top + height).min(len)
    }

    pub fn move_by(&mut self, delta: isize) {
        let pos = self.selected.saturating_add_signed(delta);
        self.select(pos);
    }

    pub fn select_last(&mut self) {
        self.select(self.rows.len().saturating_sub(1));
    }

    pub fn next_tab(&mut self, forward: bool) {
        self.set_tab(if forward { self.tab.next() } else { self.tab.prev() });
    }

    pub fn toggle_help(&mut self) {
        if self.tab == Tab::Help {
            self.set_tab(self.help_return);
        } else {
            self.help_return = self.tab;
            self.tab = Tab::Help;
        }
    }

    pub fn cycle_sort(&mut self) {
        self.sort = self.sort.next();
        self.descending = self.sort.default_descending();
        self.rebuild();
    }

    pub fn flip_sort(&mut self) {
        self.descending = !self.descending;
        self.rebuild();
    }

    /// Re-parses the filter text; keeps the last valid filter on error.
    pub fn update_filter(&mut self) {
        match Filter::parse(&self.filter.text) {
            Ok(f) => {
                self.filter.applied = f;
                self.filter.applied_text = self.filter.text.clone();
                self.filter.error = None;
                self.rebuild();
            }
            Err(e) => self.filter.error = Some(e.message),
        }
    }

    pub fn clear_filter(&mut self) {
        self.filter.text.clear();
        self.filter.editing = false;
        self.update_filter();
    }

    /// The remote address of the selected connection, as copied by `c`.
    pub fn selected_remote(&self) -> Option<String> {
        let c = self.selected_conn()?;
        Some(c.remote.display(c.proto).to_string())
    }

    /// "Since" text relative to the snapshot time (never the wall clock).
    pub fn age_of(&self, c: &Connection) -> String {
        format::duration(self.snapshot.now.since(c.first_seen))
    }
}

/// Connection `i` of the snapshot's connections followed by the history's.
fn pool<'a>(snap: &'a [Connection], hist: &'a [Connection], i: usize) -> Option<&'a Connection> {
    match i.checked_sub(snap.len()) {
        None => snap.get(i),
        Some(j) => hist.get(j),
    }
}

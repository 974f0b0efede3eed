//! The terminal interface: ratatui + crossterm.
//!
//! `app` holds state and the view model, `input` maps keys to state changes,
//! the tab and bar modules draw from `&App`, and `run` owns the terminal.

mod activity;
mod aggregate;
mod app;
mod clipboard;
mod columns;
mod details;
mod filter_bar;
mod footer;
mod format;
mod graph;
mod groups;
mod header;
mod help;
mod history;
pub use history::HISTORY_CAP;
mod input;
mod notices;
mod order;
mod overview;
mod samples;
mod theme;
pub use theme::{Theme, ThemeName};

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod tab_tests;
#[cfg(test)]
mod theme_tests;

pub use app::App;
pub use input::{Effect, handle_key, handle_mouse};

use crate::pipeline::Records;
use crate::snapshot::Snapshot;
use app::Tab;
use crossbeam_channel::{Receiver, select};
use crossterm::event::{self, Event};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The screen's settings that the user chooses: `crate::config` resolves
/// them from the command line, the config file and `NO_COLOR`.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub refresh: Duration,
    /// Colours (`mono` when colour is off).
    pub theme: Theme,
    /// The overview's column preset at start (index into the `w` cycle).
    pub columns: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { refresh: Duration::from_millis(1000), theme: Theme::default(), columns: 0 }
    }
}

/// The overview's column presets (`w` cycles them), by name: index or None.
pub fn column_preset(name: &str) -> Option<usize> {
    columns::PRESETS.iter().position(|p| p.name == name)
}

/// The names of the column presets, in `w` order.
pub fn column_preset_names() -> Vec<&'static str> {
    columns::PRESETS.iter().map(|p| p.name).collect()
}

/// How the session configures the TUI.
pub struct UiConfig {
    pub refresh: Duration,
    /// Interface name or capture file, shown until the first snapshot names it.
    pub source: String,
    pub theme: Theme,
    /// Index of the column preset to start with.
    pub columns: usize,
    /// List ended connections from the start (`--read`: the file's connections
    /// stay browsable after they expire in packet time).
    pub history: bool,
    /// Show the interfaces' kernel counters (live capture: the counters are this host's).
    pub interfaces: bool,
}

impl UiConfig {
    /// For a live capture (`live`: this host's interfaces, history on `t`)
    /// or anything else — a file, a history database, other hosts' exports
    /// (ended connections listed from the start, no interface counters).
    pub fn new(settings: &Settings, source: String, live: bool) -> Self {
        UiConfig {
            refresh: settings.refresh,
            source,
            theme: settings.theme,
            columns: settings.columns,
            history: !live,
            interfaces: live,
        }
    }
}

/// How long a status message (e.g. "copied …") stays in the footer.
const STATUS_FOR: Duration = Duration::from_secs(3);
/// Upper bound on how long the loop sleeps between checks.
const TICK: Duration = Duration::from_millis(100);

/// Draws one frame from the state.
pub fn draw(frame: &mut Frame, app: &App) {
    let bar_height = filter_bar::FilterBar::height(app, frame.area().width);
    let bar = bar_height > 0;
    let [head, main, filter, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(1),
        Constraint::Length(bar_height),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(header::Header(app), head);
    match app.tab {
        Tab::Overview => frame.render_widget(overview::Overview(app), main),
        Tab::Details => frame.render_widget(details::Details(app), main),
        Tab::Activity => frame.render_widget(activity::Activity(app), main),
        Tab::Graph => frame.render_widget(graph::Graph(app), main),
        Tab::Help => frame.render_widget(help::Help(app), main),
    }
    if bar {
        frame.render_widget(filter_bar::FilterBar(app), filter);
    }
    frame.render_widget(footer::Footer(app), foot);
}

/// What the pipeline sends the screen.
pub struct Feeds {
    /// A new Snapshot at each refresh (latest wins).
    pub snapshots: Receiver<Snapshot>,
    /// Connections leaving the tables, for the history. Dropped when the UI
    /// ends, so that workers never wait on a screen that is gone.
    pub ended: Receiver<Records>,
}

/// Runs the TUI until the user quits; `feeds` delivers snapshots and ended
/// connections; sets `stop` when quitting so the pipeline shuts
/// down. Restores the terminal on exit and on panic. Also returns when someone
/// else sets `stop` (e.g. SIGTERM), so the terminal is restored then too.
/// A panic on another thread meanwhile is logged, ends the session, and is
/// printed on stderr once the terminal is restored (see `notices`).
pub fn run(cfg: UiConfig, feeds: Feeds, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let mut app = app_for(&cfg);
    // Raw mode + alternate screen, and a panic hook that restores the terminal
    // before the panic message is printed.
    let mut terminal = ratatui::try_init()?;
    // Mouse reporting on (clicks, wheel), and off again before a panic's
    // message, as ratatui's hook does for the rest of the terminal.
    crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
        hook(info);
    }));
    // Then panics on other threads are queued, not written over the screen.
    let notices = notices::Notices::install(stop.clone());
    let input_done = Arc::new(AtomicBool::new(false));
    let events = spawn_input(input_done.clone());
    let result = event_loop(&mut terminal, &mut app, &cfg, feeds, &events, &stop);
    input_done.store(true, Ordering::Relaxed);
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
    stop.store(true, Ordering::SeqCst);
    for msg in notices.finish() {
        eprintln!("rustnet: {msg}");
    }
    result
}

/// The state a session's screen starts with.
fn app_for(cfg: &UiConfig) -> App {
    let mut app = App::new(cfg.refresh, false);
    app.theme = cfg.theme;
    app.columns = columns::ColumnLayout::with_preset(cfg.columns);
    app.snapshot.source = cfg.source.clone();
    app.show_history = cfg.history;
    app
}

/// Reads terminal events on a thread so the loop can wait on them and on
/// snapshots at once. Polls so it can notice `done` and stop reading stdin.
fn spawn_input(done: Arc<AtomicBool>) -> Receiver<std::io::Result<Event>> {
    let (tx, rx) = crossbeam_channel::bounded(256);
    std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            let ev = match event::poll(Duration::from_millis(50)) {
                Ok(false) => continue,
                Ok(true) => event::read(),
                Err(e) => Err(e),
            };
            let failed = ev.is_err();
            if tx.send(ev).is_err() || failed {
                break;
            }
        }
    });
    rx
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    cfg: &UiConfig,
    feeds: Feeds,
    events: &Receiver<std::io::Result<Event>>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let Feeds { mut snapshots, mut ended } = feeds;
    let mut pending: Option<Snapshot> = None;
    // Ended connections arrived since the last rebuild.
    let mut ended_new = false;
    let mut last_apply: Option<Instant> = None;
    let mut status_since: Option<Instant> = None;
    let mut clip = clipboard::Clipboard::default();
    let (reaper, old_snapshots) = crossbeam_channel::unbounded::<Snapshot>();
    std::thread::spawn(move || old_snapshots.iter().for_each(drop));
    let mut dirty = true;
    let mut if_read: Option<Instant> = None;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        // Apply at most one snapshot per refresh interval (the last one wins),
        // except the final one of a file, which shows at once.
        let due = last_apply.is_none_or(|t| t.elapsed() >= cfg.refresh);
        // Paused (Space): snapshots and ended connections wait; the latest wins.
        if !app.paused
            && pending.as_ref().is_some_and(|s| due || s.finished)
            && let Some(s) = pending.take()
        {
            if cfg.interfaces {
                let at = Instant::now();
                let now = crate::host::ifstats::read_all(std::path::Path::new("/sys/class/net"));
                let dt = if_read.map_or(Duration::ZERO, |t: Instant| at.duration_since(t));
                app.interfaces = activity::if_rows(&app.interfaces, now, dt);
                if_read = Some(at);
            }
            // Freeing 100k connections takes milliseconds: not on this thread.
            if let Err(e) = reaper.send(app.set_snapshot(s)) {
                drop(e.into_inner());
            }
            last_apply = Some(Instant::now());
            dirty = true;
            ended_new = false;
        } else if !app.paused && ended_new && (due || pending.is_none() && app.snapshot.finished) {
            // No snapshot coming (the replay ended) or due: list them now.
            app.rebuild();
            last_apply = Some(Instant::now());
            dirty = true;
            ended_new = false;
        }
        // A replay that ended a while ago goes quiet, as a live capture would.
        if app.snapshot.finished
            && !app.settled
            && !app.paused
            && last_apply.is_some_and(|t| t.elapsed() >= app.new_window)
        {
            app.settle();
            dirty = true;
        }
        match (&app.status, status_since) {
            (Some(_), None) => status_since = Some(Instant::now()),
            (Some(_), Some(t)) if t.elapsed() >= STATUS_FOR => {
                app.status = None;
                status_since = None;
                dirty = true;
            }
            (None, _) => status_since = None,
            _ => {}
        }
        if dirty {
            terminal.draw(|f| draw(f, app))?;
            dirty = false;
        }
        select! {
            recv(snapshots) -> s => match s {
                Ok(s) => pending = Some(s),
                // The pipeline is done: keep showing the last snapshot.
                Err(_) => snapshots = crossbeam_channel::never(),
            },
            recv(ended) -> r => match r {
                Ok(r) => {
                    app.add_ended(r.conns);
                    ended_new = true;
                }
                Err(_) => ended = crossbeam_channel::never(),
            },
            recv(events) -> e => {
                let Ok(e) = e else { anyhow::bail!("terminal input thread ended") };
                match e? {
                    Event::Key(k) => {
                        dirty = true;
                        match handle_key(app, k) {
                            Effect::None => {}
                            Effect::Quit => return Ok(()),
                            Effect::Copy(text) => {
                                app.status = Some(clip.copy(&text, terminal.backend_mut()));
                                status_since = None;
                            }
                        }
                    }
                    Event::Mouse(m) => {
                        use crossterm::event::MouseEventKind as K;
                        // Motion is reported too: only clicks and the wheel redraw.
                        if matches!(m.kind, K::Down(_) | K::ScrollUp | K::ScrollDown) {
                            handle_mouse(app, m, Instant::now());
                            dirty = true;
                        }
                    }
                    Event::Resize(..) => dirty = true,
                    _ => {}
                }
            },
            default(TICK) => {},
        }
    }
}

//! Where a session's connections go. Every sink is listed here.

use super::{Session, json, tui};
use crate::cli::Cli;
use std::io::IsTerminal;

/// The sinks: add a variant (and its module) for a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// One JSON object per connection on stdout (`--json`, or stdout not a terminal).
    Json,
    /// The terminal UI.
    Tui,
}

impl Sink {
    /// The TUI when stdout is a terminal and `--json` is not given.
    pub fn for_cli(cli: &Cli) -> Sink {
        if !cli.json && std::io::stdout().is_terminal() { Sink::Tui } else { Sink::Json }
    }

    /// Starts the pipeline and runs until the input ends or the user stops.
    /// Returns the process exit code.
    pub fn run(self, s: Session) -> anyhow::Result<i32> {
        match self {
            Sink::Json => json::run(s),
            Sink::Tui => tui::run(s),
        }
    }
}

//! rustnet: the application around rustnet-core — capture sources, the
//! worker pipeline, output and the terminal UI.

pub mod capture;
pub mod cli;
pub mod host;
pub mod logging;
pub mod output;
pub mod pipeline;
pub mod snapshot;
pub mod source;
#[cfg(test)]
mod testenv;
pub mod ui;

//! rustnet: the application around rustnet-core — capture sources, the
//! worker pipeline, output and the terminal UI.
//!
//! Layers, lowest first; a module imports only from layers below it (and
//! its own):
//!
//! `sys` < `capture`, `host` < `snapshot` < `pipeline` < `record` < `output`, `ui` <
//! `cli` < `session` < `main`
//!
//! - `sys`: socket calls, the interface list and signal dispositions (libc).
//! - `capture`: packet sources (AF_PACKET ring, libpcap, capture files),
//!   BPF filters, `--pcap-export`, and the batches packets travel in.
//! - `host`: this machine around the engine: processes, host names, privileges.
//! - `snapshot`, `pipeline`: the worker threads, one engine each, and what they publish.
//! - `record`: `--record`, the SQLite history of finished connections.
//! - `output`, `ui`: JSON lines and the terminal UI (draws and handles keys).
//! - `cli`: the command line.
//! - `session`: runs one session: source → pipeline → sink.

pub mod capture;
pub mod cli;
pub mod config;
pub mod host;
pub mod logging;
pub mod output;
pub mod pipeline;
pub mod record;
pub mod session;
pub mod snapshot;
pub mod sys;
#[cfg(test)]
mod testenv;
pub mod ui;

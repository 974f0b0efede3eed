//! rustnet-core: the sans-IO engine of rustnet.
//!
//! Frames and their timestamps go in ([`Engine::process`]); the connection
//! table and finished connections come out. No threads, sockets, clocks or
//! files: the same input always gives the same output.

mod app;
pub mod dpi;
mod engine;
pub mod filter;
pub mod time;
pub mod track;
pub mod wire;

pub use engine::{Config, Engine, NewFlow, Stats};
pub use time::Timestamp;

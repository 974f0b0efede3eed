#![doc = include_str!("../README.md")]
// The one exception to unsafe_code is the prefetch hint in filter/mod.rs.
#![deny(missing_docs, unreachable_pub, unsafe_code)]

mod app;
pub mod dpi;
mod engine;
pub mod filter;
pub mod time;
pub mod track;
pub mod wire;

pub use engine::{Config, Engine, NewFlow, Stats};
pub use time::Timestamp;

#![doc = include_str!("../README.md")]
// The one exception to unsafe_code is the prefetch hint in filter/mod.rs.
#![deny(missing_docs, unreachable_pub, unsafe_code)]

mod app;
pub mod dpi;
mod engine;
pub mod filter;
pub mod ipfix;
// Entry points for the fuzz targets and the test replaying their corpus;
// not part of the library's API (feature `fuzzing`). At the top: it drives
// dpi, filter and the engine, which must not import each other upward.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod time;
pub mod track;
pub mod wire;

pub use engine::{Config, Engine, NewFlow, Stats, icmp_error_quotes};
pub use time::Timestamp;

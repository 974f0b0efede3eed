//! The host around the engine: interfaces, process attribution, host names, privileges.

pub mod enrich;
pub mod interfaces;
pub mod names;
pub mod privileges;
pub mod process;
#[cfg(test)]
pub(crate) mod testns;

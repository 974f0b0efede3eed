//! The operating system below capture and host: socket calls and the
//! interface list, shared by both so neither imports the other.

pub mod interfaces;
pub mod socket;
#[cfg(test)]
pub(crate) mod testns;

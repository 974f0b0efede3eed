//! The operating system below capture and host: socket calls, the
//! interface list and files opened without following links, shared so no
//! higher layer imports another for them.

pub mod fs;
pub mod interfaces;
pub mod socket;
#[cfg(test)]
pub(crate) mod testns;

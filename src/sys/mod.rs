//! The operating system below capture and host: socket calls, the
//! interface list, files opened without following links and inherited
//! signal dispositions, shared so no
//! higher layer imports another for them.

pub mod fs;
pub mod heap;
pub mod interfaces;
pub mod sandbox;
pub mod signal;
pub mod socket;
#[cfg(test)]
pub(crate) mod testns;

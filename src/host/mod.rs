//! The host around the engine: process attribution, host names, privileges.

pub mod geoip;
pub mod names;
pub mod privileges;
pub mod process;

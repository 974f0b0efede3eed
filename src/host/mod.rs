//! The host around the engine: process attribution, host names, privileges.

pub mod gateway;
pub mod geoip;
pub mod ifstats;
pub mod names;
pub mod oui;
pub mod privileges;
pub mod process;

//! rustnet: the application around rustnet-core — capture sources, the
//! worker pipeline, output and the terminal UI.

pub mod capture;
pub mod cli;
pub mod logging;
pub mod output;
pub mod pipeline;
pub mod snapshot;
pub mod ui;

/// Shown after `--help`.
pub const PERMISSIONS_NOTE: &str = "\
Permissions: live capture needs CAP_NET_RAW (raw packet sockets). Run with sudo, or grant
the binary the capability once:  sudo setcap cap_net_raw,cap_net_admin=eip $(which rustnet)
Reading capture files (--read) needs no privileges.";

//! Connection tracking: flow keys, per-connection state machines and
//! lifecycle timeouts.

pub(crate) mod analysis;
mod conn;
pub(crate) mod defrag;
pub(crate) mod frag;
mod icmp;
mod key;
mod lifecycle;
mod rate;
pub(crate) mod rtt;
mod services;
mod srtt;
mod state;
mod tcp;

pub use analysis::{FlagLetters, TcpDirStats, TcpStats};
pub use conn::{Connection, ContainerInfo, EndReason, GeoInfo, MAX_PARENTS, ParentProcess, ProcessInfo};
pub use icmp::IcmpInfo;
pub(crate) use icmp::is_error as is_icmp_error;
pub use key::{Endpoint, EndpointDisplay, FlowKey, Proto};
pub use lifecycle::Timeouts;
pub use rate::RateMeter;
pub(crate) use services::all_service_names;
pub use services::{is_service_port, service_name};
pub use state::State;
pub(crate) use tcp::TcpTracker;

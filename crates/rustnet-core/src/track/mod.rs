//! Connection tracking: flow keys, per-connection state machines, lifecycle
//! and the capped table.

mod conn;
pub(crate) mod frag;
mod key;
mod lifecycle;
mod rate;
mod services;
mod state;
pub(crate) mod table;
mod tcp;

pub use conn::{Connection, ProcessInfo};
pub use key::{Endpoint, EndpointDisplay, FlowKey, Proto};
pub use lifecycle::Timeouts;
pub use rate::RateMeter;
pub(crate) use services::all_service_names;
pub use services::{is_service_port, service_name};
pub use state::State;
pub(crate) use tcp::TcpTracker;

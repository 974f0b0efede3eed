//! Connection tracking: flow keys, per-connection state machines and
//! lifecycle timeouts.

mod conn;
pub(crate) mod frag;
mod key;
mod lifecycle;
mod rate;
mod services;
mod state;
mod tcp;

pub use conn::{Connection, ProcessInfo};
pub use key::{Endpoint, EndpointDisplay, FlowKey, Proto};
pub use lifecycle::Timeouts;
pub use rate::RateMeter;
pub(crate) use services::all_service_names;
pub use services::{is_service_port, service_name};
pub use state::State;
pub(crate) use tcp::TcpTracker;
